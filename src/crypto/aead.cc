#include "crypto/aead.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/sodium_init.h"

namespace medvault::crypto {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kNonceSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeySize);

void SealAppend(const SecretKey& key, ByteView plaintext, ByteView associated_data,
                Random& nonces, Bytes* out) {
  EnsureSodium();
  const size_t start = out->size();
  out->resize(start + kNonceSize + plaintext.size() + kTagSize);
  uint8_t* nonce = out->data() + start;
  nonces.Fill(std::span<uint8_t>(nonce, kNonceSize));
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceSize, &written, plaintext.data(), plaintext.size(), associated_data.data(),
      associated_data.size(), nullptr, nonce, key.UnsafeBytes().data());
}

Bytes Seal(const SecretKey& key, ByteView plaintext, ByteView associated_data, Random& nonces) {
  Bytes out;
  out.reserve(plaintext.size() + kSealOverhead);
  SealAppend(key, plaintext, associated_data, nonces, &out);
  return out;
}

Result<Bytes> Open(const SecretKey& key, ByteView sealed, ByteView associated_data) {
  Bytes out;
  MV_RETURN_IF_ERROR(OpenInto(key, sealed, associated_data, &out));
  return out;
}

Status OpenInto(const SecretKey& key, ByteView sealed, ByteView associated_data, Bytes* out) {
  EnsureSodium();
  if (sealed.size() < kSealOverhead) return IntegrityError("cannot open");
  out->resize(sealed.size() - kSealOverhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out->data(), &written, nullptr, sealed.data() + kNonceSize, sealed.size() - kNonceSize,
          associated_data.data(), associated_data.size(), sealed.data(),
          key.UnsafeBytes().data()) != 0) {
    return IntegrityError("cannot open");
  }
  return Status::Ok();
}

Result<SecretKey> OpeningKey(const SecretKey& key, ByteView sealed) {
  EnsureSodium();
  if (sealed.size() < kSealOverhead) return IntegrityError("cannot open");
  static_assert(crypto_core_hchacha20_INPUTBYTES == 16);
  SecretKey subkey;
  crypto_core_hchacha20(subkey.UnsafeMutableBytes().data(), sealed.data(),
                        key.UnsafeBytes().data(), nullptr);
  return subkey;
}

Result<Bytes> OpenWithOpeningKey(const SecretKey& opening_key, ByteView sealed,
                                 ByteView associated_data) {
  EnsureSodium();
  if (sealed.size() < kSealOverhead) return IntegrityError("cannot open");
  static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
  uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0, 0, 0, 0};
  std::copy(sealed.data() + 16, sealed.data() + kNonceSize, nonce + 4);
  Bytes out(sealed.size() - kSealOverhead);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          out.data(), &written, nullptr, sealed.data() + kNonceSize, sealed.size() - kNonceSize,
          associated_data.data(), associated_data.size(), nonce,
          opening_key.UnsafeBytes().data()) != 0) {
    return IntegrityError("cannot open");
  }
  return out;
}

Bytes WrapKey(const SecretKey& wrapping_key, const SecretKey& key, ByteView associated_data,
              Random& nonces) {
  return Seal(wrapping_key, key.UnsafeBytes(), associated_data, nonces);
}

Result<SecretKey> UnwrapKey(const SecretKey& wrapping_key, ByteView wrapped,
                            ByteView associated_data) {
  EnsureSodium();
  if (wrapped.size() != kKeySize + kSealOverhead) return IntegrityError("cannot open");
  SecretKey key;
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          key.UnsafeMutableBytes().data(), &written, nullptr, wrapped.data() + kNonceSize,
          wrapped.size() - kNonceSize, associated_data.data(), associated_data.size(),
          wrapped.data(), wrapping_key.UnsafeBytes().data()) != 0) {
    return IntegrityError("cannot open");
  }
  return key;
}

}  // namespace medvault::crypto
