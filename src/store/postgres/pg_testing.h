#pragma once
// Test-only: where the private PostgreSQL cluster of the tests is (tests/tools/pg_cluster.sh).
// MEDVAULT_TEST_PG_URL if set, else the url file in MEDVAULT_TEST_PG_DIR (set by CTest for the
// tests labelled `postgres`). Empty when neither is: the caller fails the test, naming the
// fixture, rather than skipping it. Does not include libpq.
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

namespace medvault::store::testing {

inline std::string PostgresTestUrl() {
  if (const char* url = std::getenv("MEDVAULT_TEST_PG_URL"); url != nullptr && *url != '\0') {
    return url;
  }
  const char* dir = std::getenv("MEDVAULT_TEST_PG_DIR");
  if (dir == nullptr || *dir == '\0') return {};
  std::ifstream in(std::string(dir) + "/url");
  std::string url;
  std::getline(in, url);
  return url;
}

inline constexpr const char* kNoPostgres =
    "no PostgreSQL test cluster: run through ctest (fixture postgres.start) or "
    "tests/tools/pg_cluster.sh run";

// A schema name of letters and digits derived from `key` (a test's temporary directory).
inline std::string PostgresTestSchema(const std::string& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t h = std::hash<std::string>{}(key);
  std::string name = "t";
  for (int i = 0; i < 16; ++i, h >>= 4) name += kHex[h & 15];
  return name;
}

}  // namespace medvault::store::testing
