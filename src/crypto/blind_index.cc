#include "crypto/blind_index.h"

#include <sodium.h>

#include <cstring>

#include "crypto/hash.h"

namespace medvault::crypto {
namespace {

constexpr uint8_t kMaxColumn = static_cast<uint8_t>(IndexColumn::kEmail);
constexpr size_t kDigestSize = 16;
constexpr size_t kStateSize = sizeof(crypto_generichash_state);

}  // namespace

BlindIndexer::BlindIndexer(const SecretKey& practice_index_key)
    : keyed_states_((kMaxColumn + 1) * kStateSize) {
  for (uint8_t c = 0; c <= kMaxColumn; ++c) {
    const SecretKey column_key = DeriveSubkey(practice_index_key, c, "mvblindx");
    crypto_generichash_state state;
    crypto_generichash_init(&state, column_key.UnsafeBytes().data(), kKeySize, kDigestSize);
    std::memcpy(keyed_states_.UnsafeMutableBytes().data() + c * kStateSize, &state, kStateSize);
    sodium_memzero(&state, sizeof state);
  }
}

uint32_t BlindIndexer::Token(IndexColumn column, std::string_view folded) const {
  // Same value as KeyedBlake2b(column key, folded) truncated; the keyed state is reused.
  crypto_generichash_state state;
  std::memcpy(&state,
              keyed_states_.UnsafeBytes().data() + static_cast<size_t>(column) * kStateSize,
              kStateSize);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(folded.data()),
                            folded.size());
  uint8_t digest[kDigestSize];
  crypto_generichash_final(&state, digest, sizeof digest);
  sodium_memzero(&state, sizeof state);
  const uint32_t v = uint32_t{digest[0]} << 24 | uint32_t{digest[1]} << 16 |
                     uint32_t{digest[2]} << 8 | digest[3];
  return v >> (32 - kTokenBits);
}

}  // namespace medvault::crypto
