// The PostgreSQL backend against the backend-independent store suite, plus the log store and
// what is particular to this backend (migrations, pooling, URL redaction). Each test works in a
// schema of its own in the private test cluster (pg_testing.h).
#include "store/postgres/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/testing/temp_dir.h"
#include "store/postgres/pg.h"
#include "store/postgres/pg_testing.h"
#include "store/testsuite/store_testsuite.h"

namespace medvault::store {
namespace {

using ::testing::ElementsAre;
using testing::PostgresTestSchema;
using testing::PostgresTestUrl;
using testing::DataStoreSuite;
using testing::KeyStoreSuite;
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

Bytes Entry(int i) { return ToBytes("entry-" + std::to_string(i)); }

LogTileRow Tile(int level, uint64_t index, uint8_t fill) {
  return {level, index, Bytes(kLogTileBytes, fill)};
}

// Runs raw SQL in the test's schema (to damage the stored data on purpose).
void ExecRaw(const PostgresOptions& options, const char* sql) {
  postgres::Target target{options.url, options.schema};
  auto conn = postgres::Connection::Open(target);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  Status s = (*conn)->Simple(sql, "raw");
  ASSERT_TRUE(s.ok()) << s.ToString();
}

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

TEST_F(PostgresLogStoreTest, AppendsReturnDenseIndexesAndReadBack) {
  std::vector<Bytes> first = {Entry(0), Entry(1), Entry(2)};
  std::vector<Bytes> second = {Entry(3)};
  EXPECT_EQ(store_->AppendEntries(first).value(), 0u);
  EXPECT_EQ(store_->AppendEntries(second).value(), 3u);
  EXPECT_EQ(store_->EntryCount().value(), 4u);
  std::vector<Bytes> read = store_->ReadEntries(1, 10).value();
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0], Entry(1));
  EXPECT_EQ(read[2], Entry(3));
  EXPECT_TRUE(store_->ReadEntries(4, 2).value().empty());
}

TEST_F(PostgresLogStoreTest, EachAppendIsOneTransaction) {
  const uint64_t before = store_->SyncCount();
  std::vector<Bytes> batch(100, Entry(0));
  ASSERT_TRUE(store_->AppendEntries(batch).ok());
  EXPECT_EQ(store_->SyncCount(), before + 1);
  EXPECT_EQ(store_->AppendEntries({}).status().code(), Code::kInvalidArgument);
}

TEST_F(PostgresLogStoreTest, EntriesSurviveReopening) {
  std::vector<Bytes> batch = {Entry(0), Entry(1)};
  ASSERT_TRUE(store_->AppendEntries(batch).ok());
  store_.reset();
  std::unique_ptr<LogStore> reopened = OpenPostgresLogStore(options_).value();
  EXPECT_EQ(reopened->EntryCount().value(), 2u);
  EXPECT_EQ(reopened->ReadEntries(0, 2).value()[1], Entry(1));
}

TEST_F(PostgresLogStoreTest, AGapInTheEntriesIsAnIntegrityErrorNamingTheIndex) {
  std::vector<Bytes> batch = {Entry(0), Entry(1), Entry(2), Entry(3)};
  ASSERT_TRUE(store_->AppendEntries(batch).ok());
  ExecRaw(options_, "DELETE FROM log_entries WHERE idx = 2");
  Result<std::vector<Bytes>> read = store_->ReadEntries(0, 4);
  EXPECT_EQ(read.status().code(), Code::kIntegrity);
  EXPECT_EQ(read.status().message(), "log entry 2 is missing");
  EXPECT_EQ(store_->ReadEntries(0, 3).status().message(), "log entry 2 is missing");
}

TEST_F(PostgresLogStoreTest, TilesAreStoredOnceAndNeverChange) {
  std::vector<LogTileRow> tiles = {Tile(0, 0, 1), Tile(0, 1, 2), Tile(1, 0, 3)};
  ASSERT_TRUE(store_->PutTiles(tiles).ok());
  ASSERT_TRUE(store_->PutTiles(tiles).ok());  // idempotent
  EXPECT_EQ(store_->TileCount(0).value(), 2u);
  EXPECT_EQ(store_->TileCount(1).value(), 1u);
  EXPECT_EQ(store_->TileCount(2).value(), 0u);
  EXPECT_EQ(*store_->GetTile(0, 1).value(), Bytes(kLogTileBytes, 2));
  EXPECT_FALSE(store_->GetTile(0, 2).value().has_value());
  std::vector<LogTileRow> changed = {Tile(0, 1, 9)};
  Status s = store_->PutTiles(changed);
  EXPECT_EQ(s.code(), Code::kIntegrity);
  EXPECT_EQ(s.message(), "log store: tile 0/1 differs from the stored one");
  std::vector<LogTileRow> short_tile = {{0, 5, Bytes(31)}};
  EXPECT_EQ(store_->PutTiles(short_tile).code(), Code::kInvalidArgument);
}

TEST_F(PostgresLogStoreTest, EveryCheckpointIsKeptInSigningOrder) {
  EXPECT_FALSE(store_->LatestCheckpoint().value().has_value());
  ASSERT_TRUE(store_->AddCheckpoint({0, 10, "zero\n"}).ok());
  ASSERT_TRUE(store_->AddCheckpoint({5, 20, "five\n"}).ok());
  ASSERT_TRUE(store_->AddCheckpoint({5, 30, "five again\n"}).ok());
  std::vector<LogCheckpointRow> all = store_->ListCheckpoints().value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].tree_size, 5u);
  EXPECT_EQ(all[1].signed_at, 20);
  EXPECT_EQ(store_->LatestCheckpoint().value()->note, "five again\n");
}

TEST_F(PostgresLogStoreTest, CosignaturesAreListedPerTreeSize) {
  ASSERT_TRUE(store_->AddCosignature({5, "w1", "— w1 AAAA\n"}).ok());
  ASSERT_TRUE(store_->AddCosignature({6, "w1", "— w1 BBBB\n"}).ok());
  ASSERT_TRUE(store_->AddCosignature({6, "w2", "— w2 CCCC\n"}).ok());
  EXPECT_EQ(store_->ListCosignatures(6).value().size(), 2u);
  EXPECT_EQ(store_->ListCosignatures(5).value()[0].line, "— w1 AAAA\n");
  EXPECT_TRUE(store_->ListCosignatures(7).value().empty());
}

TEST_F(PostgresLogStoreTest, ConcurrentAppendsFromTwoStoresNeverInterleaveBatches) {
  // Two stores on one database stand for two nodes: appends stay dense and whole.
  std::unique_ptr<LogStore> other = OpenPostgresLogStore(options_).value();
  constexpr int kThreads = 4;
  constexpr int kBatches = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      LogStore& store = t % 2 == 0 ? *store_ : *other;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Bytes> batch(3, Entry(t));
        Result<uint64_t> first = store.AppendEntries(batch);
        ASSERT_TRUE(first.ok()) << first.status().ToString();
        std::vector<Bytes> back = store.ReadEntries(*first, 3).value();
        ASSERT_EQ(back.size(), 3u);
        for (const Bytes& e : back) EXPECT_EQ(e, Entry(t));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(store_->EntryCount().value(), uint64_t{kThreads * kBatches * 3});
  EXPECT_EQ(store_->ReadEntries(0, kThreads * kBatches * 3).value().size(),
            size_t{kThreads * kBatches * 3});
}

TEST_F(PostgresLogStoreTest, TheIntegratorLeaseIsHeldByOneStoreAtATimeAndFreedWithItsHolder) {
  EXPECT_TRUE(store_->SharedAppends());
  std::unique_ptr<LogStore> other = OpenPostgresLogStore(options_).value();
  std::unique_ptr<IntegratorLease> lease = store_->TryAcquireIntegratorLease().value();
  ASSERT_NE(lease, nullptr);
  EXPECT_TRUE(lease->StillHeld());
  EXPECT_EQ(other->TryAcquireIntegratorLease().value(), nullptr);
  EXPECT_EQ(store_->TryAcquireIntegratorLease().value(), nullptr);  // not re-entrant either
  lease.reset();
  std::unique_ptr<IntegratorLease> taken = other->TryAcquireIntegratorLease().value();
  ASSERT_NE(taken, nullptr);
  EXPECT_TRUE(taken->StillHeld());
}

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

TEST_F(PostgresLogStoreTest, PatientIndexAdvancesOnlyFromItsCurrentSize) {
  EXPECT_EQ(store_->PatientIndexSize().value(), 0u);
  std::vector<PatientLeafRow> rows = {{"pa", 0}, {"pb", 1}, {"pa", 2}, {"pa", 2}};
  ASSERT_TRUE(store_->AppendPatientIndex(0, 3, rows).ok());
  EXPECT_EQ(store_->PatientIndexSize().value(), 3u);
  EXPECT_THAT(store_->PatientLeaves("pa").value(), ElementsAre(0u, 2u));
  EXPECT_THAT(store_->PatientLeaves("pb").value(), ElementsAre(1u));
  EXPECT_TRUE(store_->PatientLeaves("pc").value().empty());
  // Another indexer starting from the old size loses, and writes nothing.
  std::vector<PatientLeafRow> late = {{"pc", 1}};
  EXPECT_EQ(store_->AppendPatientIndex(0, 3, late).code(), Code::kFailedPrecondition);
  EXPECT_TRUE(store_->PatientLeaves("pc").value().empty());
  std::vector<PatientLeafRow> outside = {{"pc", 9}};
  EXPECT_EQ(store_->AppendPatientIndex(3, 5, outside).code(), Code::kInvalidArgument);
  ASSERT_TRUE(store_->AppendPatientIndex(3, 5, {}).ok());
  EXPECT_EQ(store_->PatientIndexSize().value(), 5u);
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
