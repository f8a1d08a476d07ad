#include "notes/normalize.h"

#include <utf8proc.h>

#include <array>
#include <cstring>

namespace medvault::notes {
namespace {

// Longest folded form we keep per character; longer compatibility expansions (a handful of
// Arabic ligatures) keep their original bytes instead, which only means they never match a term.
constexpr std::size_t kMaxFoldedBytes = 15;

struct FoldedChar {
  std::array<char, kMaxFoldedBytes> bytes{};
  std::uint8_t size = 0;
};

struct Decoded {
  char32_t code_point = 0;
  std::size_t length = 1;
  bool valid = false;
};

constexpr std::array<char, 128> MakeAsciiLower() {
  std::array<char, 128> table{};
  for (std::size_t byte = 0; byte < table.size(); ++byte) {
    const char c = static_cast<char>(byte);
    table[byte] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return table;
}
constexpr std::array<char, 128> kAsciiLower = MakeAsciiLower();

// ASCII byte → its folded form when that is a word byte ([0-9a-z_] after lower-casing), else a
// space: the word skeleton of one ASCII character.
constexpr std::array<char, 128> MakeAsciiSkeleton() {
  std::array<char, 128> table{};
  for (std::size_t byte = 0; byte < table.size(); ++byte) {
    const char c = kAsciiLower[byte];
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    table[byte] = word ? c : ' ';
  }
  return table;
}
constexpr std::array<char, 128> kAsciiSkeleton = MakeAsciiSkeleton();

bool IsAscii(std::string_view text) {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  std::size_t i = 0;
  for (; i + sizeof(std::uint64_t) <= text.size(); i += sizeof(std::uint64_t)) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + i, sizeof word);
    if ((word & kHighBits) != 0) return false;
  }
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0x80U) != 0) return false;
  }
  return true;
}

// Strict UTF-8 decoding (RFC 3629): overlongs, surrogates and values past U+10FFFF are invalid.
Decoded DecodeAt(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return {lead, 1, true};
  std::size_t length = 0;
  char32_t code_point = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1FU;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0FU;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07U;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return {};
  }
  if (at + length > text.size()) return {};
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(text[at + k]);
    const unsigned char min = k == 1 ? second_min : 0x80;
    const unsigned char max = k == 1 ? second_max : 0xBF;
    if (byte < min || byte > max) return {};
    code_point = (code_point << 6U) | (byte & 0x3FU);
  }
  return {code_point, length, true};
}

FoldedChar Ascii(std::string_view ascii) {
  FoldedChar folded;
  for (const char c : ascii) folded.bytes[folded.size++] = c;
  return folded;
}

// Typography French keyboards and word processors produce, lumped to what a note typed on a
// plain keyboard would hold; checked before utf8proc so the result does not depend on its tables.
bool FoldTypography(char32_t code_point, FoldedChar* folded) {
  switch (code_point) {
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x201B:
    case 0x2032:
    case 0x2035:
    case 0x02BC:
    case 0x02B9:
    case 0x00B4:
    case 0xFF07:
      *folded = Ascii("'");
      return true;
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
    case 0x00AB:
    case 0x00BB:
    case 0x2033:
    case 0x2039:
    case 0x203A:
    case 0xFF02:
      *folded = Ascii("\"");
      return true;
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2015:
    case 0x2212:
    case 0x2043:
    case 0xFE58:
    case 0xFE63:
    case 0xFF0D:
      *folded = Ascii("-");
      return true;
    case 0x00A0:
    case 0x2000:
    case 0x2001:
    case 0x2002:
    case 0x2003:
    case 0x2004:
    case 0x2005:
    case 0x2006:
    case 0x2007:
    case 0x2008:
    case 0x2009:
    case 0x200A:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      *folded = Ascii(" ");
      return true;
    case 0x2028:
    case 0x2029:
    case 0x0085:
      *folded = Ascii("\n");
      return true;
    case 0x0152:
    case 0x0153:
      *folded = Ascii("oe");
      return true;
    case 0x00C6:
    case 0x00E6:
      *folded = Ascii("ae");
      return true;
    case 0x2026:
      *folded = Ascii("...");
      return true;
    default:
      return false;
  }
}

void AppendOriginalBytes(char32_t code_point, FoldedChar* folded) {
  std::array<utf8proc_uint8_t, 4> encoded{};
  const utf8proc_ssize_t size =
      utf8proc_encode_char(static_cast<utf8proc_int32_t>(code_point), encoded.data());
  for (utf8proc_ssize_t k = 0; k < size; ++k) {
    folded->bytes[folded->size++] = static_cast<char>(encoded[static_cast<std::size_t>(k)]);
  }
}

FoldedChar FoldCodePoint(char32_t code_point) {
  FoldedChar folded;
  if (code_point < 0x80) return Ascii(std::string_view(&kAsciiLower[code_point], 1));
  if (FoldTypography(code_point, &folded)) return folded;

  constexpr std::size_t kMaxDecomposition = 32;
  std::array<utf8proc_int32_t, kMaxDecomposition> decomposed{};
  int boundclass = UTF8PROC_BOUNDCLASS_START;
  const auto options =
      static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                     UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP);
  const utf8proc_ssize_t count = utf8proc_decompose_char(
      static_cast<utf8proc_int32_t>(code_point), decomposed.data(),
      static_cast<utf8proc_ssize_t>(decomposed.size()), options, &boundclass);
  if (count < 0 || static_cast<std::size_t>(count) > decomposed.size()) {
    AppendOriginalBytes(code_point, &folded);
    return folded;
  }
  for (utf8proc_ssize_t k = 0; k < count; ++k) {
    const auto part = static_cast<char32_t>(decomposed[static_cast<std::size_t>(k)]);
    const std::size_t needed = part < 0x80 ? 1 : 4;
    if (folded.size + needed > kMaxFoldedBytes) {
      folded = FoldedChar{};
      AppendOriginalBytes(code_point, &folded);
      return folded;
    }
    if (part < 0x80) {
      folded.bytes[folded.size++] = kAsciiLower[part];
    } else {
      AppendOriginalBytes(part, &folded);
    }
  }
  return folded;
}

// Two-byte UTF-8 covers Latin-1, Latin Extended and Greek/Cyrillic: nearly every accented letter
// of a French note. Folding them through a table keeps utf8proc off the hot path.
constexpr char32_t kTableBegin = 0x80;
constexpr char32_t kTableEnd = 0x800;

using TwoByteFolds = std::array<FoldedChar, kTableEnd - kTableBegin>;

TwoByteFolds BuildTwoByteTable() {
  TwoByteFolds table;
  for (char32_t code_point = kTableBegin; code_point < kTableEnd; ++code_point) {
    table[code_point - kTableBegin] = FoldCodePoint(code_point);
  }
  return table;
}

// Built once, on first use; function-local statics initialise thread-safely.
const TwoByteFolds& TwoByteTable() {
  static const TwoByteFolds table = BuildTwoByteTable();
  return table;
}

}  // namespace

std::size_t FoldedText::OriginalBegin(std::size_t folded_begin) const {
  if (identity_) return folded_begin;
  return origin_[folded_begin];
}

std::size_t FoldedText::OriginalEnd(std::size_t folded_end) const {
  if (identity_) return folded_end;
  const std::size_t last_char_begin = origin_[folded_end - 1];
  std::size_t next = folded_end;
  while (next < text_.size() && origin_[next] == last_char_begin) ++next;
  return origin_[next];
}

void Fold(std::string_view original, bool with_offsets, FoldedText* out) {
  std::string& text = out->text_;
  out->origin_size_ = 0;
  out->identity_ = false;
  if (IsAscii(original)) {
    text.resize(original.size());
    for (std::size_t i = 0; i < original.size(); ++i) {
      text[i] = kAsciiLower[static_cast<unsigned char>(original[i])];
    }
    out->identity_ = true;
    return;
  }
  // Invariant: text.size() >= n + (bytes of input left) + 1, since an ASCII or invalid byte adds
  // one byte; a valid non-ASCII character grows the buffers first when its folded form could break
  // it. The buffers are written through pointers and trimmed at the end: this runs on every note
  // that passes the prefilter. origin_ keeps its size between calls (origin_size_ tells how much
  // is meaningful), so that it is not cleared and refilled each time.
  if (text.size() < original.size() + 16) text.resize(original.size() + 16);
  if (with_offsets && out->origin_.size() < text.size() + 1) out->origin_.resize(text.size() + 1);
  char* data = text.data();
  std::size_t* origin = with_offsets ? out->origin_.data() : nullptr;
  const auto& table = TwoByteTable();
  std::size_t n = 0;
  std::size_t at = 0;
  while (at < original.size()) {
    const auto byte = static_cast<unsigned char>(original[at]);
    if (byte < 0x80) {
      data[n] = kAsciiLower[byte];
      if (origin != nullptr) origin[n] = at;
      ++n;
      ++at;
      continue;
    }
    const Decoded decoded = DecodeAt(original, at);
    if (!decoded.valid) {
      data[n] = ' ';
      if (origin != nullptr) origin[n] = at;
      ++n;
      ++at;
      continue;
    }
    FoldedChar computed;
    const FoldedChar* folded = &computed;
    if (decoded.code_point < kTableEnd) {
      folded = &table[decoded.code_point - kTableBegin];
    } else {
      computed = FoldCodePoint(decoded.code_point);
    }
    const std::size_t needed = n + folded->size + (original.size() - at - decoded.length) + 1;
    if (needed > text.size()) {
      text.resize(needed + text.size() / 2);
      data = text.data();
      if (origin != nullptr) {
        out->origin_.resize(text.size() + 1);
        origin = out->origin_.data();
      }
    }
    for (std::uint8_t k = 0; k < folded->size; ++k) {
      data[n + k] = folded->bytes[k];
      if (origin != nullptr) origin[n + k] = at;
    }
    n += folded->size;
    at += decoded.length;
  }
  text.resize(n);
  if (origin != nullptr) {
    origin[n] = original.size();
    out->origin_size_ = n + 1;
  }
}

void FoldSkeleton(std::string_view original, std::string* out) {
  // Invariant: out->size() >= n + (bytes of input left) + 2, since an ASCII byte adds at most one
  // byte; a non-ASCII character grows the buffer first when its folded form could break it.
  out->resize(original.size() + 18);
  char* data = out->data();
  std::size_t n = 0;
  data[n++] = ' ';
  char last = ' ';  // data[n - 1], kept in a register
  // Appends one skeleton byte: a word byte always, a space unless one precedes it.
  const auto put = [&](char c) {
    data[n] = c;
    n += static_cast<std::size_t>((c != ' ') | (last != ' '));
    last = c;
  };
  const auto& table = TwoByteTable();
  std::size_t at = 0;
  while (at < original.size()) {
    const auto byte = static_cast<unsigned char>(original[at]);
    if (byte < 0x80) {
      put(kAsciiSkeleton[byte]);
      ++at;
      continue;
    }
    const Decoded decoded = DecodeAt(original, at);
    if (!decoded.valid) {
      put(' ');
      ++at;
      continue;
    }
    FoldedChar computed;
    const FoldedChar* folded = &computed;
    if (decoded.code_point < kTableEnd) {
      folded = &table[decoded.code_point - kTableBegin];
    } else {
      computed = FoldCodePoint(decoded.code_point);
    }
    at += decoded.length;
    const std::size_t needed = n + folded->size + (original.size() - at) + 2;
    if (needed > out->size()) {
      out->resize(needed + out->size() / 2);
      data = out->data();
    }
    for (std::uint8_t k = 0; k < folded->size; ++k) {
      const auto b = static_cast<unsigned char>(folded->bytes[k]);
      put(b < 0x80 ? kAsciiSkeleton[b] : ' ');
    }
  }
  if (last != ' ') data[n++] = ' ';
  out->resize(n);
}

std::string FoldTerm(std::string_view term) {
  FoldedText folded;
  Fold(term, false, &folded);
  return folded.text();
}

bool IsValidUtf8(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size()) {
    const Decoded decoded = DecodeAt(text, at);
    if (!decoded.valid) return false;
    at += decoded.length;
  }
  return true;
}

bool IsCharBoundary(std::string_view text, std::size_t offset) {
  if (offset == 0 || offset == text.size()) return true;
  if (offset > text.size()) return false;
  return (static_cast<unsigned char>(text[offset]) & 0xC0U) != 0x80U;
}

}  // namespace medvault::notes
