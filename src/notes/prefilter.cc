#include "notes/prefilter.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <set>
#include <utility>

namespace medvault::notes {
namespace {

// Strings built while analysing a pattern are "folded-level" strings: word bytes stand for
// themselves, kRun for one non-word byte (or a run of them: the skeleton collapses runs, so one
// kRun stands for both), kBoundary for a \b. Skeleton() turns them into skeleton literals.
constexpr char kRun = '\x02';
constexpr char kBoundary = '\x01';
constexpr std::size_t kMaxExact = 64;  // exact sets larger than this are given up

constexpr std::array<bool, 256> MakeWordTable() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
  table['_'] = true;
  return table;
}
constexpr std::array<bool, 256> kWord = MakeWordTable();

bool IsWord(char c) { return kWord[static_cast<unsigned char>(c)]; }

using Strings = std::set<std::string>;

// What is known of a sub-pattern: either the exact (small) set of strings it matches, or a set of
// skeleton literals one of which any of its matches contains, or nothing.
struct Info {
  bool exact = false;
  Strings strings;  // exact: folded-level strings
  bool has_required = false;
  Strings required;  // skeleton literals
};

Info Nothing() { return {}; }
Info Exact(Strings strings) {
  Info info;
  info.exact = true;
  info.strings = std::move(strings);
  return info;
}

// The skeleton literal of a folded-level string: kRun → one space (runs collapsed); a boundary
// at an end of the string, next to a word byte, → a space (the byte beyond it is a non-word byte
// or the text's edge, which the skeleton pads with a space); any other boundary → nothing.
std::string Skeleton(const std::string& s) {
  std::string out;
  const auto space = [&out] {
    if (out.empty() || out.back() != ' ') out.push_back(' ');
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == kBoundary) {
      std::size_t first = i;
      while (i + 1 < s.size() && s[i + 1] == kBoundary) ++i;
      const bool at_start = first == 0;
      const bool at_end = i + 1 == s.size();
      if (at_start && !at_end && IsWord(s[i + 1])) space();
      if (at_end && !at_start && IsWord(s[first - 1])) space();
    } else if (c == kRun) {
      space();
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<Strings> Required(const Info& info) {
  if (info.exact) {
    Strings out;
    for (const std::string& s : info.strings) {
      std::string literal = Skeleton(s);
      if (literal.empty()) return std::nullopt;
      out.insert(std::move(literal));
    }
    if (out.empty()) return std::nullopt;
    return out;
  }
  if (info.has_required) return info.required;
  return std::nullopt;
}

// Higher is better: the shortest literal first (long literals rarely occur by chance), then the
// fewest literals.
std::pair<std::size_t, long> Score(const Strings& literals) {
  std::size_t shortest = SIZE_MAX;
  for (const std::string& l : literals) shortest = std::min(shortest, l.size());
  return {shortest, -static_cast<long>(literals.size())};
}

void Consider(const std::optional<Strings>& candidate, std::optional<Strings>* best) {
  if (!candidate) return;
  if (!*best || Score(*candidate) > Score(**best)) *best = candidate;
}

std::optional<Strings> Product(const Strings& a, const Strings& b) {
  if (a.size() * b.size() > kMaxExact) return std::nullopt;
  Strings out;
  for (const std::string& x : a) {
    for (const std::string& y : b) out.insert(x + y);
  }
  return out;
}

bool AllNonWordRuns(const Strings& strings) {
  return !strings.empty() && std::all_of(strings.begin(), strings.end(), [](const std::string& s) {
           return !s.empty() &&
                  std::all_of(s.begin(), s.end(), [](char c) { return c == kRun; });
         });
}

class Parser {
 public:
  explicit Parser(std::string_view regex) : regex_(regex) {}

  std::optional<Info> Parse() {
    Info info = Alternation();
    if (failed_ || at_ != regex_.size()) return std::nullopt;
    return info;
  }

 private:
  bool End() const { return at_ >= regex_.size(); }
  char Peek() const { return regex_[at_]; }

  Info Fail() {
    failed_ = true;
    return Nothing();
  }

  Info Alternation() {
    std::vector<Info> branches;
    branches.push_back(Concatenation());
    while (!failed_ && !End() && Peek() == '|') {
      ++at_;
      branches.push_back(Concatenation());
    }
    if (failed_) return Nothing();
    if (branches.size() == 1) return std::move(branches[0]);
    if (std::all_of(branches.begin(), branches.end(), [](const Info& b) { return b.exact; })) {
      Strings all;
      for (const Info& b : branches) all.insert(b.strings.begin(), b.strings.end());
      if (all.size() <= kMaxExact) return Exact(std::move(all));
    }
    Info out;
    for (const Info& b : branches) {
      const std::optional<Strings> required = Required(b);
      if (!required) return Nothing();
      out.required.insert(required->begin(), required->end());
    }
    out.has_required = true;
    return out;
  }

  Info Concatenation() {
    Strings run = {""};
    bool all_exact = true;
    std::optional<Strings> best;
    while (!failed_ && !End() && Peek() != '|' && Peek() != ')') {
      Info item = Quantified();
      if (failed_) return Nothing();
      if (item.exact) {
        std::optional<Strings> joined = Product(run, item.strings);
        if (joined) {
          run = std::move(*joined);
        } else {
          all_exact = false;
          Consider(Required(Exact(run)), &best);
          run = std::move(item.strings);
        }
      } else {
        all_exact = false;
        Consider(Required(Exact(run)), &best);
        Consider(Required(item), &best);
        run = {""};
      }
    }
    if (all_exact) return Exact(std::move(run));
    Consider(Required(Exact(run)), &best);
    Info out;
    if (best) {
      out.has_required = true;
      out.required = std::move(*best);
    }
    return out;
  }

  bool Number(std::size_t* value) {
    if (End() || Peek() < '0' || Peek() > '9') return false;
    std::size_t n = 0;
    while (!End() && Peek() >= '0' && Peek() <= '9') {
      n = n * 10 + static_cast<std::size_t>(Peek() - '0');
      if (n > 10000) return false;
      ++at_;
    }
    *value = n;
    return true;
  }

  Info Quantified() {
    Info atom = Atom();
    while (!failed_ && !End()) {
      std::size_t min = 0;
      std::size_t max = SIZE_MAX;
      const char c = Peek();
      if (c == '?') {
        max = 1;
        ++at_;
      } else if (c == '*') {
        ++at_;
      } else if (c == '+') {
        min = 1;
        ++at_;
      } else if (c == '{') {
        ++at_;
        if (!Number(&min)) return Fail();
        max = min;
        if (!End() && Peek() == ',') {
          ++at_;
          max = SIZE_MAX;
          std::size_t bound = 0;
          if (Number(&bound)) max = bound;
        }
        if (End() || Peek() != '}' || max < min) return Fail();
        ++at_;
      } else {
        break;
      }
      if (!End() && Peek() == '?') ++at_;  // lazy: the same set of matches
      atom = Repeat(std::move(atom), min, max);
    }
    return atom;
  }

  static Info Repeat(Info atom, std::size_t min, std::size_t max) {
    if (atom.exact && AllNonWordRuns(atom.strings)) {
      Strings out = {std::string(1, kRun)};
      if (min == 0) out.insert("");
      return Exact(std::move(out));
    }
    if (min == 0) {
      if (max == 1 && atom.exact && atom.strings.size() < kMaxExact) {
        atom.strings.insert("");
        return atom;
      }
      return Nothing();
    }
    if (atom.exact && min == max) {
      Strings out = {""};
      for (std::size_t i = 0; i < min; ++i) {
        std::optional<Strings> joined = Product(out, atom.strings);
        if (!joined) break;
        out = std::move(*joined);
        if (i + 1 == min) return Exact(std::move(out));
      }
    }
    const std::optional<Strings> required = Required(atom);
    Info out;
    if (required) {
      out.has_required = true;
      out.required = *required;
    }
    return out;
  }

  static Info FromBytes(const std::bitset<256>& bytes) {
    if (bytes.none()) return Nothing();
    bool any_word = false;
    for (std::size_t b = 0; b < 256; ++b) {
      if (bytes[b] && kWord[b]) any_word = true;
    }
    if (!any_word) return Exact({std::string(1, kRun)});
    if (bytes.count() > 16) return Nothing();
    Strings out;
    for (std::size_t b = 0; b < 256; ++b) {
      if (!bytes[b]) continue;
      out.insert(kWord[b] ? std::string(1, static_cast<char>(b)) : std::string(1, kRun));
    }
    return Exact(std::move(out));
  }

  static void AddRange(std::bitset<256>* bytes, int from, int to) {
    for (int b = from; b <= to; ++b) bytes->set(static_cast<std::size_t>(b));
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Reads the escape after a backslash into `bytes` (the set of bytes it matches). Returns false
  // for an escape outside the supported subset. \b and \B are handled by the caller.
  bool Escape(std::bitset<256>* bytes) {
    if (End()) return false;
    const char c = regex_[at_++];
    switch (c) {
      case 's':
      case 'd':
      case 'w':
        EscapeLetter(c, bytes);
        return true;
      case 'S':
      case 'W':
      case 'D': {
        std::bitset<256> inner;
        EscapeLetter(static_cast<char>(c - 'A' + 'a'), &inner);
        *bytes |= ~inner;
        return true;
      }
      case 't': bytes->set('\t'); return true;
      case 'n': bytes->set('\n'); return true;
      case 'r': bytes->set('\r'); return true;
      case 'f': bytes->set('\f'); return true;
      case 'v': bytes->set('\v'); return true;
      case 'x': {
        if (at_ + 2 > regex_.size()) return false;
        const int high = HexValue(regex_[at_]);
        const int low = HexValue(regex_[at_ + 1]);
        if (high < 0 || low < 0) return false;
        at_ += 2;
        bytes->set(static_cast<std::size_t>(high * 16 + low));
        return true;
      }
      default:
        if (IsWord(c)) return false;  // \p, \Q, back-references, ...: not supported
        bytes->set(static_cast<unsigned char>(c));
        return true;
    }
  }

  static void EscapeLetter(char lower, std::bitset<256>* bytes) {
    if (lower == 's') {
      for (char s : {' ', '\t', '\n', '\r', '\f', '\v'}) bytes->set(static_cast<unsigned char>(s));
    } else if (lower == 'd') {
      AddRange(bytes, '0', '9');
    } else {
      for (std::size_t b = 0; b < 256; ++b) {
        if (kWord[b]) bytes->set(b);
      }
    }
  }

  Info Class() {
    std::bitset<256> bytes;
    bool negated = false;
    if (!End() && Peek() == '^') {
      negated = true;
      ++at_;
    }
    bool first = true;
    while (true) {
      if (End()) return Fail();
      char c = Peek();
      if (c == ']' && !first) {
        ++at_;
        break;
      }
      first = false;
      if (c == '[') return Fail();  // POSIX classes: not supported
      int low = -1;
      if (c == '\\') {
        ++at_;
        std::bitset<256> escaped;
        if (!End() && Peek() == 'b') return Fail();
        if (!Escape(&escaped)) return Fail();
        if (escaped.count() == 1) {
          for (std::size_t b = 0; b < 256; ++b) {
            if (escaped[b]) low = static_cast<int>(b);
          }
        } else {
          bytes |= escaped;
          continue;
        }
      } else {
        low = static_cast<unsigned char>(c);
        ++at_;
      }
      if (at_ + 1 < regex_.size() && Peek() == '-' && regex_[at_ + 1] != ']') {
        ++at_;
        int high = -1;
        if (Peek() == '\\') {
          ++at_;
          std::bitset<256> escaped;
          if (!Escape(&escaped) || escaped.count() != 1) return Fail();
          for (std::size_t b = 0; b < 256; ++b) {
            if (escaped[b]) high = static_cast<int>(b);
          }
        } else {
          high = static_cast<unsigned char>(Peek());
          ++at_;
        }
        if (high < low) return Fail();
        AddRange(&bytes, low, high);
      } else {
        bytes.set(static_cast<std::size_t>(low));
      }
    }
    if (negated) bytes = ~bytes;
    return FromBytes(bytes);
  }

  Info Atom() {
    if (End()) return Fail();
    const char c = regex_[at_++];
    switch (c) {
      case '(': {
        if (!End() && Peek() == '?') {
          if (at_ + 1 < regex_.size() && regex_[at_ + 1] == ':') {
            at_ += 2;
          } else {
            return Fail();  // flags, look-arounds, named groups: not supported
          }
        }
        Info inner = Alternation();
        if (failed_ || End() || Peek() != ')') return Fail();
        ++at_;
        return inner;
      }
      case '[':
        return Class();
      case '.': {
        std::bitset<256> bytes;
        bytes.set();
        bytes.reset('\n');
        return FromBytes(bytes);
      }
      case '^':
      case '$':
        // The start (end) of the text, or just before a final newline: the skeleton has a space
        // there.
        return Exact({std::string(1, kRun)});
      case '\\': {
        if (!End() && Peek() == 'b') {
          ++at_;
          return Exact({std::string(1, kBoundary)});
        }
        if (!End() && Peek() == 'B') {
          ++at_;
          return Exact({""});
        }
        std::bitset<256> bytes;
        if (!Escape(&bytes)) return Fail();
        return FromBytes(bytes);
      }
      case ')':
      case '|':
      case '*':
      case '+':
      case '?':
      case '{':
        return Fail();
      default: {
        std::bitset<256> bytes;
        bytes.set(static_cast<unsigned char>(c));
        return FromBytes(bytes);
      }
    }
  }

  std::string_view regex_;
  std::size_t at_ = 0;
  bool failed_ = false;
};

}  // namespace

void WordSkeleton(std::string_view folded, std::string* out) {
  out->resize(folded.size() + 2);
  char* const begin = out->data();
  char* at = begin;
  *at++ = ' ';
  for (const char c : folded) {
    if (IsWord(c)) {
      *at++ = c;
    } else if (at[-1] != ' ') {
      *at++ = ' ';
    }
  }
  if (at[-1] != ' ') *at++ = ' ';
  out->resize(static_cast<std::size_t>(at - begin));
}

std::optional<std::vector<std::string>> RequiredLiterals(std::string_view regex) {
  Parser parser(regex);
  const std::optional<Info> info = parser.Parse();
  if (!info) return std::nullopt;
  const std::optional<Strings> required = Required(*info);
  if (!required) return std::nullopt;
  return std::vector<std::string>(required->begin(), required->end());
}

}  // namespace medvault::notes
