#pragma once
// Password hashing with Argon2id (libsodium's crypto_pwhash_str: PHC string with its parameters).
// Thread-safety: thread-safe. Each call allocates `memlimit` bytes for the duration of the hash.
#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace medvault::crypto {

struct PasswordCost {
  unsigned long long opslimit = 2;
  size_t memlimit = size_t{19} << 20;  // 19 MiB, t=2, p=1: the OWASP-recommended minimum.
};

Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost = {});
// False on mismatch or a malformed hash. Runs in time independent of where a mismatch lies.
bool VerifyPassword(std::string_view phc_hash, std::string_view password);

}  // namespace medvault::crypto
