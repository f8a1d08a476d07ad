#include "app/guard_wiring.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace medvault::app {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr int64_t kEvictEveryMicros = 10LL * 60 * 1'000'000;
constexpr int64_t kAppointmentHorizonMicros = 60 * kMicrosPerDay;

std::string Key(std::string_view practice_id, std::string_view patient_id) {
  std::string k;
  k.reserve(practice_id.size() + 1 + patient_id.size());
  k.append(practice_id).append("/").append(patient_id);
  return k;
}

guard::Request ToRequest(const api::GuardContext& ctx) {
  guard::Request r;
  r.time = ctx.time;
  r.practice_id = ctx.practice_id;
  r.user_id = ctx.user_id;
  r.login = ctx.login;
  r.role = ctx.role;
  r.session_id = ctx.session_id;
  r.source_ip = ctx.source_ip;
  r.user_agent = ctx.user_agent;
  r.op = OpForAction(ctx.action);
  r.break_glass = ctx.break_glass;
  r.page_depth = ctx.page_depth;
  r.search_params = ctx.search_params;  // the same bits as guard::SearchParam
  r.query_hash = ctx.query_hash;
  r.id_not_found = ctx.id_not_found;
  r.appointment_practitioner = ctx.appointment_practitioner;
  r.appointment_start = ctx.appointment_start;
  return r;
}

}  // namespace

guard::Op OpForAction(std::string_view action) {
  if (action == "patient.read" || action == "breakglass") return guard::Op::kRead;
  if (action == "patient.create") return guard::Op::kCreate;
  if (action == "patient.update") return guard::Op::kUpdate;
  if (action == "patient.shred") return guard::Op::kDelete;
  if (action == "patient.list") return guard::Op::kList;
  if (action == "patient.search") return guard::Op::kSearch;
  if (action == "appointment.create") return guard::Op::kAppointmentCreate;
  if (action == "appointment.search") return guard::Op::kAppointmentSearch;
  if (action == "note.create") return guard::Op::kNoteCreate;
  if (action == "note.read") return guard::Op::kNoteRead;
  return guard::Op::kOther;
}

std::unique_ptr<guard::StateStore> MakeGuardState(store::SharedRecordStore* shared,
                                                  api::LogLine log_line) {
  if (shared == nullptr) return std::make_unique<guard::MemoryStateStore>();
  return std::make_unique<guard::SharedStateStore>(
      *shared, [log_line = std::move(log_line)](const std::string& line) {
        if (log_line) log_line(line);
      });
}

guard::Policy GuardPolicy(const Config& c) {
  guard::Policy p;
  p.shadow = c.guard_shadow;
  p.practitioner.cost_1h.contain = static_cast<float>(c.guard_practitioner_contain_1h);
  p.practitioner.cost_24h.contain = static_cast<float>(c.guard_practitioner_contain_24h);
  p.secretary.cost_1h.contain = static_cast<float>(c.guard_secretary_contain_1h);
  p.secretary.cost_24h.contain = static_cast<float>(c.guard_secretary_contain_24h);
  for (guard::RolePolicy* r : {&p.practitioner, &p.secretary}) {
    r->cost_1h.step_up = std::min(r->cost_1h.step_up, r->cost_1h.contain);
    r->cost_24h.step_up = std::min(r->cost_24h.step_up, r->cost_24h.contain);
  }
  p.source_practices = c.guard_source_practices;
  p.source_contain_hours = c.guard_source_contain_hours;
  p.idle_evict_days = c.guard_idle_evict_days;
  p.max_accounts = c.guard_max_accounts;
  return p;
}

// --- StoreExplainer --------------------------------------------------------------------------

StoreExplainer::StoreExplainer(store::DataStore& data, int64_t ttl_micros, size_t capacity)
    : data_(data), ttl_(ttl_micros), per_shard_(std::max<size_t>(1, capacity / kShards)) {}

StoreExplainer::Shard& StoreExplainer::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

void StoreExplainer::Facts(std::string_view practice_id, std::string_view patient_id,
                           UnixMicros now, guard::PatientFacts* out) {
  const std::string key = Key(practice_id, patient_id);
  Shard& shard = ShardFor(key);
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(key);
    if (it != shard.map.end() && now - it->second.fetched < ttl_ && now >= it->second.fetched) {
      *out = it->second.facts;
      return;
    }
  }
  // Read outside the lock; a concurrent fetch of the same patient is harmless.
  Entry e;
  e.fetched = now;
  const std::string practice(practice_id);
  const std::string patient(patient_id);
  auto appointments = data_.ListPatientAppointments(practice, patient);
  if (appointments.ok()) {
    for (const store::AppointmentRow& a : *appointments) {
      if (a.start < now - kAppointmentHorizonMicros) continue;
      e.facts.appointments.push_back({guard::LoginHash(a.practitioner_login),
                                      guard::LoginHash(a.created_by), a.start, a.created});
    }
  }
  auto notes = data_.ListNotes(practice, patient);
  if (notes.ok()) {
    for (const store::NoteRow& n : *notes) {
      e.facts.notes.push_back({guard::LoginHash(n.author_login), n.created});
    }
  }
  *out = e.facts;
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= per_shard_) shard.map.clear();
  shard.map[key] = std::move(e);
}

void StoreExplainer::LearnAppointment(std::string_view practice_id, std::string_view patient_id,
                                      const guard::AppointmentFact& fact) {
  const std::string key = Key(practice_id, patient_id);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.map.find(key);
  if (it != shard.map.end()) it->second.facts.appointments.push_back(fact);
}

void StoreExplainer::LearnNote(std::string_view practice_id, std::string_view patient_id,
                               const guard::NoteFact& fact) {
  const std::string key = Key(practice_id, patient_id);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.map.find(key);
  if (it != shard.map.end()) it->second.facts.notes.push_back(fact);
}

// --- GuardAdapter ----------------------------------------------------------------------------

GuardAdapter::GuardAdapter(guard::Engine& engine, api::AuditSink& audit,
                           api::WebhookSender* webhook, api::LogLine log_line)
    : engine_(engine), audit_(audit), webhook_(webhook), log_line_(std::move(log_line)) {}

api::Decision GuardAdapter::Admit(const api::GuardContext& ctx) {
  MaybeEvict(ctx.time);
  return Apply(ctx, engine_.Admit(ToRequest(ctx)));
}

api::Decision GuardAdapter::Charge(const api::GuardContext& ctx,
                                   const std::vector<std::string>& patient_ids,
                                   const std::vector<bool>& canary, FieldGroupMask groups) {
  const bool reveals =
      MaskHas(groups, FieldGroup::kIdentity) || MaskHas(groups, FieldGroup::kContact);
  return Apply(ctx, engine_.Charge(ToRequest(ctx), patient_ids, canary, reveals));
}

api::Decision GuardAdapter::StepUp(const api::GuardContext& ctx, bool passed) {
  const guard::Request r = ToRequest(ctx);
  if (passed) {
    const guard::Verdict v = engine_.StepUpPassed(r);
    return v.unavailable ? Apply(ctx, v) : api::Decision{};
  }
  const guard::Verdict v = engine_.StepUpFailed(r);
  if (v.unavailable || v.level >= guard::Level::kContainAccount) return Apply(ctx, v);
  // The failure itself is logged and recorded by the API; the webhook hears of it too.
  if (webhook_ != nullptr) {
    nlohmann::json j = {{"event", "guard.step_up_failed"}, {"login", ctx.login},
                        {"practice", ctx.practice_id},   {"source", ctx.source_ip},
                        {"time", FormatIsoTime(ctx.time)}, {"request", ctx.request_id}};
    webhook_->Post(j.dump());
  }
  api::Decision d;
  d.allow = false;
  d.step_up = true;
  return d;
}

Result<bool> GuardAdapter::SourceContained(const std::string& source_ip, UnixMicros now) {
  return engine_.SourceContained(source_ip, now);
}

api::Decision GuardAdapter::Apply(const api::GuardContext& ctx, const guard::Verdict& v) {
  api::Decision d;
  d.reason = v.reason;
  if (v.unavailable) {
    // Refused whatever the mode: a request the guard cannot count is not served.
    d.allow = false;
    d.unavailable = true;
    return d;
  }
  const bool enforce = !v.shadow;
  if (enforce) {
    switch (v.level) {
      case guard::Level::kAllow:
      case guard::Level::kLog: break;
      case guard::Level::kStepUp:
        d.allow = false;
        d.step_up = true;
        break;
      case guard::Level::kContainSource:
        d.contain_source = true;
        for (const guard::AccountRef& a : v.also_contain) d.also_contain.push_back({a.user_id, a.login});
        [[fallthrough]];
      case guard::Level::kContainAccount:
        d.allow = false;
        d.contain_account = true;
        break;
    }
  }
  if (v.alert || v.released) {
    Alert(ctx, v, enforce && v.level >= guard::Level::kContainAccount);
  }
  return d;
}

void GuardAdapter::Alert(const api::GuardContext& ctx, const guard::Verdict& v,
                         bool enforced_containment) {
  const std::string name = v.released && v.level == guard::Level::kAllow ? "release" : v.Name();
  std::string also;
  nlohmann::json others = nlohmann::json::array();
  for (const guard::AccountRef& a : v.also_contain) {
    others.push_back(a.login);
    also += (also.empty() ? "" : ",") + a.login;
  }
  // The API itself logs and records an enforced containment (guard.contain); everything else is
  // logged and recorded here.
  if (!enforced_containment) {
    const bool alarming = v.level >= guard::Level::kStepUp;
    std::string line = std::string(alarming ? "ALERT " : "") + "guard." + name +
                       " login=" + ctx.login + " practice=" + ctx.practice_id +
                       " source=" + ctx.source_ip + " action=" + ctx.action + " reason=" +
                       v.reason + (also.empty() ? "" : " also=" + also) +
                       " request=" + ctx.request_id;
    if (log_line_) {
      log_line_(line);
    }
    api::AccessRecord rec;
    rec.time = ctx.time;
    rec.practice_id = ctx.practice_id;
    rec.login = ctx.login;
    rec.role = ctx.role;
    rec.session_id = ctx.session_id;
    rec.source_ip = ctx.source_ip;
    rec.action = "guard." + name;
    rec.guard_decision = name;
    rec.request_id = ctx.request_id;
    rec.detail = ctx.action + ": " + v.reason;
    audit_.Record(std::move(rec), [](Status) {});
  }
  if (webhook_ != nullptr) {
    nlohmann::json j = {{"event", "guard.decision"},
                        {"decision", name},
                        {"shadow", v.shadow},
                        {"reason", v.reason},
                        {"login", ctx.login},
                        {"practice", ctx.practice_id},
                        {"role", std::string(RoleName(ctx.role))},
                        {"session", ctx.session_id},
                        {"source", ctx.source_ip},
                        {"source_block", guard::AddressBlock(ctx.source_ip)},
                        {"action", ctx.action},
                        {"request", ctx.request_id},
                        {"time", FormatIsoTime(ctx.time)},
                        {"also_contain", others}};
    webhook_->Post(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

void GuardAdapter::MaybeEvict(UnixMicros now) {
  if ((calls_.fetch_add(1, std::memory_order_relaxed) & 1023) != 0) return;
  int64_t last = last_evict_.load();
  if (now - last < kEvictEveryMicros || !last_evict_.compare_exchange_strong(last, now)) return;
  const guard::Policy& p = engine_.policy();
  const int64_t cutoff = now / 1'000'000 - int64_t{p.idle_evict_days} * 86400;
  engine_.state().Evict(cutoff > 0 ? static_cast<uint32_t>(cutoff) : 0,
                        static_cast<size_t>(p.max_accounts));
}

}  // namespace medvault::app
