#pragma once
// The connections of one database file: a single writer, taken under a mutex, and a pool of
// readers. In WAL mode the readers run in parallel with the writer and with each other, each
// statement seeing the last committed state.
//
// Thread-safety: thread-safe. A ReaderLease or WriterLease is used by the thread that took it.
// REQUIRES: no lease outlives the pool.
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::store::sqlite {

class ConnectionPool {
 public:
  // Opens the writer on `path` (creating the file with mode 0600 if absent), switches the file to
  // WAL and applies `migrations` up to the latest. Errors as in OpenSqliteDataStore.
  static Result<std::unique_ptr<ConnectionPool>> Open(const std::string& path,
                                                      const SqliteOptions& options,
                                                      std::span<const Migration> migrations);
  ConnectionPool(const std::string& path, const SqliteOptions& options,
                 std::unique_ptr<Connection> writer);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Exclusive use of the writer connection while the lease lives; blocks until it is free.
  class WriterLease {
   public:
    WriterLease(std::unique_lock<std::mutex> lock, Connection& conn)
        : lock_(std::move(lock)), conn_(&conn) {}
    Connection& conn() const { return *conn_; }

   private:
    std::unique_lock<std::mutex> lock_;
    Connection* conn_;
  };
  WriterLease Writer();

  // A reader connection, returned to the pool when the lease dies. Never waits: when every pooled
  // reader is in use, a new one is opened, so a caller that nests reads cannot deadlock.
  class ReaderLease {
   public:
    ReaderLease(ConnectionPool& pool, std::unique_ptr<Connection> conn)
        : pool_(&pool), conn_(std::move(conn)) {}
    ReaderLease(ReaderLease&& other) noexcept = default;
    ReaderLease& operator=(ReaderLease&&) = delete;
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    ~ReaderLease();
    Connection& conn() const { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };
  Result<ReaderLease> Reader();

  const std::string& path() const { return path_; }

 private:
  void Return(std::unique_ptr<Connection> conn);

  const std::string path_;
  const SqliteOptions options_;

  std::mutex writer_mu_;
  std::unique_ptr<Connection> writer_;  // guarded by writer_mu_ (through WriterLease)

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mu_
};

}  // namespace medvault::store::sqlite
