#include "store/sqlite/sqlite_log_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string_view>

namespace medvault::store {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMillis = 5000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS log_entries(
  idx INTEGER PRIMARY KEY,
  entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_tiles(
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  PRIMARY KEY(level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_checkpoints(
  seq INTEGER PRIMARY KEY,
  tree_size INTEGER NOT NULL,
  signed_at INTEGER NOT NULL,
  note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_cosignatures(
  seq INTEGER PRIMARY KEY,
  tree_size INTEGER NOT NULL,
  witness TEXT NOT NULL,
  line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_cosignatures_size ON log_cosignatures(tree_size);
CREATE TABLE IF NOT EXISTS log_patient_leaves(
  patient_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY(patient_id, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_patient_index_progress(
  indexed_size INTEGER PRIMARY KEY);
PRAGMA user_version = 1;
)sql";

Status SqlError(sqlite3* db, std::string_view what) {
  const int rc = sqlite3_errcode(db);
  std::string message = "log store: " + std::string(what) + ": " + sqlite3_errmsg(db);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable(std::move(message));
  return Internal(std::move(message));
}

// One prepared statement, finalized on destruction. Not thread-safe.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, uint64_t v) { sqlite3_bind_int64(stmt_, i, static_cast<int64_t>(v)); }
  void Bind(int i, ByteView b) {
    sqlite3_bind_blob64(stmt_, i, b.data(), b.size(), SQLITE_STATIC);
  }
  void Bind(int i, std::string_view s) {
    sqlite3_bind_text64(stmt_, i, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  // Ok(true) with a row, Ok(false) when done.
  Result<bool> Step(std::string_view what) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, what);
  }
  Status Run(std::string_view what) {
    Result<bool> r = Step(what);
    if (!r.ok()) return r.status();
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return Status::Ok();
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  Bytes Blob(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    const int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? Bytes() : Bytes(p, p + n);
  }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    const int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(n));
  }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = "log store: " + std::string(what) + ": " + (error ? error : "?");
    sqlite3_free(error);
    return Internal(std::move(message));
  }
  return Status::Ok();
}

Result<sqlite3*> OpenConnection(const std::string& path) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = "log store: cannot open " + path + ": " +
                          (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Internal(std::move(message));
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMillis);
  Status s = Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", "pragmas");
  if (!s.ok()) {
    sqlite3_close(db);
    return s;
  }
  return db;
}

class SqliteLogStore final : public LogStore {
 public:
  SqliteLogStore(sqlite3* writer, sqlite3* reader) : writer_(writer), reader_(reader) {}
  ~SqliteLogStore() override {
    sqlite3_close(reader_);
    sqlite3_close(writer_);
  }
  SqliteLogStore(const SqliteLogStore&) = delete;
  SqliteLogStore& operator=(const SqliteLogStore&) = delete;

  Result<uint64_t> AppendEntries(std::span<const Bytes> entries) override {
    if (entries.empty()) return InvalidArgument("log store: empty append");
    std::lock_guard<std::mutex> lock(writer_mu_);
    MV_ASSIGN_OR_RETURN(uint64_t first, CountOn(writer_));
    MV_RETURN_IF_ERROR(Exec(writer_, "BEGIN IMMEDIATE", "begin append"));
    Status s = [&]() -> Status {
      Stmt insert(writer_, "INSERT INTO log_entries(idx, entry) VALUES(?, ?)");
      if (!insert.ok()) return SqlError(writer_, "prepare append");
      for (size_t i = 0; i < entries.size(); ++i) {
        insert.Bind(1, first + i);
        insert.Bind(2, ByteView(entries[i]));
        MV_RETURN_IF_ERROR(insert.Run("append entry"));
      }
      return Status::Ok();
    }();
    return CommitOrRollback(s, first);
  }

  Result<uint64_t> EntryCount() override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    return CountOn(reader_);
  }

  Result<std::vector<Bytes>> ReadEntries(uint64_t start, uint64_t count) override {
    std::vector<Bytes> out;
    std::lock_guard<std::mutex> lock(reader_mu_);
    MV_RETURN_IF_ERROR(Exec(reader_, "BEGIN", "begin read"));
    Status s = [&]() -> Status {
      Stmt select(reader_, "SELECT idx, entry FROM log_entries WHERE idx >= ? AND idx < ? "
                           "ORDER BY idx");
      if (!select.ok()) return SqlError(reader_, "prepare read entries");
      select.Bind(1, start);
      select.Bind(2, start + count);
      while (true) {
        MV_ASSIGN_OR_RETURN(bool row, select.Step("read entries"));
        if (!row) break;
        const uint64_t expected = start + out.size();
        if (static_cast<uint64_t>(select.Int(0)) != expected) {
          return IntegrityError("log entry " + std::to_string(expected) + " is missing");
        }
        out.push_back(select.Blob(1));
      }
      if (out.size() < count) {
        MV_ASSIGN_OR_RETURN(uint64_t total, CountOn(reader_));
        if (total > start + out.size()) {
          return IntegrityError("log entry " + std::to_string(start + out.size()) +
                                " is missing");
        }
      }
      return Status::Ok();
    }();
    Exec(reader_, "COMMIT", "end read").IgnoreError();
    if (!s.ok()) return s;
    return out;
  }

  Status PutTiles(std::span<const LogTileRow> tiles) override {
    if (tiles.empty()) return Status::Ok();
    for (const LogTileRow& t : tiles) {
      if (t.hashes.size() != kLogTileBytes || t.level < 0) {
        return InvalidArgument("log store: a tile must hold 256 hashes");
      }
    }
    std::lock_guard<std::mutex> lock(writer_mu_);
    MV_RETURN_IF_ERROR(Exec(writer_, "BEGIN IMMEDIATE", "begin tiles"));
    Status s = [&]() -> Status {
      Stmt get(writer_, "SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?");
      Stmt insert(writer_, "INSERT INTO log_tiles(level, idx, hashes) VALUES(?, ?, ?)");
      if (!get.ok() || !insert.ok()) return SqlError(writer_, "prepare tiles");
      for (const LogTileRow& t : tiles) {
        get.Bind(1, int64_t{t.level});
        get.Bind(2, t.index);
        MV_ASSIGN_OR_RETURN(bool exists, get.Step("read tile"));
        if (exists) {
          const bool same = get.Blob(0) == t.hashes;
          get.Reset();
          if (!same) {
            return IntegrityError("log store: tile " + std::to_string(t.level) + "/" +
                                  std::to_string(t.index) + " differs from the stored one");
          }
          continue;
        }
        get.Reset();
        insert.Bind(1, int64_t{t.level});
        insert.Bind(2, t.index);
        insert.Bind(3, ByteView(t.hashes));
        MV_RETURN_IF_ERROR(insert.Run("insert tile"));
      }
      return Status::Ok();
    }();
    Result<uint64_t> r = CommitOrRollback(s, 0);
    return r.status();
  }

  Result<std::optional<Bytes>> GetTile(int level, uint64_t index) override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    Stmt get(reader_, "SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?");
    if (!get.ok()) return SqlError(reader_, "prepare get tile");
    get.Bind(1, int64_t{level});
    get.Bind(2, index);
    MV_ASSIGN_OR_RETURN(bool row, get.Step("get tile"));
    if (!row) return std::optional<Bytes>();
    return std::optional<Bytes>(get.Blob(0));
  }

  Result<uint64_t> TileCount(int level) override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    Stmt get(reader_, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_tiles WHERE level = ?");
    if (!get.ok()) return SqlError(reader_, "prepare tile count");
    get.Bind(1, int64_t{level});
    MV_ASSIGN_OR_RETURN(bool row, get.Step("tile count"));
    if (!row) return Internal("log store: tile count returned no row");
    return static_cast<uint64_t>(get.Int(0));
  }

  Status AddCheckpoint(const LogCheckpointRow& row) override {
    std::lock_guard<std::mutex> lock(writer_mu_);
    MV_RETURN_IF_ERROR(Exec(writer_, "BEGIN IMMEDIATE", "begin checkpoint"));
    Status s = [&]() -> Status {
      Stmt insert(writer_,
                  "INSERT INTO log_checkpoints(tree_size, signed_at, note) VALUES(?, ?, ?)");
      if (!insert.ok()) return SqlError(writer_, "prepare checkpoint");
      insert.Bind(1, row.tree_size);
      insert.Bind(2, int64_t{row.signed_at});
      insert.Bind(3, std::string_view(row.note));
      return insert.Run("insert checkpoint");
    }();
    return CommitOrRollback(s, 0).status();
  }

  Result<std::optional<LogCheckpointRow>> LatestCheckpoint() override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    Stmt get(reader_, "SELECT tree_size, signed_at, note FROM log_checkpoints "
                      "ORDER BY seq DESC LIMIT 1");
    if (!get.ok()) return SqlError(reader_, "prepare latest checkpoint");
    MV_ASSIGN_OR_RETURN(bool row, get.Step("latest checkpoint"));
    if (!row) return std::optional<LogCheckpointRow>();
    return std::optional<LogCheckpointRow>(CheckpointFrom(get));
  }

  Result<std::vector<LogCheckpointRow>> ListCheckpoints() override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    Stmt get(reader_, "SELECT tree_size, signed_at, note FROM log_checkpoints ORDER BY seq");
    if (!get.ok()) return SqlError(reader_, "prepare checkpoints");
    std::vector<LogCheckpointRow> out;
    while (true) {
      MV_ASSIGN_OR_RETURN(bool row, get.Step("list checkpoints"));
      if (!row) break;
      out.push_back(CheckpointFrom(get));
    }
    return out;
  }

  Status AddCosignature(const LogCosignatureRow& row) override {
    std::lock_guard<std::mutex> lock(writer_mu_);
    MV_RETURN_IF_ERROR(Exec(writer_, "BEGIN IMMEDIATE", "begin cosignature"));
    Status s = [&]() -> Status {
      Stmt insert(writer_,
                  "INSERT INTO log_cosignatures(tree_size, witness, line) VALUES(?, ?, ?)");
      if (!insert.ok()) return SqlError(writer_, "prepare cosignature");
      insert.Bind(1, row.tree_size);
      insert.Bind(2, std::string_view(row.witness));
      insert.Bind(3, std::string_view(row.line));
      return insert.Run("insert cosignature");
    }();
    return CommitOrRollback(s, 0).status();
  }

  Result<std::vector<LogCosignatureRow>> ListCosignatures(uint64_t tree_size) override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    Stmt get(reader_, "SELECT tree_size, witness, line FROM log_cosignatures "
                      "WHERE tree_size = ? ORDER BY seq");
    if (!get.ok()) return SqlError(reader_, "prepare cosignatures");
    get.Bind(1, tree_size);
    std::vector<LogCosignatureRow> out;
    while (true) {
      MV_ASSIGN_OR_RETURN(bool row, get.Step("list cosignatures"));
      if (!row) break;
      out.push_back({static_cast<uint64_t>(get.Int(0)), get.Text(1), get.Text(2)});
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
    std::lock_guard<std::mutex> lock(writer_mu_);
    MV_RETURN_IF_ERROR(Exec(writer_, "BEGIN IMMEDIATE", "begin patient index"));
    Status s = [&]() -> Status {
      MV_ASSIGN_OR_RETURN(uint64_t indexed, IndexSizeOn(writer_));
      if (indexed != from) {
        return FailedPrecondition("log store: patient index is at " + std::to_string(indexed) +
                                  ", not " + std::to_string(from));
      }
      if (from == to) return Status::Ok();
      Stmt insert(writer_,
                  "INSERT OR IGNORE INTO log_patient_leaves(patient_id, idx) VALUES(?, ?)");
      Stmt progress(writer_, "INSERT INTO log_patient_index_progress(indexed_size) VALUES(?)");
      if (!insert.ok() || !progress.ok()) return SqlError(writer_, "prepare patient index");
      for (const PatientLeafRow& r : rows) {
        insert.Bind(1, std::string_view(r.patient_id));
        insert.Bind(2, r.leaf_index);
        MV_RETURN_IF_ERROR(insert.Run("insert patient index row"));
      }
      progress.Bind(1, to);
      return progress.Run("insert patient index progress");
    }();
    return CommitOrRollback(s, 0).status();
  }

  Result<uint64_t> PatientIndexSize() override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    return IndexSizeOn(reader_);
  }

  Result<std::vector<uint64_t>> PatientLeaves(const std::string& patient_id) override {
    std::lock_guard<std::mutex> lock(reader_mu_);
    Stmt get(reader_, "SELECT idx FROM log_patient_leaves WHERE patient_id = ? ORDER BY idx");
    if (!get.ok()) return SqlError(reader_, "prepare patient leaves");
    get.Bind(1, std::string_view(patient_id));
    std::vector<uint64_t> out;
    while (true) {
      MV_ASSIGN_OR_RETURN(bool row, get.Step("patient leaves"));
      if (!row) break;
      out.push_back(static_cast<uint64_t>(get.Int(0)));
    }
    return out;
  }

  uint64_t SyncCount() const override { return sync_count_.load(); }

 private:
  static LogCheckpointRow CheckpointFrom(const Stmt& s) {
    return {static_cast<uint64_t>(s.Int(0)), s.Int(1), s.Text(2)};
  }

  static Result<uint64_t> CountOn(sqlite3* db) {
    Stmt get(db, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries");
    if (!get.ok()) return SqlError(db, "prepare entry count");
    MV_ASSIGN_OR_RETURN(bool row, get.Step("entry count"));
    if (!row) return Internal("log store: entry count returned no row");
    return static_cast<uint64_t>(get.Int(0));
  }

  static Result<uint64_t> IndexSizeOn(sqlite3* db) {
    Stmt get(db, "SELECT COALESCE(MAX(indexed_size), 0) FROM log_patient_index_progress");
    if (!get.ok()) return SqlError(db, "prepare patient index size");
    MV_ASSIGN_OR_RETURN(bool row, get.Step("patient index size"));
    if (!row) return Internal("log store: patient index size returned no row");
    return static_cast<uint64_t>(get.Int(0));
  }

  // REQUIRES: writer_mu_ held and a transaction open on writer_.
  Result<uint64_t> CommitOrRollback(const Status& s, uint64_t value) {
    if (!s.ok()) {
      Exec(writer_, "ROLLBACK", "rollback").IgnoreError();
      return s;
    }
    Status c = Exec(writer_, "COMMIT", "commit");
    if (!c.ok()) {
      Exec(writer_, "ROLLBACK", "rollback").IgnoreError();
      return c;
    }
    sync_count_.fetch_add(1);
    return value;
  }

  std::mutex writer_mu_;
  sqlite3* writer_;  // GUARDED_BY(writer_mu_)
  std::mutex reader_mu_;
  sqlite3* reader_;  // GUARDED_BY(reader_mu_)
  std::atomic<uint64_t> sync_count_{0};
};

}  // namespace

Result<std::unique_ptr<LogStore>> OpenSqliteLogStore(const std::string& path) {
  // Create the file ourselves so that it gets mode 0600 whatever the umask.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("log store: cannot create " + path);
  ::close(fd);

  MV_ASSIGN_OR_RETURN(sqlite3* writer, OpenConnection(path));
  int version = 0;
  {
    Stmt get(writer, "PRAGMA user_version");
    if (get.ok() && get.Step("schema version").ok()) version = static_cast<int>(get.Int(0));
  }
  if (version > kSchemaVersion) {
    sqlite3_close(writer);
    return FailedPrecondition("log store: " + path + " has schema version " +
                              std::to_string(version) + ", newer than this build");
  }
  Status s = Exec(writer, kSchema, "create schema");
  if (!s.ok()) {
    sqlite3_close(writer);
    return s;
  }
  Result<sqlite3*> reader = OpenConnection(path);
  if (!reader.ok()) {
    sqlite3_close(writer);
    return reader.status();
  }
  return std::unique_ptr<LogStore>(std::make_unique<SqliteLogStore>(writer, *reader));
}

}  // namespace medvault::store
