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
// Open into `*out` (resized; its storage reused across calls).
Status OpenInto(const SecretKey& key, ByteView sealed, ByteView associated_data, Bytes* out);

// Opening keys: the XChaCha20-Poly1305 subkey of one sealed message, HChaCha20(key, first 16
// bytes of its nonce). It opens that message (and, with overwhelming probability, no other: nonces
// are random) without revealing `key`, so one sealed record can be disclosed and checked on its
// own (breach evidence, docs/formats/evidence.md). IntegrityError("cannot open") if `sealed` is
// shorter than the overhead.
Result<SecretKey> OpeningKey(const SecretKey& key, ByteView sealed);
// Opens `sealed` (nonce || ciphertext || tag, as Seal writes it) with its opening key: ChaCha20-
// Poly1305 (IETF) under the subkey with nonce 0x00000000 || last 8 bytes of the 24-byte nonce.
// The same opaque IntegrityError("cannot open") as Open on any failure.
Result<Bytes> OpenWithOpeningKey(const SecretKey& opening_key, ByteView sealed,
                                 ByteView associated_data);

// Key wrapping: a key sealed under another key, with associated data naming what the key is for
// (so a wrapped key moved to another slot fails to unwrap).
Bytes WrapKey(const SecretKey& wrapping_key, const SecretKey& key, ByteView associated_data,
              Random& nonces);
Result<SecretKey> UnwrapKey(const SecretKey& wrapping_key, ByteView wrapped,
                            ByteView associated_data);

}  // namespace medvault::crypto
