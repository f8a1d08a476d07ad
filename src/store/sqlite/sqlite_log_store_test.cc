#include "store/sqlite/sqlite_log_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <thread>

#include "core/testing/temp_dir.h"

namespace medvault::store {
namespace {

Bytes Entry(int i) { return ToBytes("entry-" + std::to_string(i)); }

LogTileRow Tile(int level, uint64_t index, uint8_t fill) {
  return {level, index, Bytes(kLogTileBytes, fill)};
}

void ExecRaw(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

class SqliteLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Sub("log.db");
    Result<std::unique_ptr<LogStore>> opened = OpenSqliteLogStore(path_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<LogStore> store_;
};

TEST_F(SqliteLogStoreTest, AppendsReturnDenseIndexesAndReadBack) {
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

TEST_F(SqliteLogStoreTest, EachAppendIsOneDurableTransaction) {
  const uint64_t before = store_->SyncCount();
  std::vector<Bytes> batch(100, Entry(0));
  ASSERT_TRUE(store_->AppendEntries(batch).ok());
  EXPECT_EQ(store_->SyncCount(), before + 1);
}

TEST_F(SqliteLogStoreTest, EmptyAppendIsRejected) {
  EXPECT_EQ(store_->AppendEntries({}).status().code(), Code::kInvalidArgument);
}

TEST_F(SqliteLogStoreTest, DatabaseFileIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteLogStoreTest, EntriesSurviveReopening) {
  std::vector<Bytes> batch = {Entry(0), Entry(1)};
  ASSERT_TRUE(store_->AppendEntries(batch).ok());
  store_.reset();
  std::unique_ptr<LogStore> reopened = OpenSqliteLogStore(path_).value();
  EXPECT_EQ(reopened->EntryCount().value(), 2u);
  EXPECT_EQ(reopened->ReadEntries(0, 2).value()[1], Entry(1));
}

TEST_F(SqliteLogStoreTest, AGapInTheEntriesIsAnIntegrityErrorNamingTheIndex) {
  std::vector<Bytes> batch = {Entry(0), Entry(1), Entry(2), Entry(3)};
  ASSERT_TRUE(store_->AppendEntries(batch).ok());
  ExecRaw(path_, "DELETE FROM log_entries WHERE idx = 2");
  Result<std::vector<Bytes>> read = store_->ReadEntries(0, 4);
  EXPECT_EQ(read.status().code(), Code::kIntegrity);
  EXPECT_EQ(read.status().message(), "log entry 2 is missing");
  // A read that ends in the gap while later entries exist also fails.
  EXPECT_EQ(store_->ReadEntries(0, 3).status().message(), "log entry 2 is missing");
}

TEST_F(SqliteLogStoreTest, TilesAreStoredOnceAndNeverChange) {
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

TEST_F(SqliteLogStoreTest, EveryCheckpointIsKeptInSigningOrder) {
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

TEST_F(SqliteLogStoreTest, CosignaturesAreListedPerTreeSize) {
  ASSERT_TRUE(store_->AddCosignature({5, "w1", "— w1 AAAA\n"}).ok());
  ASSERT_TRUE(store_->AddCosignature({6, "w1", "— w1 BBBB\n"}).ok());
  ASSERT_TRUE(store_->AddCosignature({6, "w2", "— w2 CCCC\n"}).ok());
  EXPECT_EQ(store_->ListCosignatures(6).value().size(), 2u);
  EXPECT_EQ(store_->ListCosignatures(5).value()[0].line, "— w1 AAAA\n");
  EXPECT_TRUE(store_->ListCosignatures(7).value().empty());
}

TEST_F(SqliteLogStoreTest, ConcurrentAppendsAndReadsNeverInterleaveBatches) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Bytes> batch(3, Entry(t));
        Result<uint64_t> first = store_->AppendEntries(batch);
        ASSERT_TRUE(first.ok());
        std::vector<Bytes> back = store_->ReadEntries(*first, 3).value();
        ASSERT_EQ(back.size(), 3u);
        for (const Bytes& e : back) EXPECT_EQ(e, Entry(t));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(store_->EntryCount().value(), uint64_t{kThreads * kBatches * 3});
}

TEST_F(SqliteLogStoreTest, NewerSchemaVersionIsRefused) {
  store_.reset();
  ExecRaw(path_, "PRAGMA user_version = 99");
  Result<std::unique_ptr<LogStore>> opened = OpenSqliteLogStore(path_);
  EXPECT_EQ(opened.status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace medvault::store
