// Guard benchmarks (docs/BENCHMARKS.md, "Guard"): the guard's cost on the request path, through
// the same adapter `medvault serve` uses, with a baseline measured in the same run.
//   BM_BaselinePermissive   Admit + Charge of api::PermissiveGuard (what the API paid before)
//   BM_BaselineMapLookup    one std::unordered_map<std::string, int> lookup of a session id
//   BM_GuardRead            Admit + Charge of one patient read, 10,000 accounts round-robin,
//                           each re-reading its 40 explained patients (the steady state of a
//                           practice day: each patient is charged once per 24 h)
//   BM_GuardReadNewPatient  the same, but every read reaches a patient new to the account (the
//                           in-memory explainer is asked, the account, session, practice and
//                           source are charged; limits raised so that nobody is contained)
//   BM_GuardListPage        Admit + Charge of a 20-row first list page (100 practices' pages,
//                           10,000 accounts: after each account's first look, repeats)
//   BM_MemoryPerAccount     heap bytes per tracked account after 100,000 accounts each reached
//                           40 patients (mallinfo2 before and after), reported as a counter
//   BM_SharedGuardRead, BM_SharedGuardReadNewPatient
//                           BM_GuardRead and BM_GuardReadNewPatient with the state shared through
//                           PostgreSQL (guard::SharedStateStore over the store's shared records,
//                           as `medvault serve` on a PostgreSQL vault), 1,000 accounts, one
//                           request at a time, wall time; only when MEDVAULT_BENCH_PG_URL names a
//                           database (bench/guard_shared_bench.sh starts a private cluster)
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/hooks.h"
#include "app/guard_wiring.h"
#include "guard/engine.h"
#include "store/postgres/postgres_store.h"

namespace medvault {
namespace {

constexpr int kAccounts = 10'000;
constexpr int kPatientsPerAccount = 40;
constexpr UnixMicros kT0 = 1'780'000'000LL * 1'000'000;

std::string Hex(uint64_t v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032llx", static_cast<unsigned long long>(v));
  return buf;
}

std::vector<api::GuardContext> Contexts(int n, const std::string& action) {
  std::vector<api::GuardContext> out;
  out.reserve(static_cast<size_t>(n));
  for (int a = 0; a < n; ++a) {
    api::GuardContext c;
    c.time = kT0;
    c.practice_id = Hex(1000 + static_cast<uint64_t>(a / 5));
    c.user_id = Hex(5'000'000 + static_cast<uint64_t>(a));
    c.login = "dr" + std::to_string(a);
    c.session_id = Hex(9'000'000 + static_cast<uint64_t>(a)).substr(0, 16);
    c.source_ip = "10." + std::to_string(a / 250 % 250) + "." + std::to_string(a % 250) + ".7";
    c.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0";
    c.request_id = "bench-1";
    c.action = action;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::vector<std::string>> PatientIds(int accounts, int per_account) {
  std::vector<std::vector<std::string>> ids(static_cast<size_t>(accounts));
  for (int a = 0; a < accounts; ++a) {
    for (int p = 0; p < per_account; ++p) {
      ids[static_cast<size_t>(a)].push_back(Hex(static_cast<uint64_t>(a) * 1000 + static_cast<uint64_t>(p)));
    }
  }
  return ids;
}

constexpr FieldGroupMask kGroups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                                   MaskOf(FieldGroup::kInsurance);

void BM_BaselinePermissive(benchmark::State& state) {
  api::PermissiveGuard guard;
  auto ctx = Contexts(kAccounts, "patient.read");
  auto ids = PatientIds(kAccounts, kPatientsPerAccount);
  const std::vector<bool> canary{false};
  size_t i = 0;
  for (auto _ : state) {
    const size_t a = i % kAccounts;
    std::vector<std::string> one{ids[a][(i / kAccounts) % kPatientsPerAccount]};
    benchmark::DoNotOptimize(guard.Admit(ctx[a]));
    benchmark::DoNotOptimize(guard.Charge(ctx[a], one, canary, kGroups));
    ++i;
  }
}
BENCHMARK(BM_BaselinePermissive);

void BM_BaselineMapLookup(benchmark::State& state) {
  std::unordered_map<std::string, int> map;
  auto ctx = Contexts(kAccounts, "patient.read");
  for (int a = 0; a < kAccounts; ++a) map[ctx[static_cast<size_t>(a)].session_id] = a;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(map.find(ctx[i % kAccounts].session_id));
    ++i;
  }
}
BENCHMARK(BM_BaselineMapLookup);

struct GuardUnderTest {
  explicit GuardUnderTest(guard::Policy policy)
      : engine(policy, state, explainer), adapter(engine, sink, nullptr, nullptr) {}
  guard::MemoryStateStore state;
  guard::MemoryExplainer explainer;
  api::NullAuditSink sink;
  guard::Engine engine;
  app::GuardAdapter adapter;
};

guard::Policy Unbounded() {
  guard::Policy p;
  for (guard::RolePolicy* r : {&p.practitioner, &p.secretary}) {
    for (guard::Limit* l : {&r->cost_10m, &r->cost_1h, &r->cost_24h, &r->cost_7d}) *l = {1e9f, 1e9f};
  }
  p.practice_1h_min = p.practice_24h_min = 1e9f;
  p.source_cost_1h = p.source_cost_24h = 1e9f;
  return p;
}

void BM_GuardRead(benchmark::State& state) {
  GuardUnderTest g{guard::Policy{}};
  auto ctx = Contexts(kAccounts, "patient.read");
  auto ids = PatientIds(kAccounts, kPatientsPerAccount);
  // Each patient has an appointment with its account's practitioner today: explained reads.
  for (int a = 0; a < kAccounts; ++a) {
    for (const std::string& id : ids[static_cast<size_t>(a)]) {
      g.explainer.LearnAppointment(ctx[static_cast<size_t>(a)].practice_id, id,
                                   {guard::LoginHash(ctx[static_cast<size_t>(a)].login),
                                    guard::LoginHash("secretary"), kT0 + 3'600'000'000LL, kT0 - 86'400'000'000LL});
    }
  }
  const std::vector<bool> canary{false};
  // Warm-up outside the timing: every account reaches its 40 patients once (the morning).
  for (int p = 0; p < kPatientsPerAccount; ++p) {
    for (size_t a = 0; a < kAccounts; ++a) {
      std::vector<std::string> one{ids[a][static_cast<size_t>(p)]};
      (void)g.adapter.Admit(ctx[a]);
      (void)g.adapter.Charge(ctx[a], one, canary, kGroups);
    }
  }
  size_t i = 0;
  int refused = 0;
  for (auto _ : state) {
    const size_t a = i % kAccounts;
    ctx[a].time = kT0 + static_cast<int64_t>(i) * 1000;  // 1,000 requests/s overall
    std::vector<std::string> one{ids[a][(i / kAccounts) % kPatientsPerAccount]};
    const api::Decision d1 = g.adapter.Admit(ctx[a]);
    const api::Decision d2 = g.adapter.Charge(ctx[a], one, canary, kGroups);
    refused += (d1.allow && d2.allow) ? 0 : 1;
    ++i;
  }
  state.counters["refused"] = refused;
  state.counters["accounts"] = static_cast<double>(g.state.TrackedAccounts());
}
BENCHMARK(BM_GuardRead);

void BM_GuardReadNewPatient(benchmark::State& state) {
  GuardUnderTest g{Unbounded()};
  auto ctx = Contexts(kAccounts, "patient.read");
  const std::vector<bool> canary{false};
  size_t i = 0;
  for (auto _ : state) {
    const size_t a = i % kAccounts;
    ctx[a].time = kT0 + static_cast<int64_t>(i) * 1000;
    std::vector<std::string> one{Hex(0xabc000000000ULL + i)};
    benchmark::DoNotOptimize(g.adapter.Admit(ctx[a]));
    benchmark::DoNotOptimize(g.adapter.Charge(ctx[a], one, canary, kGroups));
    ++i;
  }
}
BENCHMARK(BM_GuardReadNewPatient);

void BM_GuardListPage(benchmark::State& state) {
  GuardUnderTest g{guard::Policy{}};
  auto ctx = Contexts(kAccounts, "patient.list");
  std::vector<std::vector<std::string>> pages(100);
  for (size_t p = 0; p < pages.size(); ++p) {
    for (int r = 0; r < 20; ++r) pages[p].push_back(Hex(0x5000000ULL + p * 20 + static_cast<uint64_t>(r)));
  }
  const std::vector<bool> canary(20, false);
  size_t i = 0;
  for (auto _ : state) {
    const size_t a = i % kAccounts;
    ctx[a].time = kT0 + static_cast<int64_t>(i) * 1000;
    const std::vector<std::string>& page = pages[a % pages.size()];  // the practice's first page
    benchmark::DoNotOptimize(g.adapter.Admit(ctx[a]));
    benchmark::DoNotOptimize(g.adapter.Charge(ctx[a], page, canary, kGroups));
    ++i;
  }
}
BENCHMARK(BM_GuardListPage);

void BM_MemoryPerAccount(benchmark::State& state) {
  constexpr int kTracked = 100'000;
  for (auto _ : state) {
    const size_t before = mallinfo2().uordblks;
    auto g = std::make_unique<GuardUnderTest>(Unbounded());
    const size_t with_engine = mallinfo2().uordblks;
    {
      auto ctx = Contexts(1, "patient.read");
      std::vector<std::string> one(1);
      const std::vector<bool> canary{false};
      for (int a = 0; a < kTracked; ++a) {
        ctx[0].user_id = Hex(7'000'000 + static_cast<uint64_t>(a));
        ctx[0].login = "acct" + std::to_string(a);
        ctx[0].session_id = Hex(8'000'000 + static_cast<uint64_t>(a)).substr(0, 16);
        for (int p = 0; p < kPatientsPerAccount; ++p) {
          one[0] = Hex(static_cast<uint64_t>(a) * 100 + static_cast<uint64_t>(p));
          (void)g->adapter.Admit(ctx[0]);
          (void)g->adapter.Charge(ctx[0], one, canary, kGroups);
        }
      }
    }
    const size_t after = mallinfo2().uordblks;
    // Sessions (one per account here) are counted in: the per-account figure includes them.
    state.counters["bytes_per_account"] =
        static_cast<double>(after - with_engine) / static_cast<double>(kTracked);
    state.counters["sizeof_AccountRecord"] = sizeof(guard::AccountRecord);
    state.counters["engine_bytes"] = static_cast<double>(with_engine - before);
    benchmark::DoNotOptimize(g);
  }
}
BENCHMARK(BM_MemoryPerAccount)->Iterations(1)->Unit(benchmark::kMillisecond);

// The shared records of a PostgreSQL database, in a schema of this process; null (and the case is
// skipped) without MEDVAULT_BENCH_PG_URL.
std::unique_ptr<store::SharedRecordStore> SharedRecords(benchmark::State& state) {
  const char* url = std::getenv("MEDVAULT_BENCH_PG_URL");
  if (url == nullptr || *url == '\0') {
    state.SkipWithError("MEDVAULT_BENCH_PG_URL not set (bench/guard_shared_bench.sh sets it)");
    return nullptr;
  }
  store::PostgresOptions options;
  options.url = url;
  options.schema = "guard_bench_" + std::to_string(getpid());
  auto opened = store::OpenPostgresSharedRecordStore(options);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return nullptr;
  }
  return std::move(opened).value();
}

struct SharedGuardUnderTest {
  SharedGuardUnderTest(guard::Policy policy, store::SharedRecordStore& records)
      : state(records), engine(policy, state, explainer), adapter(engine, sink, nullptr, nullptr) {}
  guard::SharedStateStore state;
  guard::MemoryExplainer explainer;
  api::NullAuditSink sink;
  guard::Engine engine;
  app::GuardAdapter adapter;
};

constexpr int kSharedAccounts = 1'000;

void BM_SharedGuardRead(benchmark::State& state) {
  auto records = SharedRecords(state);
  if (records == nullptr) return;
  SharedGuardUnderTest g{guard::Policy{}, *records};
  auto ctx = Contexts(kSharedAccounts, "patient.read");
  auto ids = PatientIds(kSharedAccounts, 4);
  for (int a = 0; a < kSharedAccounts; ++a) {
    for (const std::string& id : ids[static_cast<size_t>(a)]) {
      g.explainer.LearnAppointment(ctx[static_cast<size_t>(a)].practice_id, id,
                                   {guard::LoginHash(ctx[static_cast<size_t>(a)].login),
                                    guard::LoginHash("secretary"), kT0 + 3'600'000'000LL, kT0 - 86'400'000'000LL});
    }
  }
  const std::vector<bool> canary{false};
  for (int p = 0; p < 4; ++p) {
    for (size_t a = 0; a < kSharedAccounts; ++a) {
      std::vector<std::string> one{ids[a][static_cast<size_t>(p)]};
      (void)g.adapter.Admit(ctx[a]);
      (void)g.adapter.Charge(ctx[a], one, canary, kGroups);
    }
  }
  size_t i = 0;
  int refused = 0;
  for (auto _ : state) {
    const size_t a = i % kSharedAccounts;
    ctx[a].time = kT0 + static_cast<int64_t>(i) * 1000;
    std::vector<std::string> one{ids[a][(i / kSharedAccounts) % 4]};
    const api::Decision d1 = g.adapter.Admit(ctx[a]);
    const api::Decision d2 = g.adapter.Charge(ctx[a], one, canary, kGroups);
    refused += (d1.allow && d2.allow) ? 0 : 1;
    ++i;
  }
  state.counters["refused"] = refused;
}
BENCHMARK(BM_SharedGuardRead)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_SharedGuardReadNewPatient(benchmark::State& state) {
  auto records = SharedRecords(state);
  if (records == nullptr) return;
  SharedGuardUnderTest g{Unbounded(), *records};
  auto ctx = Contexts(kSharedAccounts, "patient.read");
  const std::vector<bool> canary{false};
  size_t i = 0;
  int refused = 0;
  for (auto _ : state) {
    const size_t a = i % kSharedAccounts;
    ctx[a].time = kT0 + static_cast<int64_t>(i) * 1000;
    std::vector<std::string> one{Hex(0xabc000000000ULL + i)};
    const api::Decision d1 = g.adapter.Admit(ctx[a]);
    const api::Decision d2 = g.adapter.Charge(ctx[a], one, canary, kGroups);
    refused += (d1.allow && d2.allow) ? 0 : 1;
    ++i;
  }
  state.counters["refused"] = refused;
}
BENCHMARK(BM_SharedGuardReadNewPatient)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace medvault

BENCHMARK_MAIN();
