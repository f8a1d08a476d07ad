#include "core/text_fold.h"

#include <cstdint>

namespace medvault {
namespace {

// Folded form of U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A); "" means the
// character is not a letter (× and ÷) and passes through unchanged.
constexpr const char* kLatinFold[] = {
    "a",  // U+00C0
    "a",  // U+00C1
    "a",  // U+00C2
    "a",  // U+00C3
    "a",  // U+00C4
    "a",  // U+00C5
    "ae",  // U+00C6
    "c",  // U+00C7
    "e",  // U+00C8
    "e",  // U+00C9
    "e",  // U+00CA
    "e",  // U+00CB
    "i",  // U+00CC
    "i",  // U+00CD
    "i",  // U+00CE
    "i",  // U+00CF
    "d",  // U+00D0
    "n",  // U+00D1
    "o",  // U+00D2
    "o",  // U+00D3
    "o",  // U+00D4
    "o",  // U+00D5
    "o",  // U+00D6
    "",  // U+00D7
    "o",  // U+00D8
    "u",  // U+00D9
    "u",  // U+00DA
    "u",  // U+00DB
    "u",  // U+00DC
    "y",  // U+00DD
    "th",  // U+00DE
    "ss",  // U+00DF
    "a",  // U+00E0
    "a",  // U+00E1
    "a",  // U+00E2
    "a",  // U+00E3
    "a",  // U+00E4
    "a",  // U+00E5
    "ae",  // U+00E6
    "c",  // U+00E7
    "e",  // U+00E8
    "e",  // U+00E9
    "e",  // U+00EA
    "e",  // U+00EB
    "i",  // U+00EC
    "i",  // U+00ED
    "i",  // U+00EE
    "i",  // U+00EF
    "d",  // U+00F0
    "n",  // U+00F1
    "o",  // U+00F2
    "o",  // U+00F3
    "o",  // U+00F4
    "o",  // U+00F5
    "o",  // U+00F6
    "",  // U+00F7
    "o",  // U+00F8
    "u",  // U+00F9
    "u",  // U+00FA
    "u",  // U+00FB
    "u",  // U+00FC
    "y",  // U+00FD
    "th",  // U+00FE
    "y",  // U+00FF
    "a",  // U+0100
    "a",  // U+0101
    "a",  // U+0102
    "a",  // U+0103
    "a",  // U+0104
    "a",  // U+0105
    "c",  // U+0106
    "c",  // U+0107
    "c",  // U+0108
    "c",  // U+0109
    "c",  // U+010A
    "c",  // U+010B
    "c",  // U+010C
    "c",  // U+010D
    "d",  // U+010E
    "d",  // U+010F
    "d",  // U+0110
    "d",  // U+0111
    "e",  // U+0112
    "e",  // U+0113
    "e",  // U+0114
    "e",  // U+0115
    "e",  // U+0116
    "e",  // U+0117
    "e",  // U+0118
    "e",  // U+0119
    "e",  // U+011A
    "e",  // U+011B
    "g",  // U+011C
    "g",  // U+011D
    "g",  // U+011E
    "g",  // U+011F
    "g",  // U+0120
    "g",  // U+0121
    "g",  // U+0122
    "g",  // U+0123
    "h",  // U+0124
    "h",  // U+0125
    "h",  // U+0126
    "h",  // U+0127
    "i",  // U+0128
    "i",  // U+0129
    "i",  // U+012A
    "i",  // U+012B
    "i",  // U+012C
    "i",  // U+012D
    "i",  // U+012E
    "i",  // U+012F
    "i",  // U+0130
    "i",  // U+0131
    "ij",  // U+0132
    "ij",  // U+0133
    "j",  // U+0134
    "j",  // U+0135
    "k",  // U+0136
    "k",  // U+0137
    "k",  // U+0138
    "l",  // U+0139
    "l",  // U+013A
    "l",  // U+013B
    "l",  // U+013C
    "l",  // U+013D
    "l",  // U+013E
    "l",  // U+013F
    "l",  // U+0140
    "l",  // U+0141
    "l",  // U+0142
    "n",  // U+0143
    "n",  // U+0144
    "n",  // U+0145
    "n",  // U+0146
    "n",  // U+0147
    "n",  // U+0148
    "n",  // U+0149
    "n",  // U+014A
    "n",  // U+014B
    "o",  // U+014C
    "o",  // U+014D
    "o",  // U+014E
    "o",  // U+014F
    "o",  // U+0150
    "o",  // U+0151
    "oe",  // U+0152
    "oe",  // U+0153
    "r",  // U+0154
    "r",  // U+0155
    "r",  // U+0156
    "r",  // U+0157
    "r",  // U+0158
    "r",  // U+0159
    "s",  // U+015A
    "s",  // U+015B
    "s",  // U+015C
    "s",  // U+015D
    "s",  // U+015E
    "s",  // U+015F
    "s",  // U+0160
    "s",  // U+0161
    "t",  // U+0162
    "t",  // U+0163
    "t",  // U+0164
    "t",  // U+0165
    "t",  // U+0166
    "t",  // U+0167
    "u",  // U+0168
    "u",  // U+0169
    "u",  // U+016A
    "u",  // U+016B
    "u",  // U+016C
    "u",  // U+016D
    "u",  // U+016E
    "u",  // U+016F
    "u",  // U+0170
    "u",  // U+0171
    "u",  // U+0172
    "u",  // U+0173
    "w",  // U+0174
    "w",  // U+0175
    "y",  // U+0176
    "y",  // U+0177
    "y",  // U+0178
    "z",  // U+0179
    "z",  // U+017A
    "z",  // U+017B
    "z",  // U+017C
    "z",  // U+017D
    "z",  // U+017E
    "s",  // U+017F
};
constexpr uint32_t kFoldFirst = 0xC0;
constexpr uint32_t kFoldLast = 0x17F;

bool IsDropped(uint32_t cp) {
  switch (cp) {
    case ' ': case '-': case '\'': case '.': case '\t': case '_':
    case 0x00A0:  // no-break space
    case 0x2019:  // right single quotation mark (typographic apostrophe)
    case 0x2010: case 0x2011: case 0x2013: case 0x2014:  // hyphens and dashes
    case 0x202F:  // narrow no-break space
      return true;
    default:
      return false;
  }
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len = 0;
  uint32_t v = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    v = b0 & 0x1Fu;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    v = b0 & 0x0Fu;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    v = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    v = v << 6 | (b & 0x3Fu);
  }
  *cp = v;
  return len;
}

// Combining diacritical marks (U+0300..U+036F) left by decomposed input are dropped.
bool IsCombiningMark(uint32_t cp) { return cp >= 0x0300 && cp <= 0x036F; }

}  // namespace

std::string FoldForSearch(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) {
      out.push_back(s[i]);
      ++i;
      continue;
    }
    if (cp < 0x80) {
      if (!IsDropped(cp)) {
        out.push_back(cp >= 'A' && cp <= 'Z' ? static_cast<char>(cp + 32) : static_cast<char>(cp));
      }
    } else if (cp >= kFoldFirst && cp <= kFoldLast && kLatinFold[cp - kFoldFirst][0] != '\0') {
      out += kLatinFold[cp - kFoldFirst];
    } else if (!IsDropped(cp) && !IsCombiningMark(cp)) {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace medvault
