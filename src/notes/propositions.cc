#include "notes/propositions.h"

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

}  // namespace

bool IsFoldedWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

Propositions::Propositions(std::string_view folded)
    : sentence_(folded.size()), clause_(folded.size()), clause_begins_{0} {
  std::uint32_t sentence = 0;
  std::uint32_t clause = 0;
  for (std::size_t at = 0; at < folded.size(); ++at) {
    if (WordAt(folded, at, "mais") && clause_begins_.back() < at) {
      ++clause;
      clause_begins_.push_back(at);
    }
    sentence_[at] = sentence;
    clause_[at] = clause;
    const char c = folded[at];
    const bool ends_sentence = c == '\n' || c == '\r' || c == ';' || c == '!' || c == '?' ||
                               (c == '.' && DotEndsSentence(folded, at));
    const bool ends_clause = ends_sentence || c == ',' || EndsArrow(folded, at);
    if (ends_sentence) ++sentence;
    if (ends_clause) {
      ++clause;
      clause_begins_.push_back(at + 1);
    }
  }
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
