// Store (SQLite) benchmarks: the bulk-import path (PatientBatchWriter) against raw sqlite3 inserts
// of the same bytes into the same schema, and GetPatient point reads on one and two threads.
// docs/BENCHMARKS.md ("Store (SQLite)") records the command and the results.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::store {
namespace {

constexpr size_t kBatchPatients = 20'000;
constexpr size_t kIndexPerPatient = 5;
constexpr size_t kReadPatients = 100'000;
const std::string kPractice = "bbbbbbbbbbbbbbbbbbbbbbbbbb";

// A scratch directory under $TMPDIR, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/store-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Workload {
  std::vector<PatientRow> patients;
  std::vector<std::vector<IndexEntry>> index;
};

// Patients shaped like the real ones: 26-character ids, ≈600 bytes of envelopes in three groups,
// five blind-index entries.
Workload MakeWorkload(size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  Workload w;
  w.patients.reserve(count);
  w.index.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    PatientRow row;
    for (int c = 0; c < 26; ++c) row.id.push_back(alphabet[rng() % 32]);
    row.practice_id = kPractice;
    auto fill = [&rng](size_t n) {
      Bytes b(n);
      for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
      return b;
    };
    row.identity = fill(300);
    row.contact = fill(200);
    row.insurance = fill(100);
    row.created = row.updated = 1'700'000'000'000'000;
    w.patients.push_back(std::move(row));
    std::vector<IndexEntry> entries;
    for (size_t c = 0; c < kIndexPerPatient; ++c) {
      entries.push_back({static_cast<uint8_t>(c + 1), static_cast<uint32_t>(rng())});
    }
    w.index.push_back(std::move(entries));
  }
  return w;
}

const Workload& BatchWorkload() {
  static const Workload w = MakeWorkload(kBatchPatients, 1);
  return w;
}

std::unique_ptr<DataStore> OpenWithPractice(const std::string& path) {
  auto store = OpenSqliteDataStore(path, {});
  if (!store.ok()) std::abort();
  if (!(*store)->CreatePractice({kPractice, "Cabinet", 1}).ok()) std::abort();
  return std::move(store).value();
}

void BM_PatientBatchWriter(benchmark::State& state) {
  const Workload& w = BatchWorkload();
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = std::make_unique<ScratchDir>();
    std::unique_ptr<DataStore> store = OpenWithPractice(dir->Sub("medvault.db"));
    state.ResumeTiming();
    auto batch = store->BeginPatientBatch();
    if (!batch.ok()) std::abort();
    for (size_t i = 0; i < w.patients.size(); ++i) {
      if (!(*batch)->Add(w.patients[i], w.index[i]).ok()) std::abort();
    }
    if (!(*batch)->Commit().ok()) std::abort();
    state.PauseTiming();
    batch->reset();
    store.reset();
    dir.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.patients.size()));
}
BENCHMARK(BM_PatientBatchWriter)->Unit(benchmark::kMillisecond)->UseRealTime();

void Check(int rc, int want) {
  if (rc != want) std::abort();
}

// The baseline: the same schema, pragmas and bytes through bare sqlite3 calls, one transaction.
void BM_RawSqliteInsert(benchmark::State& state) {
  const Workload& w = BatchWorkload();
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = std::make_unique<ScratchDir>();
    sqlite3* db = nullptr;
    Check(sqlite3_open(dir->Sub("raw.db").c_str(), &db), SQLITE_OK);
    Check(sqlite3_exec(db,
                       "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                       "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
                       "PRAGMA cache_size = -16384;",
                       nullptr, nullptr, nullptr),
          SQLITE_OK);
    for (const sqlite::Migration& step : sqlite::DataStoreMigrations()) {
      Check(sqlite3_exec(db, step.sql, nullptr, nullptr, nullptr), SQLITE_OK);
    }
    Check(sqlite3_exec(db,
                       "INSERT INTO practices VALUES ('bbbbbbbbbbbbbbbbbbbbbbbbbb', 'C', 1);"
                       "INSERT INTO practice_numbers (practice_id) "
                       "VALUES ('bbbbbbbbbbbbbbbbbbbbbbbbbb')",
                       nullptr, nullptr, nullptr),
          SQLITE_OK);
    sqlite3_stmt* patient = nullptr;
    sqlite3_stmt* entry = nullptr;
    Check(sqlite3_prepare_v2(db,
                             "INSERT INTO patients (id, practice_id, key_version, identity, "
                             "contact, insurance, canary, created, updated, index_keys, seq) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                             -1, &patient, nullptr),
          SQLITE_OK);
    Check(sqlite3_prepare_v2(db,
                             "INSERT OR IGNORE INTO patient_index (practice_no, col, token, "
                             "patient_seq) VALUES (1, ?1, ?2, ?3)",
                             -1, &entry, nullptr),
          SQLITE_OK);
    state.ResumeTiming();

    Bytes packed;
    Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    for (size_t i = 0; i < w.patients.size(); ++i) {
      packed.clear();
      for (const IndexEntry& e : w.index[i]) {
        packed.push_back(e.column);
        PutU32(&packed, e.token);
      }
      const auto seq = static_cast<sqlite3_int64>(i + 1);
      const PatientRow& row = w.patients[i];
      sqlite3_bind_text(patient, 1, row.id.data(), static_cast<int>(row.id.size()), nullptr);
      sqlite3_bind_text(patient, 2, row.practice_id.data(),
                        static_cast<int>(row.practice_id.size()), nullptr);
      sqlite3_bind_int64(patient, 3, row.key_version);
      sqlite3_bind_blob(patient, 4, row.identity.data(), static_cast<int>(row.identity.size()),
                        nullptr);
      sqlite3_bind_blob(patient, 5, row.contact.data(), static_cast<int>(row.contact.size()),
                        nullptr);
      sqlite3_bind_blob(patient, 6, row.insurance.data(),
                        static_cast<int>(row.insurance.size()), nullptr);
      sqlite3_bind_int64(patient, 7, 0);
      sqlite3_bind_int64(patient, 8, row.created);
      sqlite3_bind_int64(patient, 9, row.updated);
      sqlite3_bind_blob(patient, 10, packed.data(), static_cast<int>(packed.size()), nullptr);
      sqlite3_bind_int64(patient, 11, seq);
      Check(sqlite3_step(patient), SQLITE_DONE);
      sqlite3_reset(patient);
      for (const IndexEntry& e : w.index[i]) {
        sqlite3_bind_int64(entry, 1, e.column);
        sqlite3_bind_int64(entry, 2, e.token);
        sqlite3_bind_int64(entry, 3, seq);
        Check(sqlite3_step(entry), SQLITE_DONE);
        sqlite3_reset(entry);
      }
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);

    state.PauseTiming();
    sqlite3_finalize(patient);
    sqlite3_finalize(entry);
    sqlite3_close(db);
    dir.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.patients.size()));
}
BENCHMARK(BM_RawSqliteInsert)->Unit(benchmark::kMillisecond)->UseRealTime();

// One store with kReadPatients patients, shared by the read benchmarks' threads.
struct ReadFixture {
  ScratchDir dir;
  std::unique_ptr<DataStore> store;
  std::vector<std::string> ids;

  ReadFixture() {
    store = OpenWithPractice(dir.Sub("medvault.db"));
    Workload w = MakeWorkload(kReadPatients, 2);
    auto batch = store->BeginPatientBatch();
    if (!batch.ok()) std::abort();
    for (size_t i = 0; i < w.patients.size(); ++i) {
      if (!(*batch)->Add(w.patients[i], w.index[i]).ok()) std::abort();
      ids.push_back(w.patients[i].id);
    }
    if (!(*batch)->Commit().ok()) std::abort();
  }
};

ReadFixture& Reads() {
  static ReadFixture fixture;
  return fixture;
}

void BM_GetPatient(benchmark::State& state) {
  ReadFixture& f = Reads();
  std::mt19937_64 rng(static_cast<uint64_t>(state.thread_index()) + 7);
  for (auto _ : state) {
    auto row = f.store->GetPatient(kPractice, f.ids[rng() % f.ids.size()]);
    if (!row.ok()) std::abort();
    benchmark::DoNotOptimize(row);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetPatient)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace medvault::store

BENCHMARK_MAIN();
