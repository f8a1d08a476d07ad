#pragma once
// A file cache for compiled lexicon databases, so that a process start deserializes them in
// milliseconds instead of compiling them (≈ 1 s of CPU, far more under sanitizers). The file
// format, the key and where the files live: docs/notes-classifier.md, "Database cache".
//
// The cache holds opaque byte blobs; classifier.cc serializes and deserializes the Hyperscan
// databases. A file is used only when its header names the expected key and a SHA-256 over the
// whole file matches, so a truncated, corrupt or foreign file reads as a miss, never as data.
//
// Thread-safety: DatabaseCache is immutable; Read and Write may run concurrently, from threads or
// processes: Write goes through a private temporary file renamed into place, so a reader sees the
// old file or the new one, never a partial one.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace medvault::notes {

// What the cached blobs were built from: a SHA-256 over everything that shapes them.
using DatabaseCacheKey = std::array<uint8_t, 32>;

// Hashes `parts` in order, each prefixed with its length, so that no two part lists collide by
// concatenation.
DatabaseCacheKey MakeDatabaseCacheKey(const std::vector<std::string_view>& parts);

// $MEDVAULT_CACHE_DIR if set and non-empty, else $XDG_CACHE_HOME/medvault, else
// $HOME/.cache/medvault; nullopt when none of these variables is set (no cache).
std::optional<std::string> DefaultDatabaseCacheDirectory();

class DatabaseCache {
 public:
  // The directory need not exist: Write creates it (mode 0700).
  explicit DatabaseCache(std::string directory);

  // The file holding the entry for `key`: <directory>/notes-<hex key>.hsdb.
  std::string PathFor(const DatabaseCacheKey& key) const;

  // The blobs stored under `key`, or nullopt when the file is missing, unreadable, truncated,
  // corrupt, of another format version or written for another key.
  std::optional<std::vector<std::string>> Read(const DatabaseCacheKey& key) const;

  // Stores `blobs` under `key`, replacing any previous entry atomically.
  // Errors: kUnavailable when the directory cannot be created or the file cannot be written (the
  // caller goes on without the cache).
  [[nodiscard]] Status Write(const DatabaseCacheKey& key,
                             const std::vector<std::string>& blobs) const;

  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
};

}  // namespace medvault::notes
