#include "store/sqlite/sqlite_log_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "core/testing/temp_dir.h"
#include "store/testsuite/log_store_suite.h"

namespace medvault::store {
namespace {

using testing::LogStoreSuite;

void ExecRaw(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

testing::LogStoreFactory SqliteLogFactory() {
  return {"Sqlite",
          [](const std::string& dir) { return OpenSqliteLogStore(dir + "/log.db"); },
          [](const std::string& dir, const char* sql) { ExecRaw(dir + "/log.db", sql); }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, LogStoreSuite, ::testing::Values(SqliteLogFactory()),
                         testing::LogFactoryName);

class SqliteLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Sub("log.db");
    Result<std::unique_ptr<LogStore>> opened = OpenSqliteLogStore(path_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  medvault::testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<LogStore> store_;
};

TEST_F(SqliteLogStoreTest, DatabaseFileIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteLogStoreTest, NewerSchemaVersionIsRefused) {
  store_.reset();
  ExecRaw(path_, "PRAGMA user_version = 99");
  Result<std::unique_ptr<LogStore>> opened = OpenSqliteLogStore(path_);
  EXPECT_EQ(opened.status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace medvault::store
