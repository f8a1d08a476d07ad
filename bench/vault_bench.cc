// Vault benchmarks (docs/BENCHMARKS.md, "Vault"): import with encryption and blind indexes, field
// group opening, and the raw SQLite insert baseline measured in the same run.
//
//   build/bench/vault_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <memory>

#include "app/generator.h"
#include "core/clock.h"
#include "core/ids.h"
#include "crypto/aead.h"
#include "core/testing/temp_dir.h"
#include "crypto/envelope.h"
#include "store/sqlite/sqlite_store.h"
#include "vault/keyring.h"
#include "vault/patients.h"

namespace medvault {
namespace {

constexpr FieldGroupMask kSealed = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                                   MaskOf(FieldGroup::kInsurance);

// A fresh vault (data and key stores in a temp dir) with one practice.
struct Vault {
  Vault() {
    data = store::OpenSqliteDataStore(dir.Sub("medvault.db"), {}).value();
    keys = store::OpenSqliteKeyStore(dir.Sub("keys.db"), {}).value();
    keyring = std::make_unique<vault::Keyring>(*keys, crypto::SecretKey::Generate(), *random);
    (void)keyring->InitVault().ok();
    practice = NewId(*random);
    (void)keyring->CreatePracticeKeys(practice).ok();
    (void)data->CreatePractice({practice, "bench", 0}).ok();
    patients = std::make_unique<vault::Patients>(*data, *keys, *keyring, *clock, *random);
  }
  ::medvault::testing::TempDir dir;
  std::unique_ptr<Clock> clock = NewRealClock();
  std::unique_ptr<Random> random = NewSystemRandom();
  std::unique_ptr<store::DataStore> data;
  std::unique_ptr<store::KeyStore> keys;
  std::unique_ptr<vault::Keyring> keyring;
  std::unique_ptr<vault::Patients> patients;
  std::string practice;
};

std::vector<vault::Patient> Generate(size_t n) {
  app::Generator gen(42);
  std::vector<vault::Patient> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(gen.NextPatient());
  return out;
}

// Import of N patients (validation, DEK generation and wrapping, three envelopes, blind-index
// tokens, key and data transactions) into a fresh vault.
void BM_Import(benchmark::State& state) {
  const auto input = Generate(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto v = std::make_unique<Vault>();
    state.ResumeTiming();
    size_t next = 0;
    auto r = v->patients->Import(v->practice, [&]() -> Result<std::optional<vault::Patient>> {
      if (next == input.size()) return std::optional<vault::Patient>();
      return std::optional<vault::Patient>(input[next++]);
    });
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    state.PauseTiming();
    v.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Import)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: the same number of rows of the same size inserted with bare sqlite3 calls in one
// transaction (same pragmas: WAL, synchronous=FULL), no encryption and no index.
void BM_RawSqliteInsert(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string blob(3 * 200, 'x');
  for (auto _ : state) {
    state.PauseTiming();
    ::medvault::testing::TempDir dir;
    sqlite3* db = nullptr;
    sqlite3_open(dir.Sub("raw.db").c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE p(id TEXT PRIMARY KEY, practice TEXT, a BLOB);",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO p VALUES (?, 'practice-id-0000000000000', ?)", -1, &stmt,
                       nullptr);
    state.ResumeTiming();
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (size_t i = 0; i < n; ++i) {
      const std::string id = "patient" + std::to_string(i);
      sqlite3_bind_text(stmt, 1, id.c_str(), static_cast<int>(id.size()), nullptr);
      sqlite3_bind_blob(stmt, 2, blob.data(), static_cast<int>(blob.size()), nullptr);
      sqlite3_step(stmt);
      sqlite3_reset(stmt);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    state.PauseTiming();
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RawSqliteInsert)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Opening field groups of stored rows: envelope authentication and decryption plus decoding,
// with the patient's DEK cached (the steady state of a server) or unwrapped each time (cold).
void BM_OpenFieldGroups(benchmark::State& state) {
  static Vault* v = nullptr;
  static std::vector<store::PatientRow> rows;
  if (v == nullptr) {
    v = new Vault();
    const auto input = Generate(5000);
    size_t next = 0;
    (void)v->patients->Import(v->practice, [&]() -> Result<std::optional<vault::Patient>> {
      if (next == input.size()) return std::optional<vault::Patient>();
      return std::optional<vault::Patient>(input[next++]);
    });
    rows = v->data->ListPatients(v->practice, 0, 5000).value();
  }
  const bool cold = state.range(0) == 1;
  auto keys = v->keyring->Practice(v->practice).value();
  size_t i = 0;
  for (auto _ : state) {
    const store::PatientRow& row = rows[i++ % rows.size()];
    if (cold) {
      auto key = v->keys->GetPatientKey(row.practice_id, row.id).value();
      auto dek = crypto::UnwrapKey(keys->kek, key.wrapped_dek,
                                   vault::WrapAssociatedData(row.practice_id, "dek",
                                                             key.kek_version, row.id));
      benchmark::DoNotOptimize(dek);
    }
    auto p = v->patients->Open(row, kSealed);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * 3);  // three field groups a patient
  state.counters["envelope_overhead_bytes"] = static_cast<double>(crypto::kEnvelopeOverhead);
}
BENCHMARK(BM_OpenFieldGroups)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace medvault

BENCHMARK_MAIN();
