#pragma once
// Whole-file I/O with the durability medvault needs: an atomic replace is write to a temporary
// sibling, fsync, rename, fsync the directory — after a crash the file holds the old or the new
// content, never a mix.
#include <string>

#include "core/bytes.h"
#include "core/status.h"

namespace medvault {

Result<std::string> ReadFile(const std::string& path);
// Atomically replaces `path` with `content`, created with permission bits `mode`.
Status WriteFileAtomic(const std::string& path, std::string_view content, unsigned mode = 0600);
bool PathExists(const std::string& path);
// Creates the directory (and parents) with `mode` if absent.
Status MakeDirs(const std::string& path, unsigned mode = 0700);
// Permission bits of `path`, or an error.
Result<unsigned> FileMode(const std::string& path);

}  // namespace medvault
