#pragma once
// Hashes. SHA-256 is the Merkle log's hash (RFC 6962); BLAKE2b serves keyed digests.
// Thread-safety: free functions are thread-safe; a Sha256 object is not.
#include <array>
#include <cstdint>

#include "core/bytes.h"
#include "crypto/secret.h"

namespace medvault::crypto {

using Digest32 = std::array<uint8_t, 32>;

Digest32 Sha256(ByteView data);

// Incremental SHA-256.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(ByteView data);
  Digest32 Finish();

 private:
  alignas(16) uint8_t state_[128];  // crypto_hash_sha256_state fits; checked in the .cc
};

// Keyed BLAKE2b with an output of `out.size()` bytes (16..64).
void KeyedBlake2b(const SecretKey& key, ByteView data, std::span<uint8_t> out);

// Derives a sub-key from `root`: BLAKE2b-based KDF of libsodium with an 8-character context and
// a 64-bit sub-key id. Deterministic: the same inputs give the same key.
// REQUIRES: context.size() == 8.
SecretKey DeriveSubkey(const SecretKey& root, uint64_t subkey_id, std::string_view context);

}  // namespace medvault::crypto
