// KeyStore on PostgreSQL, for a database of its own (never the data's: postgres_store.h).
// Isolation: single statements under READ COMMITTED, except ReplaceWrappedKeys (several updates
// in one READ COMMITTED transaction: all or none) and RewrapPatientKeys, which pages through the
// practice's keys in one REPEATABLE READ transaction so that every page comes from the same
// snapshot; a key inserted concurrently is serialised after the rewrap (its writer wrapped it
// under the KEK it read, which the keyring keeps), and a concurrent update of a key being rewrapped
// fails the rewrap with Unavailable rather than overwriting it.
#include <string>
#include <unordered_set>
#include <utility>

#include "store/postgres/pg.h"
#include "store/postgres/postgres_store.h"

namespace medvault::store {
namespace {

using postgres::Connection;
using postgres::CopyBuffer;
using postgres::Isolation;
using postgres::Migration;
using postgres::Params;
using postgres::Pool;
using postgres::Rows;

constexpr Migration kKeySteps[] = {
    {1, R"sql(
CREATE TABLE wrapped_keys (
  owner      text NOT NULL,
  purpose    text NOT NULL,
  version    bigint NOT NULL,
  wrapped_by text NOT NULL,
  wrapped    bytea NOT NULL,
  PRIMARY KEY (owner, purpose, version));

CREATE TABLE patient_keys (
  practice_id text NOT NULL,
  patient_id  text NOT NULL,
  dek_version bigint NOT NULL,
  kek_version bigint NOT NULL,
  wrapped_dek bytea NOT NULL,
  PRIMARY KEY (practice_id, patient_id));
)sql"},
};

constexpr size_t kFlushRows = 2000;
constexpr int64_t kRewrapPage = 512;

WrappedKeyRow ReadWrappedKey(const Rows& r, int i) {
  return WrappedKeyRow{r.Text(i, 0), r.Text(i, 1), static_cast<uint32_t>(r.Int(i, 2)),
                       r.Text(i, 3), r.Blob(i, 4)};
}

PatientKeyRow ReadPatientKey(const Rows& r, int i) {
  return PatientKeyRow{r.Text(i, 0), r.Text(i, 1), static_cast<uint32_t>(r.Int(i, 2)),
                       static_cast<uint32_t>(r.Int(i, 3)), r.Blob(i, 4)};
}

// Buffers keys and sends them with binary COPY inside one open transaction, kFlushRows at a time,
// each full buffer on a thread of its own while the caller fills the next (as the patient batch
// writer of the data store does); errors as that writer's (a taken key may be reported by a later
// Add or Commit).
class PgPatientKeyBatchWriter final : public PatientKeyBatchWriter {
 public:
  explicit PgPatientKeyBatchWriter(Pool::Lease lease) : lease_(std::move(lease)) {}
  // The flush in flight uses the connection: it ends before the lease rolls back.
  ~PgPatientKeyBatchWriter() override { inflight_.Wait().IgnoreError(); }

  Status Begin() { return lease_.conn().Simple("BEGIN ISOLATION LEVEL READ COMMITTED", "begin"); }

  Status Add(const PatientKeyRow& row) override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient key batch already committed");
    Status status = Status::Ok();
    if (!keys_.insert(row.practice_id + '\x1f' + row.patient_id).second) {
      status = AlreadyExists("insert patient key: already exists");
    } else {
      filling_.BeginTuple(5);
      filling_.Text(row.practice_id);
      filling_.Text(row.patient_id);
      filling_.Int(row.dek_version);
      filling_.Int(row.kek_version);
      filling_.Blob(row.wrapped_dek);
      if (filling_.tuples() >= kFlushRows) status = StartFlush();
    }
    if (!status.ok()) Fail(status);
    return status;
  }

  Status Commit() override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient key batch already committed");
    Status status = StartFlush();
    if (status.ok()) status = inflight_.Wait();
    if (status.ok()) status = lease_.conn().Simple("COMMIT", "commit patient key batch");
    if (!status.ok()) {
      Fail(status);
      return status;
    }
    committed_ = true;
    return Status::Ok();
  }

 private:
  // Waits for the buffer in flight (its error, if any, is this call's), then sends the one being
  // filled on the flush thread.
  Status StartFlush() {
    MV_RETURN_IF_ERROR(inflight_.Wait());
    if (filling_.tuples() == 0) return Status::Ok();
    std::swap(sending_, filling_);
    filling_.Clear();
    inflight_.Start([this] {
      return lease_.conn().CopyIn(
          "COPY patient_keys (practice_id, patient_id, dek_version, kek_version, wrapped_dek) "
          "FROM STDIN (FORMAT binary)",
          sending_.Finish(), "insert patient key");
    });
    return Status::Ok();
  }

  void Fail(const Status& status) {
    failure_ = status.WithContext("patient key batch abandoned");
    inflight_.Wait().IgnoreError();
    lease_.conn().Simple("ROLLBACK", "rollback").IgnoreError();
  }

  Pool::Lease lease_;
  Status failure_;
  bool committed_ = false;
  std::unordered_set<std::string> keys_;
  CopyBuffer filling_;  // the caller's
  CopyBuffer sending_;  // the flush thread's while a flush is in flight
  InFlight inflight_;   // declared last: destroyed (waited for) first
};

class PgKeyStore final : public KeyStore {
 public:
  explicit PgKeyStore(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

  Status PutWrappedKey(const WrappedKeyRow& row) override {
    Params p;
    p.Text(row.owner).Text(row.purpose).Int(row.version).Text(row.wrapped_by).Blob(row.wrapped);
    return Exec("INSERT INTO wrapped_keys (owner, purpose, version, wrapped_by, wrapped) "
                "VALUES ($1, $2, $3, $4, $5)",
                p, "put wrapped key")
        .status();
  }

  Result<std::vector<WrappedKeyRow>> GetWrappedKeys(const std::string& owner,
                                                    const std::string& purpose) override {
    Params p;
    p.Text(owner).Text(purpose);
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT owner, purpose, version, wrapped_by, wrapped "
                                     "FROM wrapped_keys WHERE owner = $1 AND purpose = $2 "
                                     "ORDER BY version DESC",
                                     p, "get wrapped keys"));
    std::vector<WrappedKeyRow> rows;
    for (int i = 0; i < r.size(); ++i) rows.push_back(ReadWrappedKey(r, i));
    return rows;
  }

  Result<std::vector<WrappedKeyRow>> ListWrappedKeys() override {
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT owner, purpose, version, wrapped_by, wrapped "
                                     "FROM wrapped_keys ORDER BY owner, purpose, version DESC",
                                     Params(), "list wrapped keys"));
    std::vector<WrappedKeyRow> rows;
    for (int i = 0; i < r.size(); ++i) rows.push_back(ReadWrappedKey(r, i));
    return rows;
  }

  Status ReplaceWrappedKeys(std::span<const WrappedKeyRow> rows) override {
    return postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
      for (const WrappedKeyRow& row : rows) {
        Params p;
        p.Text(row.owner).Text(row.purpose).Int(row.version).Text(row.wrapped_by).Blob(
            row.wrapped);
        MV_ASSIGN_OR_RETURN(Rows r,
                            conn.Exec("UPDATE wrapped_keys SET wrapped_by = $4, wrapped = $5 "
                                      "WHERE owner = $1 AND purpose = $2 AND version = $3",
                                      p, "replace wrapped key"));
        if (r.Affected() == 0) return NotFound("replace wrapped key: key not found");
      }
      return Status::Ok();
    });
  }

  Result<std::unique_ptr<PatientKeyBatchWriter>> BeginPatientKeyBatch() override {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool_->Acquire());
    auto writer = std::make_unique<PgPatientKeyBatchWriter>(std::move(lease));
    MV_RETURN_IF_ERROR(writer->Begin());
    return std::unique_ptr<PatientKeyBatchWriter>(std::move(writer));
  }

  Result<PatientKeyRow> GetPatientKey(const std::string& practice_id,
                                      const std::string& patient_id) override {
    Params p;
    p.Text(practice_id).Text(patient_id);
    MV_ASSIGN_OR_RETURN(Rows r,
                        Exec("SELECT practice_id, patient_id, dek_version, kek_version, "
                             "wrapped_dek FROM patient_keys WHERE practice_id = $1 AND "
                             "patient_id = $2",
                             p, "get patient key"));
    if (r.size() == 0) return NotFound("patient key not found");
    return ReadPatientKey(r, 0);
  }

  Status DeletePatientKey(const std::string& practice_id,
                          const std::string& patient_id) override {
    Params p;
    p.Text(practice_id).Text(patient_id);
    MV_ASSIGN_OR_RETURN(Rows r, Exec("DELETE FROM patient_keys WHERE practice_id = $1 AND "
                                     "patient_id = $2",
                                     p, "delete patient key"));
    if (r.Affected() == 0) return NotFound("delete patient key: not found");
    return Status::Ok();
  }

  Status RewrapPatientKeys(
      const std::string& practice_id,
      const std::function<Result<PatientKeyRow>(const PatientKeyRow&)>& rewrap) override {
    return postgres::InTransaction(*pool_, Isolation::kRepeatableRead, [&](Connection& conn) {
      std::string after;  // patient ids are non-empty, so "" sorts before the first
      while (true) {
        Params p;
        p.Text(practice_id).Text(after).Int(kRewrapPage);
        MV_ASSIGN_OR_RETURN(Rows page,
                            conn.Exec("SELECT practice_id, patient_id, dek_version, kek_version, "
                                      "wrapped_dek FROM patient_keys WHERE practice_id = $1 AND "
                                      "patient_id > $2 ORDER BY patient_id LIMIT $3",
                                      p, "rewrap patient keys"));
        if (page.size() == 0) return Status::Ok();
        for (int i = 0; i < page.size(); ++i) {
          const PatientKeyRow old_row = ReadPatientKey(page, i);
          MV_ASSIGN_OR_RETURN(PatientKeyRow new_row, rewrap(old_row));
          if (new_row.practice_id != old_row.practice_id ||
              new_row.patient_id != old_row.patient_id) {
            return InvalidArgument("rewrap patient keys: rewrap changed the practice or patient");
          }
          Params u;
          u.Text(new_row.practice_id)
              .Text(new_row.patient_id)
              .Int(new_row.dek_version)
              .Int(new_row.kek_version)
              .Blob(new_row.wrapped_dek);
          MV_RETURN_IF_ERROR(conn.Run("UPDATE patient_keys SET dek_version = $3, "
                                      "kek_version = $4, wrapped_dek = $5 "
                                      "WHERE practice_id = $1 AND patient_id = $2",
                                      u, "rewrap patient key"));
          after = old_row.patient_id;
        }
      }
    });
  }

 private:
  Result<Rows> Exec(const std::string& sql, const Params& params, std::string_view what) {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool_->Acquire());
    return lease.conn().Exec(sql, params, what);
  }

  std::unique_ptr<Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> OpenPostgresKeyStore(const PostgresOptions& options) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool,
                      postgres::OpenMigratedPool(options, "keys", kKeySteps));
  return std::unique_ptr<KeyStore>(std::make_unique<PgKeyStore>(std::move(pool)));
}

}  // namespace medvault::store
