#pragma once
// One SQLite connection with its cache of prepared statements, and the small helpers every query
// of this backend goes through: binding, stepping, reading columns, mapping result codes to
// Status, and a transaction guard.
//
// Thread-safety: a Connection is used by one thread at a time; ConnectionPool (pool.h) hands them
// out. Connections are opened in SQLite's multi-thread mode (no per-connection mutex) for that
// reason.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/bytes.h"
#include "core/status.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::store::sqlite {

// Maps a failed SQLite result code to our error model: a UNIQUE or PRIMARY KEY violation is
// AlreadyExists, a FOREIGN KEY violation NotFound (the referenced row is absent), BUSY or LOCKED
// past the busy timeout Unavailable, anything else Internal. `what` names the operation ("insert
// patient"); the message never carries a bound value, only SQLite's own text, which names tables
// and columns.
Status ErrorStatus(sqlite3* db, int rc, std::string_view what);

// A prepared statement in use: bind, step, read. Resets the statement (and drops its bindings)
// when it goes out of scope, which also ends the implicit read transaction of a reader. Strings
// and blobs are bound without copying: REQUIRES the bound buffers outlive the last Step().
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as in SQLite.
  void Bind(int index, std::string_view text);
  void Bind(int index, ByteView blob);
  void Bind(int index, int64_t value);
  void BindNull(int index);
  // Binds `text`, or NULL when it is empty (optional references such as a user's practice).
  void BindOptional(int index, std::string_view text);

  // Ok(true) when a row is available, Ok(false) when done, an error otherwise.
  Result<bool> Step(std::string_view what);
  // Steps a statement that returns no row.
  Status Run(std::string_view what);
  // Makes the statement ready to run again (bindings are kept until rebound).
  void Reset();

  // Columns are numbered from 0, as in SQLite.
  std::string Text(int column) const;
  Bytes Blob(int column) const;
  int64_t Int(int column) const;

 private:
  sqlite3_stmt* stmt_;
};

class Connection;

// Copies every committed WAL frame into the main file and truncates the WAL to zero bytes, so
// that no old page image (a deleted key, a replaced envelope) survives in it. Waits for readers
// up to the busy timeout; Unavailable if they keep it from completing.
// REQUIRES: no transaction is open on `conn`.
Status TruncateWal(Connection& conn, std::string_view what);

class Connection {
 public:
  // Opens `path` (creating it if absent) and applies the per-connection pragmas: busy timeout,
  // synchronous=FULL, foreign keys, secure_delete, cache size, autocheckpoint. A reader is also
  // made query_only, so that a write sent to it by mistake fails instead of racing the writer.
  enum class Kind { kWriter, kReader };
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const SqliteOptions& options, Kind kind);
  // Use Open(); public only so that std::make_unique can reach it.
  struct OpenedHandle {
    sqlite3* db;
  };
  explicit Connection(OpenedHandle handle) : db_(handle.db) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A cached prepared statement for `sql`. REQUIRES: `sql` has static storage duration (a string
  // literal): the cache is keyed by its address, which keeps the lookup to one pointer hash.
  Result<sqlite3_stmt*> Prepare(const char* sql);
  // Runs one or more statements without caching them (pragmas, schema changes).
  Status Exec(const char* sql, std::string_view what);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  int64_t LastInsertRowid() const;
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// Declares `Statement var` for the cached statement `sql` of `conn`, returning the error from the
// enclosing function if it cannot be prepared.
#define MV_STATEMENT(var, conn, sql)                                             \
  MV_ASSIGN_OR_RETURN(sqlite3_stmt* MV_CONCAT(var, _raw), (conn).Prepare(sql)); \
  ::medvault::store::sqlite::Statement var(MV_CONCAT(var, _raw))

// A write transaction on a writer connection: BEGIN IMMEDIATE on Begin(), COMMIT on Commit(),
// ROLLBACK when destroyed uncommitted. Not thread-safe; REQUIRES the writer mutex is held.
class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin();
  Status Commit();
  // Rolls back now (a no-op if not open).
  void Rollback();

 private:
  Connection& conn_;
  bool open_ = false;
};

}  // namespace medvault::store::sqlite
