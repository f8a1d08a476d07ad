#pragma once
// Folding of note text for matching: UTF-8 validation, canonical decomposition with accents
// stripped (so NFC and NFD inputs fold alike), case folding, typographic quotes, dashes and spaces
// lumped to ASCII, and an offset map from folded bytes back to the original bytes.
//
// Invalid UTF-8 never fails: each invalid byte folds to one ASCII space, so it separates words
// and still maps back to itself.
//
// Thread-safety: FoldedText is a value; Fold() is safe to call concurrently on distinct outputs.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace medvault::notes {

class FoldedText {
 public:
  // The folded bytes: lower-case, accent-free, mostly ASCII.
  const std::string& text() const { return text_; }

  // True when the map was built (Fold(..., with_offsets=true)) or is the identity.
  bool has_offsets() const { return identity_ || origin_size_ != 0; }

  // Byte offset in the original text of the character that produced folded byte `folded_begin`.
  // REQUIRES: has_offsets(), folded_begin <= text().size().
  std::size_t OriginalBegin(std::size_t folded_begin) const;

  // Exclusive end, in the original text, of the character that produced folded byte
  // `folded_end - 1`, extended over any original characters that folded to nothing (combining
  // accents of NFD input, soft hyphens). Always on a character boundary of the original.
  // REQUIRES: has_offsets(), 0 < folded_end <= text().size().
  std::size_t OriginalEnd(std::size_t folded_end) const;

 private:
  friend void Fold(std::string_view original, bool with_offsets, FoldedText* out);

  std::string text_;
  // origin_[i]: original offset of the character that produced folded byte i; one extra entry
  // holding the original size. Only the first origin_size_ entries are meaningful: 0 when
  // identity_ or when offsets were not requested (the vector keeps its size for the next Fold).
  std::vector<std::size_t> origin_;
  std::size_t origin_size_ = 0;
  bool identity_ = false;
};

// Folds `original` into *out, reusing its buffers. With `with_offsets` false the offset map is
// built only when free (pure ASCII input); callers that find something worth reporting fold again
// with offsets, which keeps the common case (nothing to report) to one cheap pass.
void Fold(std::string_view original, bool with_offsets, FoldedText* out);

// Writes to *out (reusing its buffer) the word skeleton (prefilter.h) of the folded form of
// `original`, in one pass and without building the folded text: the same bytes as
// WordSkeleton(folded text of `original`), for any input, invalid UTF-8 included.
void FoldSkeleton(std::string_view original, std::string* out);

// Folds a short string (a lexicon term) and returns the folded text.
std::string FoldTerm(std::string_view term);

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

// True when `offset` is 0, text.size(), or the offset of a byte that starts a UTF-8 sequence.
bool IsCharBoundary(std::string_view text, std::size_t offset);

}  // namespace medvault::notes
