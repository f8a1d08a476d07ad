// StoreConcurrencySuite: reads in parallel with a writer, and races on the atomic writes.
#include <gmock/gmock.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "store/testsuite/store_testsuite.h"

namespace medvault::store::testing {
namespace {

using Entries = std::vector<IndexEntry>;

// Generous: only a deadlock or a reader waiting on the writer would take anywhere near this.
constexpr std::chrono::seconds kDeadline{30};

TEST_P(StoreConcurrencySuite, ReadsProceedWhileABatchHoldsTheWriter) {
  InsertPatients("pa", {"p1"});
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE((*batch)->Add(Patient("pa", "p2", 2), {}).ok());

  auto reads = std::async(std::launch::async, [this] {
    auto patient = data().GetPatient("pa", "p1");
    auto uncommitted = data().GetPatient("pa", "p2");
    auto count = data().CountPatients("pa");
    return patient.ok() && uncommitted.status().code() == Code::kNotFound && count.ok() &&
           *count == 1;
  });
  const bool finished = reads.wait_for(kDeadline) == std::future_status::ready;
  ASSERT_TRUE((*batch)->Commit().ok());  // releases the writer even if the reads hung
  ASSERT_TRUE(finished) << "reads waited for the open batch";
  EXPECT_TRUE(reads.get()) << "reads saw the open batch or failed";
  EXPECT_EQ(*data().CountPatients("pa"), 2);
}

TEST_P(StoreConcurrencySuite, ParallelReadersSeeConsistentStateWhileAWriterInserts) {
  InsertPatients("pa", {"p0"});
  constexpr int kBatches = 40;
  constexpr int kPerBatch = 25;
  constexpr int kReaders = 4;
  std::atomic<bool> writing{true};
  std::atomic<int> failures{0};
  std::atomic<int64_t> reads{0};

  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      auto batch = data().BeginPatientBatch();
      if (!batch.ok()) {
        ++failures;
        break;
      }
      for (int i = 0; i < kPerBatch; ++i) {
        const std::string id = "w" + std::to_string(b) + "-" + std::to_string(i);
        if (!(*batch)->Add(Patient("pa", id, 7), Entries{{1, static_cast<uint32_t>(b)}}).ok()) {
          ++failures;
        }
      }
      if (!(*batch)->Commit().ok()) ++failures;
    }
    writing = false;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      int64_t last_count = 0;
      // At least one round even if the writer is already done.
      do {
        auto patient = data().GetPatient("pa", "p0");
        auto count = data().CountPatients("pa");
        auto page = data().ListPatients("pa", 0, 10);
        if (!patient.ok() || !count.ok() || !page.ok() || page->empty()) {
          ++failures;
          continue;
        }
        // Batches are atomic and counts never go back.
        if ((*count - 1) % kPerBatch != 0 || *count < last_count) ++failures;
        last_count = *count;
        ++reads;
      } while (writing);
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(reads.load(), kReaders);
  EXPECT_EQ(*data().CountPatients("pa"), 1 + kBatches * kPerBatch);
  EXPECT_EQ(data().FindByToken("pa", 1, kBatches - 1)->size(), static_cast<size_t>(kPerBatch));
}

TEST_P(StoreConcurrencySuite, RacingLoginsAcceptATotpStepOnce) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  ASSERT_TRUE(data().CreateUser(User("u1", "pa", "dr.martin")).ok());
  constexpr int kThreads = 4;
  constexpr int kSteps = 50;
  std::atomic<int> accepted{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int step = 100; step < 100 + kSteps; ++step) {
        auto advanced = data().AdvanceTotpStep("u1", step);
        if (!advanced.ok()) {
          ++failures;
        } else if (*advanced) {
          ++accepted;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(accepted.load(), kSteps);
}

TEST_P(StoreConcurrencySuite, KeyReadsRunInParallelWithKeyWrites) {
  {
    auto batch = keys().BeginPatientKeyBatch();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE((*batch)->Add(PatientKey("pa", "p0", 1)).ok());
    ASSERT_TRUE((*batch)->Commit().ok());
  }
  std::atomic<bool> writing{true};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 1; i <= 200; ++i) {
      auto batch = keys().BeginPatientKeyBatch();
      if (!batch.ok() || !(*batch)->Add(PatientKey("pa", "p" + std::to_string(i), 2)).ok() ||
          !(*batch)->Commit().ok()) {
        ++failures;
      }
    }
    writing = false;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      do {
        auto key = keys().GetPatientKey("pa", "p0");
        if (!key.ok() || key->wrapped_dek != PatientKey("pa", "p0", 1).wrapped_dek) ++failures;
      } while (writing);
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(keys().GetPatientKey("pa", "p200").ok());
}

}  // namespace
}  // namespace medvault::store::testing
