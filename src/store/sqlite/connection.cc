#include "store/sqlite/connection.h"

#include <string>

namespace medvault::store::sqlite {
namespace {

// A zero-length buffer may have a null data pointer, which SQLite would bind as NULL; every
// column of ours that holds bytes or text is NOT NULL, so empty values point here instead.
constexpr char kEmpty[1] = {0};

// SQLITE_STATIC is a null destructor: SQLite does not copy the buffer. Spelled out here because
// the macro is an old-style cast.
constexpr sqlite3_destructor_type kStatic = nullptr;

std::string PragmaInt(const char* name, int64_t value) {
  return std::string("PRAGMA ") + name + " = " + std::to_string(value);
}

}  // namespace

Status ErrorStatus(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return AlreadyExists(std::string(what) + ": already exists");
  }
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
    // The row refers to an absent practice, patient or user.
    return NotFound(std::string(what) + ": referenced row not found");
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Unavailable(std::string(what) + ": database busy");
  }
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Internal(std::string(what) + ": " + message);
}

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::Bind(int index, std::string_view text) {
  const char* data = text.empty() ? kEmpty : text.data();
  sqlite3_bind_text64(stmt_, index, data, text.size(), kStatic, SQLITE_UTF8);
}

void Statement::Bind(int index, ByteView blob) {
  const void* data = blob.empty() ? static_cast<const void*>(kEmpty) : blob.data();
  sqlite3_bind_blob64(stmt_, index, data, blob.size(), kStatic);
}

void Statement::Bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

void Statement::BindOptional(int index, std::string_view text) {
  if (text.empty()) {
    BindNull(index);
  } else {
    Bind(index, text);
  }
}

Result<bool> Statement::Step(std::string_view what) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return ErrorStatus(sqlite3_db_handle(stmt_), rc, what);
}

Status Statement::Run(std::string_view what) {
  MV_ASSIGN_OR_RETURN(bool row, Step(what));
  if (row) return Internal(std::string(what) + ": statement returned a row");
  return Status::Ok();
}

void Statement::Reset() { sqlite3_reset(stmt_); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

Bytes Statement::Blob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  if (data == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, column);
  return Bytes(data, data + size);
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const SqliteOptions& options, Kind kind) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the pool and the writer mutex
  // guarantee it), so SQLite's own per-connection mutex would only cost time.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = ErrorStatus(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return status;
  }
  auto conn = std::make_unique<Connection>(OpenedHandle{db});
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));

  MV_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys = ON", "set foreign_keys"));
  // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss
  // (NORMAL would only protect against an application crash).
  MV_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous = FULL", "set synchronous"));
  // Deleted content is overwritten with zeros, so a shredded DEK or a deleted envelope does not
  // survive in a free page or in the unused part of a page.
  MV_RETURN_IF_ERROR(conn->Exec("PRAGMA secure_delete = ON", "set secure_delete"));
  // Sorts and temporary indexes stay in memory rather than in unencrypted temporary files.
  MV_RETURN_IF_ERROR(conn->Exec("PRAGMA temp_store = MEMORY", "set temp_store"));
  MV_RETURN_IF_ERROR(
      conn->Exec(PragmaInt("cache_size", -options.cache_kib).c_str(), "set cache_size"));
  if (kind == Kind::kWriter) {
    MV_RETURN_IF_ERROR(conn->Exec("PRAGMA journal_mode = WAL", "set journal_mode"));
    MV_RETURN_IF_ERROR(conn->Exec(
        PragmaInt("wal_autocheckpoint", options.wal_autocheckpoint_pages).c_str(),
        "set wal_autocheckpoint"));
  } else {
    MV_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only = ON", "set query_only"));
  }
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<sqlite3_stmt*> Connection::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return ErrorStatus(db_, rc, "prepare statement");
  statements_.emplace(sql, stmt);
  return stmt;
}

Status Connection::Exec(const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return ErrorStatus(db_, rc, what);
  return Status::Ok();
}

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

int64_t Connection::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

Status TruncateWal(Connection& conn, std::string_view what) {
  int wal_frames = 0;
  int checkpointed = 0;
  const int rc = sqlite3_wal_checkpoint_v2(conn.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                           &wal_frames, &checkpointed);
  if (rc != SQLITE_OK) return ErrorStatus(conn.handle(), rc, what);
  return Status::Ok();
}

Transaction::~Transaction() { Rollback(); }

Status Transaction::Begin() {
  // IMMEDIATE takes the write lock up front, so a conflict with another process shows at BEGIN
  // (waiting up to the busy timeout) instead of failing a statement halfway.
  MV_STATEMENT(begin, conn_, "BEGIN IMMEDIATE");
  MV_RETURN_IF_ERROR(begin.Run("begin transaction"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  MV_STATEMENT(commit, conn_, "COMMIT");
  Status status = commit.Run("commit");
  if (status.ok()) open_ = false;
  return status;
}

void Transaction::Rollback() {
  if (!open_) return;
  open_ = false;
  // A failed COMMIT can leave SQLite's transaction already rolled back; only roll back what is
  // still open.
  if (sqlite3_get_autocommit(conn_.handle()) != 0) return;
  auto stmt = conn_.Prepare("ROLLBACK");
  if (!stmt.ok()) {
    conn_.Exec("ROLLBACK", "rollback").IgnoreError();
    return;
  }
  Statement rollback(*stmt);
  // A rollback that fails leaves the connection in a transaction that the next BEGIN reports.
  rollback.Run("rollback").IgnoreError();
}

}  // namespace medvault::store::sqlite
