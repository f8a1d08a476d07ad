#pragma once
// The note classifier: tells which sensitive categories a free-text note reveals, how the mentions
// are framed (negated, hypothetical, hearsay, about a relative) and where they are, so that the
// stored note can be labelled and its author warned. Pipeline and rules: docs/notes-classifier.md.
//
// Thread-safety: a loaded Classifier is immutable; Classify may be called concurrently from any
// number of threads. Each thread lazily allocates its own Hyperscan scratch space (thread_local),
// which lives until the thread exits. Classify is not reentrant within one thread (it is never
// called from inside itself).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "notes/category.h"
#include "notes/lexicon.h"

namespace medvault::notes {

// A mention of a category, as byte offsets [start, end) in the original UTF-8 text. For valid
// UTF-8 input both offsets fall on character boundaries.
struct Span {
  std::size_t start = 0;
  std::size_t end = 0;
  Category category = Category::kHivSti;

  friend bool operator==(const Span&, const Span&) = default;
};

struct Classification {
  std::vector<Category> categories;   // distinct, in enum order
  std::vector<Qualifier> qualifiers;  // distinct, in enum order; empty when no category
  std::vector<Span> spans;            // sorted by start, then end, then category; no duplicates
  // True when the text was longer than Classifier::kMaxTextBytes and only its head was read.
  bool truncated = false;

  bool sensitive() const { return !categories.empty(); }
  friend bool operator==(const Classification&, const Classification&) = default;
};

class Classifier {
 public:
  // Longest text classified in one piece: Hyperscan scans at most 4 GiB, and folding can expand a
  // character up to 15 bytes from 2, so 256 MiB keeps any folded text in range. Notes are far
  // shorter; callers should bound what they accept well below this.
  static constexpr std::size_t kMaxTextBytes = std::size_t{256} << 20;

  // Loads the lexicons from the first of: `directory`; $MEDVAULT_LEXICONS;
  // <executable dir>/../data/lexicons; <executable dir>/../../data/lexicons;
  // /usr/share/medvault/lexicons; and otherwise the copy embedded at build time. The compiled
  // databases are cached in DefaultDatabaseCacheDirectory() (database_cache.h).
  // Errors: kNotFound when a chosen directory lacks a file; kInvalidArgument for a malformed
  // line or a pattern Hyperscan rejects (message names file and line); kInternal if Hyperscan
  // cannot build its database. Cache trouble is never an error: the databases are compiled.
  [[nodiscard]] static Result<std::unique_ptr<Classifier>> Load(
      const std::optional<std::string>& directory = std::nullopt);

  // As above, with the compiled databases cached in `cache_directory`, or not cached when it is
  // nullopt or empty.
  [[nodiscard]] static Result<std::unique_ptr<Classifier>> Load(
      const std::optional<std::string>& directory,
      const std::optional<std::string>& cache_directory);

  // Builds a classifier from lexicon texts held in memory (tests, embedded copy), with the
  // compiled databases cached in `cache_directory` unless it is nullopt or empty.
  // Errors: as Load.
  [[nodiscard]] static Result<std::unique_ptr<Classifier>> FromTexts(
      const LexiconTexts& texts, std::string source,
      const std::optional<std::string>& cache_directory = std::nullopt);

  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Classifies one note. Never fails: any bytes are accepted, invalid UTF-8 included (an invalid
  // byte separates words). Deterministic: the same text always gives the same result. Should
  // Hyperscan fail at run time (out of memory for the scratch space), the note is reported as
  // having no category rather than the process aborting.
  Classification Classify(std::string_view utf8) const;

  // The same result as Classify, computed without the prefilter (every note goes through the
  // regular-expression scans): the reference the prefilter is tested against, and a way to
  // measure what it saves.
  Classification ClassifyWithoutPrefilter(std::string_view utf8) const;

  // One match of one lexicon pattern: its index in ParseLexicons order and its folded offsets.
  struct PatternMatch {
    unsigned int id = 0;
    std::size_t from = 0;
    std::size_t to = 0;
    friend bool operator==(const PatternMatch&, const PatternMatch&) = default;
  };

  // Every match of every pattern (terms, cues and guards) in the folded form of `utf8`, sorted by
  // start, end and id, each start the leftmost for its end: what the classification is computed
  // from, for tests of the matching databases against a plain start-tracking scan. Empty when
  // Hyperscan fails.
  std::vector<PatternMatch> MatchesForTesting(std::string_view utf8) const;

  // Where the lexicons came from: a directory path, or "embedded".
  const std::string& lexicon_source() const { return source_; }
  std::size_t pattern_count() const { return patterns_.size(); }
  // True when the databases were read from the cache rather than compiled.
  bool database_from_cache() const { return database_from_cache_; }
  // True when every category term yielded prefilter literals (prefilter.h), so that notes
  // holding none of them skip the regular-expression scans.
  bool has_prefilter() const;

 private:
  struct Database;
  Classifier(std::vector<Pattern> patterns, std::unique_ptr<Database> database, std::string source,
             bool database_from_cache);
  Classification Run(std::string_view utf8, bool use_prefilter) const;

  std::vector<Pattern> patterns_;  // indexed by Hyperscan pattern id
  std::unique_ptr<Database> database_;
  std::string source_;
  bool database_from_cache_;
  std::size_t serial_;  // tells per-thread scratch space which database it was sized for
};

}  // namespace medvault::notes
