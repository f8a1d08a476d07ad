#pragma once
// The guard on the request path: adapts the guard engine (src/guard) to the API's Guard hook,
// backs its Explainer with the DataStore (cached), and turns every decision into an audit leaf,
// a structured log line and a webhook alert. docs/guard.md describes the model.
// Thread-safety: thread-safe.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/hooks.h"
#include "api/webhook.h"
#include "app/config.h"
#include "guard/engine.h"
#include "store/shared_record_store.h"
#include "store/store.h"

namespace medvault::app {

// A patient's appointments and notes from the store, cached for `ttl_micros` of request time;
// bookings and notes the guard is told about are added to the cached copy at once.
class StoreExplainer final : public guard::Explainer {
 public:
  explicit StoreExplainer(store::DataStore& data, int64_t ttl_micros = 10LL * 60 * 1'000'000,
                          size_t capacity = 100'000);
  void Facts(std::string_view practice_id, std::string_view patient_id, UnixMicros now,
             guard::PatientFacts* out) override;
  void LearnAppointment(std::string_view practice_id, std::string_view patient_id,
                        const guard::AppointmentFact& fact) override;
  void LearnNote(std::string_view practice_id, std::string_view patient_id,
                 const guard::NoteFact& fact) override;

 private:
  struct Entry {
    guard::PatientFacts facts;
    UnixMicros fetched = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 16;
  Shard& ShardFor(const std::string& key);

  store::DataStore& data_;
  const int64_t ttl_;
  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

// The API's Guard, backed by the engine. `audit` receives the leaves of decisions the API does
// not record itself (log, step-up, shadow decisions, releases); `webhook` may be null.
class GuardAdapter final : public api::Guard {
 public:
  GuardAdapter(guard::Engine& engine, api::AuditSink& audit, api::WebhookSender* webhook,
               api::LogLine log_line);
  api::Decision Admit(const api::GuardContext& ctx) override;
  api::Decision Charge(const api::GuardContext& ctx, const std::vector<std::string>& patient_ids,
                       const std::vector<bool>& canary, FieldGroupMask groups) override;
  api::Decision StepUp(const api::GuardContext& ctx, bool passed) override;
  Result<bool> SourceContained(const std::string& source_ip, UnixMicros now) override;

 private:
  api::Decision Apply(const api::GuardContext& ctx, const guard::Verdict& v);
  void Alert(const api::GuardContext& ctx, const guard::Verdict& v, bool enforced_containment);
  void MaybeEvict(UnixMicros now);

  guard::Engine& engine_;
  api::AuditSink& audit_;
  api::WebhookSender* webhook_;
  api::LogLine log_line_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<int64_t> last_evict_{0};
};

// The guard's state: shared by the nodes through `shared` (a PostgreSQL vault), else in memory.
// `shared` (may be null) must outlive the result; `log_line` hears of records that do not decode
// and of a shared store that fails.
std::unique_ptr<guard::StateStore> MakeGuardState(store::SharedRecordStore* shared,
                                                  api::LogLine log_line);

// The engine's policy: the defaults of guard/policy.h with medvault.toml's [guard] overrides.
guard::Policy GuardPolicy(const Config& c);

// Maps an API action ("patient.read", ...) to the engine's operation.
guard::Op OpForAction(std::string_view action);

}  // namespace medvault::app
