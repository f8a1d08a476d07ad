#include "store/testsuite/log_store_suite.h"

#include <gmock/gmock.h>

#include <thread>
#include <vector>

namespace medvault::store::testing {

std::string LogFactoryName(const ::testing::TestParamInfo<LogStoreFactory>& info) {
  return info.param.name;
}

void LogStoreSuite::SetUp() { Reopen(); }

void LogStoreSuite::Reopen() {
  store_.reset();
  Result<std::unique_ptr<LogStore>> opened = GetParam().open(dir());
  if (!opened.ok()) GTEST_SKIP() << opened.status().ToString();
  store_ = std::move(opened).value();
}

namespace {

using ::testing::ElementsAre;

Bytes Entry(int i) { return ToBytes("entry-" + std::to_string(i)); }

LogTileRow Tile(int level, uint64_t index, uint8_t fill) {
  return {level, index, Bytes(kLogTileBytes, fill)};
}

TEST_P(LogStoreSuite, AppendsReturnDenseIndexesAndReadBack) {
  std::vector<Bytes> first = {Entry(0), Entry(1), Entry(2)};
  std::vector<Bytes> second = {Entry(3)};
  EXPECT_EQ(store().AppendEntries(first).value(), 0u);
  EXPECT_EQ(store().AppendEntries(second).value(), 3u);
  EXPECT_EQ(store().EntryCount().value(), 4u);
  std::vector<Bytes> read = store().ReadEntries(1, 10).value();
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0], Entry(1));
  EXPECT_EQ(read[2], Entry(3));
  EXPECT_TRUE(store().ReadEntries(4, 2).value().empty());
}

TEST_P(LogStoreSuite, EachAppendIsOneDurableTransactionAndAnEmptyOneIsRejected) {
  const uint64_t before = store().SyncCount();
  std::vector<Bytes> batch(100, Entry(0));
  ASSERT_TRUE(store().AppendEntries(batch).ok());
  EXPECT_EQ(store().SyncCount(), before + 1);
  EXPECT_EQ(store().AppendEntries({}).status().code(), Code::kInvalidArgument);
}

TEST_P(LogStoreSuite, EntriesSurviveReopening) {
  std::vector<Bytes> batch = {Entry(0), Entry(1)};
  ASSERT_TRUE(store().AppendEntries(batch).ok());
  Reopen();
  EXPECT_EQ(store().EntryCount().value(), 2u);
  EXPECT_EQ(store().ReadEntries(0, 2).value()[1], Entry(1));
}

TEST_P(LogStoreSuite, AGapInTheEntriesIsAnIntegrityErrorNamingTheIndex) {
  std::vector<Bytes> batch = {Entry(0), Entry(1), Entry(2), Entry(3)};
  ASSERT_TRUE(store().AppendEntries(batch).ok());
  GetParam().exec_raw(dir(), "DELETE FROM log_entries WHERE idx = 2");
  Result<std::vector<Bytes>> read = store().ReadEntries(0, 4);
  EXPECT_EQ(read.status().code(), Code::kIntegrity);
  EXPECT_EQ(read.status().message(), "log entry 2 is missing");
  // A read that ends in the gap while later entries exist also fails.
  EXPECT_EQ(store().ReadEntries(0, 3).status().message(), "log entry 2 is missing");
}

TEST_P(LogStoreSuite, TilesAreStoredOnceAndNeverChange) {
  std::vector<LogTileRow> tiles = {Tile(0, 0, 1), Tile(0, 1, 2), Tile(1, 0, 3)};
  ASSERT_TRUE(store().PutTiles(tiles).ok());
  ASSERT_TRUE(store().PutTiles(tiles).ok());  // idempotent
  EXPECT_EQ(store().TileCount(0).value(), 2u);
  EXPECT_EQ(store().TileCount(1).value(), 1u);
  EXPECT_EQ(store().TileCount(2).value(), 0u);
  EXPECT_EQ(*store().GetTile(0, 1).value(), Bytes(kLogTileBytes, 2));
  EXPECT_FALSE(store().GetTile(0, 2).value().has_value());
  std::vector<LogTileRow> changed = {Tile(0, 1, 9)};
  Status s = store().PutTiles(changed);
  EXPECT_EQ(s.code(), Code::kIntegrity);
  EXPECT_EQ(s.message(), "log store: tile 0/1 differs from the stored one");
  std::vector<LogTileRow> short_tile = {{0, 5, Bytes(31)}};
  EXPECT_EQ(store().PutTiles(short_tile).code(), Code::kInvalidArgument);
}

TEST_P(LogStoreSuite, EveryCheckpointIsKeptInSigningOrder) {
  EXPECT_FALSE(store().LatestCheckpoint().value().has_value());
  ASSERT_TRUE(store().AddCheckpoint({0, 10, "zero\n"}).ok());
  ASSERT_TRUE(store().AddCheckpoint({5, 20, "five\n"}).ok());
  ASSERT_TRUE(store().AddCheckpoint({5, 30, "five again\n"}).ok());
  std::vector<LogCheckpointRow> all = store().ListCheckpoints().value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].tree_size, 5u);
  EXPECT_EQ(all[1].signed_at, 20);
  EXPECT_EQ(store().LatestCheckpoint().value()->note, "five again\n");
}

TEST_P(LogStoreSuite, CosignaturesAreListedPerTreeSize) {
  ASSERT_TRUE(store().AddCosignature({5, "w1", "— w1 AAAA\n"}).ok());
  ASSERT_TRUE(store().AddCosignature({6, "w1", "— w1 BBBB\n"}).ok());
  ASSERT_TRUE(store().AddCosignature({6, "w2", "— w2 CCCC\n"}).ok());
  EXPECT_EQ(store().ListCosignatures(6).value().size(), 2u);
  EXPECT_EQ(store().ListCosignatures(5).value()[0].line, "— w1 AAAA\n");
  EXPECT_TRUE(store().ListCosignatures(7).value().empty());
}

TEST_P(LogStoreSuite, ConcurrentAppendsAndReadsNeverInterleaveBatches) {
  // With shared appends, a second store on the same database stands for a second node.
  std::unique_ptr<LogStore> other;
  if (store().SharedAppends()) other = GetParam().open(dir()).value();
  constexpr int kThreads = 4;
  constexpr int kBatches = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      LogStore& s = other != nullptr && t % 2 == 1 ? *other : store();
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Bytes> batch(3, Entry(t));
        Result<uint64_t> first = s.AppendEntries(batch);
        ASSERT_TRUE(first.ok()) << first.status().ToString();
        std::vector<Bytes> back = s.ReadEntries(*first, 3).value();
        ASSERT_EQ(back.size(), 3u);
        for (const Bytes& e : back) EXPECT_EQ(e, Entry(t));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  constexpr uint64_t kTotal = kThreads * kBatches * 3;
  EXPECT_EQ(store().EntryCount().value(), kTotal);
  EXPECT_EQ(store().ReadEntries(0, kTotal).value().size(), kTotal);
}

TEST_P(LogStoreSuite, PatientIndexAdvancesOnlyFromItsCurrentSize) {
  EXPECT_EQ(store().PatientIndexSize().value(), 0u);
  std::vector<PatientLeafRow> rows = {{"pa", 0}, {"pb", 1}, {"pa", 2}, {"pa", 2}};
  ASSERT_TRUE(store().AppendPatientIndex(0, 3, rows).ok());
  EXPECT_EQ(store().PatientIndexSize().value(), 3u);
  EXPECT_THAT(store().PatientLeaves("pa").value(), ElementsAre(0u, 2u));
  EXPECT_THAT(store().PatientLeaves("pb").value(), ElementsAre(1u));
  EXPECT_TRUE(store().PatientLeaves("pc").value().empty());
  // Another indexer starting from the old size loses, and writes nothing.
  std::vector<PatientLeafRow> late = {{"pc", 1}};
  EXPECT_EQ(store().AppendPatientIndex(0, 3, late).code(), Code::kFailedPrecondition);
  EXPECT_TRUE(store().PatientLeaves("pc").value().empty());
  std::vector<PatientLeafRow> outside = {{"pc", 9}};
  EXPECT_EQ(store().AppendPatientIndex(3, 5, outside).code(), Code::kInvalidArgument);
  ASSERT_TRUE(store().AppendPatientIndex(3, 5, {}).ok());
  EXPECT_EQ(store().PatientIndexSize().value(), 5u);
}

TEST_P(LogStoreSuite, TheIntegratorLeaseHasOneHolderAmongTheWritersOfTheStore) {
  std::unique_ptr<IntegratorLease> lease = store().TryAcquireIntegratorLease().value();
  ASSERT_NE(lease, nullptr);
  EXPECT_TRUE(lease->StillHeld());
  if (!store().SharedAppends()) return;  // one writing process: it always holds the lease
  std::unique_ptr<LogStore> other = GetParam().open(dir()).value();
  EXPECT_EQ(other->TryAcquireIntegratorLease().value(), nullptr);
  lease.reset();
  EXPECT_NE(other->TryAcquireIntegratorLease().value(), nullptr);
}

}  // namespace
}  // namespace medvault::store::testing
