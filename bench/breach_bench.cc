// Data for the breach benchmarks (bench/breach_bench.sh, docs/BENCHMARKS.md "Breach scope").
//
//   breach_bench log --data DIR --leaves N [--seed S]
//       Creates a vault in DIR and fills its access log with N leaves through the real AccessLog
//       (sealing under each practice's audit key, group commit, tiles, checkpoints): 200
//       practices of 10 accounts and 5,000 patients each; 60 % patient reads (identity, contact,
//       insurance), 25 % list or search pages (1 to 20 patients, identity and contact), 10 %
//       note reads (some with categories), 5 % logins. Writes DIR/bench-targets: one busy login
//       and one practice id, for the filtered runs.
//   breach_bench scope --patients N --out FILE [--practices P]
//       Writes a scope JSON (as `breach scope` prints it) of N exposed patients over P practices,
//       for `breach notify`.
// Generated data stays out of git (the script writes under a temporary directory).
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/audit_wiring.h"
#include "app/breach.h"
#include "app/vault_context.h"
#include "audit/access_log.h"
#include "core/ids.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault {
namespace {

constexpr int kPractices = 200;
constexpr int kAccountsPerPractice = 10;
constexpr int kPatientsPerPractice = 5000;

std::string Arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

// Patient ids in the vault's own format, drawn from a seeded generator.
std::string SeededId(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string id(26, 'a');
  for (char& c : id) c = kAlphabet[rng() % 32];
  return id;
}

int GenerateLog(const std::string& dir, uint64_t leaves, uint64_t seed) {
  if (Status s = app::InitVault(dir, {}); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  auto ctx = app::VaultContext::Open(dir);
  if (!ctx.ok()) return 2;
  std::mt19937_64 rng(seed);
  std::vector<std::string> practices;
  std::vector<std::vector<std::string>> patients(kPractices);
  for (int p = 0; p < kPractices; ++p) {
    practices.push_back(*(*ctx)->AddPractice("Cabinet " + std::to_string(p)));
    for (int i = 0; i < kPatientsPerPractice; ++i) patients[p].push_back(SeededId(rng));
  }
  auto store = store::OpenSqliteLogStore((*ctx)->LogPath());
  const crypto::SigningKey key = crypto::SigningKey::FromSeed(*(*ctx)->keyring().LogSigningSeed());
  app::KeyringAuditKeys keys((*ctx)->keyring());
  FakeClock clock(1'790'000'000'000'000);  // 2026-09-21
  audit::AccessLog log(**store, keys, key, clock, (*ctx)->random(),
                       {(*ctx)->config().log_origin});
  if (!log.Start().ok()) return 2;

  // Two producers, at most 64k leaves in flight.
  std::mutex mu;
  std::condition_variable cv;
  int64_t in_flight = 0;
  std::atomic<bool> failed{false};
  auto produce = [&](uint64_t first, uint64_t count, uint64_t thread_seed) {
    std::mt19937_64 r(thread_seed);
    for (uint64_t n = first; n < first + count; ++n) {
      const int p = static_cast<int>(r() % kPractices);
      const int account = static_cast<int>(r() % kAccountsPerPractice);
      audit::Leaf leaf;
      // Spread over a year: about 3 s between leaves on average.
      leaf.time = 1'790'000'000'000'000 + static_cast<int64_t>(n) * 3'150'000;
      leaf.practice_id = practices[p];
      leaf.account = "dr" + std::to_string(p) + "." + std::to_string(account);
      leaf.role = Role::kPractitioner;
      leaf.session_id = Bytes(16, static_cast<uint8_t>(account));
      leaf.source = "10.0." + std::to_string(p) + "." + std::to_string(account + 10);
      leaf.outcome = 200;
      leaf.decision = audit::GuardDecision::kAllow;
      leaf.request_id = std::to_string(n);
      // Each account mostly sees its own slice of the practice's patients.
      auto patient = [&] {
        const int base = account * (kPatientsPerPractice / kAccountsPerPractice);
        const int spread = r() % 10 == 0 ? kPatientsPerPractice : kPatientsPerPractice / kAccountsPerPractice;
        return patients[p][static_cast<size_t>((base + static_cast<int>(r() % spread)) % kPatientsPerPractice)];
      };
      const uint64_t kind = r() % 100;
      if (kind < 60) {
        leaf.action = "patient.read";
        leaf.resource_type = "Patient";
        leaf.patient_ids = {patient()};
        leaf.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                            MaskOf(FieldGroup::kInsurance);
      } else if (kind < 85) {
        leaf.action = "patient.search";
        leaf.resource_type = "Patient";
        const int rows = 1 + static_cast<int>(r() % 20);
        for (int i = 0; i < rows; ++i) leaf.patient_ids.push_back(patient());
        leaf.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact);
      } else if (kind < 95) {
        leaf.action = "note.read";
        leaf.resource_type = "DocumentReference";
        leaf.patient_ids = {patient()};
        leaf.field_groups = MaskOf(FieldGroup::kNotes);
        if (r() % 8 == 0) leaf.note_categories = uint64_t{1} << (r() % 13);
      } else {
        leaf.action = "login.ok";
        leaf.resource_type = "Session";
      }
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return in_flight < 65536; });
        ++in_flight;
      }
      log.AppendAsync(leaf, [&](Result<uint64_t> index) {
        if (!index.ok()) failed = true;
        std::lock_guard<std::mutex> lock(mu);
        --in_flight;
        cv.notify_all();
      });
    }
  };
  const uint64_t half = leaves / 2;
  std::thread other(produce, 0, half, seed + 1);
  produce(half, leaves - half, seed + 2);
  other.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  log.Stop();
  if (failed) return 2;
  std::ofstream targets(dir + "/bench-targets");
  targets << "dr3.4\n" << practices[3] << "\n";
  std::cout << "log of " << leaves << " leaves in " << dir << "\n";
  return 0;
}

int GenerateScope(const std::string& out, uint64_t count, int practice_count) {
  std::mt19937_64 rng(7);
  app::Scope scope;
  scope.logins = {"dr.stolen"};
  scope.tree_size = count * 3;
  std::vector<std::string> practices;
  for (int p = 0; p < practice_count; ++p) practices.push_back(SeededId(rng));
  for (const std::string& p : practices) scope.accounts.push_back({"dr.stolen." + p.substr(0, 4), p, 0, 0});
  for (uint64_t i = 0; i < count; ++i) {
    app::PatientExposure e;
    e.id = SeededId(rng);
    e.practice = practices[i % practices.size()];
    e.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact);
    if (i % 3 == 0) e.field_groups |= MaskOf(FieldGroup::kInsurance);
    if (i % 50 == 0) {
      e.field_groups |= MaskOf(FieldGroup::kNotes);
      e.note_categories = uint64_t{1} << (i % 13);
    }
    e.first_access = 1'790'000'000'000'000 + static_cast<int64_t>(i) * 1'000'000;
    e.last_access = e.first_access + 60'000'000;
    e.accesses = 1 + static_cast<int64_t>(i % 4);
    scope.patients.push_back(std::move(e));
  }
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << app::ScopeToJson(scope);
  return file ? 0 : 2;
}

}  // namespace
}  // namespace medvault

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: breach_bench log --data DIR --leaves N | scope --patients N --out FILE\n";
    return 1;
  }
  const std::string mode = argv[1];
  if (mode == "log") {
    return medvault::GenerateLog(medvault::Arg(argc, argv, "--data", "breach-bench-vault"),
                                 std::stoull(medvault::Arg(argc, argv, "--leaves", "1000000")),
                                 std::stoull(medvault::Arg(argc, argv, "--seed", "1")));
  }
  if (mode == "scope") {
    return medvault::GenerateScope(medvault::Arg(argc, argv, "--out", "scope.json"),
                                   std::stoull(medvault::Arg(argc, argv, "--patients", "100000")),
                                   std::stoi(medvault::Arg(argc, argv, "--practices", "20")));
  }
  std::cerr << "breach_bench: unknown mode " << mode << "\n";
  return 1;
}
