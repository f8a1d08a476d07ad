#pragma once
// Splits folded note text into the propositions qualifier cues reach: sentences end at . ; ! ?
// and line breaks (a dot ends a sentence only before a space and after a word that is not an
// abbreviation such as "Dr." or an initial); clauses also end at a comma or an arrow, and a new
// clause starts at the word "mais". A boundary character belongs to the segment it ends.
//
// Thread-safety: immutable after construction.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace medvault::notes {

class Propositions {
 public:
  explicit Propositions(std::string_view folded);

  // REQUIRES: position < folded.size().
  std::size_t sentence(std::size_t position) const { return sentence_[position]; }
  std::size_t clause(std::size_t position) const { return clause_[position]; }
  // Offset of the first byte of the clause holding `position`.
  std::size_t clause_begin(std::size_t position) const { return clause_begins_[clause_[position]]; }

 private:
  std::vector<std::uint32_t> sentence_;
  std::vector<std::uint32_t> clause_;
  std::vector<std::size_t> clause_begins_;
};

// True for the bytes of a folded word: ASCII letters, digits and underscore.
bool IsFoldedWordByte(char c);

// The number of words (maximal runs of word bytes) that start within [begin, end) of `folded`.
std::size_t CountWords(std::string_view folded, std::size_t begin, std::size_t end);

}  // namespace medvault::notes
