// The PostgreSQL SharedRecordStore: records are created on first update, changed under a row lock
// (two stores, as two nodes would hold, never lose an increment), evicted by age and by number.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "core/testing/temp_dir.h"
#include "store/postgres/pg_testing.h"
#include "store/postgres/postgres_store.h"

namespace medvault::store {
namespace {

using testing::PostgresTestSchema;
using testing::PostgresTestUrl;

class PostgresSharedRecordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(PostgresTestUrl().empty()) << testing::kNoPostgres;
    options_.url = PostgresTestUrl();
    options_.schema = PostgresTestSchema(dir_.path()) + "shared";
    options_.max_connections = 4;
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<SharedRecordStore> Open() {
    Result<std::unique_ptr<SharedRecordStore>> opened = OpenPostgresSharedRecordStore(options_);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  medvault::testing::TempDir dir_;
  PostgresOptions options_;
  std::unique_ptr<SharedRecordStore> store_;
};

// Adds one to a little-endian 64-bit counter held in the record.
void Increment(SharedRecord& r) {
  uint64_t n = 0;
  if (r.data.size() == sizeof n) std::memcpy(&n, r.data.data(), sizeof n);
  ++n;
  r.data.resize(sizeof n);
  std::memcpy(r.data.data(), &n, sizeof n);
  r.last_seen = 100;
}

uint64_t Counter(SharedRecordStore& store, std::string_view kind, std::string_view key) {
  uint64_t n = 0;
  Status s = store.Update(kind, key, [&](SharedRecord& r) {
    if (r.data.size() == sizeof n) std::memcpy(&n, r.data.data(), sizeof n);
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return n;
}

TEST_F(PostgresSharedRecordStoreTest, AnAbsentRecordIsEmptyAndWhatTheFunctionLeavesIsStored) {
  bool saw_empty = false;
  ASSERT_TRUE(store_
                  ->Update("account", "u1",
                           [&](SharedRecord& r) {
                             saw_empty = r.data.empty() && r.last_seen == 0;
                             r.data = ToBytes("abc");
                             r.last_seen = 42;
                           })
                  .ok());
  EXPECT_TRUE(saw_empty);
  Bytes seen;
  int64_t last_seen = 0;
  ASSERT_TRUE(store_
                  ->Update("account", "u1",
                           [&](SharedRecord& r) {
                             seen = r.data;
                             last_seen = r.last_seen;
                           })
                  .ok());
  EXPECT_EQ(seen, ToBytes("abc"));
  EXPECT_EQ(last_seen, 42);
  // Kinds are separate namespaces.
  EXPECT_EQ(Counter(*store_, "session", "u1"), 0u);
  EXPECT_EQ(store_->Count("account").value(), 1);
  EXPECT_EQ(store_->Count("session").value(), 1);
}

TEST_F(PostgresSharedRecordStoreTest, TwoNodesIncrementingOneRecordNTimesEachEndAtTwoN) {
  std::unique_ptr<SharedRecordStore> other = Open();
  ASSERT_NE(other, nullptr);
  constexpr int kN = 200;
  auto run = [&](SharedRecordStore* store) {
    for (int i = 0; i < kN; ++i) {
      Status s = store->Update("account", "shared", Increment);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  };
  // Two threads per node: the row lock serialises them within one process as well.
  std::vector<std::thread> threads;
  threads.emplace_back(run, store_.get());
  threads.emplace_back(run, other.get());
  threads.emplace_back(run, store_.get());
  threads.emplace_back(run, other.get());
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(Counter(*store_, "account", "shared"), uint64_t{4 * kN});
  EXPECT_EQ(Counter(*other, "account", "shared"), uint64_t{4 * kN});
}

TEST_F(PostgresSharedRecordStoreTest, NodesCreatingTheSameRecordTogetherKeepEveryIncrement) {
  std::unique_ptr<SharedRecordStore> other = Open();
  ASSERT_NE(other, nullptr);
  constexpr int kKeys = 50;
  auto run = [&](SharedRecordStore* store) {
    for (int i = 0; i < kKeys; ++i) {
      Status s = store->Update("source", "k" + std::to_string(i), Increment);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  };
  std::thread a(run, store_.get());
  std::thread b(run, other.get());
  a.join();
  b.join();
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(Counter(*store_, "source", "k" + std::to_string(i)), 2u) << i;
  }
  EXPECT_EQ(store_->Count("source").value(), kKeys);
}

TEST_F(PostgresSharedRecordStoreTest, EvictionDropsIdleRecordsThenTheLeastRecentlySeen) {
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(store_->Update("account", "a" + std::to_string(i), [&](SharedRecord& r) {
                  r.last_seen = i * 10;
                }).ok());
  }
  ASSERT_TRUE(store_->Update("session", "s", [](SharedRecord& r) { r.last_seen = 1; }).ok());
  // Idle before 35: a1..a3 go.
  EXPECT_EQ(store_->Evict("account", 35, 100).value(), 3);
  EXPECT_EQ(store_->Count("account").value(), 7);
  // At most 4: the three least recently seen of the rest (a4..a6) go.
  EXPECT_EQ(store_->Evict("account", 0, 4).value(), 3);
  EXPECT_EQ(store_->Count("account").value(), 4);
  int64_t seen = -1;
  ASSERT_TRUE(store_->Update("account", "a7", [&](SharedRecord& r) { seen = r.last_seen; }).ok());
  EXPECT_EQ(seen, 70);
  // Another kind is untouched.
  EXPECT_EQ(store_->Count("session").value(), 1);
}

TEST_F(PostgresSharedRecordStoreTest, AnUnreachableServerIsUnavailableAndTheMessageHoldsNoPassword) {
  PostgresOptions bad;
  bad.url = "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2";
  Result<std::unique_ptr<SharedRecordStore>> opened = OpenPostgresSharedRecordStore(bad);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kUnavailable);
  EXPECT_EQ(opened.status().message().find("secret"), std::string::npos);
}

}  // namespace
}  // namespace medvault::store
