#include "api/access_code.h"

#include "crypto/hash.h"

namespace medvault::api {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford base32
constexpr size_t kCodeChars = 20;  // 100 bits
constexpr int64_t kMicrosPerSecond = 1'000'000;
const std::string kGlobalKey = "*";

Bytes CodeHash(std::string_view canonical) {
  const crypto::Digest32 d = crypto::Sha256(AsBytes(canonical));
  return Bytes(d.begin(), d.end());
}

}  // namespace

std::string NormaliseAccessCode(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kAlphabet.find(c) == std::string_view::npos) return "";
    out += c;
    if (out.size() > kCodeChars) return "";
  }
  return out.size() == kCodeChars ? out : "";
}

AccessCodes::AccessCodes(store::DataStore& data, Random& random, const ServerConfig& config)
    : data_(data),
      random_(random),
      ttl_(int64_t{config.access_code_ttl_seconds} * kMicrosPerSecond),
      source_failures_(config.access_code_failures_per_source,
                       int64_t{config.login_failure_window_seconds} * kMicrosPerSecond),
      global_failures_(config.access_code_failures_global,
                       int64_t{config.login_failure_window_seconds} * kMicrosPerSecond) {}

Result<IssuedAccessCode> AccessCodes::Issue(const std::string& practice_id,
                                            const std::string& patient_id,
                                            const std::string& issued_by, UnixMicros now) {
  std::string canonical;
  for (size_t i = 0; i < kCodeChars; ++i) canonical += kAlphabet[random_.Uniform(kAlphabet.size())];
  store::AccessCodeRow row;
  row.code_hash = CodeHash(canonical);
  row.practice_id = practice_id;
  row.patient_id = patient_id;
  row.issued_by = issued_by;
  row.created = now;
  row.expires = now + ttl_;
  MV_RETURN_IF_ERROR(data_.CreateAccessCode(row));
  IssuedAccessCode out;
  for (size_t i = 0; i < canonical.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.code += '-';
    out.code += canonical[i];
  }
  out.expires = row.expires;
  return out;
}

Result<store::AccessCodeRow> AccessCodes::Redeem(std::string_view typed, const std::string& source,
                                                 UnixMicros now) {
  if (source_failures_.Exceeded(source, now) || global_failures_.Exceeded(kGlobalKey, now)) {
    return Status(Code::kResourceExhausted, std::string(kAccessCodeThrottled));
  }
  const std::string canonical = NormaliseAccessCode(typed);
  if (!canonical.empty()) {
    Result<store::AccessCodeRow> row = data_.RedeemAccessCode(CodeHash(canonical), now);
    if (row.ok() || row.status().code() != Code::kNotFound) return row;
  }
  source_failures_.Add(source, now);
  global_failures_.Add(kGlobalKey, now);
  return Unauthenticated(std::string(kBadAccessCode));
}

}  // namespace medvault::api
