#pragma once
// Accounts: practitioners, secretaries and admins of a practice, and vault-wide security officers.
// Every account has an Argon2id password hash and a TOTP secret sealed under the vault system key:
// MFA is not optional.
// Thread-safety: thread-safe.
#include <string>

#include "core/clock.h"
#include "core/random.h"
#include "core/role.h"
#include "crypto/password.h"
#include "crypto/secret.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace medvault::vault {

struct NewUser {
  store::UserRow row;
  std::string totp_uri;  // otpauth://totp/... for the authenticator app; shown once
};

class Users {
 public:
  Users(store::DataStore& data, Keyring& keyring, const Clock& clock, Random& random,
        crypto::PasswordCost cost = {});

  // Validates the login (3..64 of [a-z0-9._-]), the password (≥ 12 characters) and the practice
  // (required unless role is security, forbidden for security). AlreadyExists for a taken login.
  Result<NewUser> Create(const std::string& practice_id, const std::string& login, Role role,
                         const std::string& password, const std::string& display_name = "");
  // The raw TOTP secret of a user (for code verification in api/).
  Result<crypto::SecretBytes> TotpSecret(const store::UserRow& user);

 private:
  store::DataStore& data_;
  Keyring& keyring_;
  const Clock& clock_;
  Random& random_;
  crypto::PasswordCost cost_;
};

// otpauth://totp/medvault:LOGIN?secret=BASE32&issuer=medvault&algorithm=SHA1&digits=6&period=30
std::string TotpUri(const std::string& login, ByteView secret);

}  // namespace medvault::vault
