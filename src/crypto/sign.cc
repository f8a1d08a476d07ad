#include "crypto/sign.h"

#include <sodium.h>

#include "crypto/sodium_init.h"

namespace medvault::crypto {

SigningKey SigningKey::Generate() { return FromSeed(SecretKey::Generate()); }

SigningKey SigningKey::FromSeed(const SecretKey& seed) {
  EnsureSodium();
  SecretBytes secret(crypto_sign_SECRETKEYBYTES);
  PublicKey pk{};
  crypto_sign_seed_keypair(pk.data(), secret.UnsafeMutableBytes().data(),
                           seed.UnsafeBytes().data());
  return SigningKey(seed.Clone(), std::move(secret), pk);
}

Signature SigningKey::Sign(ByteView message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                       secret_.UnsafeBytes().data());
  return sig;
}

bool VerifySignature(const PublicKey& key, ByteView message, const Signature& signature) {
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.data()) == 0;
}

}  // namespace medvault::crypto
