#pragma once
// One-time access codes of the patient access view (docs/patient-access.md): the practice issues a
// code for one patient; the patient, who has no account, exchanges it once for the history of
// accesses to their record. A code is 100 random bits written as 20 characters of Crockford's
// base32 in groups of four (`7K3M-Q9TX-...`); only its SHA-256 is stored. A code expires after
// `ServerConfig::access_code_ttl_seconds` and is used at most once.
//
// Redeeming is throttled: after `access_code_failures_per_source` failed attempts from one source
// address, or `access_code_failures_global` from all sources together, within
// `login_failure_window_seconds`, every attempt is refused (even with a valid code) until the
// window slides past them.
//
// Errors: Issue: NotFound if the patient is not one of the practice's; the store's errors.
// Redeem: Unauthenticated(kBadAccessCode) for a malformed, unknown, used or expired code (one
// message, so an attempt learns nothing); ResourceExhausted when throttled.
// Thread-safety: thread-safe.
#include <string>
#include <string_view>

#include "api/auth.h"
#include "api/server.h"
#include "core/clock.h"
#include "core/random.h"
#include "store/store.h"

namespace medvault::api {

inline constexpr std::string_view kBadAccessCode = "invalid, used or expired access code";
inline constexpr std::string_view kAccessCodeThrottled =
    "too many failed access codes; try again later";

struct IssuedAccessCode {
  std::string code;  // formatted, with dashes: give it to the patient, never log it
  UnixMicros expires = 0;
};

// The canonical form of a typed code: upper case, dashes and spaces dropped, O read as 0 and I, L
// as 1 (Crockford). Empty if it is not 20 characters of the alphabet.
std::string NormaliseAccessCode(std::string_view typed);

class AccessCodes {
 public:
  // All must outlive this object.
  AccessCodes(store::DataStore& data, Random& random, const ServerConfig& config);

  Result<IssuedAccessCode> Issue(const std::string& practice_id, const std::string& patient_id,
                                 const std::string& issued_by, UnixMicros now);
  Result<store::AccessCodeRow> Redeem(std::string_view typed, const std::string& source,
                                      UnixMicros now);

 private:
  store::DataStore& data_;
  Random& random_;
  const int64_t ttl_;
  FailureWindow source_failures_;
  FailureWindow global_failures_;
};

}  // namespace medvault::api
