#include "crypto/hash.h"

#include <sodium.h>

#include <cstdlib>

#include "crypto/sodium_init.h"

namespace medvault::crypto {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "grow Sha256Hasher::state_");

Digest32 Sha256(ByteView data) {
  Digest32 out{};
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Sha256Hasher::Sha256Hasher() {
  EnsureSodium();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256Hasher::Update(ByteView data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_), data.data(),
                            data.size());
}

Digest32 Sha256Hasher::Finish() {
  Digest32 out{};
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), out.data());
  return out;
}

void KeyedBlake2b(const SecretKey& key, ByteView data, std::span<uint8_t> out) {
  if (out.size() < crypto_generichash_BYTES_MIN || out.size() > crypto_generichash_BYTES_MAX) {
    std::abort();
  }
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key.UnsafeBytes().data(),
                     kKeySize);
}

SecretKey DeriveSubkey(const SecretKey& root, uint64_t subkey_id, std::string_view context) {
  if (context.size() != crypto_kdf_CONTEXTBYTES) std::abort();
  SecretKey out;
  char ctx[crypto_kdf_CONTEXTBYTES];
  for (size_t i = 0; i < sizeof ctx; ++i) ctx[i] = context[i];
  crypto_kdf_derive_from_key(out.UnsafeMutableBytes().data(), kKeySize, subkey_id, ctx,
                             root.UnsafeBytes().data());
  return out;
}

}  // namespace medvault::crypto
