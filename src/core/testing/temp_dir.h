#pragma once
// A fresh directory under $TMPDIR (or /tmp), removed with its content when the object dies.
// Test-only. Not thread-safe.
#include <string>

namespace medvault::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The repository root, from MEDVAULT_SOURCE_DIR (set by CTest) or the current directory.
std::string SourceDir();

}  // namespace medvault::testing
