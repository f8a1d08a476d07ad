#pragma once
// The guard's numbers: weights, thresholds per role and window, signal limits. docs/guard.md
// explains each default; medvault.toml [guard] overrides the ones an operator may tune.
#include <cstdint>

namespace medvault::guard {

// A threshold pair on one metric: at `step_up` the account must re-enter a TOTP code, at
// `contain` it is contained. Crossing half of `step_up` is logged.
struct Limit {
  float step_up = 0;
  float contain = 0;
};

// Per-role limits on the weighted count of distinct patients newly reached ("cost"), and on the
// enumeration signals.
struct RolePolicy {
  Limit cost_10m;
  Limit cost_1h;
  Limit cost_24h;
  Limit cost_7d;
  // The account's own baseline (an EWMA of its daily cost over active days) raises the 24 h and
  // 7 day limits: limit = max(default, factor × baseline), the baseline capped at `baseline_cap`.
  float baseline_start = 0;
  float baseline_cap = 0;
  float baseline_factor_24h = 0;
  float baseline_factor_7d = 0;
  // Distinct broad searches (a family name, a given name or a birth date alone; appointment
  // days) in 10 minutes and in an hour.
  Limit broad_searches_10m;
  Limit broad_searches_1h;
  // Searches that found nobody, in an hour (sweeps over name and birth-date combinations).
  Limit empty_searches_1h;
};

struct Policy {
  bool shadow = false;

  // Weights of one newly reached patient, by how the response reached it.
  float weight_narrow = 0.5f;       // identifier, or a name with a birth date
  float weight_by_id = 1.0f;        // read, update, note, booking
  float weight_broad = 2.0f;        // broad search row, list row past the first page
  float weight_list_glance = 0.1f;  // first list page of at most `glance_rows` rows
  int glance_rows = 20;
  float explained_factor = 0.1f;    // times the weight when the access is explained
  // Times the weight when only an earlier note of this practitioner explains it: a recent
  // encounter is weaker evidence than an appointment (a thief reading the doctor's past patients
  // pays half price, not a tenth).
  float note_explained_factor = 0.5f;

  // What explains an access: an appointment with this practitioner (any practitioner for a
  // secretary) starting within [now - before, now + after]; a note by this practitioner within
  // `note_days`; a patient this account created. An appointment or note the account itself made
  // less than `self_grace_hours` ago explains nothing (fake appointments launder nothing).
  int appointment_days_before = 7;
  int appointment_days_after = 7;
  int note_days = 365;
  int self_grace_hours = 24;

  RolePolicy practitioner{
      {10, 16}, {12, 20},  {16, 25}, {22, 25},
      4.0f, 8.0f, 3.0f, 6.0f,
      {15, 30}, {30, 60}, {20, 40},
  };
  RolePolicy secretary{
      {12, 20}, {20, 30},  {60, 120}, {200, 400},
      30.0f, 100.0f, 2.0f, 8.0f,
      {20, 40}, {40, 80}, {30, 60},
  };

  // 404s on patient ids in an hour (id walks).
  Limit misses_1h{5, 10};
  // Requests for page ≥ 2 of a list or search, in an hour.
  Limit deep_pages_1h{4, 8};
  int deep_page_from = 2;
  // Regular cadence: at least `cadence_events` unexplained first accesses whose gaps have a mean
  // absolute deviation below `cadence_max_spread` of their mean multiply the costs by
  // `cadence_factor`.
  int cadence_events = 10;
  float cadence_max_spread = 0.2f;
  float cadence_factor = 2.0f;
  // A device (User-Agent) or address block the account had not used before, once the account
  // has at least `new_device_history_days` of history.
  // A device or block counts as new for `new_device_days` after its first use: a thief working
  // slowly from their own machine pays the factor all week, not only on the first day. It
  // multiplies only what no appointment or authorship explains (the owner on a new computer
  // opening the agenda pays nothing more).
  int new_device_history_days = 7;
  int new_device_days = 7;
  float new_device_factor = 2.0f;

  // Step-up: after a passed step-up, the step-up limits are scaled by 1 + passes (contain limits
  // never move); this many failed step-ups contain.
  int step_up_failures_contain = 3;

  // Practice: the sum over its accounts, limits scaled by the accounts active in 24 h.
  float practice_1h_per_account = 12;
  float practice_1h_min = 40;
  float practice_24h_per_account = 40;
  float practice_24h_min = 100;

  // Source (address block /24 or /64): contained when it reached this many practices in 24 h
  // and its cost passed the limit, or when accounts of two practices were contained from it.
  int source_practices = 3;
  float source_cost_1h = 30;
  float source_cost_24h = 60;
  int source_contain_hours = 24;

  // Memory: accounts idle this long are forgotten; at most this many tracked.
  int idle_evict_days = 30;
  int max_accounts = 200000;
};

}  // namespace medvault::guard
