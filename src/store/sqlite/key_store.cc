#include "store/sqlite/key_store.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/in_flight.h"

namespace medvault::store::sqlite {
namespace {

// Patient keys rewrapped per page: bounds memory for a large practice while the whole rewrap
// stays one transaction.
constexpr int64_t kRewrapPage = 512;

WrappedKeyRow ReadWrappedKey(const Statement& st) {
  WrappedKeyRow row;
  row.owner = st.Text(0);
  row.purpose = st.Text(1);
  row.version = static_cast<uint32_t>(st.Int(2));
  row.wrapped_by = st.Text(3);
  row.wrapped = st.Blob(4);
  return row;
}

PatientKeyRow ReadPatientKey(const Statement& st) {
  PatientKeyRow row;
  row.practice_id = st.Text(0);
  row.patient_id = st.Text(1);
  row.dek_version = static_cast<uint32_t>(st.Int(2));
  row.kek_version = static_cast<uint32_t>(st.Int(3));
  row.wrapped_dek = st.Blob(4);
  return row;
}

Status InsertPatientKey(Connection& conn, const PatientKeyRow& row) {
  MV_STATEMENT(st, conn,
               "INSERT INTO patient_keys (practice_id, patient_id, dek_version, kek_version, "
               "wrapped_dek) VALUES (?1, ?2, ?3, ?4, ?5)");
  st.Bind(1, row.practice_id);
  st.Bind(2, row.patient_id);
  st.Bind(3, int64_t{row.dek_version});
  st.Bind(4, int64_t{row.kek_version});
  st.Bind(5, ByteView(row.wrapped_dek));
  return st.Run("insert patient key");
}

// How many patient keys a batch writer inserts per hand-over to its flush thread.
constexpr size_t kKeyFlushRows = 2000;

// Holds the writer lease and an open transaction for its whole life (see sqlite_store.h). Rows
// are buffered and inserted kKeyFlushRows at a time, sorted by key, on a thread of their own
// while the caller prepares the next ones (an import seals patients meanwhile): at most one batch
// is being inserted and one filled, and the caller waits for the one being inserted before
// handing over the next. A taken key is therefore reported by a later Add or by the Commit
// (store.h allows it); either way the whole batch is abandoned and rolled back.
class SqlitePatientKeyBatchWriter final : public PatientKeyBatchWriter {
 public:
  explicit SqlitePatientKeyBatchWriter(ConnectionPool::WriterLease lease)
      : lease_(std::move(lease)), txn_(lease_.conn()) {}

  Status Begin() { return txn_.Begin(); }

  Status Add(const PatientKeyRow& row) override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient key batch already committed");
    if (filling_.capacity() == 0) filling_.reserve(kKeyFlushRows);
    filling_.push_back(row);
    if (filling_.size() < kKeyFlushRows) return Status::Ok();
    Status status = StartFlush();
    if (!status.ok()) Fail(status);
    return status;
  }

  Status Commit() override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient key batch already committed");
    Status status = StartFlush();
    if (status.ok()) status = inflight_.Wait();
    if (status.ok()) status = txn_.Commit();
    if (!status.ok()) {
      Fail(status);
      return status;
    }
    committed_ = true;
    return Status::Ok();
  }

 private:
  // Waits for the batch being inserted (its error, if any, is this call's), then hands over the
  // one being filled.
  Status StartFlush() {
    MV_RETURN_IF_ERROR(inflight_.Wait());
    if (filling_.empty()) return Status::Ok();
    std::swap(sending_, filling_);
    filling_.clear();
    inflight_.Start([this] { return Insert(); });
    return Status::Ok();
  }

  // Runs on the flush thread: touches only the connection and sending_. In key order, so that
  // consecutive inserts land on neighbouring B-tree pages.
  Status Insert() {
    std::sort(sending_.begin(), sending_.end(),
              [](const PatientKeyRow& a, const PatientKeyRow& b) {
                return a.practice_id != b.practice_id ? a.practice_id < b.practice_id
                                                      : a.patient_id < b.patient_id;
              });
    for (const PatientKeyRow& row : sending_) {
      MV_RETURN_IF_ERROR(InsertPatientKey(lease_.conn(), row));
    }
    return Status::Ok();
  }

  void Fail(const Status& status) {
    failure_ = status.WithContext("patient key batch abandoned");
    inflight_.Wait().IgnoreError();
    txn_.Rollback();
  }

  ConnectionPool::WriterLease lease_;
  Transaction txn_;  // destroyed before lease_: rolls back while the connection is still ours
  Status failure_;
  bool committed_ = false;
  std::vector<PatientKeyRow> filling_;  // the caller's
  // The flush thread's while a batch is in flight, else the caller's.
  std::vector<PatientKeyRow> sending_;
  InFlight inflight_;  // declared last: destroyed (waited for) first
};

}  // namespace

Status SqliteKeyStore::PutWrappedKey(const WrappedKeyRow& row) {
  ConnectionPool::WriterLease lease = pool_->Writer();
  Transaction txn(lease.conn());
  MV_RETURN_IF_ERROR(txn.Begin());
  MV_STATEMENT(st, lease.conn(),
               "INSERT INTO wrapped_keys (owner, purpose, version, wrapped_by, wrapped) "
               "VALUES (?1, ?2, ?3, ?4, ?5)");
  st.Bind(1, row.owner);
  st.Bind(2, row.purpose);
  st.Bind(3, int64_t{row.version});
  st.Bind(4, row.wrapped_by);
  st.Bind(5, ByteView(row.wrapped));
  MV_RETURN_IF_ERROR(st.Run("put wrapped key"));
  return txn.Commit();
}

Result<std::vector<WrappedKeyRow>> SqliteKeyStore::GetWrappedKeys(const std::string& owner,
                                                                  const std::string& purpose) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT owner, purpose, version, wrapped_by, wrapped FROM wrapped_keys "
               "WHERE owner = ?1 AND purpose = ?2 ORDER BY version DESC");
  st.Bind(1, owner);
  st.Bind(2, purpose);
  std::vector<WrappedKeyRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("get wrapped keys"));
    if (!row) break;
    rows.push_back(ReadWrappedKey(st));
  }
  return rows;
}

Result<std::vector<WrappedKeyRow>> SqliteKeyStore::ListWrappedKeys() {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT owner, purpose, version, wrapped_by, wrapped FROM wrapped_keys "
               "ORDER BY owner, purpose, version DESC");
  std::vector<WrappedKeyRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("list wrapped keys"));
    if (!row) break;
    rows.push_back(ReadWrappedKey(st));
  }
  return rows;
}

Status SqliteKeyStore::ReplaceWrappedKeys(std::span<const WrappedKeyRow> rows) {
  ConnectionPool::WriterLease lease = pool_->Writer();
  Connection& conn = lease.conn();
  Transaction txn(conn);
  MV_RETURN_IF_ERROR(txn.Begin());
  MV_STATEMENT(st, conn,
               "UPDATE wrapped_keys SET wrapped_by = ?4, wrapped = ?5 "
               "WHERE owner = ?1 AND purpose = ?2 AND version = ?3");
  for (const WrappedKeyRow& row : rows) {
    st.Bind(1, row.owner);
    st.Bind(2, row.purpose);
    st.Bind(3, int64_t{row.version});
    st.Bind(4, row.wrapped_by);
    st.Bind(5, ByteView(row.wrapped));
    MV_RETURN_IF_ERROR(st.Run("replace wrapped key"));
    if (conn.Changes() == 0) return NotFound("replace wrapped key: key not found");
    st.Reset();
  }
  return txn.Commit();
}

Result<std::unique_ptr<PatientKeyBatchWriter>> SqliteKeyStore::BeginPatientKeyBatch() {
  auto writer = std::make_unique<SqlitePatientKeyBatchWriter>(pool_->Writer());
  MV_RETURN_IF_ERROR(writer->Begin());
  return std::unique_ptr<PatientKeyBatchWriter>(std::move(writer));
}

Result<PatientKeyRow> SqliteKeyStore::GetPatientKey(const std::string& practice_id,
                                                    const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT practice_id, patient_id, dek_version, kek_version, wrapped_dek "
               "FROM patient_keys WHERE practice_id = ?1 AND patient_id = ?2");
  st.Bind(1, practice_id);
  st.Bind(2, patient_id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get patient key"));
  if (!row) return NotFound("patient key not found");
  return ReadPatientKey(st);
}

Status SqliteKeyStore::DeletePatientKey(const std::string& practice_id,
                                        const std::string& patient_id) {
  ConnectionPool::WriterLease lease = pool_->Writer();
  Connection& conn = lease.conn();
  {
    Transaction txn(conn);
    MV_RETURN_IF_ERROR(txn.Begin());
    MV_STATEMENT(st, conn,
                 "DELETE FROM patient_keys WHERE practice_id = ?1 AND patient_id = ?2");
    st.Bind(1, practice_id);
    st.Bind(2, patient_id);
    MV_RETURN_IF_ERROR(st.Run("delete patient key"));
    if (conn.Changes() == 0) return NotFound("delete patient key: not found");
    MV_RETURN_IF_ERROR(txn.Commit());
  }
  // The delete is durable at this point; a checkpoint held back by readers only delays the
  // removal of the old WAL frames (see key_store.h).
  TruncateWal(conn, "truncate key store wal").IgnoreError();
  return Status::Ok();
}

Status SqliteKeyStore::RewrapPatientKeys(
    const std::string& practice_id,
    const std::function<Result<PatientKeyRow>(const PatientKeyRow&)>& rewrap) {
  ConnectionPool::WriterLease lease = pool_->Writer();
  Connection& conn = lease.conn();
  Transaction txn(conn);
  MV_RETURN_IF_ERROR(txn.Begin());
  std::string after;  // patient ids are non-empty, so "" sorts before the first
  while (true) {
    std::vector<PatientKeyRow> page;
    {
      MV_STATEMENT(st, conn,
                   "SELECT practice_id, patient_id, dek_version, kek_version, wrapped_dek "
                   "FROM patient_keys WHERE practice_id = ?1 AND patient_id > ?2 "
                   "ORDER BY patient_id LIMIT ?3");
      st.Bind(1, practice_id);
      st.Bind(2, after);
      st.Bind(3, kRewrapPage);
      while (true) {
        MV_ASSIGN_OR_RETURN(bool row, st.Step("rewrap patient keys"));
        if (!row) break;
        page.push_back(ReadPatientKey(st));
      }
    }
    if (page.empty()) break;
    MV_STATEMENT(update, conn,
                 "UPDATE patient_keys SET dek_version = ?3, kek_version = ?4, wrapped_dek = ?5 "
                 "WHERE practice_id = ?1 AND patient_id = ?2");
    for (const PatientKeyRow& old_row : page) {
      MV_ASSIGN_OR_RETURN(PatientKeyRow new_row, rewrap(old_row));
      if (new_row.practice_id != old_row.practice_id ||
          new_row.patient_id != old_row.patient_id) {
        return InvalidArgument("rewrap patient keys: rewrap changed the practice or patient");
      }
      update.Bind(1, new_row.practice_id);
      update.Bind(2, new_row.patient_id);
      update.Bind(3, int64_t{new_row.dek_version});
      update.Bind(4, int64_t{new_row.kek_version});
      update.Bind(5, ByteView(new_row.wrapped_dek));
      MV_RETURN_IF_ERROR(update.Run("rewrap patient key"));
      update.Reset();
    }
    after = page.back().patient_id;
  }
  return txn.Commit();
}

}  // namespace medvault::store::sqlite
