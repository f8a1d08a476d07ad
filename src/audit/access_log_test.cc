#include "audit/access_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "audit/testing_log.h"
#include "audit/verify.h"

namespace medvault::audit {
namespace {

using testing::LogFixture;
using testing::SampleLeaf;

constexpr std::chrono::milliseconds kDeadline{20000};

TEST(AccessLog, AppendReturnsDenseIndexesAndTheLeafOpens) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  for (int i = 0; i < 5; ++i) {
    Result<uint64_t> index = f.log().Append(SampleLeaf(i));
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    EXPECT_EQ(*index, static_cast<uint64_t>(i));
  }
  std::vector<Bytes> entries = f.store().ReadEntries(3, 1).value();
  EXPECT_EQ(OpenLeaf(entries[0], f.keys()).value(), SampleLeaf(3));
  EXPECT_EQ(f.log().durable_size(), 5u);
}

TEST(AccessLog, ConcurrentAppendsGetDistinctDurableIndexesAndShareFsyncs) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  const uint64_t syncs_before = f.log().sync_count();
  std::mutex mu;
  std::set<uint64_t> indexes;
  std::atomic<int> failures{0};
  std::atomic<int> not_yet_durable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<uint64_t> index = f.log().Append(SampleLeaf(t * kPerThread + i));
        if (!index.ok()) {
          ++failures;
          continue;
        }
        // Durable means readable from the store the moment the callback runs.
        if (f.log().durable_size() <= *index) ++not_yet_durable;
        std::lock_guard<std::mutex> lock(mu);
        indexes.insert(*index);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const uint64_t total = kThreads * kPerThread;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(not_yet_durable.load(), 0);
  EXPECT_EQ(indexes.size(), total);
  EXPECT_EQ(*indexes.rbegin(), total - 1);
  const uint64_t syncs = f.log().sync_count() - syncs_before;
  EXPECT_LT(syncs, total) << "group commit must share fsyncs";
  RecordProperty("fsyncs", std::to_string(syncs));
}

TEST(AccessLog, AsyncCallbacksOfABatchRunInIndexOrder) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> order;
  constexpr int kLeaves = 500;
  for (int i = 0; i < kLeaves; ++i) {
    f.log().AppendAsync(SampleLeaf(i), [&](Result<uint64_t> r) {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(r.ok() ? *r : UINT64_MAX);
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return order.size() == kLeaves; }));
  for (int i = 0; i < kLeaves; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], uint64_t(i));
}

TEST(AccessLog, StopDrainsEveryQueuedLeafAndSignsAFinalCheckpoint) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  std::atomic<int> done{0};
  constexpr int kLeaves = 300;
  for (int i = 0; i < kLeaves; ++i) {
    f.log().AppendAsync(SampleLeaf(i), [&](Result<uint64_t> r) {
      if (r.ok()) ++done;
    });
  }
  f.log().Stop();
  EXPECT_EQ(done.load(), kLeaves);
  EXPECT_EQ(f.store().EntryCount().value(), uint64_t{kLeaves});
  EXPECT_EQ(f.log().checkpoint_size(), uint64_t{kLeaves});
  Result<uint64_t> late = f.log().Append(SampleLeaf());
  EXPECT_EQ(late.status().code(), Code::kUnavailable);
  EXPECT_EQ(late.status().message(), "access log stopped");
}

TEST(AccessLog, SealingErrorsReachTheCallerWithoutWritingAnything) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  Leaf leaf = SampleLeaf();
  leaf.practice_id = "unknown-practice";
  EXPECT_EQ(f.log().Append(leaf).status().code(), Code::kNotFound);
  EXPECT_EQ(f.store().EntryCount().value(), 0u);
}

TEST(AccessLog, FirstStartSignsTheEmptyTree) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  std::optional<store::LogCheckpointRow> latest = f.store().LatestCheckpoint().value();
  ASSERT_TRUE(latest.has_value());
  Checkpoint c = OpenCheckpoint(latest->note, f.log().verifier()).value();
  EXPECT_EQ(c.size, 0u);
  EXPECT_EQ(c.root, EmptyRoot());
  EXPECT_EQ(c.origin, testing::kOrigin);
}

TEST(AccessLog, IntegratorSignsOnceTheIntervalHasPassed) {
  LogFixture f;
  ASSERT_TRUE(f.Open({.origin = "", .checkpoint_interval_micros = 1000000}).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f.log().Append(SampleLeaf(i)).ok());
  EXPECT_EQ(f.log().checkpoint_size(), 0u);  // no interval has passed: only the empty tree
  // The integrator may still be behind the durable leaves when the clock moves: it then signs the
  // prefix it holds, and the rest one interval later. The fake clock only moves when told, so each
  // further interval is advanced here until a checkpoint covers all ten leaves.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  bool signed_all = false;
  while (!signed_all && std::chrono::steady_clock::now() < deadline) {
    f.clock().Advance(1000000);
    signed_all = f.log().WaitForCheckpoint(10, std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(signed_all);
  Checkpoint c = OpenCheckpoint(f.store().LatestCheckpoint().value()->note, f.log().verifier())
                     .value();
  EXPECT_EQ(c.size, 10u);
  EXPECT_TRUE(f.log().integrator_status().ok());
}

TEST(AccessLog, CheckpointsNeverComeFasterThanTheInterval) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());  // signs size 0 at the fake clock's time
  ASSERT_TRUE(f.log().Append(SampleLeaf()).ok());
  // The integrator saw the leaf but the fake clock has not moved: no checkpoint beyond size 0.
  EXPECT_FALSE(f.log().WaitForCheckpoint(1, std::chrono::milliseconds(50)));
  ASSERT_TRUE(f.log().IntegrateAndSign().ok());
  EXPECT_EQ(f.log().checkpoint_size(), 1u);
}

TEST(AccessLog, TilesAreStoredForEveryFullTile) {
  LogFixture f;
  ASSERT_TRUE(f.Open({.origin = "", .checkpoint_interval_micros = 1, .max_batch = 100}).ok());
  for (int i = 0; i < 600; ++i) {
    f.log().AppendAsync(SampleLeaf(i), [](Result<uint64_t>) {});
  }
  f.log().Stop();
  EXPECT_EQ(f.store().TileCount(0).value(), 2u);
  EXPECT_EQ(f.store().TileCount(1).value(), 0u);
  EXPECT_TRUE(Verify(f.store(), f.log_key().public_key()).ok());
}

TEST(AccessLog, RestartContinuesTheSameTree) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(f.log().Append(SampleLeaf(i)).ok());
  f.Close();
  ASSERT_TRUE(f.Open().ok());
  EXPECT_EQ(f.log().Append(SampleLeaf(300)).value(), 300u);
  ASSERT_TRUE(f.log().IntegrateAndSign().ok());
  Result<VerifyReport> report = Verify(f.store(), f.log_key().public_key());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->tree_size, 301u);
  EXPECT_GE(report->checkpoints, 3u);
}

TEST(AccessLog, StartRebuildsTilesACrashLeftUnstored) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  f.Close();
  // Entries made durable by a process that died before integrating them.
  {
    std::unique_ptr<store::LogStore> store = store::OpenSqliteLogStore(f.path()).value();
    SeededRandom nonces(1);
    std::vector<Bytes> entries;
    for (int i = 0; i < 70000; ++i) {
      entries.push_back(SealLeaf(SampleLeaf(i), f.keys(), nonces).value());
    }
    ASSERT_TRUE(store->AppendEntries(entries).ok());
  }
  ASSERT_TRUE(f.Open().ok());
  EXPECT_EQ(f.store().TileCount(0).value(), 273u);
  EXPECT_EQ(f.store().TileCount(1).value(), 1u);
  EXPECT_EQ(f.log().checkpoint_size(), 70000u);
  Result<VerifyReport> report = Verify(f.store(), f.log_key().public_key());
  EXPECT_TRUE(report.ok()) << report.status().ToString();
}


// Several processes on one store (docs/postgres.md "Several nodes"), with one SQLite store shared
// by two AccessLogs standing in for two nodes: appends from both stay dense, and a board that
// grants one lease at a time stands in for the database's advisory lock.
class LeaseBoard {
 public:
  class Lease final : public store::IntegratorLease {
   public:
    Lease(LeaseBoard& board, int id) : board_(board), id_(id) {}
    ~Lease() override { board_.Release(id_); }
    bool StillHeld() override { return board_.Holds(id_); }

   private:
    LeaseBoard& board_;
    const int id_;
  };

  std::unique_ptr<store::IntegratorLease> TryAcquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (holder_ != 0) return nullptr;
    holder_ = ++next_;
    return std::make_unique<Lease>(*this, holder_);
  }
  // The holder's session died: the lease is free for another, and its holder learns it on its
  // next check.
  void Expire() {
    std::lock_guard<std::mutex> lock(mu_);
    holder_ = 0;
  }

 private:
  bool Holds(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    return holder_ == id;
  }
  void Release(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (holder_ == id) holder_ = 0;
  }
  std::mutex mu_;
  int holder_ = 0;
  int next_ = 0;
};

// A node's view of the shared store: every call goes to the one store, leases to the board.
class NodeStore final : public store::LogStore {
 public:
  NodeStore(store::LogStore& inner, LeaseBoard& board) : inner_(inner), board_(board) {}
  bool SharedAppends() const override { return true; }
  Result<std::unique_ptr<store::IntegratorLease>> TryAcquireIntegratorLease() override {
    return board_.TryAcquire();
  }
  Result<uint64_t> AppendEntries(std::span<const Bytes> e) override {
    return inner_.AppendEntries(e);
  }
  Result<uint64_t> EntryCount() override { return inner_.EntryCount(); }
  Result<std::vector<Bytes>> ReadEntries(uint64_t start, uint64_t count) override {
    return inner_.ReadEntries(start, count);
  }
  Status PutTiles(std::span<const store::LogTileRow> tiles) override {
    return inner_.PutTiles(tiles);
  }
  Result<std::optional<Bytes>> GetTile(int level, uint64_t index) override {
    return inner_.GetTile(level, index);
  }
  Result<uint64_t> TileCount(int level) override { return inner_.TileCount(level); }
  Status AddCheckpoint(const store::LogCheckpointRow& row) override {
    return inner_.AddCheckpoint(row);
  }
  Result<std::optional<store::LogCheckpointRow>> LatestCheckpoint() override {
    return inner_.LatestCheckpoint();
  }
  Result<std::vector<store::LogCheckpointRow>> ListCheckpoints() override {
    return inner_.ListCheckpoints();
  }
  Status AddCosignature(const store::LogCosignatureRow& row) override {
    return inner_.AddCosignature(row);
  }
  Result<std::vector<store::LogCosignatureRow>> ListCosignatures(uint64_t size) override {
    return inner_.ListCosignatures(size);
  }
  Status AppendPatientIndex(uint64_t from, uint64_t to,
                            std::span<const store::PatientLeafRow> rows) override {
    return inner_.AppendPatientIndex(from, to, rows);
  }
  Result<uint64_t> PatientIndexSize() override { return inner_.PatientIndexSize(); }
  Result<std::vector<uint64_t>> PatientLeaves(const std::string& id) override {
    return inner_.PatientLeaves(id);
  }
  uint64_t SyncCount() const override { return inner_.SyncCount(); }

 private:
  store::LogStore& inner_;
  LeaseBoard& board_;
};

TEST(AccessLog, OfTwoNodesOneIntegratesBothAppendsAndTheOtherTakesOverWhenItsLeaseDies) {
  LogFixture f;  // owns the shared SQLite store, the keys and the clock
  ASSERT_TRUE(f.Open().ok());
  f.Close();
  auto shared = store::OpenSqliteLogStore(f.path());
  ASSERT_TRUE(shared.ok());
  LeaseBoard board;
  NodeStore store_a(**shared, board);
  NodeStore store_b(**shared, board);
  auto nonces = NewSystemRandom();
  AccessLogOptions options;
  options.origin = testing::kOrigin;
  options.lease_poll = std::chrono::milliseconds(5);
  std::atomic<int> b_took_over{0};
  AccessLogOptions options_b = options;
  options_b.on_leadership = [&](bool leading) {
    if (leading) ++b_took_over;
  };
  AccessLog a(store_a, f.keys(), f.log_key(), f.clock(), *nonces, options);
  AccessLog b(store_b, f.keys(), f.log_key(), f.clock(), *nonces, options_b);
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  EXPECT_TRUE(a.leading());
  EXPECT_FALSE(b.leading());

  testing::AppendMany(a, 0, 40);
  testing::AppendMany(b, 40, 100);
  // Only the leader signs, and it signs what both appended.
  EXPECT_EQ(b.IntegrateAndSign().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(a.IntegrateAndSign().ok());
  EXPECT_EQ((*shared)->LatestCheckpoint().value()->tree_size, 100u);
  // The follower serves the leader's checkpoint size.
  EXPECT_TRUE(b.WaitForCheckpoint(100, kDeadline));

  board.Expire();  // A's database session is gone
  testing::AppendMany(b, 100, 130);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!b.leading() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(b.leading());
  EXPECT_EQ(b_took_over.load(), 1);
  // A never signs again without the lease, and gets its leaves signed by B.
  testing::AppendMany(a, 130, 140);
  EXPECT_EQ(a.IntegrateAndSign().code(), Code::kFailedPrecondition);
  EXPECT_FALSE(a.leading());
  ASSERT_TRUE(b.IntegrateAndSign().ok());
  EXPECT_EQ((*shared)->LatestCheckpoint().value()->tree_size, 140u);
  a.Stop();
  b.Stop();
  Result<VerifyReport> report = Verify(**shared, f.log_key().public_key());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->tree_size, 140u);
}

}  // namespace
}  // namespace medvault::audit
