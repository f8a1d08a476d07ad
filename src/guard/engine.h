#pragma once
// The guard's decisions (docs/guard.md). It counts the distinct patients whose identity or
// contact reach each account, session, practice and source in sliding windows, weighs each by
// how the response reached it and by whether something explains the access, watches for
// enumeration patterns, applies the canary rule, and answers with a graded level: allow, log,
// step-up (a fresh TOTP code), contain the account, contain the source.
//
// The engine only decides and keeps state; the caller enforces (the API), writes the audit leaf
// and sends the alert. In shadow mode every verdict is computed and reported with `shadow` set,
// and no state of containment or step-up is kept, so nothing is ever refused.
// Thread-safety: thread-safe; called from every request thread at once.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/role.h"
#include "guard/explainer.h"
#include "guard/policy.h"
#include "guard/state.h"

namespace medvault::guard {

enum class Op : uint8_t {
  kRead,               // one patient by id (also break-glass)
  kCreate,             // a patient created by this account
  kUpdate,
  kDelete,
  kList,               // the practice's patient list
  kSearch,             // a patient search
  kAppointmentCreate,  // booking
  kAppointmentSearch,  // the agenda of a day (patient ids only)
  kNoteCreate,
  kNoteRead,
  kOther,
};

// Which search parameters were set (never their values).
enum SearchParam : uint8_t {
  kFamily = 1,
  kGiven = 2,
  kBirthDate = 4,
  kIdentifier = 8,
};

// What the guard is told about a request. Views must stay valid during the call.
struct Request {
  UnixMicros time = 0;
  std::string_view practice_id;
  std::string_view user_id;
  std::string_view login;
  Role role = Role::kPractitioner;
  std::string_view session_id;
  std::string_view source_ip;
  std::string_view user_agent;
  Op op = Op::kOther;
  bool break_glass = false;
  int64_t page_depth = 0;      // page index of a list or search
  uint8_t search_params = 0;   // SearchParam bits
  uint64_t query_hash = 0;     // keyed hash of the search parameters' values (0: none)
  bool id_not_found = false;   // the request named a patient id absent from the practice
  // kAppointmentCreate: the booked practitioner's login and the start.
  std::string_view appointment_practitioner;
  UnixMicros appointment_start = 0;
};

enum class Level : uint8_t { kAllow = 0, kLog, kStepUp, kContainAccount, kContainSource };
std::string_view LevelName(Level level);  // "allow", "log", "step_up", ...

struct AccountRef {
  std::string user_id;
  std::string login;
};

struct Verdict {
  Level level = Level::kAllow;
  bool shadow = false;      // computed, not enforced
  bool alert = false;       // a new decision: write a leaf and send an alert
  bool released = false;    // the account had been contained and has been unlocked since
  // The guard's state could not be read or kept (a shared store unreachable): the request must be
  // refused (503), whatever `level` says, in shadow mode too: nothing goes through uncounted.
  bool unavailable = false;
  std::string reason;       // names metrics and numbers, never a patient field
  std::vector<AccountRef> also_contain;  // kContainSource: the other accounts used from it
  // "allow", "log", "step_up", "contain_account", "contain_source", with "shadow_" in shadow mode.
  std::string Name() const;
};

// The address block a source belongs to: /24 for IPv4, /64 for IPv6.
std::string AddressBlock(std::string_view ip);

class Engine {
 public:
  // `state` and `explainer` must outlive the engine.
  Engine(Policy policy, StateStore& state, Explainer& explainer);

  // Before the store is read.
  Verdict Admit(const Request& r);
  // After decryption: the distinct patients about to be returned (or acted on), with their
  // canary flags; `reveals` says whether their identity or contact is in the response. Called
  // also with no patients for a search that found nobody and for a patient id that was not found
  // (`r.id_not_found`, with that id as the only patient).
  Verdict Charge(const Request& r, std::span<const std::string> patient_ids,
                 const std::vector<bool>& canary, bool reveals);
  // The session's user entered a valid fresh TOTP code / a wrong one.
  Verdict StepUpPassed(const Request& r);
  Verdict StepUpFailed(const Request& r);
  // Whether the address block of `source_ip` is contained at `time` (a containment decided on any
  // node sharing the state): for the login of any account from it. Unavailable when the state is.
  Result<bool> SourceContained(std::string_view source_ip, UnixMicros time);

  const Policy& policy() const { return policy_; }
  StateStore& state() { return state_; }

 private:
  struct Charged;
  Verdict Decide(const Request& r, Level level, std::string reason);
  Verdict ContainNow(const Request& r, std::string reason);
  float Explanation(const Request& r, std::string_view patient_id, uint32_t now_s, bool authored,
                    PatientFacts* scratch);
  const RolePolicy& RoleLimits(Role role) const;

  const Policy policy_;
  StateStore& state_;
  Explainer& explainer_;
};

}  // namespace medvault::guard
