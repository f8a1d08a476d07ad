#include "guard/engine.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace medvault::guard {
namespace {

// R2's exemption: the first page of the unfiltered list with at most this many rows.
constexpr size_t kCanaryGlanceRows = 20;
constexpr float kLogFraction = 0.5f;
constexpr float kEwmaAlpha = 0.2f;
constexpr int64_t kMicros = 1'000'000;
constexpr int64_t kCadenceResetMicros = 2 * 3600 * kMicros;

uint32_t Seconds(UnixMicros t) { return t <= 0 ? 0 : static_cast<uint32_t>(t / kMicros); }
uint32_t H32(std::string_view s) { return Hash32(s.data(), s.size()); }

bool Individual(Op op) {
  switch (op) {
    case Op::kRead:
    case Op::kUpdate:
    case Op::kDelete:
    case Op::kAppointmentCreate:
    case Op::kNoteCreate:
    case Op::kNoteRead: return true;
    default: return false;
  }
}

bool NarrowSearch(uint8_t params) {
  if ((params & kIdentifier) != 0) return true;
  return (params & kBirthDate) != 0 && (params & (kFamily | kGiven)) != 0;
}

std::string Num(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(v));
  return buf;
}

// Raises `*level`/`*reason` to what `value` reaches on `limit`.
void Check(std::string_view metric, float value, Limit limit, float step_scale, Level* level,
           std::string* reason) {
  Level l = Level::kAllow;
  float bound = 0;
  if (value >= limit.contain) {
    l = Level::kContainAccount;
    bound = limit.contain;
  } else if (value >= limit.step_up * step_scale) {
    l = Level::kStepUp;
    bound = limit.step_up * step_scale;
  } else if (value >= limit.step_up * kLogFraction) {
    l = Level::kLog;
    bound = limit.step_up * kLogFraction;
  }
  if (l > *level) {
    *level = l;
    *reason = std::string(metric) + "=" + Num(value) + ">=" + Num(bound);
  }
}

Limit Scaled(Limit l, float s) { return {l.step_up * s, l.contain * s}; }

// Whether the account has used `place` for less than `fresh` seconds while being older than
// `history`.
bool NewPlace(const KnownPlaces& places, uint32_t hash, uint32_t now, uint32_t account_first,
              uint32_t history, uint32_t fresh) {
  if (now - account_first < history) return false;
  for (size_t i = 0; i < places.hash.size(); ++i) {
    if (places.hash[i] == hash) return now - places.first_seen[i] < fresh;
  }
  return true;
}

void Remember(KnownPlaces& places, uint32_t hash, uint32_t now) {
  size_t oldest = 0;
  for (size_t i = 0; i < places.hash.size(); ++i) {
    if (places.hash[i] == hash) {
      places.last_seen[i] = now;
      return;
    }
    if (places.last_seen[i] < places.last_seen[oldest]) oldest = i;
  }
  places.hash[oldest] = hash;
  places.first_seen[oldest] = now;
  places.last_seen[oldest] = now;
}

void RollDay(AccountRecord& a, const RolePolicy& rp, uint32_t now) {
  const uint32_t day = now / kDay;
  if (day == a.day) return;
  if (a.day != 0 && a.day_cost > 0) {
    const float start = a.baseline < 0 ? rp.baseline_start : a.baseline;
    a.baseline = std::min(rp.baseline_cap, kEwmaAlpha * a.day_cost + (1 - kEwmaAlpha) * start);
  }
  a.day = day;
  a.day_cost = 0;
}

void ResetCounters(AccountRecord& a) {
  a.patients.Clear();
  a.queries.Clear();
  a.cost_10m.Clear();
  a.cost_1h.Clear();
  a.cost_24h.Clear();
  a.cost_7d.Clear();
  a.broad_10m.Clear();
  a.broad_1h.Clear();
  a.empty_1h.Clear();
  a.misses_1h.Clear();
  a.deep_1h.Clear();
  a.step_up_passes.Clear();
  a.cadence = Cadence{};
  a.day_cost = 0;
  a.contained = false;
  a.step_up_required = false;
  a.step_up_failures = 0;
  a.alerted_level = 0;
  a.dead_sessions.fill(0);
}

// The answer when the state could not be read or kept.
Verdict StateUnavailable() {
  Verdict v;
  v.unavailable = true;
  v.reason = "guard state unavailable";
  return v;
}

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kAllow: return "allow";
    case Level::kLog: return "log";
    case Level::kStepUp: return "step_up";
    case Level::kContainAccount: return "contain_account";
    case Level::kContainSource: return "contain_source";
  }
  return "allow";
}

std::string Verdict::Name() const {
  std::string name(LevelName(level));
  return shadow && level != Level::kAllow ? "shadow_" + name : name;
}

std::string AddressBlock(std::string_view ip) {
  // The common case without a parser: a dotted quad.
  int dots = 0;
  size_t last_dot = 0;
  bool dotted_quad = !ip.empty() && ip.size() <= 15;
  for (size_t i = 0; i < ip.size() && dotted_quad; ++i) {
    if (ip[i] == '.') {
      ++dots;
      last_dot = i;
      dotted_quad = i > 0 && ip[i - 1] != '.';
    } else {
      dotted_quad = ip[i] >= '0' && ip[i] <= '9';
    }
  }
  if (dotted_quad && dots == 3 && last_dot + 1 < ip.size()) {
    std::string out(ip.substr(0, last_dot));
    out += ".0/24";
    return out;
  }
  std::string text(ip);
  unsigned char b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) {
    char out[32];
    std::snprintf(out, sizeof out, "%u.%u.%u.0/24", b[0], b[1], b[2]);
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), b) == 1) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char out[64];
    if (std::equal(kMapped, kMapped + 12, b)) {
      std::snprintf(out, sizeof out, "%u.%u.%u.0/24", b[12], b[13], b[14]);
    } else {
      std::snprintf(out, sizeof out, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", b[0], b[1], b[2],
                    b[3], b[4], b[5], b[6], b[7]);
    }
    return out;
  }
  return text;  // not an address (e.g. a test's label): its own block
}

Engine::Engine(Policy policy, StateStore& state, Explainer& explainer)
    : policy_(policy), state_(state), explainer_(explainer) {}

const RolePolicy& Engine::RoleLimits(Role role) const {
  return role == Role::kSecretary ? policy_.secretary : policy_.practitioner;
}

Verdict Engine::Admit(const Request& r) {
  if (r.role == Role::kAdmin || r.role == Role::kSecurity) return {};
  const uint32_t now = Seconds(r.time);
  const std::string block = AddressBlock(r.source_ip);
  const uint32_t practice = H32(r.practice_id);

  bool source_contained = false;
  auto on_source = [&](SourceRecord& s) {
    s.last_seen = now;
    if (s.contained && now - s.contained_at >= static_cast<uint32_t>(policy_.source_contain_hours) * kHour) {
      s.contained = false;
    }
    source_contained = s.contained;
    s.practices.Insert(practice, now, kDay);
    const uint32_t user_hash = H32(r.user_id);
    for (SourceAccount& sa : s.accounts) {
      if (sa.user_hash == user_hash && sa.user_id == r.user_id) {
        sa.last_seen = now;
        return;
      }
    }
    SourceAccount entry{user_hash, std::string(r.user_id), std::string(r.login), practice, now};
    if (s.accounts.size() < kMaxSourceAccounts) {
      s.accounts.push_back(std::move(entry));
    } else {
      *std::min_element(s.accounts.begin(), s.accounts.end(),
                        [](const SourceAccount& x, const SourceAccount& y) {
                          return x.last_seen < y.last_seen;
                        }) = std::move(entry);
    }
  };
  if (!state_.WithSource(block, on_source)) return StateUnavailable();
  if (source_contained) {
    Verdict v = Decide(r, Level::kContainSource, "source " + block + " contained");
    return v;
  }

  const RolePolicy& rp = RoleLimits(r.role);
  Level level = Level::kAllow;
  std::string reason;
  bool released = false;
  bool contained = false;
  bool step_up = false;
  auto on_account = [&](AccountRecord& a) {
    if (!a.known) {
      a.known = true;
      a.practice = practice;
      a.role = r.role;
      a.first_seen = now;
    }
    a.last_seen = now;
    const uint32_t session = H32(r.session_id);
    if (a.contained) {
      const bool dead = std::find(a.dead_sessions.begin(), a.dead_sessions.end(), session) !=
                        a.dead_sessions.end();
      if (dead) {
        contained = true;
        return;
      }
      // A session the containment did not revoke: the account was unlocked and logged in again.
      ResetCounters(a);
      released = true;
    }
    a.sessions.Insert(session, now, kDay);
    Remember(a.devices, H32(r.user_agent), now);
    Remember(a.blocks, H32(block), now);
    if (a.step_up_required) {
      step_up = true;
      return;
    }
    const float step_scale = 1.0f + static_cast<float>(a.step_up_passes.Sum(now));
    if ((r.op == Op::kList || r.op == Op::kSearch) && r.page_depth >= policy_.deep_page_from) {
      a.deep_1h.Add(now, 1);
      Check("deep_pages_1h", a.deep_1h.Sum(now), policy_.deep_pages_1h, step_scale, &level,
            &reason);
    }
    const bool broad = (r.op == Op::kSearch && !NarrowSearch(r.search_params)) ||
                       r.op == Op::kAppointmentSearch;
    if (broad && r.query_hash != 0) {
      const auto q = static_cast<uint32_t>(r.query_hash ^ (r.query_hash >> 32)) | 1u;
      if (a.queries.Insert(q, now, kHour)) {
        a.broad_10m.Add(now, 1);
        a.broad_1h.Add(now, 1);
      }
      Check("broad_searches_10m", a.broad_10m.Sum(now), rp.broad_searches_10m, step_scale,
            &level, &reason);
      Check("broad_searches_1h", a.broad_1h.Sum(now), rp.broad_searches_1h, step_scale, &level,
            &reason);
    }
  };
  if (!state_.WithAccount(r.user_id, on_account)) return StateUnavailable();
  if (contained) {
    Verdict v;
    v.level = Level::kContainAccount;
    v.reason = "account contained";
    return v;
  }
  if (step_up) {
    Verdict v;
    v.level = Level::kStepUp;
    v.reason = "step-up pending";
    return v;
  }
  Verdict v = Decide(r, level, std::move(reason));
  if (released) {
    v.released = true;
    v.alert = true;
    if (v.reason.empty()) v.reason = "account released";
  }
  return v;
}

float Engine::Explanation(const Request& r, std::string_view patient_id, uint32_t now_s,
                          bool authored, PatientFacts* facts) {
  if (authored) return policy_.explained_factor;
  explainer_.Facts(r.practice_id, patient_id, r.time, facts);
  const uint64_t me = LoginHash(r.login);
  const int64_t grace = int64_t{policy_.self_grace_hours} * 3600 * kMicros;
  const int64_t before = int64_t{policy_.appointment_days_before} * kDay * kMicros;
  const int64_t after = int64_t{policy_.appointment_days_after} * kDay * kMicros;
  (void)now_s;
  for (const AppointmentFact& a : facts->appointments) {
    if (r.role == Role::kPractitioner && a.practitioner != me) continue;
    if (a.start < r.time - before || a.start > r.time + after) continue;
    if (a.created_by == me && r.time - a.created < grace) continue;
    return policy_.explained_factor;
  }
  if (r.role == Role::kPractitioner) {
    const int64_t note_window = int64_t{policy_.note_days} * kDay * kMicros;
    for (const NoteFact& n : facts->notes) {
      if (n.author != me) continue;
      if (r.time - n.created > note_window || r.time - n.created < grace) continue;
      return policy_.note_explained_factor;
    }
  }
  return 1.0f;
}

Verdict Engine::Charge(const Request& r, std::span<const std::string> ids,
                       const std::vector<bool>& canary, bool reveals) {
  if (r.role == Role::kAdmin || r.role == Role::kSecurity) return {};
  const uint32_t now = Seconds(r.time);

  // The canary rule (docs/guard.md): R1 individual access, R2 exposure in a list or search.
  for (size_t i = 0; i < ids.size() && i < canary.size(); ++i) {
    if (!canary[i]) continue;
    if (Individual(r.op)) return Decide(r, Level::kContainAccount, "canary: individual access");
    if ((r.op == Op::kList || r.op == Op::kSearch) && reveals) {
      const bool glance = r.op == Op::kList && r.page_depth == 0 && ids.size() <= kCanaryGlanceRows;
      if (!glance) return Decide(r, Level::kContainAccount, "canary: listed or searched");
    }
  }

  const RolePolicy& rp = RoleLimits(r.role);

  // Shape of the response: how much one newly reached patient weighs.
  float weight = policy_.weight_by_id;
  if (r.op == Op::kList) {
    weight = r.page_depth == 0 && ids.size() <= static_cast<size_t>(policy_.glance_rows)
                 ? policy_.weight_list_glance
                 : policy_.weight_broad;
  } else if (r.op == Op::kSearch) {
    weight = NarrowSearch(r.search_params) ? policy_.weight_narrow : policy_.weight_broad;
  } else if (r.op == Op::kDelete || r.op == Op::kAppointmentSearch) {
    weight = 0;
  }
  if (!reveals && r.op != Op::kAppointmentCreate && r.op != Op::kNoteRead &&
      r.op != Op::kNoteCreate) {
    weight = 0;
  }

  // Phase 1: which patients are new to the account in 24 h (and which it created).
  Level level = Level::kAllow;
  std::string reason;
  bool contained = false;
  thread_local std::vector<uint8_t> fresh;  // 1 new, 2 new and authored (reused: no allocation)
  fresh.assign(ids.size(), 0);
  size_t fresh_count = 0;
  auto phase1 = [&](AccountRecord& a) {
    if (a.contained) {
      contained = true;
      return;
    }
    const float step_scale = 1.0f + static_cast<float>(a.step_up_passes.Sum(now));
    if (r.id_not_found) {
      // Distinct missing ids: retrying one link to a deleted patient is not a walk.
      const uint32_t h = ids.empty() ? 1u : H32(ids[0]) | 1u;
      if (a.queries.Insert(h, now, kHour)) a.misses_1h.Add(now, 1);
      Check("id_misses_1h", a.misses_1h.Sum(now), policy_.misses_1h, step_scale, &level, &reason);
      return;
    }
    if (r.op == Op::kSearch && ids.empty()) {
      a.empty_1h.Add(now, 1);
      Check("empty_searches_1h", a.empty_1h.Sum(now), rp.empty_searches_1h, step_scale, &level,
            &reason);
    }
    if (r.op == Op::kCreate) {
      for (const std::string& id : ids) {
        const uint32_t h = H32(id);
        a.authored.Insert(h, now, 30 * kDay);
        a.patients.Insert(h, now, kDay);
      }
      return;
    }
    if (weight <= 0) return;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i < canary.size() && canary[i]) continue;
      const uint32_t h = H32(ids[i]);
      if (a.patients.Find(h, now, kDay) >= 0) continue;
      fresh[i] = a.authored.Find(h, now, 365 * kDay) >= 0 ? 2 : 1;
      ++fresh_count;
    }
  };
  if (!state_.WithAccount(r.user_id, phase1)) return StateUnavailable();
  if (contained) {
    Verdict v;
    v.level = Level::kContainAccount;
    v.reason = "account contained";
    return v;
  }
  if (r.id_not_found) return Decide(r, level, std::move(reason));

  // Phase 2, outside any lock: what explains each new patient (the store may be asked).
  thread_local std::vector<float> factor;
  factor.assign(ids.size(), 0);
  bool any_unexplained = false;
  if (fresh_count > 0) {
    thread_local PatientFacts facts;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (fresh[i] == 0) continue;
      factor[i] = Explanation(r, ids[i], now, fresh[i] == 2, &facts);
      any_unexplained = any_unexplained || factor[i] >= 1.0f;
    }
  }
  if (r.op == Op::kAppointmentCreate && !ids.empty()) {
    AppointmentFact fact{LoginHash(r.appointment_practitioner), LoginHash(r.login),
                         r.appointment_start, r.time};
    explainer_.LearnAppointment(r.practice_id, ids[0], fact);
  } else if (r.op == Op::kNoteCreate && !ids.empty()) {
    explainer_.LearnNote(r.practice_id, ids[0], NoteFact{LoginHash(r.login), r.time});
  }
  // Nothing new reached: no charge, nothing else to update (the common case of a busy day).
  if (fresh_count == 0) return Decide(r, level, std::move(reason));
  const std::string block = AddressBlock(r.source_ip);
  const uint32_t block_hash = H32(block);

  // Phase 3: charge and evaluate.
  float cost = 0;
  auto phase3 = [&](AccountRecord& a) {
    RollDay(a, rp, now);
    float multiplier = 1.0f;
    std::string why;
    if (fresh_count > 0 && any_unexplained) {
      Cadence& c = a.cadence;
      if (c.events == 0 || r.time - static_cast<int64_t>(c.last) * kMicros > kCadenceResetMicros) {
        c = Cadence{};
        c.events = 1;
      } else {
        const float gap = static_cast<float>(now - c.last);
        if (c.events == 1) {
          c.mean = gap;
          c.spread = gap;
        } else {
          c.spread = (1 - kEwmaAlpha) * c.spread + kEwmaAlpha * std::fabs(gap - c.mean);
          c.mean = (1 - kEwmaAlpha) * c.mean + kEwmaAlpha * gap;
        }
        if (c.events < UINT16_MAX) ++c.events;
      }
      c.last = now;
    }
    const Cadence& c = a.cadence;
    if (c.events >= policy_.cadence_events && c.mean >= 1.0f &&
        c.spread < policy_.cadence_max_spread * c.mean) {
      multiplier *= policy_.cadence_factor;
      why = " (regular cadence)";
    }
    const auto history = static_cast<uint32_t>(policy_.new_device_history_days) * kDay;
    const auto place_fresh = static_cast<uint32_t>(policy_.new_device_days) * kDay;
    // A new device or block weighs on what no appointment or authorship explains: the owner on a
    // new computer opening the agenda pays nothing more, a thief reading others pays double.
    float place_multiplier = 1.0f;
    if (NewPlace(a.devices, H32(r.user_agent), now, a.first_seen, history, place_fresh) ||
        NewPlace(a.blocks, block_hash, now, a.first_seen, history, place_fresh)) {
      place_multiplier = policy_.new_device_factor;
      why += " (new device or source)";
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      if (fresh[i] == 0) continue;
      if (!a.patients.Insert(H32(ids[i]), now, kDay)) continue;  // charged meanwhile
      const float place = factor[i] > policy_.explained_factor ? place_multiplier : 1.0f;
      cost += weight * factor[i] * multiplier * place;
    }
    if (cost > 0) {
      a.cost_10m.Add(now, cost);
      a.cost_1h.Add(now, cost);
      a.cost_24h.Add(now, cost);
      a.cost_7d.Add(now, cost);
      // The baseline learns from the account's known devices and blocks only: a thief on their
      // own machine cannot train it upwards.
      if (place_multiplier == 1.0f) a.day_cost += cost;
    }
    if (fresh_count == 0 && level == Level::kAllow) return;
    const float step_scale = 1.0f + static_cast<float>(a.step_up_passes.Sum(now));
    const float base = a.baseline < 0 ? rp.baseline_start : a.baseline;
    const float s24 = std::max(1.0f, rp.baseline_factor_24h * base / rp.cost_24h.contain);
    const float s7 = std::max(1.0f, rp.baseline_factor_7d * base / rp.cost_7d.contain);
    Level before = level;
    Check("cost_10m", a.cost_10m.Sum(now), rp.cost_10m, step_scale, &level, &reason);
    Check("cost_1h", a.cost_1h.Sum(now), rp.cost_1h, step_scale, &level, &reason);
    Check("cost_24h", a.cost_24h.Sum(now), Scaled(rp.cost_24h, s24), step_scale, &level, &reason);
    Check("cost_7d", a.cost_7d.Sum(now), Scaled(rp.cost_7d, s7), step_scale, &level, &reason);
    if (level > before) reason += why;
  };
  if (!state_.WithAccount(r.user_id, phase3)) return StateUnavailable();

  auto on_session = [&](SessionRecord& s) {
    s.last_seen = now;
    if (cost > 0) {
      s.cost_10m.Add(now, cost);
      s.cost_1h.Add(now, cost);
    }
  };
  if (!state_.WithSession(r.session_id, on_session)) return StateUnavailable();

  // Practice: every account's cost together, limits growing with the accounts active today.
  // A response this request's own limits refuse is not released: it adds nothing there.
  float own_1h = 0;
  if (cost > 0 && level < Level::kStepUp) {
    Level practice_level = Level::kAllow;
    std::string practice_reason;
    auto on_practice = [&](PracticeRecord& p) {
      p.last_seen = now;
      p.accounts.Insert(H32(r.user_id), now, kDay);
      p.cost_1h.Add(now, cost);
      p.cost_24h.Add(now, cost);
      const auto active = static_cast<float>(p.accounts.Count(now, kDay));
      const float c1 = std::max(policy_.practice_1h_min, policy_.practice_1h_per_account * active);
      const float c24 =
          std::max(policy_.practice_24h_min, policy_.practice_24h_per_account * active);
      Check("practice_cost_1h", p.cost_1h.Sum(now), {0.75f * c1, c1}, 1.0f, &practice_level,
            &practice_reason);
      Check("practice_cost_24h", p.cost_24h.Sum(now), {0.75f * c24, c24}, 1.0f, &practice_level,
            &practice_reason);
    };
    if (!state_.WithPractice(r.practice_id, on_practice)) return StateUnavailable();
    if (practice_level > level) {
      auto own = [&](AccountRecord& a) { own_1h = a.cost_1h.Sum(now); };
      if (!state_.WithAccount(r.user_id, own)) return StateUnavailable();
      // The practice's limit never contains a bystander: an account is contained for its
      // practice only when it carries a good part of the cost itself, stepped up when it
      // contributes at all.
      if (practice_level == Level::kContainAccount && own_1h < 0.5f * rp.cost_1h.contain) {
        practice_level = own_1h >= 2.0f ? Level::kStepUp : Level::kLog;
      } else if (practice_level == Level::kStepUp && own_1h < 2.0f) {
        practice_level = Level::kLog;
      }
      if (practice_level > level) {
        level = practice_level;
        reason = practice_reason;
      }
    }

    // Source: many practices driven from one address block.
    bool contain_source = false;
    auto on_source = [&](SourceRecord& s) {
      s.last_seen = now;
      s.cost_1h.Add(now, cost);
      s.cost_24h.Add(now, cost);
      if (s.practices.Count(now, kDay) < policy_.source_practices) return;
      const float c1 = s.cost_1h.Sum(now);
      const float c24 = s.cost_24h.Sum(now);
      if (c1 >= policy_.source_cost_1h || c24 >= policy_.source_cost_24h) {
        contain_source = true;
        reason = "source " + block + ": " + std::to_string(s.practices.Count(now, kDay)) +
                 " practices, cost_1h=" + Num(c1) + " cost_24h=" + Num(c24);
      }
    };
    if (!state_.WithSource(block, on_source)) return StateUnavailable();
    if (contain_source) level = Level::kContainSource;
  }
  return Decide(r, level, std::move(reason));
}

Verdict Engine::Decide(const Request& r, Level level, std::string reason) {
  Verdict v;
  v.level = level;
  v.reason = std::move(reason);
  v.shadow = policy_.shadow;
  if (level == Level::kAllow) return v;
  const uint32_t now = Seconds(r.time);
  const uint32_t practice = H32(r.practice_id);
  const std::string block = AddressBlock(r.source_ip);

  bool second_practice = false;
  auto on_account = [&](AccountRecord& a) {
    const uint32_t day = now / kDay;
    if (a.alerted_day != day) {
      a.alerted_day = day;
      a.alerted_level = 0;
    }
    const auto l = static_cast<uint8_t>(level);
    if (l > a.alerted_level) {
      a.alerted_level = l;
      v.alert = true;
    }
    if (policy_.shadow) return;
    if (level >= Level::kContainAccount && !a.contained) {
      a.contained = true;
      a.contained_at = now;
      a.step_up_required = false;
      // Every session of the account seen lately is dead from now on: a request in another
      // session after this means the account was unlocked and logged in again.
      for (int i = 0; i < 4; ++i) a.dead_sessions[static_cast<size_t>(i)] = a.sessions.hash_at(i);
      v.alert = true;
    } else if (level == Level::kStepUp && !a.step_up_required) {
      a.step_up_required = true;
      v.alert = true;
    }
  };
  // A containment stands without its state (the API locks the account in the store); anything
  // less cannot be kept, so the request is refused instead.
  if (!state_.WithAccount(r.user_id, on_account)) {
    if (policy_.shadow || level < Level::kContainAccount) return StateUnavailable();
    v.alert = true;
  }

  if (!policy_.shadow && level >= Level::kContainAccount) {
    auto on_source = [&](SourceRecord& s) {
      if (level == Level::kContainAccount) {
        s.containments.Add(now, 1);
        s.contained_practices.Insert(practice, now, kDay);
        second_practice = s.contained_practices.Count(now, kDay) >= 2;
      }
      if ((level == Level::kContainSource || second_practice) && !s.contained) {
        s.contained = true;
        s.contained_at = now;
        for (const SourceAccount& sa : s.accounts) {
          if (sa.user_id != r.user_id) v.also_contain.push_back({sa.user_id, sa.login});
        }
      }
    };
    (void)state_.WithSource(block, on_source);  // the account's containment stands either way
    if (second_practice && level == Level::kContainAccount) {
      v.level = Level::kContainSource;
      v.reason += "; accounts of two practices contained from " + block;
    }
    for (const AccountRef& other : v.also_contain) {
      auto contain_other = [&](AccountRecord& a) {
        a.known = true;
        if (a.contained) return;
        a.contained = true;
        a.contained_at = now;
        a.step_up_required = false;
      };
      (void)state_.WithAccount(other.user_id, contain_other);  // the API locks them in the store
    }
  } else if (policy_.shadow && level == Level::kContainSource) {
    auto on_source = [&](SourceRecord& s) {
      for (const SourceAccount& sa : s.accounts) {
        if (sa.user_id != r.user_id) v.also_contain.push_back({sa.user_id, sa.login});
      }
    };
    if (!state_.WithSource(block, on_source)) return StateUnavailable();
  }
  return v;
}

Verdict Engine::StepUpPassed(const Request& r) {
  const uint32_t now = Seconds(r.time);
  auto fn = [&](AccountRecord& a) {
    a.step_up_required = false;
    a.step_up_failures = 0;
    a.step_up_passes.Add(now, 1);
    a.alerted_level = std::min<uint8_t>(a.alerted_level, static_cast<uint8_t>(Level::kLog));
  };
  if (!state_.WithAccount(r.user_id, fn)) return StateUnavailable();
  Verdict v;
  v.alert = true;
  v.reason = "step-up passed";
  return v;
}

Verdict Engine::StepUpFailed(const Request& r) {
  int failures = 0;
  auto fn = [&](AccountRecord& a) {
    if (a.step_up_failures < UINT8_MAX) ++a.step_up_failures;
    failures = a.step_up_failures;
  };
  if (!state_.WithAccount(r.user_id, fn)) return StateUnavailable();
  if (failures >= policy_.step_up_failures_contain) {
    return Decide(r, Level::kContainAccount,
                  "step-up failed " + std::to_string(failures) + " times");
  }
  Verdict v;
  v.level = Level::kStepUp;
  v.alert = true;
  v.reason = "step-up failed";
  return v;
}

Result<bool> Engine::SourceContained(std::string_view source_ip, UnixMicros time) {
  const uint32_t now = Seconds(time);
  bool contained = false;
  auto fn = [&](SourceRecord& s) {
    if (s.contained &&
        now - s.contained_at >= static_cast<uint32_t>(policy_.source_contain_hours) * kHour) {
      s.contained = false;
    }
    contained = s.contained;
  };
  if (!state_.WithSource(AddressBlock(source_ip), fn)) {
    return Unavailable("guard state unavailable");
  }
  return contained;
}

}  // namespace medvault::guard
