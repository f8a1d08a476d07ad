#pragma once
// The log store test suite: the behaviour every LogStore backend must show (store/log_store.h),
// instantiated by each backend's tests with its factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, LogStoreSuite, ::testing::Values(SqliteLogFactory()),
//                            medvault::store::testing::LogFactoryName);
//
// Test-only. Not thread-safe.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/testing/temp_dir.h"
#include "store/log_store.h"

namespace medvault::store::testing {

struct LogStoreFactory {
  std::string name;  // a test-name fragment: letters and digits only
  // Opens the log store of the vault directory `dir`; opening it again gives back what was
  // committed (and, for a store with shared appends, stands for another node).
  std::function<Result<std::unique_ptr<LogStore>>(const std::string& dir)> open;
  // Runs one SQL statement directly on the store's database, to damage it on purpose.
  std::function<void(const std::string& dir, const char* sql)> exec_raw;
};

std::string LogFactoryName(const ::testing::TestParamInfo<LogStoreFactory>& info);

class LogStoreSuite : public ::testing::TestWithParam<LogStoreFactory> {
 protected:
  void SetUp() override;
  // Closes the store and opens it again on the same directory.
  void Reopen();
  const std::string& dir() const { return dir_.path(); }
  LogStore& store() { return *store_; }

 private:
  medvault::testing::TempDir dir_;
  std::unique_ptr<LogStore> store_;
};

}  // namespace medvault::store::testing
