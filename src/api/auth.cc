#include "api/auth.h"

#include <liboath/oath.h>

#include <ctime>

#include "crypto/hash.h"
#include "crypto/password.h"

namespace medvault::api {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr unsigned kTotpPeriodSeconds = 30;
constexpr size_t kTokenBytes = 32;
constexpr size_t kMaxTrackedKeys = 100'000;

struct OathLibrary {
  OathLibrary() { oath_init(); }
  ~OathLibrary() { oath_done(); }
};

std::string Base64Url(ByteView b) {
  std::string s = Base64Encode(b);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

Status LoginFailed() { return Unauthenticated(std::string(kLoginFailed)); }
Status BadToken() { return Unauthenticated(std::string(kBadToken)); }

}  // namespace

void FailureWindow::Prune(std::deque<UnixMicros>& q, UnixMicros now) const {
  while (!q.empty() && q.front() <= now - window_) q.pop_front();
}

bool FailureWindow::Exceeded(const std::string& key, UnixMicros now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  Prune(it->second, now);
  return static_cast<int>(it->second.size()) >= limit_;
}

void FailureWindow::Add(const std::string& key, UnixMicros now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.size() >= kMaxTrackedKeys) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      Prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
  failures_[key].push_back(now);
}

void FailureWindow::Clear(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int64_t TotpStepFor(ByteView secret, UnixMicros now, std::string_view code) {
  static const OathLibrary library;
  if (code.size() != 6) return -1;
  for (char c : code) {
    if (c < '0' || c > '9') return -1;
  }
  const std::string otp(code);
  int pos = 0;
  uint64_t counter = 0;
  const int rc = oath_totp_validate3(reinterpret_cast<const char*>(secret.data()), secret.size(),
                                     static_cast<time_t>(now / kMicrosPerSecond),
                                     kTotpPeriodSeconds, 0, 1, &pos, &counter, otp.c_str());
  if (rc < 0) return -1;
  return static_cast<int64_t>(counter);
}

std::string NewToken(Random& random) {
  uint8_t raw[kTokenBytes];
  random.Fill(raw);
  std::string token = Base64Url(raw);
  crypto::Wipe(raw);
  return token;
}

std::string TokenHash(std::string_view token) {
  const crypto::Digest32 d = crypto::Sha256(AsBytes(token));
  return std::string(AsChars(d));
}

Authenticator::Authenticator(const Services& services, const ServerConfig& config)
    : services_(services),
      config_(config),
      idle_(int64_t{config.session_idle_seconds} * kMicrosPerSecond),
      absolute_(int64_t{config.session_absolute_seconds} * kMicrosPerSecond),
      cache_ttl_(int64_t{config.session_cache_seconds} * kMicrosPerSecond),
      account_failures_(config.login_failures_per_account,
                        int64_t{config.login_failure_window_seconds} * kMicrosPerSecond),
      source_failures_(config.login_failures_per_source,
                       int64_t{config.login_failure_window_seconds} * kMicrosPerSecond) {
  Result<std::string> dummy = crypto::HashPassword(NewToken(services_.random), config.password_cost);
  if (dummy.ok()) dummy_hash_ = std::move(dummy).value();
}

Status Authenticator::Fail(const std::string& login, const std::string& source_ip,
                           UnixMicros now) {
  account_failures_.Add(login, now);
  source_failures_.Add(source_ip, now);
  return LoginFailed();
}

Result<LoginResult> Authenticator::Login(const std::string& login, const std::string& password,
                                         const std::string& totp, const std::string& source_ip,
                                         bool* known_login) {
  if (known_login != nullptr) *known_login = false;
  const UnixMicros now = services_.clock.Now();
  if (source_failures_.Exceeded(source_ip, now) || account_failures_.Exceeded(login, now)) {
    return Status(Code::kResourceExhausted, "too many failed logins; try again later");
  }
  MV_RETURN_IF_ERROR(CheckSource(source_ip, now));
  Result<store::UserRow> user = services_.data.GetUserByLogin(login);
  if (!user.ok()) {
    if (user.status().code() != Code::kNotFound) return user.status();
    if (!dummy_hash_.empty()) (void)crypto::VerifyPassword(dummy_hash_, password);
    return Fail(login, source_ip, now);
  }
  if (known_login != nullptr) *known_login = true;
  if (!crypto::VerifyPassword(user->password_hash, password)) return Fail(login, source_ip, now);
  Result<crypto::SecretBytes> secret = services_.users.TotpSecret(*user);
  if (!secret.ok()) return Fail(login, source_ip, now);
  const int64_t step = TotpStepFor(secret->UnsafeBytes(), now, totp);
  if (step < 0) return Fail(login, source_ip, now);
  MV_ASSIGN_OR_RETURN(bool fresh, services_.data.AdvanceTotpStep(user->id, step));
  if (!fresh) return Fail(login, source_ip, now);
  if (user->locked) return Status(Code::kLocked, "account locked; ask the security officer");
  account_failures_.Clear(login);

  LoginResult out;
  out.token = NewToken(services_.random);
  const std::string hash = TokenHash(out.token);
  store::SessionRow row;
  row.token_hash = ToBytes(hash);
  row.user_id = user->id;
  row.source = source_ip;
  row.created = now;
  row.last_seen = now;
  row.expires = now + absolute_;
  MV_RETURN_IF_ERROR(services_.data.CreateSession(row));
  out.expires_at = row.expires;
  Principal& p = out.principal;
  p.user_id = user->id;
  p.login = user->login;
  p.practice_id = user->practice_id;
  p.role = user->role;
  p.token_hash = hash;
  p.session_id = HexEncode(AsBytes(hash)).substr(0, 16);
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[hash] = CachedSession{p, now, row.expires, now};
  return out;
}

Result<Principal> Authenticator::Authenticate(std::string_view token) {
  if (token.size() != 43) return BadToken();
  const std::string hash = TokenHash(token);
  const UnixMicros now = services_.clock.Now();
  UnixMicros mem_last_seen = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(hash);
    if (it != sessions_.end()) {
      CachedSession& s = it->second;
      if (now - s.last_seen > idle_ || now >= s.expires) {
        sessions_.erase(it);
        return BadToken();
      }
      if (now - s.validated_at < cache_ttl_) {
        s.last_seen = now;
        return s.principal;
      }
      mem_last_seen = s.last_seen;
    }
  }
  return Revalidate(hash, now, mem_last_seen);
}

Result<Principal> Authenticator::Revalidate(const std::string& hash, UnixMicros now,
                                            UnixMicros mem_last_seen) {
  Result<store::SessionRow> row = services_.data.GetSession(AsBytes(hash));
  if (!row.ok()) {
    if (row.status().code() == Code::kNotFound) return BadToken();
    return row.status();
  }
  const UnixMicros last_seen = std::max(row->last_seen, mem_last_seen);
  if (row->revoked || now - last_seen > idle_ || now >= row->expires) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(hash);
    return BadToken();
  }
  Result<store::UserRow> user = services_.data.GetUser(row->user_id);
  if (!user.ok() || user->locked) return BadToken();
  // The stored last use need only be fresh to within the idle timeout's precision: one write every
  // kTouchEveryMicros per session, however often it is checked (every request on several nodes).
  if (now - row->last_seen >= kTouchEveryMicros) {
    MV_RETURN_IF_ERROR(services_.data.TouchSession(AsBytes(hash), now));
  }
  Principal p;
  p.user_id = user->id;
  p.login = user->login;
  p.practice_id = user->practice_id;
  p.role = user->role;
  p.token_hash = hash;
  p.session_id = HexEncode(AsBytes(hash)).substr(0, 16);
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[hash] = CachedSession{p, now, row->expires, now};
  return p;
}

Status Authenticator::Logout(const Principal& p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(p.token_hash);
  }
  return services_.data.RevokeSession(AsBytes(p.token_hash));
}

Status Authenticator::VerifyTotp(const Principal& p, const std::string& code) {
  MV_ASSIGN_OR_RETURN(store::UserRow user, services_.data.GetUser(p.user_id));
  if (user.locked) return Status(Code::kSuspended, "access suspended by the guard");
  Result<crypto::SecretBytes> secret = services_.users.TotpSecret(user);
  if (!secret.ok()) return Unauthenticated("invalid code");
  const int64_t step = TotpStepFor(secret->UnsafeBytes(), services_.clock.Now(), code);
  if (step < 0) return Unauthenticated("invalid code");
  MV_ASSIGN_OR_RETURN(bool fresh, services_.data.AdvanceTotpStep(user.id, step));
  if (!fresh) return Unauthenticated("invalid code");
  return Status::Ok();
}

Status Authenticator::ContainAccount(const Principal& p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      it = it->second.principal.user_id == p.user_id ? sessions_.erase(it) : std::next(it);
    }
  }
  MV_RETURN_IF_ERROR(services_.data.RevokeUserSessions(p.user_id));
  return services_.data.SetUserLocked(p.login, true);
}

void Authenticator::ContainSource(const std::string& source_ip) {
  std::lock_guard<std::mutex> lock(mu_);
  contained_sources_.insert(source_ip);
}

bool Authenticator::SourceContained(const std::string& source_ip) {
  std::lock_guard<std::mutex> lock(mu_);
  return !contained_sources_.empty() && contained_sources_.count(source_ip) != 0;
}

Status Authenticator::CheckSource(const std::string& source_ip, UnixMicros now) {
  if (SourceContained(source_ip)) return Status(Code::kSuspended, "access suspended by the guard");
  MV_ASSIGN_OR_RETURN(bool contained, services_.guard.SourceContained(source_ip, now));
  if (contained) return Status(Code::kSuspended, "access suspended by the guard");
  return Status::Ok();
}

}  // namespace medvault::api
