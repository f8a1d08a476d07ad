#pragma once
// Only one process at a time may append to a vault's access log: the log's integrator keeps the
// tree in memory, so leaves appended behind its back by another process would make it sign a
// checkpoint that misses them. `medvault serve` holds this lock while it runs; commands that
// append leaves themselves (breach notify --data) take it too and fail at once if it is held.
//
// The lock is an advisory flock(2) on DIR/log.lock, released when the object is destroyed or the
// process exits (also on a crash). It matters for SQLite only: on PostgreSQL several processes
// append at once (the database sequences them) and the log store's integrator lease elects the
// one that signs, so `serve` does not take this lock there and the commands run beside it.
// Errors: FailedPrecondition when another process holds it; Internal if the file cannot be
// opened. Thread-safety: not thread-safe; one owner.
#include <memory>

#include "core/status.h"

namespace medvault::app {

class VaultContext;

class LogWriterLock {
 public:
  static Result<std::unique_ptr<LogWriterLock>> Acquire(const VaultContext& vault);
  ~LogWriterLock();
  LogWriterLock(const LogWriterLock&) = delete;
  LogWriterLock& operator=(const LogWriterLock&) = delete;

 private:
  explicit LogWriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace medvault::app
