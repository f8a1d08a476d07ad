#include "store/sqlite/pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <utility>

namespace medvault::store::sqlite {
namespace {

// SQLite creates a missing file with the process umask; the stores hold wrapped keys and
// envelopes, so the file is created owner-only first. The -wal and -shm files inherit its mode.
Status CreateOwnerOnly(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("create " + path + ": cannot create file");
  ::close(fd);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::Open(
    const std::string& path, const SqliteOptions& options,
    std::span<const Migration> migrations) {
  MV_RETURN_IF_ERROR(CreateOwnerOnly(path));
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      Connection::Open(path, options, Connection::Kind::kWriter));
  MV_RETURN_IF_ERROR(Migrate(*writer, migrations).WithContext(path));
  return std::make_unique<ConnectionPool>(path, options, std::move(writer));
}

ConnectionPool::ConnectionPool(const std::string& path, const SqliteOptions& options,
                               std::unique_ptr<Connection> writer)
    : path_(path), options_(options), writer_(std::move(writer)) {}

// Readers close first: the writer, closing last, checkpoints the WAL into the main file.
ConnectionPool::~ConnectionPool() { idle_readers_.clear(); }

ConnectionPool::WriterLease ConnectionPool::Writer() {
  return WriterLease(std::unique_lock<std::mutex>(writer_mu_), *writer_);
}

Result<ConnectionPool::ReaderLease> ConnectionPool::Reader() {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(*this, std::move(conn));
    }
  }
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                      Connection::Open(path_, options_, Connection::Kind::kReader));
  return ReaderLease(*this, std::move(conn));
}

void ConnectionPool::Return(std::unique_ptr<Connection> conn) {
  std::unique_lock<std::mutex> lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) {
    idle_readers_.push_back(std::move(conn));
    return;
  }
  lock.unlock();
  // Closed outside the lock: closing may touch the file.
  conn.reset();
}

ConnectionPool::ReaderLease::~ReaderLease() {
  if (conn_ != nullptr) pool_->Return(std::move(conn_));
}

}  // namespace medvault::store::sqlite
