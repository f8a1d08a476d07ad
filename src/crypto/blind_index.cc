#include "crypto/blind_index.h"

#include "crypto/hash.h"

namespace medvault::crypto {
namespace {
constexpr uint8_t kMaxColumn = static_cast<uint8_t>(IndexColumn::kEmail);
}

BlindIndexer::BlindIndexer(const SecretKey& practice_index_key) {
  column_keys_.reserve(kMaxColumn + 1);
  for (uint8_t c = 0; c <= kMaxColumn; ++c) {
    column_keys_.push_back(DeriveSubkey(practice_index_key, c, "mvblindx"));
  }
}

uint32_t BlindIndexer::Token(IndexColumn column, std::string_view folded) const {
  uint8_t digest[16];
  KeyedBlake2b(column_keys_[static_cast<size_t>(column)], AsBytes(folded), digest);
  const uint32_t v = uint32_t{digest[0]} << 24 | uint32_t{digest[1]} << 16 |
                     uint32_t{digest[2]} << 8 | digest[3];
  return v >> (32 - kTokenBits);
}

}  // namespace medvault::crypto
