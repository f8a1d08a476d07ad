#pragma once
// Byte strings and their text encodings.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace medvault {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string HexEncode(ByteView b);
Result<Bytes> HexDecode(std::string_view s);
// RFC 4648 base64 with padding.
std::string Base64Encode(ByteView b);
Result<Bytes> Base64Decode(std::string_view s);
// RFC 4648 base32, upper case, no padding (TOTP secrets).
std::string Base32Encode(ByteView b);
Result<Bytes> Base32Decode(std::string_view s);

// Appends raw bytes (resize + memcpy: GCC 12's -Wstringop-overflow misfires on vector::insert of
// a char range in optimised builds).
void AppendBytes(Bytes* out, ByteView b);
inline void AppendBytes(Bytes* out, std::string_view s) { AppendBytes(out, AsBytes(s)); }

// Little-endian fixed-width and varint appenders and readers for binary formats.
void PutU16(Bytes* out, uint16_t v);
void PutU32(Bytes* out, uint32_t v);
void PutU64(Bytes* out, uint64_t v);
void PutVarint(Bytes* out, uint64_t v);
// Appends a varint length followed by the bytes.
void PutLengthPrefixed(Bytes* out, ByteView b);

// Reads from a byte view, advancing. Every read fails (returns false) on truncation.
class ByteReader {
 public:
  explicit ByteReader(ByteView in) : in_(in) {}
  bool ReadU8(uint8_t* v);
  bool ReadU16(uint16_t* v);
  bool ReadU32(uint32_t* v);
  bool ReadU64(uint64_t* v);
  bool ReadVarint(uint64_t* v);
  bool ReadBytes(size_t n, ByteView* v);
  bool ReadLengthPrefixed(ByteView* v);
  bool empty() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  ByteView in_;
  size_t pos_ = 0;
};

}  // namespace medvault
