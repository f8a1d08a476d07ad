#pragma once
// Splits folded note text into the propositions qualifier cues reach: sentences end at . ; ! ?
// and line breaks (a dot ends a sentence only before a space and after a word that is not an
// abbreviation such as "Dr." or an initial); clauses also end at a comma or an arrow, and a new
// clause starts at the word "mais". A boundary character belongs to the segment it ends.
//
// Thread-safety: immutable after construction.

#include <cstddef>
#include <string_view>
#include <vector>

namespace medvault::notes {

class Propositions {
 public:
  explicit Propositions(std::string_view folded);

  // REQUIRES: position < folded.size().
  std::size_t sentence(std::size_t position) const { return Segment(sentence_begins_, position); }
  std::size_t clause(std::size_t position) const { return Segment(clause_begins_, position); }
  // Offset of the first byte of the clause holding `position`.
  std::size_t clause_begin(std::size_t position) const { return clause_begins_[clause(position)]; }
  // [begin, end) of the sentence holding `position`, end capped at the text's size.
  std::size_t sentence_begin(std::size_t position) const {
    return sentence_begins_[sentence(position)];
  }
  std::size_t sentence_end(std::size_t position) const;

 private:
  // The index of the last begin at or before `position` (begins are increasing, the first is 0).
  static std::size_t Segment(const std::vector<std::size_t>& begins, std::size_t position);

  std::size_t size_ = 0;
  std::vector<std::size_t> sentence_begins_;  // first byte of each sentence, increasing
  std::vector<std::size_t> clause_begins_;    // first byte of each clause, increasing
};

// True for the bytes of a folded word: ASCII letters, digits and underscore.
bool IsFoldedWordByte(char c);

// The number of words (maximal runs of word bytes) that start within [begin, end) of `folded`.
std::size_t CountWords(std::string_view folded, std::size_t begin, std::size_t end);

}  // namespace medvault::notes
