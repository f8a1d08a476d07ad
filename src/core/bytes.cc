#include "core/bytes.h"

#include <cstring>

namespace medvault {
namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
int B32Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}
}  // namespace

std::string HexEncode(ByteView b) {
  std::string out;
  out.reserve(b.size() * 2);
  for (uint8_t v : b) {
    out.push_back(kHex[v >> 4]);
    out.push_back(kHex[v & 15]);
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view s) {
  if (s.size() % 2 != 0) return InvalidArgument("hex: odd length");
  Bytes out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(s[2 * i]);
    const int lo = HexValue(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument("hex: invalid character");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string Base64Encode(ByteView b) {
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    const uint32_t v = uint32_t{b[i]} << 16 | uint32_t{b[i + 1]} << 8 | b[i + 2];
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out.push_back(kB64[v >> 6 & 63]);
    out.push_back(kB64[v & 63]);
  }
  if (i + 1 == b.size()) {
    const uint32_t v = uint32_t{b[i]} << 16;
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out += "==";
  } else if (i + 2 == b.size()) {
    const uint32_t v = uint32_t{b[i]} << 16 | uint32_t{b[i + 1]} << 8;
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out.push_back(kB64[v >> 6 & 63]);
    out.push_back('=');
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view s) {
  if (s.size() % 4 != 0) return InvalidArgument("base64: length is not a multiple of 4");
  Bytes out;
  out.reserve(s.size() / 4 * 3);
  for (size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = s[i + static_cast<size_t>(j)];
      if (c == '=' && i + 4 == s.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return InvalidArgument("base64: data after padding");
      v[j] = B64Value(c);
      if (v[j] < 0) return InvalidArgument("base64: invalid character");
    }
    const uint32_t w = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<uint8_t>(w >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(w >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(w));
  }
  return out;
}

std::string Base32Encode(ByteView b) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t v : b) {
    buffer = buffer << 8 | v;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kB32[buffer >> (bits - 5) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kB32[buffer << (5 - bits) & 31]);
  return out;
}

Result<Bytes> Base32Decode(std::string_view s) {
  Bytes out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    const int v = B32Value(c);
    if (v < 0) return InvalidArgument("base32: invalid character");
    buffer = buffer << 5 | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  return out;
}

void AppendBytes(Bytes* out, ByteView b) {
  if (b.empty()) return;
  const size_t start = out->size();
  out->resize(start + b.size());
  std::memcpy(out->data() + start, b.data(), b.size());
}

void PutU16(Bytes* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v));
  out->push_back(static_cast<uint8_t>(v >> 8));
}
void PutU32(Bytes* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU64(Bytes* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutVarint(Bytes* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}
void PutLengthPrefixed(Bytes* out, ByteView b) {
  PutVarint(out, b.size());
  AppendBytes(out, b);
}

bool ByteReader::ReadU8(uint8_t* v) {
  if (remaining() < 1) return false;
  *v = in_[pos_++];
  return true;
}
bool ByteReader::ReadU16(uint16_t* v) {
  if (remaining() < 2) return false;
  *v = static_cast<uint16_t>(in_[pos_] | in_[pos_ + 1] << 8);
  pos_ += 2;
  return true;
}
bool ByteReader::ReadU32(uint32_t* v) {
  if (remaining() < 4) return false;
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) r |= uint32_t{in_[pos_ + static_cast<size_t>(i)]} << (8 * i);
  *v = r;
  pos_ += 4;
  return true;
}
bool ByteReader::ReadU64(uint64_t* v) {
  if (remaining() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r |= uint64_t{in_[pos_ + static_cast<size_t>(i)]} << (8 * i);
  *v = r;
  pos_ += 8;
  return true;
}
bool ByteReader::ReadVarint(uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = 0;
    if (!ReadU8(&b)) return false;
    r |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}
bool ByteReader::ReadBytes(size_t n, ByteView* v) {
  if (remaining() < n) return false;
  *v = in_.subspan(pos_, n);
  pos_ += n;
  return true;
}
bool ByteReader::ReadLengthPrefixed(ByteView* v) {
  uint64_t n = 0;
  if (!ReadVarint(&n) || n > remaining()) return false;
  return ReadBytes(static_cast<size_t>(n), v);
}

}  // namespace medvault
