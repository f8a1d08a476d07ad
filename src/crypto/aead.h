#pragma once
// Authenticated encryption: XChaCha20-Poly1305 (IETF) from libsodium, 192-bit random nonces, so
// nonces never need coordination between processes or nodes.
//
// Sealed layout: nonce (24 bytes) || ciphertext || tag (16 bytes). Every failure to open is the
// same opaque IntegrityError("cannot open"): wrong key, wrong associated data, tampering.
// Thread-safety: thread-safe.
#include "core/bytes.h"
#include "core/random.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace medvault::crypto {

inline constexpr size_t kNonceSize = 24;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kSealOverhead = kNonceSize + kTagSize;

// Appends nonce || ciphertext || tag to *out. The nonce comes from `nonces` (the system CSPRNG in
// production; a seeded generator only in known-answer tests).
void SealAppend(const SecretKey& key, ByteView plaintext, ByteView associated_data,
                Random& nonces, Bytes* out);
Bytes Seal(const SecretKey& key, ByteView plaintext, ByteView associated_data, Random& nonces);
Result<Bytes> Open(const SecretKey& key, ByteView sealed, ByteView associated_data);

// Key wrapping: a key sealed under another key, with associated data naming what the key is for
// (so a wrapped key moved to another slot fails to unwrap).
Bytes WrapKey(const SecretKey& wrapping_key, const SecretKey& key, ByteView associated_data,
              Random& nonces);
Result<SecretKey> UnwrapKey(const SecretKey& wrapping_key, ByteView wrapped,
                            ByteView associated_data);

}  // namespace medvault::crypto
