#pragma once
// The vault's master key: 32 random bytes that wrap the practice keys and never enter a database.
// It comes from the MEDVAULT_MASTER_KEY environment variable (base64) when set, otherwise from the
// file `master.key` of the vault (base64, mode 0600, refused if group or others may read it).
// Thread-safety: free functions, thread-safe.
#include <string>

#include "core/status.h"
#include "crypto/secret.h"

namespace medvault::crypto {

inline constexpr const char* kMasterKeyEnv = "MEDVAULT_MASTER_KEY";

// Creates `path` (mode 0600) holding a new random key, atomically. Fails if it exists.
Result<SecretKey> CreateMasterKeyFile(const std::string& path);
// Replaces `path` atomically with `key` (rotation).
Status WriteMasterKeyFile(const std::string& path, const SecretKey& key);
// Environment first, then the file.
Result<SecretKey> LoadMasterKey(const std::string& path);
// A short public fingerprint of a key (hex of a keyed hash), to tell which key wrapped what
// without revealing it.
std::string KeyFingerprint(const SecretKey& key);

}  // namespace medvault::crypto
