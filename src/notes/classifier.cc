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
#include "notes/prefilter.h"
#include "notes/propositions.h"

namespace medvault::notes {

// Three databases. The prefilter holds the literals every category term requires in the word
// skeleton of a note (prefilter.h): most notes hold none, and for them one fused fold-and-skeleton
// pass and this literal scan are the whole cost. The detector holds the category terms, without
// start-of-match tracking and stopping at the first match; the full database (terms, cues and
// guards, with match starts) runs only on the notes the detector flags, since start-of-match
// tracking makes it several times slower.
struct Classifier::Database {
  hs_database_t* prefilter = nullptr;  // null when some term has no usable required literal
  hs_database_t* detector = nullptr;
  hs_database_t* full = nullptr;
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    hs_free_database(prefilter);
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
  std::string skeleton;
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

// The prefilter literals of every category term (prefilter.h), or nullopt when some term has
// none: the classifier then runs without a prefilter. Sorted, distinct, and minimal: a literal
// that contains another one is dropped, since any skeleton holding it holds the shorter one.
std::optional<std::vector<std::string>> PrefilterLiterals(const std::vector<Pattern>& patterns) {
  std::vector<std::string> literals;
  for (const Pattern& pattern : patterns) {
    if (pattern.kind != PatternKind::kTerm) continue;
    std::optional<std::vector<std::string>> required = RequiredLiterals(pattern.regex);
    if (!required) return std::nullopt;
    for (std::string& literal : *required) {
      if (literal.size() < kMinPrefilterLiteral) return std::nullopt;
      literals.push_back(std::move(literal));
    }
  }
  std::sort(literals.begin(), literals.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() != b.size() ? a.size() < b.size() : a < b;
            });
  literals.erase(std::unique(literals.begin(), literals.end()), literals.end());
  std::vector<std::string> minimal;
  for (std::string& literal : literals) {
    const bool implied = std::any_of(minimal.begin(), minimal.end(), [&](const std::string& kept) {
      return literal.find(kept) != std::string::npos;
    });
    if (!implied) minimal.push_back(std::move(literal));
  }
  std::sort(minimal.begin(), minimal.end());
  return minimal;
}

Status CompileLiterals(const std::vector<std::string>& literals, hs_database_t** database) {
  std::vector<const char*> expressions;
  std::vector<std::size_t> lengths;
  std::vector<unsigned int> flags(literals.size(), HS_FLAG_SINGLEMATCH);
  std::vector<unsigned int> ids(literals.size(), 0);
  for (const std::string& literal : literals) {
    expressions.push_back(literal.data());
    lengths.push_back(literal.size());
  }
  hs_compile_error_t* error = nullptr;
  const hs_error_t compiled = hs_compile_lit_multi(
      expressions.data(), flags.data(), ids.data(), lengths.data(),
      static_cast<unsigned int>(literals.size()), HS_MODE_BLOCK, nullptr, database, &error);
  if (compiled == HS_SUCCESS) return Status::Ok();
  const std::string message = error != nullptr && error->message != nullptr ? error->message : "";
  hs_free_compile_error(error);
  return Internal("cannot build the prefilter database: " + message);
}

// Bumped whenever the way databases are built or stored changes beyond what the key hashes.
constexpr std::string_view kDatabaseRecipe = "medvault notes databases v2";

// Everything a compiled database depends on: the Hyperscan release and the host's platform (both
// also checked by hs_deserialize_database), every prefilter literal, and every expression with
// its flags and id.
DatabaseCacheKey KeyFor(const std::optional<std::vector<std::string>>& literals,
                        const std::vector<CompileInput>& inputs) {
  std::string recipe(kDatabaseRecipe);
  recipe += '\n';
  recipe += hs_version();
  hs_platform_info_t platform{};
  if (hs_populate_platform(&platform) == HS_SUCCESS) {
    recipe += "\ntune " + std::to_string(platform.tune) + " features " +
              std::to_string(platform.cpu_features);
  }
  recipe += "\npointer bytes " + std::to_string(sizeof(void*));
  if (literals) {
    recipe += "\nprefilter literals " + std::to_string(literals->size());
    for (const std::string& literal : *literals) recipe += "\n[" + literal + "]";
  } else {
    recipe += "\nno prefilter";
  }
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

// Loads the databases from `cache` when it holds a sound entry for `key`: the detector, the full
// database and, when `with_prefilter`, the prefilter. On failure *database is left as it was.
template <typename Database>
bool LoadFromCache(const DatabaseCache& cache, const DatabaseCacheKey& key, bool with_prefilter,
                   Database* database) {
  const std::optional<std::vector<std::string>> blobs = cache.Read(key);
  if (!blobs || blobs->size() != (with_prefilter ? 3U : 2U)) return false;
  std::array<hs_database_t*, 3> loaded{};
  for (std::size_t i = 0; i < blobs->size(); ++i) {
    if (hs_deserialize_database((*blobs)[i].data(), (*blobs)[i].size(), &loaded[i]) !=
        HS_SUCCESS) {
      for (hs_database_t* done : loaded) hs_free_database(done);
      return false;
    }
  }
  database->detector = loaded[0];
  database->full = loaded[1];
  database->prefilter = loaded[2];
  return true;
}

// Best effort: a cache that cannot be written only costs the next start a compilation.
void StoreInCache(const DatabaseCache& cache, const DatabaseCacheKey& key,
                  const hs_database_t* detector, const hs_database_t* full,
                  const hs_database_t* prefilter) {
  std::vector<std::string> blobs;
  for (const hs_database_t* database : {detector, full, prefilter}) {
    if (database == nullptr) continue;
    std::optional<std::string> bytes = Serialize(database);
    if (!bytes) return;
    blobs.push_back(std::move(*bytes));
  }
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
  const std::optional<std::vector<std::string>> literals = PrefilterLiterals(patterns);
  auto database = std::make_unique<Database>();
  std::optional<DatabaseCache> cache;
  DatabaseCacheKey key{};
  if (cache_directory && !cache_directory->empty()) {
    cache.emplace(*cache_directory);
    key = KeyFor(literals, {detector, full});
    if (LoadFromCache(*cache, key, literals.has_value(), database.get())) {
      return std::unique_ptr<Classifier>(
          new Classifier(std::move(patterns), std::move(database), std::move(source), true));
    }
  }
  MV_RETURN_IF_ERROR(Compile(patterns, detector, &database->detector));
  MV_RETURN_IF_ERROR(Compile(patterns, full, &database->full));
  if (literals) MV_RETURN_IF_ERROR(CompileLiterals(*literals, &database->prefilter));
  if (cache) StoreInCache(*cache, key, database->detector, database->full, database->prefilter);
  return std::unique_ptr<Classifier>(
      new Classifier(std::move(patterns), std::move(database), std::move(source), false));
}

bool Classifier::has_prefilter() const { return database_->prefilter != nullptr; }

Classification Classifier::Classify(std::string_view utf8) const { return Run(utf8, true); }

Classification Classifier::ClassifyWithoutPrefilter(std::string_view utf8) const {
  return Run(utf8, false);
}

Classification Classifier::Run(std::string_view utf8, bool use_prefilter) const {
  Classification result;
  if (utf8.size() > kMaxTextBytes) {
    utf8 = utf8.substr(0, kMaxTextBytes);
    result.truncated = true;
  }
  ThreadState& state = CurrentThreadState();
  if (state.scratch_serial != serial_) {
    // Grows the thread's scratch to fit these databases; cannot fail short of memory exhaustion,
    // which Hyperscan reports and we surface as "nothing classified" rather than crash.
    if (hs_alloc_scratch(database_->detector, &state.scratch) != HS_SUCCESS ||
        hs_alloc_scratch(database_->full, &state.scratch) != HS_SUCCESS ||
        (database_->prefilter != nullptr &&
         hs_alloc_scratch(database_->prefilter, &state.scratch) != HS_SUCCESS)) {
      return result;
    }
    state.scratch_serial = serial_;
  }
  if (use_prefilter && database_->prefilter != nullptr) {
    FoldSkeleton(utf8, &state.skeleton);
    // HS_SCAN_TERMINATED: a required literal is there; HS_SUCCESS: no term can match.
    if (hs_scan(database_->prefilter, state.skeleton.data(),
                static_cast<unsigned int>(state.skeleton.size()), 0, state.scratch,
                StopAtFirstMatch, nullptr) != HS_SCAN_TERMINATED) {
      return result;
    }
  }
  Fold(utf8, false, &state.folded);
  const std::string& folded = state.folded.text();
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
