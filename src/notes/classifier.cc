#include "notes/classifier.h"

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "notes/database_cache.h"
#include "notes/normalize.h"
#include "notes/propositions.h"

namespace medvault::notes {

// Two databases over the same patterns. The detector holds only the category terms, without
// start-of-match tracking and stopping at the first match: most notes hold no term, and for them
// this scan is the whole cost. The full database (terms, cues and guards, with match starts) runs
// only on the notes the detector flags; start-of-match tracking makes it several times slower.
struct Classifier::Database {
  hs_database_t* detector = nullptr;
  hs_database_t* full = nullptr;
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    hs_free_database(detector);
    hs_free_database(full);
  }
};

namespace {

std::atomic<std::size_t> next_serial{1};

struct Match {
  unsigned int id = 0;
  std::size_t from = 0;  // folded offsets
  std::size_t to = 0;

  friend bool operator<(const Match& a, const Match& b) {
    return std::tie(a.from, a.to, a.id) < std::tie(b.from, b.to, b.id);
  }
  friend bool operator==(const Match&, const Match&) = default;
};

// Per-thread working memory, so that Classify is const, lock-free and allocation-light.
struct ThreadState {
  hs_scratch_t* scratch = nullptr;
  std::size_t scratch_serial = 0;  // the classifier the scratch was last sized for
  FoldedText folded;
  std::vector<Match> matches;

  ThreadState() = default;
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  ~ThreadState() { hs_free_scratch(scratch); }
};

ThreadState& CurrentThreadState() {
  thread_local ThreadState state;
  return state;
}

int StopAtFirstMatch(unsigned int /*id*/, unsigned long long /*from*/, unsigned long long /*to*/,
                     unsigned int /*flags*/, void* /*context*/) {
  return 1;
}

// The patterns of one database, with the flags each is compiled with.
struct CompileInput {
  std::vector<const char*> expressions;
  std::vector<unsigned int> flags;
  std::vector<unsigned int> ids;  // indexes into the classifier's patterns
};

CompileInput Select(const std::vector<Pattern>& patterns, bool (*keep)(const Pattern&),
                    unsigned int flags) {
  CompileInput input;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (!keep(patterns[i])) continue;
    input.expressions.push_back(patterns[i].regex.c_str());
    input.flags.push_back(flags);
    input.ids.push_back(static_cast<unsigned int>(i));
  }
  return input;
}

// Compiles `input` into a block-mode database.
Status Compile(const std::vector<Pattern>& patterns, const CompileInput& input,
               hs_database_t** database) {
  if (input.expressions.empty()) return InvalidArgument("lexicons hold no category term");
  hs_compile_error_t* error = nullptr;
  const hs_error_t compiled =
      hs_compile_multi(input.expressions.data(), input.flags.data(), input.ids.data(),
                       static_cast<unsigned int>(input.expressions.size()), HS_MODE_BLOCK, nullptr,
                       database, &error);
  if (compiled == HS_SUCCESS) return Status::Ok();
  const std::string message = error != nullptr && error->message != nullptr ? error->message : "";
  const int expression = error != nullptr ? error->expression : -1;
  hs_free_compile_error(error);
  if (expression >= 0 && static_cast<std::size_t>(expression) < input.ids.size()) {
    return InvalidArgument(patterns[input.ids[static_cast<std::size_t>(expression)]].origin +
                           ": pattern rejected: " + message);
  }
  return Internal("cannot build the lexicon database: " + message);
}

// Bumped whenever the way databases are built or stored changes beyond what the key hashes.
constexpr std::string_view kDatabaseRecipe = "medvault notes databases v1";

// Everything a compiled database depends on: the Hyperscan release and the host's platform (both
// also checked by hs_deserialize_database), and every expression with its flags and id.
DatabaseCacheKey KeyFor(const std::vector<CompileInput>& inputs) {
  std::string recipe(kDatabaseRecipe);
  recipe += '\n';
  recipe += hs_version();
  hs_platform_info_t platform{};
  if (hs_populate_platform(&platform) == HS_SUCCESS) {
    recipe += "\ntune " + std::to_string(platform.tune) + " features " +
              std::to_string(platform.cpu_features);
  }
  recipe += "\npointer bytes " + std::to_string(sizeof(void*));
  for (const CompileInput& input : inputs) {
    recipe += "\ndatabase block " + std::to_string(input.expressions.size());
    for (std::size_t i = 0; i < input.expressions.size(); ++i) {
      recipe += "\n" + std::to_string(input.ids[i]) + " " + std::to_string(input.flags[i]) + " ";
      recipe += input.expressions[i];
    }
  }
  return MakeDatabaseCacheKey({recipe});
}

std::optional<std::string> Serialize(const hs_database_t* database) {
  char* bytes = nullptr;
  std::size_t length = 0;
  if (hs_serialize_database(database, &bytes, &length) != HS_SUCCESS) return std::nullopt;
  std::string serialized(bytes, length);
  std::free(bytes);  // NOLINT(cppcoreguidelines-no-malloc): allocated by Hyperscan's malloc
  return serialized;
}

// Loads both databases from `cache` when it holds a sound entry for `key`.
bool LoadFromCache(const DatabaseCache& cache, const DatabaseCacheKey& key,
                   hs_database_t** detector, hs_database_t** full) {
  const std::optional<std::vector<std::string>> blobs = cache.Read(key);
  if (!blobs || blobs->size() != 2) return false;
  if (hs_deserialize_database((*blobs)[0].data(), (*blobs)[0].size(), detector) != HS_SUCCESS) {
    return false;
  }
  if (hs_deserialize_database((*blobs)[1].data(), (*blobs)[1].size(), full) != HS_SUCCESS) {
    hs_free_database(*detector);
    *detector = nullptr;
    return false;
  }
  return true;
}

// Best effort: a cache that cannot be written only costs the next start a compilation.
void StoreInCache(const DatabaseCache& cache, const DatabaseCacheKey& key,
                  const hs_database_t* detector, const hs_database_t* full) {
  std::optional<std::string> detector_bytes = Serialize(detector);
  std::optional<std::string> full_bytes = Serialize(full);
  if (!detector_bytes || !full_bytes) return;
  const std::vector<std::string> blobs = {std::move(*detector_bytes), std::move(*full_bytes)};
  cache.Write(key, blobs).IgnoreError();
}

bool AnyPattern(const Pattern& /*pattern*/) { return true; }
bool IsTerm(const Pattern& pattern) { return pattern.kind == PatternKind::kTerm; }

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int /*flags*/,
            void* context) {
  static_cast<std::vector<Match>*>(context)->push_back(
      {id, static_cast<std::size_t>(from), static_cast<std::size_t>(to)});
  return 0;
}

bool Overlaps(const Match& a, const Match& b) { return a.from < b.to && b.from < a.to; }
bool Contains(const Match& outer, const Match& inner) {
  return outer.from <= inner.from && inner.to <= outer.to;
}

// Words allowed between the start of a clause and a relation word that opens it
// ("sa mère ...", "ATCD familiaux : père ...").
constexpr std::array<std::string_view, 24> kClauseOpeners = {
    "sa",   "son",  "ses",   "le",    "la",         "les",         "l",         "un",
    "une",  "leur", "leurs", "ma",    "mon",        "mes",         "des",       "du",
    "chez", "et",   "atcd",  "atcds", "antecedent", "antecedents", "familiaux", "fam"};

bool OpensClause(std::string_view folded, std::size_t clause_begin, std::size_t cue_begin) {
  std::size_t at = clause_begin;
  while (at < cue_begin) {
    if (!IsFoldedWordByte(folded[at])) {
      ++at;
      continue;
    }
    std::size_t end = at;
    while (end < cue_begin && IsFoldedWordByte(folded[end])) ++end;
    const std::string_view word = folded.substr(at, end - at);
    if (std::find(kClauseOpeners.begin(), kClauseOpeners.end(), word) == kClauseOpeners.end()) {
      return false;
    }
    at = end;
  }
  return true;
}

bool CueReaches(const Pattern& cue, const Match& at, const Match& mention, std::string_view folded,
                const Propositions& propositions) {
  // A cue inside a mention ("sans" of "sans-gêne") says nothing about it; a cue covering the
  // whole mention ("apolitique") qualifies it, and so does one the mention's pattern took as
  // leading context ("serait" of "serait bi").
  if (Overlaps(at, mention) && !Contains(at, mention) && at.from > mention.from) return false;
  const bool same_clause = propositions.clause(at.from) == propositions.clause(mention.from);
  const bool same_sentence = propositions.sentence(at.from) == propositions.sentence(mention.from);
  switch (cue.scope) {
    case CueScope::kClauseForward:
      return same_clause && at.from <= mention.from;
    case CueScope::kSentenceForward:
      return same_sentence && at.from <= mention.from;
    case CueScope::kClauseBackward:
      return same_clause && at.from >= mention.from;
    case CueScope::kSentenceBackward:
      return same_sentence && at.from >= mention.from;
    case CueScope::kClause:
      return same_clause;
    case CueScope::kSentence:
      return same_sentence;
    case CueScope::kClauseOpening:
      return same_clause && OpensClause(folded, propositions.clause_begin(at.from), at.from);
    case CueScope::kWordsAfterCue:
      return same_clause && at.to <= mention.from &&
             CountWords(folded, at.to, mention.from) <= cue.words;
    case CueScope::kWordsBeforeCue:
      return same_clause && at.from >= mention.to &&
             CountWords(folded, mention.to, at.from) <= cue.words;
  }
  return false;
}

bool HasLowerCaseAscii(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

}  // namespace

Classifier::Classifier(std::vector<Pattern> patterns, std::unique_ptr<Database> database,
                       std::string source, bool database_from_cache)
    : patterns_(std::move(patterns)),
      database_(std::move(database)),
      source_(std::move(source)),
      database_from_cache_(database_from_cache),
      serial_(next_serial.fetch_add(1)) {}

Classifier::~Classifier() = default;

Result<std::unique_ptr<Classifier>> Classifier::Load(const std::optional<std::string>& directory) {
  return Load(directory, DefaultDatabaseCacheDirectory());
}

Result<std::unique_ptr<Classifier>> Classifier::Load(
    const std::optional<std::string>& directory,
    const std::optional<std::string>& cache_directory) {
  const std::optional<std::string> found = FindLexiconDirectory(directory);
  if (!found) return FromTexts(EmbeddedLexicons(), "embedded", cache_directory);
  MV_ASSIGN_OR_RETURN(const LexiconTexts texts, ReadLexiconDirectory(*found));
  return FromTexts(texts, *found, cache_directory);
}

Result<std::unique_ptr<Classifier>> Classifier::FromTexts(
    const LexiconTexts& texts, std::string source,
    const std::optional<std::string>& cache_directory) {
  MV_ASSIGN_OR_RETURN(std::vector<Pattern> patterns, ParseLexicons(texts));
  const CompileInput detector = Select(patterns, IsTerm, HS_FLAG_SINGLEMATCH);
  const CompileInput full = Select(patterns, AnyPattern, HS_FLAG_SOM_LEFTMOST);
  auto database = std::make_unique<Database>();
  std::optional<DatabaseCache> cache;
  DatabaseCacheKey key{};
  if (cache_directory && !cache_directory->empty()) {
    cache.emplace(*cache_directory);
    key = KeyFor({detector, full});
    if (LoadFromCache(*cache, key, &database->detector, &database->full)) {
      return std::unique_ptr<Classifier>(
          new Classifier(std::move(patterns), std::move(database), std::move(source), true));
    }
  }
  MV_RETURN_IF_ERROR(Compile(patterns, detector, &database->detector));
  MV_RETURN_IF_ERROR(Compile(patterns, full, &database->full));
  if (cache) StoreInCache(*cache, key, database->detector, database->full);
  return std::unique_ptr<Classifier>(
      new Classifier(std::move(patterns), std::move(database), std::move(source), false));
}

Classification Classifier::Classify(std::string_view utf8) const {
  Classification result;
  if (utf8.size() > kMaxTextBytes) {
    utf8 = utf8.substr(0, kMaxTextBytes);
    result.truncated = true;
  }
  ThreadState& state = CurrentThreadState();
  Fold(utf8, false, &state.folded);
  const std::string& folded = state.folded.text();

  if (state.scratch_serial != serial_) {
    // Grows the thread's scratch to fit this database; cannot fail short of memory exhaustion,
    // which Hyperscan reports and we surface as "nothing classified" rather than crash.
    if (hs_alloc_scratch(database_->detector, &state.scratch) != HS_SUCCESS ||
        hs_alloc_scratch(database_->full, &state.scratch) != HS_SUCCESS) {
      return result;
    }
    state.scratch_serial = serial_;
  }
  const auto folded_size = static_cast<unsigned int>(folded.size());
  // HS_SCAN_TERMINATED means the detector found a term; HS_SUCCESS means there is none.
  if (hs_scan(database_->detector, folded.data(), folded_size, 0, state.scratch, StopAtFirstMatch,
              nullptr) != HS_SCAN_TERMINATED) {
    return result;
  }
  state.matches.clear();
  if (hs_scan(database_->full, folded.data(), folded_size, 0, state.scratch, OnMatch,
              &state.matches) != HS_SUCCESS) {
    return result;
  }
  const auto is_term = [this](const Match& match) {
    return patterns_[match.id].kind == PatternKind::kTerm;
  };
  if (std::none_of(state.matches.begin(), state.matches.end(), is_term)) return result;

  // Something to report: now build the offset map (free for pure ASCII notes).
  if (!state.folded.has_offsets()) Fold(utf8, true, &state.folded);
  std::vector<Match>& matches = state.matches;
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());

  std::vector<Match> guards;
  std::vector<Match> cues;
  std::vector<Match> mentions;
  for (const Match& match : matches) {
    const Pattern& pattern = patterns_[match.id];
    if (pattern.kind == PatternKind::kGuard) guards.push_back(match);
    if (pattern.kind == PatternKind::kCue) cues.push_back(match);
  }
  for (const Match& match : matches) {
    const Pattern& pattern = patterns_[match.id];
    if (pattern.kind != PatternKind::kTerm) continue;
    if (pattern.upper_case_only) {
      const std::size_t begin = state.folded.OriginalBegin(match.from);
      const std::size_t end = state.folded.OriginalEnd(match.to);
      if (HasLowerCaseAscii(utf8.substr(begin, end - begin))) continue;
    }
    const bool guarded = std::any_of(guards.begin(), guards.end(), [&](const Match& guard) {
      const auto& only = patterns_[guard.id].category;
      return Contains(guard, match) && (!only || *only == *pattern.category);
    });
    if (!guarded) mentions.push_back(match);
  }
  if (mentions.empty()) return result;

  const Propositions propositions(folded);
  std::array<bool, kCategoryCount> has_category{};
  std::array<bool, kQualifierCount> has_qualifier{};
  for (const Match& mention : mentions) {
    const Category category = *patterns_[mention.id].category;
    has_category[Index(category)] = true;
    for (const Match& cue_match : cues) {
      const Pattern& cue = patterns_[cue_match.id];
      if (has_qualifier[Index(cue.qualifier)]) continue;
      if (!CueReaches(cue, cue_match, mention, folded, propositions)) continue;
      if (cue.qualifier == Qualifier::kAboutRelative) {
        // "d'après sa mère" names who reports, not whom the mention is about.
        const bool inside_hearsay = std::any_of(cues.begin(), cues.end(), [&](const Match& other) {
          return patterns_[other.id].qualifier == Qualifier::kHearsay && Overlaps(other, cue_match);
        });
        if (inside_hearsay) continue;
        // "mari violent", "vit avec sa compagne": the partner is the other party of the
        // patient's own violence or sexual life, not its subject.
        if (cue.partner && (category == Category::kViolence || category == Category::kSexualLife)) {
          continue;
        }
      }
      has_qualifier[Index(cue.qualifier)] = true;
    }
  }
  for (const Category category : kAllCategories) {
    if (has_category[Index(category)]) result.categories.push_back(category);
  }
  for (const Qualifier qualifier : kAllQualifiers) {
    if (has_qualifier[Index(qualifier)]) result.qualifiers.push_back(qualifier);
  }

  for (const Match& mention : mentions) {
    const Category category = *patterns_[mention.id].category;
    const bool nested = std::any_of(mentions.begin(), mentions.end(), [&](const Match& other) {
      return *patterns_[other.id].category == category && Contains(other, mention) &&
             !(other.from == mention.from && other.to == mention.to);
    });
    if (nested) continue;
    result.spans.push_back(
        {state.folded.OriginalBegin(mention.from), state.folded.OriginalEnd(mention.to), category});
  }
  std::sort(result.spans.begin(), result.spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.start, a.end, a.category) < std::tie(b.start, b.end, b.category);
  });
  result.spans.erase(std::unique(result.spans.begin(), result.spans.end()), result.spans.end());
  return result;
}

}  // namespace medvault::notes
