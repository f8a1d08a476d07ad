// The PostgreSQL backend against the backend-independent store suites (data, keys, log), plus
// what is particular to this backend (migrations, the integrator lease, URL redaction). Each
// test works in a schema of its own in the private test cluster (pg_testing.h).
#include "store/postgres/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/testing/temp_dir.h"
#include "store/postgres/pg.h"
#include "store/postgres/pg_testing.h"
#include "store/testsuite/log_store_suite.h"
#include "store/testsuite/store_testsuite.h"

namespace medvault::store {
namespace {

using testing::PostgresTestSchema;
using testing::PostgresTestUrl;
using testing::DataStoreSuite;
using testing::KeyStoreSuite;
using testing::LogStoreSuite;
using testing::StoreConcurrencySuite;

PostgresOptions OptionsFor(const std::string& dir, const std::string& suffix) {
  PostgresOptions options;
  options.url = PostgresTestUrl();
  options.schema = PostgresTestSchema(dir) + suffix;
  options.max_connections = 8;
  return options;
}

testing::StoreFactory PostgresFactory() {
  return {"Postgres",
          [](const std::string& dir) -> Result<std::unique_ptr<DataStore>> {
            if (PostgresTestUrl().empty()) return FailedPrecondition(testing::kNoPostgres);
            return OpenPostgresDataStore(OptionsFor(dir, ""));
          },
          // The keys in a schema of their own, as they would be in a database of their own.
          [](const std::string& dir) -> Result<std::unique_ptr<KeyStore>> {
            if (PostgresTestUrl().empty()) return FailedPrecondition(testing::kNoPostgres);
            return OpenPostgresKeyStore(OptionsFor(dir, "keys"));
          }};
}

INSTANTIATE_TEST_SUITE_P(Postgres, DataStoreSuite, ::testing::Values(PostgresFactory()),
                         testing::FactoryName);
INSTANTIATE_TEST_SUITE_P(Postgres, KeyStoreSuite, ::testing::Values(PostgresFactory()),
                         testing::FactoryName);
INSTANTIATE_TEST_SUITE_P(Postgres, StoreConcurrencySuite, ::testing::Values(PostgresFactory()),
                         testing::FactoryName);

// Runs raw SQL in the test's schema (to damage the stored data on purpose).
void ExecRaw(const PostgresOptions& options, const char* sql) {
  postgres::Target target{options.url, options.schema};
  auto conn = postgres::Connection::Open(target);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  Status s = (*conn)->Simple(sql, "raw");
  ASSERT_TRUE(s.ok()) << s.ToString();
}

testing::LogStoreFactory PostgresLogFactory() {
  return {"Postgres",
          [](const std::string& dir) -> Result<std::unique_ptr<LogStore>> {
            if (PostgresTestUrl().empty()) return FailedPrecondition(testing::kNoPostgres);
            return OpenPostgresLogStore(OptionsFor(dir, "log"));
          },
          [](const std::string& dir, const char* sql) { ExecRaw(OptionsFor(dir, "log"), sql); }};
}

INSTANTIATE_TEST_SUITE_P(Postgres, LogStoreSuite, ::testing::Values(PostgresLogFactory()),
                         testing::LogFactoryName);

class PostgresLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(PostgresTestUrl().empty()) << testing::kNoPostgres;
    options_ = OptionsFor(dir_.path(), "log");
    Result<std::unique_ptr<LogStore>> opened = OpenPostgresLogStore(options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  medvault::testing::TempDir dir_;
  PostgresOptions options_;
  std::unique_ptr<LogStore> store_;
};

TEST_F(PostgresLogStoreTest, ALeaseWhoseSessionDiesIsLostAndFreeForAnotherStore) {
  std::unique_ptr<IntegratorLease> lease = store_->TryAcquireIntegratorLease().value();
  ASSERT_NE(lease, nullptr);
  std::unique_ptr<LogStore> other = OpenPostgresLogStore(options_).value();
  ASSERT_EQ(other->TryAcquireIntegratorLease().value(), nullptr);
  // What the server does when the holding process is killed: its session ends.
  ExecRaw(options_,
          "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
          "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
          "AND classid = 1836476782 AND objid = hashtext(current_schema())::oid "
          "AND objsubid = 2 AND pid <> pg_backend_pid()");
  EXPECT_FALSE(lease->StillHeld());
  std::unique_ptr<IntegratorLease> taken;
  for (int attempt = 0; attempt < 200 && taken == nullptr; ++attempt) {
    taken = other->TryAcquireIntegratorLease().value();  // the backend exits asynchronously
    if (taken == nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(taken, nullptr);
  EXPECT_TRUE(taken->StillHeld());
}

TEST_F(PostgresLogStoreTest, ACheckpointSmallerThanAStoredOneIsRefused) {
  ASSERT_TRUE(store_->AddCheckpoint({10, 1, "ten"}).ok());
  ASSERT_TRUE(store_->AddCheckpoint({10, 2, "ten again"}).ok());
  EXPECT_EQ(store_->AddCheckpoint({9, 3, "nine"}).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store_->AddCheckpoint({12, 4, "twelve"}).ok());
  EXPECT_EQ(store_->LatestCheckpoint().value()->note, "twelve");
  EXPECT_EQ(store_->ListCheckpoints().value().size(), 3u);
}

TEST_F(PostgresLogStoreTest, NewerSchemaVersionIsRefused) {
  store_.reset();
  ExecRaw(options_, "UPDATE schema_versions SET version = 99 WHERE component = 'log'");
  Result<std::unique_ptr<LogStore>> opened = OpenPostgresLogStore(options_);
  EXPECT_EQ(opened.status().code(), Code::kFailedPrecondition);
}

TEST(PostgresStoreTest, NodesOpeningTogetherMigrateOnce) {
  ASSERT_FALSE(PostgresTestUrl().empty()) << testing::kNoPostgres;
  medvault::testing::TempDir dir;
  const PostgresOptions options = OptionsFor(dir.path(), "");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto store = OpenPostgresDataStore(options);
      if (!store.ok()) ++failures;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = OpenPostgresDataStore(options);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->CreatePractice({"pa", "Cabinet", 1}).ok());
}

TEST(PostgresStoreTest, AnUnreachableServerIsUnavailableAndTheMessageHoldsNoPassword) {
  PostgresOptions options;
  options.url = "postgresql://medvault:s3cret@127.0.0.1:1/none?connect_timeout=2";
  auto store = OpenPostgresDataStore(options);
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_THAT(store.status().message(), ::testing::Not(::testing::HasSubstr("s3cret")));
}

TEST(PostgresStoreTest, RedactedUrlsHideThePassword) {
  EXPECT_EQ(RedactPostgresUrl("postgresql://mv:pw@db:5432/medvault"),
            "postgresql://mv:***@db:5432/medvault");
  EXPECT_EQ(RedactPostgresUrl("postgresql://mv@db/medvault"), "postgresql://mv@db/medvault");
  EXPECT_EQ(RedactPostgresUrl("host=db password=pw dbname=medvault"),
            "host=db password=*** dbname=medvault");
  EXPECT_EQ(RedactPostgresUrl("postgresql://db/medvault?password=pw&sslmode=require"),
            "postgresql://db/medvault?password=***&sslmode=require");
}

}  // namespace
}  // namespace medvault::store
