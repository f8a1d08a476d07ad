// SharedRecordStore on PostgreSQL, in the data database (table shared_records, its own component
// in schema_versions). An update is one READ COMMITTED transaction on a pooled connection, with
// synchronous_commit off (its commit does not wait for the WAL flush; a server crash may lose the
// last few updates, never part of one):
// SELECT ... FOR UPDATE on the row; when absent, INSERT ... ON CONFLICT DO NOTHING and the
// SELECT again (two nodes creating the same record both end up locking the one row); then the
// caller's function, the UPDATE (skipped when the function changed nothing) and COMMIT. The common
// case costs four round trips.
#include <limits>
#include <string>
#include <utility>

#include "store/postgres/pg.h"
#include "store/postgres/postgres_store.h"

namespace medvault::store {
namespace {

using postgres::Connection;
using postgres::Isolation;
using postgres::Migration;
using postgres::Params;
using postgres::Pool;
using postgres::Rows;

constexpr Migration kSharedSteps[] = {
    {1, R"sql(
CREATE TABLE shared_records (
  kind      text NOT NULL,
  key       text NOT NULL,
  last_seen bigint NOT NULL DEFAULT 0,
  record    bytea NOT NULL DEFAULT '\x'::bytea,
  PRIMARY KEY (kind, key));
CREATE INDEX shared_records_seen ON shared_records (kind, last_seen);
)sql"},
};

class PgSharedRecordStore final : public SharedRecordStore {
 public:
  explicit PgSharedRecordStore(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

  Status Update(std::string_view kind, std::string_view key,
                const std::function<void(SharedRecord&)>& fn) override {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool_->Acquire());
    Connection& conn = lease.conn();
    // The records are counters and flags a crash may lose the last milliseconds of (what must
    // last, an account's lock, is in the data store): the commit does not wait for the WAL flush.
    MV_RETURN_IF_ERROR(conn.Simple(
        "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit TO off", "begin"));
    Status s = [&]() -> Status {
      Params k;
      k.Text(kind).Text(key);
      MV_ASSIGN_OR_RETURN(Rows rows, conn.Exec(kSelect, k, "shared record lock"));
      if (rows.size() == 0) {
        MV_RETURN_IF_ERROR(conn.Run(
            "INSERT INTO shared_records (kind, key) VALUES ($1, $2) ON CONFLICT DO NOTHING", k,
            "shared record insert"));
        MV_ASSIGN_OR_RETURN(rows, conn.Exec(kSelect, k, "shared record lock"));
        if (rows.size() == 0) return Internal("shared record: row vanished after insert");
      }
      SharedRecord record;
      record.data = rows.Blob(0, 0);
      record.last_seen = rows.Int(0, 1);
      const SharedRecord before = record;
      fn(record);
      // Unchanged (a look that changed nothing): the COMMIT only releases the lock.
      if (record.data == before.data && record.last_seen == before.last_seen) return Status::Ok();
      Params u;
      u.Text(kind).Text(key).Int(record.last_seen).Blob(record.data);
      return conn.Run(
          "UPDATE shared_records SET last_seen = $3, record = $4 WHERE kind = $1 AND key = $2", u,
          "shared record update");
    }();
    if (!s.ok()) {
      conn.Simple("ROLLBACK", "rollback").IgnoreError();
      return s;
    }
    return conn.Simple("COMMIT", "commit");
  }

  Result<int64_t> Evict(std::string_view kind, int64_t last_seen_before,
                        int64_t keep_at_most) override {
    if (keep_at_most < 0) keep_at_most = 0;
    int64_t deleted = 0;
    MV_RETURN_IF_ERROR(
        postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
          Params p;
          p.Text(kind).Int(last_seen_before);
          MV_ASSIGN_OR_RETURN(
              Rows idle, conn.Exec("DELETE FROM shared_records WHERE kind = $1 AND last_seen < $2",
                                   p, "shared record evict idle"));
          deleted = idle.Affected();
          if (keep_at_most == std::numeric_limits<int64_t>::max()) return Status::Ok();
          Params q;
          q.Text(kind).Int(keep_at_most);
          MV_ASSIGN_OR_RETURN(
              Rows excess,
              conn.Exec("DELETE FROM shared_records WHERE kind = $1 AND key IN ("
                        " SELECT key FROM shared_records WHERE kind = $1"
                        " ORDER BY last_seen DESC, key OFFSET $2)",
                        q, "shared record evict excess"));
          deleted += excess.Affected();
          return Status::Ok();
        }));
    return deleted;
  }

  Result<int64_t> Count(std::string_view kind) override {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool_->Acquire());
    Params p;
    p.Text(kind);
    MV_ASSIGN_OR_RETURN(
        Rows rows,
        lease.conn().Exec("SELECT count(*) FROM shared_records WHERE kind = $1", p,
                          "shared record count"));
    return rows.Int(0, 0);
  }

 private:
  static inline const std::string kSelect =
      "SELECT record, last_seen FROM shared_records WHERE kind = $1 AND key = $2 FOR UPDATE";

  std::unique_ptr<Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<SharedRecordStore>> OpenPostgresSharedRecordStore(
    const PostgresOptions& options) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool,
                      postgres::OpenMigratedPool(options, "shared", kSharedSteps));
  return std::unique_ptr<SharedRecordStore>(std::make_unique<PgSharedRecordStore>(std::move(pool)));
}

}  // namespace medvault::store
