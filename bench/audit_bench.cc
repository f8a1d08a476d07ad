// Access-log benchmarks (docs/BENCHMARKS.md, "Access log"):
//   BM_AppendGroupCommit  leaves/s appended through AccessLog (sealing, group commit, one
//                         fsync per batch) from 2 producer threads, on SQLite in a temp dir
//   BM_Verify             leaves/s re-hashed and checked by audit::Verify over a SQLite log
//   BM_Sha256Entry        raw SHA-256 (libsodium, crypto::Sha256) of one entry-sized buffer
//   BM_LeafHashAccel      the leaf hash as the tree computes it (0x00 || entry, OpenSSL SHA-256)
//   BM_TreeBuilder        leaf hash + tree integration in memory (no storage)
//   BM_Fdatasync          raw write+fdatasync of 4 KiB on the same file system
//   BM_GoReferenceTree    Google's certificate-transparency tree (Go/cgo) building a tree of the
//                         same entries, when MEDVAULT_CTMERKLE names the ctmerkle helper
// Ratios are computed from these in docs/BENCHMARKS.md.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "audit/access_log.h"
#include "audit/leaf.h"
#include "audit/merkle.h"
#include "audit/tiles.h"
#include "audit/verify.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault::audit {
namespace {

class BenchKeys final : public AuditKeyProvider {
 public:
  Result<crypto::SecretKey> AuditKey(const std::string&) override {
    return crypto::SecretKey::FromBytes(Bytes(crypto::kKeySize, 0x42));
  }
};

Leaf BenchLeaf(int64_t n) {
  Leaf leaf;
  leaf.time = 1767225600000000 + n;
  leaf.practice_id = "prac-0001";
  leaf.account = "dr.martin";
  leaf.role = Role::kPractitioner;
  leaf.session_id = Bytes(16, 0xab);
  leaf.source = "192.0.2.10";
  leaf.action = "patient.read";
  leaf.resource_type = "Patient";
  leaf.patient_ids = {"pat-" + std::to_string(n)};
  leaf.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact);
  leaf.outcome = 200;
  leaf.decision = GuardDecision::kAllow;
  leaf.request_id = "req-" + std::to_string(n);
  return leaf;
}

// A fresh directory under $TMPDIR (or /tmp), removed at exit.
class BenchDir {
 public:
  BenchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp ? tmp : "/tmp") + "/audit_bench.XXXXXX";
    path_ = mkdtemp(pattern.data()) ? pattern : "";
  }
  ~BenchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Bytes SampleEntry() {
  BenchKeys keys;
  SeededRandom nonces(1);
  return SealLeaf(BenchLeaf(12345), keys, nonces).value();
}

void BM_AppendGroupCommit(benchmark::State& state) {
  constexpr int kProducers = 2;
  const int per_iteration = static_cast<int>(state.range(0));
  BenchDir dir;
  std::unique_ptr<store::LogStore> store = store::OpenSqliteLogStore(dir.path() + "/log.db").value();
  BenchKeys keys;
  std::unique_ptr<Clock> clock = NewRealClock();
  std::unique_ptr<Random> nonces = NewSystemRandom();
  const crypto::SigningKey log_key =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(32, 7)));
  AccessLog log(*store, keys, log_key, *clock, *nonces, {.origin = "medvault.local/bench/log"});
  if (!log.Start().ok()) state.SkipWithError("cannot start the log");
  int64_t next = 0;
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < per_iteration / kProducers; ++i) {
          log.AppendAsync(BenchLeaf(next + p * per_iteration + i), [&](Result<uint64_t>) {
            std::lock_guard<std::mutex> lock(mu);
            ++done;
            cv.notify_all();
          });
        }
      });
    }
    for (std::thread& t : producers) t.join();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == per_iteration; });
    next += per_iteration * kProducers;
  }
  const uint64_t leaves = static_cast<uint64_t>(state.iterations()) * per_iteration;
  state.SetItemsProcessed(static_cast<int64_t>(leaves));
  state.counters["leaves_per_fsync"] =
      static_cast<double>(leaves) / static_cast<double>(std::max<uint64_t>(1, log.sync_count()));
  log.Stop();
}
BENCHMARK(BM_AppendGroupCommit)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Verify(benchmark::State& state) {
  const int64_t leaves = state.range(0);
  BenchDir dir;
  std::unique_ptr<store::LogStore> store = store::OpenSqliteLogStore(dir.path() + "/log.db").value();
  BenchKeys keys;
  std::unique_ptr<Clock> clock = NewRealClock();
  std::unique_ptr<Random> nonces = NewSystemRandom();
  const crypto::SigningKey log_key =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(32, 7)));
  {
    std::vector<Bytes> batch;
    for (int64_t i = 0; i < leaves; ++i) {
      batch.push_back(SealLeaf(BenchLeaf(i), keys, *nonces).value());
      if (batch.size() == 50000 || i + 1 == leaves) {
        if (!store->AppendEntries(batch).ok()) state.SkipWithError("append failed");
        batch.clear();
      }
    }
    AccessLog log(*store, keys, log_key, *clock, *nonces, {.origin = "medvault.local/bench/log"});
    if (!log.Start().ok()) state.SkipWithError("cannot start the log");  // integrates and signs
    log.Stop();
  }
  for (auto _ : state) {
    Result<VerifyReport> report = Verify(*store, log_key.public_key());
    if (!report.ok() || report->tree_size != static_cast<uint64_t>(leaves)) {
      state.SkipWithError("verify failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * leaves);
}
BENCHMARK(BM_Verify)->Arg(200000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Sha256Entry(benchmark::State& state) {
  const Bytes entry = SampleEntry();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Sha256(entry));
  state.SetItemsProcessed(state.iterations());
  state.counters["entry_bytes"] = static_cast<double>(entry.size());
}
BENCHMARK(BM_Sha256Entry);

void BM_LeafHashAccel(benchmark::State& state) {
  const Bytes entry = SampleEntry();
  for (auto _ : state) benchmark::DoNotOptimize(HashLeaf(entry));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeafHashAccel);

void BM_TreeBuilder(benchmark::State& state) {
  const Bytes entry = SampleEntry();
  TreeBuilder builder;
  std::vector<store::LogTileRow> tiles;
  for (auto _ : state) {
    builder.Append(HashLeaf(entry), &tiles);
    if (tiles.size() > 64) tiles.clear();
  }
  benchmark::DoNotOptimize(builder.Root());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TreeBuilder);

void BM_Fdatasync(benchmark::State& state) {
  BenchDir dir;
  const std::string path = dir.path() + "/sync";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const Bytes block(4096, 0x5a);
  for (auto _ : state) {
    if (::pwrite(fd, block.data(), block.size(), 0) < 0 || ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fdatasync)->UseRealTime();

void BM_GoReferenceTree(benchmark::State& state) {
  const char* helper = std::getenv("MEDVAULT_CTMERKLE");
  if (helper == nullptr) {
    state.SkipWithError("MEDVAULT_CTMERKLE not set");
    for (auto _ : state) {
    }
    return;
  }
  const int64_t leaves = state.range(0);
  const size_t entry_size = SampleEntry().size();
  BenchDir dir;
  for (auto _ : state) {
    const std::string out = dir.path() + "/out";
    const std::string command = "echo 'bench " + std::to_string(leaves) + " " +
                                std::to_string(entry_size) + "' | GODEBUG=cgocheck=0 '" +
                                helper + "' > '" + out + "'";
    if (std::system(command.c_str()) != 0) state.SkipWithError("helper failed");
    std::ifstream in(out);
    std::string word;
    int64_t n = 0;
    int64_t nanos = 0;
    in >> word >> n >> nanos;
    state.SetIterationTime(static_cast<double>(nanos) / 1e9);
  }
  state.SetItemsProcessed(state.iterations() * leaves);
}
BENCHMARK(BM_GoReferenceTree)->Arg(200000)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace medvault::audit

BENCHMARK_MAIN();
