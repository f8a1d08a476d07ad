#include "notes/propositions.h"

#include <algorithm>
#include <array>

namespace medvault::notes {
namespace {

// Words that end with a dot without ending the sentence: titles and usual note abbreviations.
constexpr std::array<std::string_view, 16> kAbbreviations = {
    "dr", "pr",  "mme", "mlle", "mr",  "st",  "ste", "cf",
    "ex", "env", "vs",  "pat",  "tel", "ttt", "cs",  "atcd"};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool DotEndsSentence(std::string_view text, std::size_t dot) {
  if (dot + 1 < text.size() && !IsSpace(text[dot + 1])) return false;
  std::size_t word_begin = dot;
  while (word_begin > 0 && IsFoldedWordByte(text[word_begin - 1])) --word_begin;
  const std::string_view word = text.substr(word_begin, dot - word_begin);
  if (word.size() == 1) return false;
  for (const std::string_view abbreviation : kAbbreviations) {
    if (word == abbreviation) return false;
  }
  return true;
}

bool WordAt(std::string_view text, std::size_t at, std::string_view word) {
  if (text.substr(at, word.size()) != word) return false;
  if (at > 0 && IsFoldedWordByte(text[at - 1])) return false;
  const std::size_t after = at + word.size();
  return after >= text.size() || !IsFoldedWordByte(text[after]);
}

// "->" typed, or U+2192 RIGHTWARDS ARROW (E2 86 92), which folding keeps as is.
bool EndsArrow(std::string_view text, std::size_t at) {
  if (text[at] == '>' && at > 0 && text[at - 1] == '-') return true;
  return at >= 2 && static_cast<unsigned char>(text[at]) == 0x92 &&
         static_cast<unsigned char>(text[at - 1]) == 0x86 &&
         static_cast<unsigned char>(text[at - 2]) == 0xE2;
}

// The bytes that may end a sentence or a clause, or start "mais": every other byte is skipped.
constexpr std::array<bool, 256> MakeInterestingTable() {
  std::array<bool, 256> table{};
  for (const unsigned char c : {'\n', '\r', ';', '!', '?', '.', ',', '>', 'm'}) table[c] = true;
  table[0x92] = true;  // last byte of U+2192
  return table;
}
constexpr std::array<bool, 256> kInteresting = MakeInterestingTable();

}  // namespace

bool IsFoldedWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

Propositions::Propositions(std::string_view folded)
    : size_(folded.size()), sentence_begins_{0}, clause_begins_{0} {
  for (std::size_t at = 0; at < folded.size(); ++at) {
    const char c = folded[at];
    if (!kInteresting[static_cast<unsigned char>(c)]) continue;
    if (c == 'm' && clause_begins_.back() < at && WordAt(folded, at, "mais")) {
      clause_begins_.push_back(at);
    }
    const bool ends_sentence = c == '\n' || c == '\r' || c == ';' || c == '!' || c == '?' ||
                               (c == '.' && DotEndsSentence(folded, at));
    const bool ends_clause =
        ends_sentence || c == ',' || ((c == '>' || c == '\x92') && EndsArrow(folded, at));
    if (ends_sentence) sentence_begins_.push_back(at + 1);
    if (ends_clause) clause_begins_.push_back(at + 1);
  }
}

std::size_t Propositions::Segment(const std::vector<std::size_t>& begins, std::size_t position) {
  return static_cast<std::size_t>(std::upper_bound(begins.begin(), begins.end(), position) -
                                  begins.begin()) -
         1;
}

std::size_t Propositions::sentence_end(std::size_t position) const {
  const std::size_t next = sentence(position) + 1;
  return next < sentence_begins_.size() ? std::min(sentence_begins_[next], size_) : size_;
}

std::size_t CountWords(std::string_view folded, std::size_t begin, std::size_t end) {
  std::size_t words = 0;
  for (std::size_t at = begin; at < end && at < folded.size(); ++at) {
    const bool starts_word =
        IsFoldedWordByte(folded[at]) && (at == 0 || !IsFoldedWordByte(folded[at - 1]));
    if (starts_word) ++words;
  }
  return words;
}

}  // namespace medvault::notes
