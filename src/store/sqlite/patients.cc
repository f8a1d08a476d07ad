// Patients and their blind-index entries.
#include <string>
#include <string_view>
#include <utility>

#include "store/sqlite/data_store.h"

namespace medvault::store::sqlite {
namespace {

PatientRow ReadPatient(const Statement& st) {
  PatientRow row;
  row.id = st.Text(0);
  row.practice_id = st.Text(1);
  row.key_version = static_cast<uint32_t>(st.Int(2));
  row.identity = st.Blob(3);
  row.contact = st.Blob(4);
  row.insurance = st.Blob(5);
  row.canary = st.Int(6) != 0;
  row.created = st.Int(7);
  row.updated = st.Int(8);
  row.seq = st.Int(9);
  return row;
}

// The packed (column, token) list kept in each patient row: 1 byte column, 4 bytes token
// little-endian per entry. It lets an update or delete remove exactly the patient's entries by
// primary key, instead of keeping a second index on patient_index by patient.
constexpr size_t kPackedEntry = 5;

void PackIndexKeys(std::span<const IndexEntry> index, Bytes* out) {
  out->clear();
  for (const IndexEntry& entry : index) {
    out->push_back(entry.column);
    PutU32(out, entry.token);
  }
}

Status DeleteIndexEntries(Connection& conn, int64_t practice_no, int64_t seq, ByteView packed) {
  if (packed.size() % kPackedEntry != 0) return Internal("delete index entries: corrupt row");
  MV_STATEMENT(st, conn,
               "DELETE FROM patient_index "
               "WHERE token = ?3 AND col = ?2 AND practice_no = ?1 AND patient_seq = ?4");
  ByteReader reader(packed);
  while (!reader.empty()) {
    uint8_t column = 0;
    uint32_t token = 0;
    if (!reader.ReadU8(&column) || !reader.ReadU32(&token)) {
      return Internal("delete index entries: corrupt row");
    }
    st.Bind(1, practice_no);
    st.Bind(2, int64_t{column});
    st.Bind(3, int64_t{token});
    st.Bind(4, seq);
    MV_RETURN_IF_ERROR(st.Run("delete index entries"));
    st.Reset();
  }
  return Status::Ok();
}

// Holds the writer lease and an open transaction for its whole life (see sqlite_store.h).
class SqlitePatientBatchWriter final : public PatientBatchWriter {
 public:
  explicit SqlitePatientBatchWriter(ConnectionPool::WriterLease lease)
      : lease_(std::move(lease)), txn_(lease_.conn()) {}

  Status Begin() {
    MV_RETURN_IF_ERROR(txn_.Begin());
    // seq values are assigned here rather than by SQLite so that one that was used is never
    // handed out again (SQLite's rowid reuses the highest after a delete; AUTOINCREMENT would
    // cost a second write per row).
    MV_STATEMENT(st, lease_.conn(),
                 "SELECT max(coalesce((SELECT value FROM counters WHERE name = 'patient_seq'), 0),"
                 " coalesce((SELECT max(seq) FROM patients), 0))");
    MV_ASSIGN_OR_RETURN(bool row, st.Step("begin patient batch"));
    if (!row) return Internal("begin patient batch: no row");
    last_seq_ = st.Int(0);
    MV_ASSIGN_OR_RETURN(insert_patient_, lease_.conn().Prepare(kInsertPatient));
    return Status::Ok();
  }

  Status Add(const PatientRow& row, std::span<const IndexEntry> index) override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient batch already committed");
    Status status = Insert(row, index);
    // A failed Add may have inserted part of the row; rather than track which, the batch is
    // abandoned whole, as the interface promises.
    if (!status.ok()) Fail(status);
    return status;
  }

  Status Commit() override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient batch already committed");
    Status status = SaveLastSeq();
    if (status.ok()) status = txn_.Commit();
    if (!status.ok()) {
      Fail(status);
      return status;
    }
    committed_ = true;
    return Status::Ok();
  }

 private:
  static constexpr const char* kInsertPatient =
      "INSERT INTO patients (seq, id, practice_id, key_version, identity, contact, insurance, "
      "canary, created, updated, index_keys) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

  Status Insert(const PatientRow& row, std::span<const IndexEntry> index) {
    Connection& conn = lease_.conn();
    const int64_t seq = last_seq_ + 1;
    PackIndexKeys(index, &packed_);  // reuses the buffer: no allocation per row once warm
    Statement st(insert_patient_);  // prepared once in Begin()
    st.Bind(1, seq);
    st.Bind(2, row.id);
    st.Bind(3, row.practice_id);
    st.Bind(4, int64_t{row.key_version});
    st.Bind(5, ByteView(row.identity));
    st.Bind(6, ByteView(row.contact));
    st.Bind(7, ByteView(row.insurance));
    st.Bind(8, int64_t{row.canary ? 1 : 0});
    st.Bind(9, row.created);
    st.Bind(10, row.updated);
    st.Bind(11, ByteView(packed_));
    MV_RETURN_IF_ERROR(st.Run("insert patient"));
    // After the row: a patient of an absent practice fails above, on the foreign key.
    if (practice_no_ == 0 || row.practice_id != practice_id_) {
      MV_ASSIGN_OR_RETURN(practice_no_, PracticeNumber(conn, row.practice_id, "insert patient"));
      practice_id_ = row.practice_id;
    }
    MV_RETURN_IF_ERROR(InsertIndexEntries(conn, practice_no_, seq, index));
    last_seq_ = seq;
    return Status::Ok();
  }

  Status SaveLastSeq() {
    MV_STATEMENT(st, lease_.conn(),
                 "INSERT INTO counters (name, value) VALUES ('patient_seq', ?1) "
                 "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
    st.Bind(1, last_seq_);
    return st.Run("save patient seq");
  }

  void Fail(const Status& status) {
    failure_ = status.WithContext("patient batch abandoned");
    txn_.Rollback();
  }

  ConnectionPool::WriterLease lease_;
  Transaction txn_;  // destroyed before lease_: rolls back while the connection is still ours
  Status failure_;
  bool committed_ = false;
  int64_t last_seq_ = 0;
  Bytes packed_;
  sqlite3_stmt* insert_patient_ = nullptr;  // owned by the connection's statement cache
  // The practice of the last row and its number; a batch is usually one practice's import.
  std::string practice_id_;
  int64_t practice_no_ = 0;  // 0: none looked up yet (SQLite numbers them from 1)
};

struct StoredPatient {
  int64_t seq = 0;
  Bytes index_keys;
};

// The list position and packed index keys of a practice's patient, or NotFound.
Result<StoredPatient> FindPatient(Connection& conn, const std::string& practice_id,
                                  const std::string& patient_id, std::string_view what) {
  MV_STATEMENT(st, conn,
               "SELECT seq, index_keys FROM patients WHERE id = ?1 AND practice_id = ?2");
  st.Bind(1, patient_id);
  st.Bind(2, practice_id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step(what));
  if (!row) return NotFound(std::string(what) + ": patient not found");
  return StoredPatient{st.Int(0), st.Blob(1)};
}

}  // namespace

Result<int64_t> PracticeNumber(Connection& conn, const std::string& practice_id,
                               std::string_view what) {
  MV_STATEMENT(st, conn, "SELECT practice_no FROM practice_numbers WHERE practice_id = ?1");
  st.Bind(1, practice_id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step(what));
  if (!row) return NotFound(std::string(what) + ": practice not found");
  return st.Int(0);
}

Status InsertIndexEntries(Connection& conn, int64_t practice_no, int64_t seq,
                          std::span<const IndexEntry> index) {
  // OR IGNORE: the same (column, token) given twice for one patient is one entry, not a conflict.
  MV_STATEMENT(st, conn,
               "INSERT OR IGNORE INTO patient_index (practice_no, col, token, patient_seq) "
               "VALUES (?1, ?2, ?3, ?4)");
  for (const IndexEntry& entry : index) {
    st.Bind(1, practice_no);
    st.Bind(2, int64_t{entry.column});
    st.Bind(3, int64_t{entry.token});
    st.Bind(4, seq);
    MV_RETURN_IF_ERROR(st.Run("insert index entry"));
    st.Reset();
  }
  return Status::Ok();
}

Result<std::unique_ptr<PatientBatchWriter>> SqliteDataStore::BeginPatientBatch() {
  auto writer = std::make_unique<SqlitePatientBatchWriter>(pool_->Writer());
  MV_RETURN_IF_ERROR(writer->Begin());
  return std::unique_ptr<PatientBatchWriter>(std::move(writer));
}

Status SqliteDataStore::UpdatePatient(const PatientRow& row, std::span<const IndexEntry> index) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_ASSIGN_OR_RETURN(StoredPatient stored,
                        FindPatient(conn, row.practice_id, row.id, "update patient"));
    MV_ASSIGN_OR_RETURN(int64_t practice_no,
                        PracticeNumber(conn, row.practice_id, "update patient"));
    MV_RETURN_IF_ERROR(DeleteIndexEntries(conn, practice_no, stored.seq, stored.index_keys));
    Bytes packed;
    PackIndexKeys(index, &packed);
    MV_STATEMENT(st, conn,
                 "UPDATE patients SET key_version = ?2, identity = ?3, contact = ?4, "
                 "insurance = ?5, canary = ?6, updated = ?7, index_keys = ?8 WHERE seq = ?1");
    st.Bind(1, stored.seq);
    st.Bind(2, int64_t{row.key_version});
    st.Bind(3, ByteView(row.identity));
    st.Bind(4, ByteView(row.contact));
    st.Bind(5, ByteView(row.insurance));
    st.Bind(6, int64_t{row.canary ? 1 : 0});
    st.Bind(7, row.updated);
    st.Bind(8, ByteView(packed));
    MV_RETURN_IF_ERROR(st.Run("update patient"));
    return InsertIndexEntries(conn, practice_no, stored.seq, index);
  });
}

Result<PatientRow> SqliteDataStore::GetPatient(const std::string& practice_id,
                                               const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, key_version, identity, contact, insurance, canary, "
               "created, updated, seq FROM patients WHERE id = ?1 AND practice_id = ?2");
  st.Bind(1, patient_id);
  st.Bind(2, practice_id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get patient"));
  if (!row) return NotFound("patient not found");
  return ReadPatient(st);
}

Result<std::vector<PatientRow>> SqliteDataStore::ListPatients(const std::string& practice_id,
                                                              int64_t after_seq, size_t limit) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, key_version, identity, contact, insurance, canary, "
               "created, updated, seq FROM patients WHERE practice_id = ?1 AND seq > ?2 "
               "ORDER BY seq LIMIT ?3");
  st.Bind(1, practice_id);
  st.Bind(2, after_seq);
  // SQLite's LIMIT is signed; anything beyond INT64_MAX means "no limit" anyway.
  st.Bind(3, limit > static_cast<size_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(limit));
  std::vector<PatientRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("list patients"));
    if (!row) break;
    rows.push_back(ReadPatient(st));
  }
  return rows;
}

Result<std::vector<std::string>> SqliteDataStore::FindByToken(const std::string& practice_id,
                                                              uint8_t column, uint32_t token) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT p.id FROM patient_index i JOIN patients p ON p.seq = i.patient_seq "
               "WHERE i.token = ?3 AND i.col = ?2 AND i.practice_no = "
               "(SELECT practice_no FROM practice_numbers WHERE practice_id = ?1) "
               "ORDER BY i.patient_seq");
  st.Bind(1, practice_id);
  st.Bind(2, int64_t{column});
  st.Bind(3, int64_t{token});
  std::vector<std::string> ids;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("find by token"));
    if (!row) break;
    ids.push_back(st.Text(0));
  }
  return ids;
}

Result<int64_t> SqliteDataStore::CountPatients(const std::string& practice_id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(), "SELECT count(*) FROM patients WHERE practice_id = ?1");
  st.Bind(1, practice_id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("count patients"));
  if (!row) return Internal("count patients: no row");
  return st.Int(0);
}

// Appointments are kept: they hold only ids and times, and the practice's schedule history
// (who saw whom, when) outlives the record; after the DEK is shredded their patient id points
// to nothing readable.
Status SqliteDataStore::DeletePatient(const std::string& practice_id,
                                      const std::string& patient_id) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_ASSIGN_OR_RETURN(StoredPatient stored,
                        FindPatient(conn, practice_id, patient_id, "delete patient"));
    MV_ASSIGN_OR_RETURN(int64_t practice_no, PracticeNumber(conn, practice_id, "delete patient"));
    MV_RETURN_IF_ERROR(DeleteIndexEntries(conn, practice_no, stored.seq, stored.index_keys));
    MV_STATEMENT(notes, conn, "DELETE FROM notes WHERE patient_id = ?1");
    notes.Bind(1, patient_id);
    MV_RETURN_IF_ERROR(notes.Run("delete notes"));
    MV_STATEMENT(codes, conn, "DELETE FROM access_codes WHERE patient_id = ?1");
    codes.Bind(1, patient_id);
    MV_RETURN_IF_ERROR(codes.Run("delete access codes"));
    MV_STATEMENT(st, conn, "DELETE FROM patients WHERE seq = ?1");
    st.Bind(1, stored.seq);
    return st.Run("delete patient");
  });
}

}  // namespace medvault::store::sqlite
