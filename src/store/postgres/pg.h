#pragma once
// The libpq layer of the PostgreSQL backend: connections with a per-connection cache of prepared
// statements, binary parameters and results, the mapping from SQLSTATE to Status, a small
// connection pool, transactions and migrations under an advisory lock. Internal to
// store/postgres (the only module that includes libpq).
//
// Errors (every function here): AlreadyExists for a unique violation (23505), NotFound for a
// foreign-key violation (23503: the referenced row is absent), Unavailable for a lost or refused
// connection, a serialization failure or deadlock (40001, 40P01), a lock or statement timeout
// (55P03, 57014) and a pool exhausted past its wait; Internal otherwise. Messages name the
// operation and PostgreSQL's primary message, never a parameter value nor the connection URL.
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
#include "core/in_flight.h"
#include "core/status.h"
#include "store/postgres/postgres_store.h"

namespace medvault::store::postgres {

// Where a store lives: the libpq connection URL (or "key=value" string) and, optionally, a schema
// of its own (created if absent and put first on each connection's search_path).
struct Target {
  std::string url;
  std::string schema;  // empty: the database's default search_path
  size_t max_connections = 16;
  std::chrono::milliseconds acquire_timeout{10000};
  std::chrono::milliseconds lock_timeout{5000};
};

// The parameters of one statement, all sent in binary. Text and Blob keep pointers to the
// caller's data, which must outlive the Exec call. Not thread-safe.
class Params {
 public:
  Params& Int(int64_t v);
  Params& Bool(bool v);
  Params& Text(std::string_view v);
  // NULL when `v` is empty (an optional text column).
  Params& OptionalText(std::string_view v);
  Params& Blob(ByteView v);
  // A bytea[] (one-dimensional, no NULLs), encoded into storage the Params owns.
  Params& BlobArray(std::span<const Bytes> v);

  int size() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }
  // The type signature, part of the prepared statement's cache key.
  const std::string& signature() const { return signature_; }

 private:
  void Add(Oid type, const char* value, int length);

  std::vector<Oid> types_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::string signature_;
  std::deque<uint64_t> ints_;  // stable addresses for the big-endian integers
  std::deque<Bytes> owned_;
};

// A result set in binary format. Movable, frees the PGresult.
class Rows {
 public:
  Rows() = default;
  explicit Rows(PGresult* r) : r_(r, &PQclear) {}
  int size() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int col) const;
  // Reads an int2, int4 or int8 column.
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const;
  std::string Text(int row, int col) const;
  Bytes Blob(int row, int col) const;
  // Rows written by an INSERT, UPDATE or DELETE.
  int64_t Affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_{nullptr, &PQclear};
};

// One libpq connection. Not thread-safe: one user at a time (the pool hands it out).
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const Target& target);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` as a prepared statement (prepared on first use on this connection).
  Result<Rows> Exec(const std::string& sql, const Params& params, std::string_view what);
  Status Run(const std::string& sql, const Params& params, std::string_view what);
  // Runs one or more statements without parameters (BEGIN, COMMIT, DDL).
  Status Simple(const char* sql, std::string_view what);
  // COPY ... FROM STDIN (FORMAT binary) with the whole payload `data` (header and trailer
  // included, see CopyBuffer).
  Status CopyIn(const char* sql, ByteView data, std::string_view what);

  // True when the connection is usable and outside any transaction.
  bool Idle() const;
  bool Broken() const;

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  Status Check(PGresult* r, std::string_view what);

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql + signature → statement name
};

// Builds the payload of a binary COPY: header, tuples, trailer. Not thread-safe.
class CopyBuffer {
 public:
  CopyBuffer();
  void BeginTuple(int16_t fields);
  void Int(int64_t v);
  void Bool(bool v);
  void Text(std::string_view v);
  void Blob(ByteView v);
  // Appends the trailer and returns the payload, valid until the next call to this buffer.
  ByteView Finish();
  // Starts a new payload (header only), keeping the memory already allocated.
  void Clear() { Reset(); }
  size_t tuples() const { return tuples_; }

 private:
  void Reset();
  void Append(const uint8_t* data, size_t size);
  Bytes buf_;
  size_t tuples_ = 0;
};

// A bounded pool of connections to one target; opens them lazily. Thread-safe.
class Pool {
 public:
  // A connection taken from the pool; returned (or, if broken or left inside a transaction,
  // rolled back or closed) on destruction.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& conn() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  explicit Pool(Target target) : target_(std::move(target)) {}
  // Waits up to the target's acquire_timeout for a free connection (Unavailable after that).
  Result<Lease> Acquire();
  const Target& target() const { return target_; }

 private:
  void Return(std::unique_ptr<Connection> conn);

  const Target target_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  size_t open_ = 0;                                // GUARDED_BY(mu_)
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

// Runs `body` in one transaction on a pooled connection at `isolation`; commits if it returns OK,
// rolls back otherwise.
Status InTransaction(Pool& pool, Isolation isolation,
                     const std::function<Status(Connection&)>& body);

struct Migration {
  int version;
  const char* sql;
};

// Brings `component` (a name in the schema_versions table) to the last of `steps`, each step in
// its own transaction, holding a session advisory lock so that nodes starting together migrate
// once. FailedPrecondition if the stored version is newer than the last step.
Status Migrate(Connection& conn, std::string_view component, std::span<const Migration> steps);

// A pool on the store `options` name, with `component` migrated to the last of `steps` (the
// opening sequence of every PostgreSQL store).
Result<std::unique_ptr<Pool>> OpenMigratedPool(const PostgresOptions& options,
                                               std::string_view component,
                                               std::span<const Migration> steps);

// Quotes an SQL identifier.
std::string QuoteIdentifier(std::string_view name);

}  // namespace medvault::store::postgres
