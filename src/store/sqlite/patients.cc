// Patients and their blind-index entries.
#include <string>
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

// Holds the writer lease and an open transaction for its whole life (see sqlite_store.h).
class SqlitePatientBatchWriter final : public PatientBatchWriter {
 public:
  explicit SqlitePatientBatchWriter(ConnectionPool::WriterLease lease)
      : lease_(std::move(lease)), txn_(lease_.conn()) {}

  Status Begin() { return txn_.Begin(); }

  Status Add(const PatientRow& row, std::span<const IndexEntry> index) override {
    if (!failure_.ok()) return failure_;
    Status status = Insert(row, index);
    // A failed Add may have inserted part of the row; rather than track which, the batch is
    // abandoned whole, as the interface promises.
    if (!status.ok()) Fail(status);
    return status;
  }

  Status Commit() override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient batch already committed");
    Status status = txn_.Commit();
    if (!status.ok()) {
      Fail(status);
      return status;
    }
    committed_ = true;
    return Status::Ok();
  }

 private:
  Status Insert(const PatientRow& row, std::span<const IndexEntry> index) {
    if (committed_) return FailedPrecondition("patient batch already committed");
    Connection& conn = lease_.conn();
    MV_STATEMENT(st, conn,
                 "INSERT INTO patients (id, practice_id, key_version, identity, contact, "
                 "insurance, canary, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    st.Bind(1, row.id);
    st.Bind(2, row.practice_id);
    st.Bind(3, int64_t{row.key_version});
    st.Bind(4, ByteView(row.identity));
    st.Bind(5, ByteView(row.contact));
    st.Bind(6, ByteView(row.insurance));
    st.Bind(7, int64_t{row.canary ? 1 : 0});
    st.Bind(8, row.created);
    st.Bind(9, row.updated);
    MV_RETURN_IF_ERROR(st.Run("insert patient"));
    return InsertIndexEntries(conn, row.practice_id, conn.LastInsertRowid(), index);
  }

  void Fail(const Status& status) {
    failure_ = status.WithContext("patient batch abandoned");
    txn_.Rollback();
  }

  ConnectionPool::WriterLease lease_;
  Transaction txn_;  // destroyed before lease_: rolls back while the connection is still ours
  Status failure_;
  bool committed_ = false;
};

// The list position (seq) of a practice's patient, or NotFound.
Result<int64_t> FindSeq(Connection& conn, const std::string& practice_id,
                        const std::string& patient_id, std::string_view what) {
  MV_STATEMENT(st, conn, "SELECT seq FROM patients WHERE id = ?1 AND practice_id = ?2");
  st.Bind(1, patient_id);
  st.Bind(2, practice_id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step(what));
  if (!row) return NotFound(std::string(what) + ": patient not found");
  return st.Int(0);
}

Status DeleteIndexEntries(Connection& conn, int64_t seq) {
  MV_STATEMENT(st, conn, "DELETE FROM patient_index WHERE patient_seq = ?1");
  st.Bind(1, seq);
  return st.Run("delete index entries");
}

}  // namespace

Status InsertIndexEntries(Connection& conn, const std::string& practice_id, int64_t seq,
                          std::span<const IndexEntry> index) {
  // OR IGNORE: the same (column, token) given twice for one patient is one entry, not a conflict.
  MV_STATEMENT(st, conn,
               "INSERT OR IGNORE INTO patient_index (practice_id, col, token, patient_seq) "
               "VALUES (?1, ?2, ?3, ?4)");
  for (const IndexEntry& entry : index) {
    st.Bind(1, practice_id);
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
    MV_ASSIGN_OR_RETURN(int64_t seq, FindSeq(conn, row.practice_id, row.id, "update patient"));
    MV_STATEMENT(st, conn,
                 "UPDATE patients SET key_version = ?2, identity = ?3, contact = ?4, "
                 "insurance = ?5, canary = ?6, updated = ?7 WHERE seq = ?1");
    st.Bind(1, seq);
    st.Bind(2, int64_t{row.key_version});
    st.Bind(3, ByteView(row.identity));
    st.Bind(4, ByteView(row.contact));
    st.Bind(5, ByteView(row.insurance));
    st.Bind(6, int64_t{row.canary ? 1 : 0});
    st.Bind(7, row.updated);
    MV_RETURN_IF_ERROR(st.Run("update patient"));
    MV_RETURN_IF_ERROR(DeleteIndexEntries(conn, seq));
    return InsertIndexEntries(conn, row.practice_id, seq, index);
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
               "WHERE i.practice_id = ?1 AND i.col = ?2 AND i.token = ?3 ORDER BY i.patient_seq");
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
    MV_ASSIGN_OR_RETURN(int64_t seq, FindSeq(conn, practice_id, patient_id, "delete patient"));
    MV_RETURN_IF_ERROR(DeleteIndexEntries(conn, seq));
    MV_STATEMENT(notes, conn, "DELETE FROM notes WHERE patient_id = ?1");
    notes.Bind(1, patient_id);
    MV_RETURN_IF_ERROR(notes.Run("delete notes"));
    MV_STATEMENT(st, conn, "DELETE FROM patients WHERE seq = ?1");
    st.Bind(1, seq);
    return st.Run("delete patient");
  });
}

}  // namespace medvault::store::sqlite
