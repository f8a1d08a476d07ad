#include "vault/users.h"

#include "core/ids.h"
#include "crypto/aead.h"

namespace medvault::vault {
namespace {

constexpr size_t kTotpSecretSize = 20;  // 160 bits, RFC 4226's recommended length

Bytes TotpAd(const std::string& user_id) {
  Bytes ad = ToBytes("medvault/totp");
  ad.push_back(0);
  AppendBytes(&ad, user_id);
  return ad;
}

Status ValidateLogin(const std::string& login) {
  if (login.size() < 3 || login.size() > 64) return InvalidArgument("login: 3 to 64 characters");
  for (char c : login) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-')) {
      return InvalidArgument("login: only lower-case letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string TotpUri(const std::string& login, ByteView secret) {
  return "otpauth://totp/medvault:" + login + "?secret=" + Base32Encode(secret) +
         "&issuer=medvault&algorithm=SHA1&digits=6&period=30";
}

Users::Users(store::DataStore& data, Keyring& keyring, const Clock& clock, Random& random,
             crypto::PasswordCost cost)
    : data_(data), keyring_(keyring), clock_(clock), random_(random), cost_(cost) {}

Result<NewUser> Users::Create(const std::string& practice_id, const std::string& login, Role role,
                              const std::string& password, const std::string& display_name) {
  MV_RETURN_IF_ERROR(ValidateLogin(login));
  if (password.size() < 12) return InvalidArgument("password: at least 12 characters");
  if (role == Role::kSecurity && !practice_id.empty()) {
    return InvalidArgument("practice: a security officer belongs to no practice");
  }
  if (role != Role::kSecurity) {
    if (practice_id.empty()) return InvalidArgument("practice: required for this role");
    MV_RETURN_IF_ERROR(data_.GetPractice(practice_id).status().WithContext("practice"));
  }
  MV_ASSIGN_OR_RETURN(auto system, keyring_.SystemKey());
  NewUser out;
  store::UserRow& row = out.row;
  row.id = NewId(random_);
  row.practice_id = practice_id;
  row.login = login;
  row.display_name = display_name.empty() ? login : display_name;
  row.role = role;
  MV_ASSIGN_OR_RETURN(row.password_hash, crypto::HashPassword(password, cost_));
  crypto::SecretBytes secret(kTotpSecretSize);
  random_.Fill(secret.UnsafeMutableBytes());
  row.totp_sealed = crypto::Seal(*system, secret.UnsafeBytes(), TotpAd(row.id), random_);
  row.created = clock_.Now();
  MV_RETURN_IF_ERROR(data_.CreateUser(row));
  out.totp_uri = TotpUri(login, secret.UnsafeBytes());
  return out;
}

Result<crypto::SecretBytes> Users::TotpSecret(const store::UserRow& user) {
  if (user.totp_sealed.empty()) return Unauthenticated("no second factor");
  MV_ASSIGN_OR_RETURN(auto system, keyring_.SystemKey());
  MV_ASSIGN_OR_RETURN(Bytes raw, crypto::Open(*system, user.totp_sealed, TotpAd(user.id)));
  crypto::SecretBytes secret = crypto::SecretBytes::Copy(raw);
  crypto::Wipe(raw);
  return secret;
}

}  // namespace medvault::vault
