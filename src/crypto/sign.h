#pragma once
// Ed25519 signatures (checkpoints of the access log, witness cosignatures).
// Thread-safety: SigningKey is immutable after creation; all functions are thread-safe.
#include <array>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace medvault::crypto {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

class SigningKey {
 public:
  // A new key pair from the OS CSPRNG.
  static SigningKey Generate();
  // The key pair for a 32-byte seed (deterministic).
  static SigningKey FromSeed(const SecretKey& seed);

  const PublicKey& public_key() const { return public_key_; }
  const SecretKey& seed() const { return seed_; }
  Signature Sign(ByteView message) const;

 private:
  SigningKey(SecretKey seed, SecretBytes secret, PublicKey pk)
      : seed_(std::move(seed)), secret_(std::move(secret)), public_key_(pk) {}
  SecretKey seed_;
  SecretBytes secret_;  // libsodium's 64-byte expanded secret key
  PublicKey public_key_{};
};

// True iff `signature` is a valid Ed25519 signature of `message` under `key`.
bool VerifySignature(const PublicKey& key, ByteView message, const Signature& signature);

}  // namespace medvault::crypto
