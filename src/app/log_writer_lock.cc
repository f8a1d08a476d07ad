#include "app/log_writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "app/vault_context.h"

namespace medvault::app {

Result<std::unique_ptr<LogWriterLock>> LogWriterLock::Acquire(const VaultContext& vault) {
  const std::string path = vault.dir() + "/log.lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot open " + path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return FailedPrecondition(
        "the vault is being served (another process writes its access log); stop the server "
        "first");
  }
  return std::unique_ptr<LogWriterLock>(new LogWriterLock(fd));
}

LogWriterLock::~LogWriterLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace medvault::app
