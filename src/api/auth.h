#pragma once
// Authentication: password (Argon2id) + TOTP (RFC 6238) logins with throttling, and opaque bearer
// sessions (32 random bytes, base64url; only their SHA-256 is stored) with idle and absolute
// expiry, cached in memory for `session_cache_seconds` and invalidated at once on logout and
// containment. With several nodes (PostgreSQL) the cache is off (0 s): every request checks the
// session and its account in the store, so a logout or a lock on one node holds on all at once.
//
// Errors: every credential failure is Unauthenticated(kLoginFailed), whatever failed (unknown
// login, password, code, replayed code, no TOTP secret), so the answer reveals nothing;
// ResourceExhausted when too many failures came from the account or the source; Locked for a
// contained account (only after its credentials verified, so it is no oracle either); Suspended
// for a login from a contained source (CheckSource); Unavailable when the guard cannot tell.
// Thread-safety: thread-safe.
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "api/server.h"
#include "core/bytes.h"
#include "core/role.h"

namespace medvault::api {

inline constexpr std::string_view kLoginFailed = "invalid login, password or code";
inline constexpr std::string_view kBadToken = "missing, invalid or expired token";
// A session's stored last use is rewritten at most this often (it only feeds the idle expiry).
inline constexpr int64_t kTouchEveryMicros = 5'000'000;

struct Principal {
  std::string user_id;
  std::string login;
  std::string practice_id;  // empty for the security role
  Role role = Role::kPractitioner;
  std::string token_hash;   // raw SHA-256 bytes of the token
  std::string session_id;   // first 16 hex digits of the hash: safe to log
};

struct LoginResult {
  std::string token;
  UnixMicros expires_at = 0;  // absolute expiry; idle expiry applies before it
  Principal principal;
};

// Sliding-window failure counts per key. Thread-safe.
class FailureWindow {
 public:
  FailureWindow(int limit, int64_t window_micros) : limit_(limit), window_(window_micros) {}
  bool Exceeded(const std::string& key, UnixMicros now);
  void Add(const std::string& key, UnixMicros now);
  void Clear(const std::string& key);

 private:
  void Prune(std::deque<UnixMicros>& q, UnixMicros now) const;

  const int limit_;
  const int64_t window_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<UnixMicros>> failures_;
};

// The RFC 6238 time step (30 s) at which `code` is valid for `secret` within ±1 step, or -1.
int64_t TotpStepFor(ByteView secret, UnixMicros now, std::string_view code);

// 32 random bytes, base64url without padding (43 characters).
std::string NewToken(Random& random);
std::string TokenHash(std::string_view token);

class Authenticator {
 public:
  // `services` and `config` must outlive this object.
  Authenticator(const Services& services, const ServerConfig& config);

  // Slow (Argon2id, tens of ms): call it off the io threads. `*known_login` (if given) is set to
  // whether `login` names an account, for the log line only: a mistyped login may be a password
  // or a patient's name and must not be written down; the answer never depends on it.
  Result<LoginResult> Login(const std::string& login, const std::string& password,
                            const std::string& totp, const std::string& source_ip,
                            bool* known_login = nullptr);
  // Fast path served from the cache. Unauthenticated(kBadToken) when absent, revoked, expired or
  // the account is locked.
  Result<Principal> Authenticate(std::string_view token);
  Status Logout(const Principal& p);
  // Checks a fresh TOTP code of the principal's account (each step is accepted once, as at
  // login): Unauthenticated("invalid code") if wrong or already used.
  Status VerifyTotp(const Principal& p, const std::string& code);
  // Revokes every session of the account and locks it.
  Status ContainAccount(const Principal& p);
  void ContainSource(const std::string& source_ip);
  // This node's containments only (exact address): the per-request check, no I/O.
  bool SourceContained(const std::string& source_ip);
  // This node's containments, then the guard's (the address block, contained on any node
  // sharing its state): Suspended if contained, Unavailable if the guard's state is.
  Status CheckSource(const std::string& source_ip, UnixMicros now);

 private:
  struct CachedSession {
    Principal principal;
    UnixMicros last_seen = 0;
    UnixMicros expires = 0;
    UnixMicros validated_at = 0;
  };

  Result<Principal> Revalidate(const std::string& hash, UnixMicros now, UnixMicros mem_last_seen);
  Status Fail(const std::string& login, const std::string& source_ip, UnixMicros now);

  const Services& services_;
  const ServerConfig& config_;
  const int64_t idle_;
  const int64_t absolute_;
  const int64_t cache_ttl_;
  std::string dummy_hash_;  // verified against for unknown logins, to keep timing even
  FailureWindow account_failures_;
  FailureWindow source_failures_;

  std::mutex mu_;
  std::unordered_map<std::string, CachedSession> sessions_;
  std::unordered_set<std::string> contained_sources_;
};

}  // namespace medvault::api
