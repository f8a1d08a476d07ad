#include "crypto/sha256_accel.h"

#include <openssl/sha.h>

#include <algorithm>
#include <vector>

namespace medvault::crypto {
namespace {

constexpr size_t kStackBuffer = 512;

}  // namespace

Digest32 Sha256Accel(ByteView data) {
  Digest32 out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Digest32 Sha256AccelPrefixed(uint8_t prefix, ByteView data) {
  // The one-shot call needs one contiguous buffer; entries are small, so a stack copy is cheap.
  if (data.size() < kStackBuffer) {
    uint8_t buffer[kStackBuffer];
    buffer[0] = prefix;
    std::copy(data.begin(), data.end(), buffer + 1);
    return Sha256Accel(ByteView(buffer, data.size() + 1));
  }
  std::vector<uint8_t> buffer(data.size() + 1);
  buffer[0] = prefix;
  std::copy(data.begin(), data.end(), buffer.begin() + 1);
  return Sha256Accel(buffer);
}

}  // namespace medvault::crypto
