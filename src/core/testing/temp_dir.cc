#include "core/testing/temp_dir.h"

#include <cstdlib>
#include <filesystem>

namespace medvault::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/medvault-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SourceDir() {
  const char* dir = std::getenv("MEDVAULT_SOURCE_DIR");
  return dir != nullptr ? dir : std::filesystem::current_path().string();
}

}  // namespace medvault::testing
