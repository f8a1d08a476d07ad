// LogStore on PostgreSQL, in the data database (tables log_*). Several nodes may append: an append
// takes a transaction-scoped advisory lock (kAppendLock) before it reads the next index, so
// appends from every node are serialised and the indexes stay dense (READ COMMITTED: the
// statement after the lock sees every append committed before it). Reads of a range run in one
// REPEATABLE READ READ ONLY transaction, so the gap check and the entries come from one snapshot.
// The patient index advances with a conditional update of its single progress row, so of two
// indexers racing from the same point one wins and the other gets FailedPrecondition.
#include <atomic>
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

// "mvlogapp" in ASCII: the advisory lock serialising appends to log_entries.
constexpr int64_t kAppendLock = 0x6d766c6f67617070;
// "mvlogck": the advisory lock ordering checkpoint inserts.
constexpr int64_t kCheckpointLock = 0x6d766c6f67636b;
// "mvin" in ASCII: the first key of the integrator lease's session advisory lock; the second is
// a hash of the schema, so that vaults in different schemas of one database lead separately.
constexpr int32_t kIntegratorLock = 0x6d76696e;

// The integrator lease: a session-level advisory lock on a connection of its own (never a pooled
// one), so that it lives exactly as long as that session. The server releases it when the session
// ends, including when the holding process is killed or its connection drops.
class PgIntegratorLease final : public IntegratorLease {
 public:
  explicit PgIntegratorLease(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}
  // Unlocks before closing, so that the lease is free when this returns (a closed session's
  // locks are released by its backend a little later).
  ~PgIntegratorLease() override {
    if (conn_ && !conn_->Broken()) {
      Params p;
      p.Int(kIntegratorLock);
      conn_->Run("SELECT pg_advisory_unlock($1::int4, hashtext(current_schema()))", p,
                 "integrator lease release")
          .IgnoreError();
    }
  }
  bool StillHeld() override {
    if (!conn_ || conn_->Broken()) return false;
    // A session keeps its advisory locks until it ends: one successful round trip on it is proof
    // that the lease is still held.
    if (!conn_->Simple("SELECT 1", "integrator lease check").ok()) {
      conn_.reset();
      return false;
    }
    return true;
  }

 private:
  std::unique_ptr<Connection> conn_;
};

constexpr Migration kLogSteps[] = {
    {1, R"sql(
CREATE TABLE log_entries (
  idx   bigint PRIMARY KEY,
  entry bytea NOT NULL);
CREATE TABLE log_tiles (
  level  bigint NOT NULL,
  idx    bigint NOT NULL,
  hashes bytea NOT NULL,
  PRIMARY KEY (level, idx));
CREATE TABLE log_checkpoints (
  seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tree_size bigint NOT NULL,
  signed_at bigint NOT NULL,
  note      text NOT NULL);
CREATE TABLE log_cosignatures (
  seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tree_size bigint NOT NULL,
  witness   text NOT NULL,
  line      text NOT NULL);
CREATE INDEX log_cosignatures_size ON log_cosignatures (tree_size);
CREATE TABLE log_patient_leaves (
  patient_id text NOT NULL,
  idx        bigint NOT NULL,
  PRIMARY KEY (patient_id, idx));
CREATE TABLE log_patient_index_progress (
  one          boolean PRIMARY KEY DEFAULT true CHECK (one),
  indexed_size bigint NOT NULL);
INSERT INTO log_patient_index_progress (indexed_size) VALUES (0);
)sql"},
};

class PgLogStore final : public LogStore {
 public:
  explicit PgLogStore(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

  Result<uint64_t> AppendEntries(std::span<const Bytes> entries) override {
    if (entries.empty()) return InvalidArgument("log store: empty append");
    uint64_t first = 0;
    MV_RETURN_IF_ERROR(
        postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
          Params lock;
          lock.Int(kAppendLock);
          MV_RETURN_IF_ERROR(conn.Run("SELECT pg_advisory_xact_lock($1)", lock, "append lock"));
          MV_ASSIGN_OR_RETURN(Rows count, conn.Exec("SELECT COALESCE(max(idx) + 1, 0) "
                                                    "FROM log_entries",
                                                    Params(), "entry count"));
          first = static_cast<uint64_t>(count.Int(0, 0));
          Params p;
          p.Int(static_cast<int64_t>(first)).BlobArray(entries);
          return conn.Run(
              "INSERT INTO log_entries (idx, entry) SELECT $1 + ord - 1, e "
              "FROM unnest($2::bytea[]) WITH ORDINALITY AS t(e, ord)",
              p, "append entries");
        }));
    sync_count_.fetch_add(1);
    return first;
  }

  Result<uint64_t> EntryCount() override {
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT COALESCE(max(idx) + 1, 0) FROM log_entries",
                                     Params(), "entry count"));
    return static_cast<uint64_t>(r.Int(0, 0));
  }

  Result<std::vector<Bytes>> ReadEntries(uint64_t start, uint64_t count) override {
    std::vector<Bytes> out;
    MV_RETURN_IF_ERROR(
        postgres::InTransaction(*pool_, Isolation::kRepeatableRead, [&](Connection& conn) {
          out.clear();
          Params p;
          const uint64_t end = count > INT64_MAX - start ? INT64_MAX : start + count;
          p.Int(static_cast<int64_t>(start)).Int(static_cast<int64_t>(end));
          MV_ASSIGN_OR_RETURN(Rows r, conn.Exec("SELECT idx, entry FROM log_entries "
                                                "WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                                                p, "read entries"));
          for (int i = 0; i < r.size(); ++i) {
            const uint64_t expected = start + out.size();
            if (static_cast<uint64_t>(r.Int(i, 0)) != expected) {
              return IntegrityError("log entry " + std::to_string(expected) + " is missing");
            }
            out.push_back(r.Blob(i, 1));
          }
          if (out.size() < count) {
            MV_ASSIGN_OR_RETURN(Rows total, conn.Exec("SELECT COALESCE(max(idx) + 1, 0) "
                                                      "FROM log_entries",
                                                      Params(), "entry count"));
            if (static_cast<uint64_t>(total.Int(0, 0)) > start + out.size()) {
              return IntegrityError("log entry " + std::to_string(start + out.size()) +
                                    " is missing");
            }
          }
          return Status::Ok();
        }));
    return out;
  }

  Status PutTiles(std::span<const LogTileRow> tiles) override {
    if (tiles.empty()) return Status::Ok();
    for (const LogTileRow& t : tiles) {
      if (t.hashes.size() != kLogTileBytes || t.level < 0) {
        return InvalidArgument("log store: a tile must hold 256 hashes");
      }
    }
    MV_RETURN_IF_ERROR(
        postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
          for (const LogTileRow& t : tiles) {
            Params p;
            p.Int(t.level).Int(static_cast<int64_t>(t.index)).Blob(t.hashes);
            // Inserted unless present; then the stored one (ours or an earlier one) is compared.
            MV_RETURN_IF_ERROR(conn.Run("INSERT INTO log_tiles (level, idx, hashes) "
                                        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                        p, "insert tile"));
            Params q;
            q.Int(t.level).Int(static_cast<int64_t>(t.index));
            MV_ASSIGN_OR_RETURN(Rows r, conn.Exec("SELECT hashes FROM log_tiles "
                                                  "WHERE level = $1 AND idx = $2",
                                                  q, "read tile"));
            if (r.size() != 1 || r.Blob(0, 0) != t.hashes) {
              return IntegrityError("log store: tile " + std::to_string(t.level) + "/" +
                                    std::to_string(t.index) + " differs from the stored one");
            }
          }
          return Status::Ok();
        }));
    sync_count_.fetch_add(1);
    return Status::Ok();
  }

  Result<std::optional<Bytes>> GetTile(int level, uint64_t index) override {
    Params p;
    p.Int(level).Int(static_cast<int64_t>(index));
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT hashes FROM log_tiles WHERE level = $1 AND idx = $2",
                                     p, "get tile"));
    if (r.size() == 0) return std::optional<Bytes>();
    return std::optional<Bytes>(r.Blob(0, 0));
  }

  Result<uint64_t> TileCount(int level) override {
    Params p;
    p.Int(level);
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT COALESCE(max(idx) + 1, 0) FROM log_tiles "
                                     "WHERE level = $1",
                                     p, "tile count"));
    return static_cast<uint64_t>(r.Int(0, 0));
  }

  Status AddCheckpoint(const LogCheckpointRow& row) override {
    // Checkpoints stay in tree order even if two nodes briefly both believe they integrate (a
    // lease lost between its check and the signature): the smaller one is refused.
    int64_t added = 0;
    MV_RETURN_IF_ERROR(
        postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
          Params lock;
          lock.Int(kCheckpointLock);
          MV_RETURN_IF_ERROR(
              conn.Run("SELECT pg_advisory_xact_lock($1)", lock, "checkpoint lock"));
          Params p;
          p.Int(static_cast<int64_t>(row.tree_size)).Int(row.signed_at).Text(row.note);
          MV_ASSIGN_OR_RETURN(
              Rows r, conn.Exec("INSERT INTO log_checkpoints (tree_size, signed_at, note) "
                                "SELECT $1, $2, $3 WHERE NOT EXISTS "
                                "(SELECT 1 FROM log_checkpoints WHERE tree_size > $1)",
                                p, "insert checkpoint"));
          added = r.Affected();
          return Status::Ok();
        }));
    if (added == 0) {
      return FailedPrecondition("log store: a checkpoint of a larger tree than " +
                                std::to_string(row.tree_size) + " is already stored");
    }
    sync_count_.fetch_add(1);
    return Status::Ok();
  }

  Result<std::optional<LogCheckpointRow>> LatestCheckpoint() override {
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT tree_size, signed_at, note FROM log_checkpoints "
                                     "ORDER BY seq DESC LIMIT 1",
                                     Params(), "latest checkpoint"));
    if (r.size() == 0) return std::optional<LogCheckpointRow>();
    return std::optional<LogCheckpointRow>(
        LogCheckpointRow{static_cast<uint64_t>(r.Int(0, 0)), r.Int(0, 1), r.Text(0, 2)});
  }

  Result<std::vector<LogCheckpointRow>> ListCheckpoints() override {
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT tree_size, signed_at, note FROM log_checkpoints "
                                     "ORDER BY seq",
                                     Params(), "list checkpoints"));
    std::vector<LogCheckpointRow> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({static_cast<uint64_t>(r.Int(i, 0)), r.Int(i, 1), r.Text(i, 2)});
    }
    return out;
  }

  Status AddCosignature(const LogCosignatureRow& row) override {
    Params p;
    p.Int(static_cast<int64_t>(row.tree_size)).Text(row.witness).Text(row.line);
    MV_RETURN_IF_ERROR(Exec("INSERT INTO log_cosignatures (tree_size, witness, line) "
                            "VALUES ($1, $2, $3)",
                            p, "insert cosignature")
                           .status());
    sync_count_.fetch_add(1);
    return Status::Ok();
  }

  Result<std::vector<LogCosignatureRow>> ListCosignatures(uint64_t tree_size) override {
    Params p;
    p.Int(static_cast<int64_t>(tree_size));
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT tree_size, witness, line FROM log_cosignatures "
                                     "WHERE tree_size = $1 ORDER BY seq",
                                     p, "list cosignatures"));
    std::vector<LogCosignatureRow> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({static_cast<uint64_t>(r.Int(i, 0)), r.Text(i, 1), r.Text(i, 2)});
    }
    return out;
  }

  Status AppendPatientIndex(uint64_t from, uint64_t to,
                            std::span<const PatientLeafRow> rows) override {
    if (from > to) return FailedPrecondition("log store: patient index range is reversed");
    for (const PatientLeafRow& r : rows) {
      if (r.leaf_index < from || r.leaf_index >= to) {
        return InvalidArgument("log store: patient index row outside its range");
      }
    }
    MV_RETURN_IF_ERROR(
        postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
          Params p;
          p.Int(static_cast<int64_t>(from)).Int(static_cast<int64_t>(to));
          // The row lock taken here also serialises indexers: the loser re-checks the condition
          // on the winner's row version and updates nothing.
          MV_ASSIGN_OR_RETURN(Rows moved,
                              conn.Exec("UPDATE log_patient_index_progress SET indexed_size = $2 "
                                        "WHERE indexed_size = $1",
                                        p, "patient index progress"));
          if (moved.Affected() != 1) {
            MV_ASSIGN_OR_RETURN(Rows at, conn.Exec("SELECT indexed_size FROM "
                                                   "log_patient_index_progress",
                                                   Params(), "patient index size"));
            return FailedPrecondition("log store: patient index is at " +
                                      std::to_string(at.size() ? at.Int(0, 0) : 0) + ", not " +
                                      std::to_string(from));
          }
          if (rows.empty()) return Status::Ok();
          std::vector<Bytes> ids;
          std::vector<Bytes> idx;
          ids.reserve(rows.size());
          idx.reserve(rows.size());
          for (const PatientLeafRow& r : rows) {
            ids.emplace_back(r.patient_id.begin(), r.patient_id.end());
            Bytes n;
            for (int i = 7; i >= 0; --i) n.push_back(static_cast<uint8_t>(r.leaf_index >> (8 * i)));
            idx.push_back(std::move(n));
          }
          Params q;
          q.BlobArray(ids).BlobArray(idx);
          // Sent as bytea arrays and converted in SQL: ids are ASCII, indexes 8-byte big-endian.
          return conn.Run(
              "INSERT INTO log_patient_leaves (patient_id, idx) "
              "SELECT convert_from(p, 'UTF8'), ('x' || encode(i, 'hex'))::bit(64)::bigint "
              "FROM unnest($1::bytea[], $2::bytea[]) AS t(p, i) ON CONFLICT DO NOTHING",
              q, "insert patient index rows");
        }));
    sync_count_.fetch_add(1);
    return Status::Ok();
  }

  Result<uint64_t> PatientIndexSize() override {
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT indexed_size FROM log_patient_index_progress",
                                     Params(), "patient index size"));
    return r.size() ? static_cast<uint64_t>(r.Int(0, 0)) : 0;
  }

  Result<std::vector<uint64_t>> PatientLeaves(const std::string& patient_id) override {
    Params p;
    p.Text(patient_id);
    MV_ASSIGN_OR_RETURN(Rows r, Exec("SELECT idx FROM log_patient_leaves WHERE patient_id = $1 "
                                     "ORDER BY idx",
                                     p, "patient leaves"));
    std::vector<uint64_t> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(static_cast<uint64_t>(r.Int(i, 0)));
    return out;
  }

  uint64_t SyncCount() const override { return sync_count_.load(); }

  bool SharedAppends() const override { return true; }

  Result<std::unique_ptr<IntegratorLease>> TryAcquireIntegratorLease() override {
    MV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(pool_->target()));
    Params p;
    p.Int(kIntegratorLock);
    MV_ASSIGN_OR_RETURN(
        Rows r, conn->Exec("SELECT pg_try_advisory_lock($1::int4, hashtext(current_schema()))",
                           p, "integrator lease"));
    if (!r.Bool(0, 0)) return std::unique_ptr<IntegratorLease>();
    return std::unique_ptr<IntegratorLease>(new PgIntegratorLease(std::move(conn)));
  }

 private:
  Result<Rows> Exec(const std::string& sql, const Params& params, std::string_view what) {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool_->Acquire());
    return lease.conn().Exec(sql, params, what);
  }

  std::unique_ptr<Pool> pool_;
  std::atomic<uint64_t> sync_count_{0};
};

}  // namespace

Result<std::unique_ptr<LogStore>> OpenPostgresLogStore(const PostgresOptions& options) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool,
                      postgres::OpenMigratedPool(options, "log", kLogSteps));
  return std::unique_ptr<LogStore>(std::make_unique<PgLogStore>(std::move(pool)));
}

}  // namespace medvault::store
