#pragma once
// KeyStore on SQLite (sqlite_store.h is the public entry point).
//
// Thread-safety: thread-safe, like SqliteDataStore: pooled readers, one writer lease per
// transaction, a PatientKeyBatchWriter holds the writer lease until committed or destroyed.
#include <memory>

#include "store/sqlite/pool.h"
#include "store/store.h"

namespace medvault::store::sqlite {

class SqliteKeyStore final : public KeyStore {
 public:
  explicit SqliteKeyStore(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}

  Status PutWrappedKey(const WrappedKeyRow& row) override;
  Result<std::vector<WrappedKeyRow>> GetWrappedKeys(const std::string& owner,
                                                    const std::string& purpose) override;
  Result<std::vector<WrappedKeyRow>> ListWrappedKeys() override;
  Status ReplaceWrappedKeys(std::span<const WrappedKeyRow> rows) override;

  Result<std::unique_ptr<PatientKeyBatchWriter>> BeginPatientKeyBatch() override;
  Result<PatientKeyRow> GetPatientKey(const std::string& practice_id,
                                      const std::string& patient_id) override;
  // Also truncates the WAL once the delete is committed, so the shredded DEK does not survive in
  // an old WAL frame; if readers keep the checkpoint from completing, the delete still stands and
  // the next CheckpointSqlite() finishes the job.
  Status DeletePatientKey(const std::string& practice_id, const std::string& patient_id) override;
  // `rewrap` runs with the writer lease held: it must not call this store.
  Status RewrapPatientKeys(
      const std::string& practice_id,
      const std::function<Result<PatientKeyRow>(const PatientKeyRow&)>& rewrap) override;

 private:
  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace medvault::store::sqlite
