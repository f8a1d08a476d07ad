#pragma once
// Keyed blind indexes for exact search over encrypted fields (docs/formats/blind-index.md).
// token = first kTokenBits bits of BLAKE2b(key = KDF(practice index key, column), folded value).
// Per practice and per column keys: equal values in two practices or two columns give unrelated
// tokens. Truncation makes every token a bucket shared by unrelated values, so a search yields
// candidates that the caller confirms by decrypting; what a copied database reveals is bucketed
// equality within one practice and column, nothing about order.
// Thread-safety: immutable after construction; thread-safe.
#include <cstdint>
#include <string_view>

#include "crypto/secret.h"

namespace medvault::crypto {

enum class IndexColumn : uint8_t {
  kFamily = 1,
  kGiven = 2,
  kBirthDate = 3,
  kNir = 4,
  kPhone = 5,
  kEmail = 6,
};

inline constexpr unsigned kTokenBits = 16;

class BlindIndexer {
 public:
  explicit BlindIndexer(const SecretKey& practice_index_key);
  // REQUIRES: `folded` is already normalised (see core/text_fold.h).
  uint32_t Token(IndexColumn column, std::string_view folded) const;

 private:
  // Per column, the BLAKE2b state right after absorbing the column key (libsodium's
  // crypto_generichash_state), kept in sodium-allocated memory since it is key material. A token
  // copies its column's state, so the key block is compressed once per practice, not per token.
  SecretBytes keyed_states_;
};

}  // namespace medvault::crypto
