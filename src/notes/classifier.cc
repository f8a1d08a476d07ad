#include "notes/classifier.h"

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "notes/database_cache.h"
#include "notes/normalize.h"
#include "notes/prefilter.h"
#include "notes/propositions.h"

namespace medvault::notes {

namespace {

// A term or cue of the form `\bw1[\s\-]+w2 … wn\b`, possibly ending in `\w*` before the last
// `\b`, each w a run of word bytes: the shape of most lexicon terms (one word or several, and
// prefix terms such as `BRCA*`). Such patterns are not scanned over the folded text but over its
// *compact* form, where every run of spaces and hyphens is one space (Compact below), as
// `\bw1 w2 … wn\b`: a match of one in the folded text is a match of the other in the compact
// text and back, since each word ends and starts with a word byte, so the separator between two
// words is a whole run of spaces and hyphens. In the compact text such a pattern is a literal
// between word boundaries, which Hyperscan matches far faster than a literal, a repeated class
// and another literal; and where a match starts follows from where it ends: the last word runs
// back to the start of its word (with `\w*`) or its own length (without), each earlier word
// adds its length and one space.
struct WordsShape {
  std::vector<std::string> words;  // w1 … wn
  bool open_end = false;           // ends in `\w*`

  // The pattern to scan the compact text with.
  std::string CompactRegex() const {
    std::string regex = "\\b";
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (i > 0) regex += ' ';
      regex += words[i];
    }
    if (open_end) regex += "\\w*";
    regex += "\\b";
    return regex;
  }

  // The width of w1 … w(n-1) with the space after each: what lies before the last word.
  std::size_t head_width = 0;
};

// What a WordsShape needs to find where a match starts, packed for the match callback.
struct WordsStart {
  std::uint32_t last_width = 0;  // of wn
  std::uint32_t head_width = 0;  // WordsShape::head_width
  bool open_end = false;

  // Where the match that ends at `end` of the compact text starts.
  std::size_t Start(std::string_view compact, std::size_t end) const {
    std::size_t at = end;
    if (open_end) {
      while (at > 0 && IsFoldedWordByte(compact[at - 1])) --at;
    } else {
      at -= std::min<std::size_t>(at, last_width);
    }
    return at - std::min<std::size_t>(at, head_width);
  }
};

std::optional<WordsShape> ShapeOf(std::string_view regex) {
  constexpr std::string_view kBoundary = "\\b";
  constexpr std::string_view kSeparator = "[\\s\\-]+";
  constexpr std::string_view kOpenEnd = "\\w*";
  if (!regex.starts_with(kBoundary)) return std::nullopt;
  regex.remove_prefix(kBoundary.size());
  WordsShape shape;
  while (true) {
    std::size_t length = 0;
    while (length < regex.size() &&
           ((regex[length] >= 'a' && regex[length] <= 'z') ||
            (regex[length] >= '0' && regex[length] <= '9') || regex[length] == '_')) {
      ++length;
    }
    if (length == 0) return std::nullopt;
    shape.words.emplace_back(regex.substr(0, length));
    regex.remove_prefix(length);
    if (!regex.starts_with(kSeparator)) break;
    regex.remove_prefix(kSeparator.size());
  }
  if (regex.starts_with(kOpenEnd)) {
    shape.open_end = true;
    regex.remove_prefix(kOpenEnd.size());
  }
  if (regex != kBoundary) return std::nullopt;
  for (std::size_t i = 0; i + 1 < shape.words.size(); ++i) {
    shape.head_width += shape.words[i].size() + 1;
  }
  return shape;
}

}  // namespace

// The databases. The prefilter holds the literals every category term requires in the word
// skeleton of a note (prefilter.h): most notes hold none, and for them one fused fold-and-skeleton
// pass and this literal scan are the whole cost. The detector holds the category terms, without
// start-of-match tracking and stopping at the first match. The notes it flags go through the
// matching databases, which together find every match of every term, cue and guard, with its
// start. `words` holds the terms and cues that have a WordsShape, rewritten for the compact text
// (`\bhepatite c\b`, `\bbrca\w*\b`), scanned without start-of-match tracking: the start follows
// from the end. The other patterns (`\bboit\s+\d+\s*(verres?|…)\b`, `\bex[\s\-]?detenu\b`, the
// guards) need start-of-match tracking, which makes a scan of many such patterns several times
// slower, and most of them match in no given note: `presence` holds them all without it, each
// reporting its first match only, and `tracked[id]` holds pattern `id` alone, with it, scanned
// only when `presence` saw that pattern. `words` and `presence` are null when empty.
struct Classifier::Database {
  hs_database_t* prefilter = nullptr;  // null when some term has no usable required literal
  hs_database_t* detector = nullptr;
  hs_database_t* words = nullptr;
  hs_database_t* presence = nullptr;
  std::vector<hs_database_t*> tracked;  // by pattern id; null for the patterns of `words`
  // By pattern id: the shape of each term or cue that has one, and how its starts are found.
  std::vector<std::optional<WordsShape>> shapes;
  std::vector<WordsStart> starts;
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    for (hs_database_t* database : {prefilter, detector, words, presence}) {
      hs_free_database(database);
    }
    for (hs_database_t* database : tracked) hs_free_database(database);
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
  std::string compact;                     // Compact(folded), at its start
  std::vector<std::size_t> compact_origin;  // folded offset of each compact byte
  std::vector<unsigned int> present;        // patterns of `presence` seen in the note
  std::vector<Match> matches;
  std::vector<Match> guards;
  std::vector<Match> cues;      // sorted by start
  std::vector<Match> mentions;  // sorted by start, then end, then pattern

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

// The patterns `keep` selects by id, each compiled with `flags`.
CompileInput SelectIds(const std::vector<Pattern>& patterns,
                       const std::function<bool(std::size_t)>& keep, unsigned int flags) {
  CompileInput input;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (!keep(i)) continue;
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
  std::sort(literals.begin(), literals.end(), [](const std::string& a, const std::string& b) {
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
constexpr std::string_view kDatabaseRecipe = "medvault notes databases v5";

// Everything a compiled database depends on: the Hyperscan release and the host's platform (both
// also checked by hs_deserialize_database), every prefilter literal, and every expression with
// its flags and id (the split of the matching databases follows from these and the release).
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

// A null database is stored as an empty blob.
std::optional<std::string> SerializeOrEmpty(const hs_database_t* database) {
  if (database == nullptr) return std::string();
  return Serialize(database);
}

// Loads the databases from `cache` when it holds a sound entry for `key`, with a prefilter when
// `with_prefilter`; database->shapes must be set. On failure *database is left as it was.
template <typename Database>
bool LoadFromCache(const DatabaseCache& cache, const DatabaseCacheKey& key, bool with_prefilter,
                   Database* database) {
  const std::optional<std::vector<std::string>> blobs = cache.Read(key);
  constexpr std::size_t kShared = 4;  // prefilter, detector, words, presence
  const std::size_t pattern_count = database->shapes.size();
  std::size_t tracked_count = 0;
  for (const auto& shape : database->shapes) tracked_count += shape ? 0 : 1;
  if (!blobs || blobs->size() != kShared + tracked_count) return false;
  std::vector<hs_database_t*> loaded(blobs->size(), nullptr);
  const auto fail = [&loaded] {
    for (hs_database_t* done : loaded) hs_free_database(done);
    return false;
  };
  for (std::size_t i = 0; i < blobs->size(); ++i) {
    const std::string& blob = (*blobs)[i];
    if (blob.empty()) continue;
    if (hs_deserialize_database(blob.data(), blob.size(), &loaded[i]) != HS_SUCCESS) return fail();
  }
  if ((loaded[0] != nullptr) != with_prefilter || loaded[1] == nullptr) return fail();
  if ((loaded[3] != nullptr) != (tracked_count > 0)) return fail();
  for (std::size_t i = kShared; i < loaded.size(); ++i) {
    if (loaded[i] == nullptr) return fail();
  }
  database->prefilter = loaded[0];
  database->detector = loaded[1];
  database->words = loaded[2];
  database->presence = loaded[3];
  database->tracked.assign(pattern_count, nullptr);
  std::size_t next = kShared;
  for (std::size_t id = 0; id < pattern_count; ++id) {
    if (!database->shapes[id]) database->tracked[id] = loaded[next++];
  }
  return true;
}

// Best effort: a cache that cannot be written only costs the next start a compilation. Blobs:
// prefilter, detector, words, presence, then the tracked database of each pattern without a
// shape, by increasing id (a null database is an empty blob).
template <typename Database>
void StoreInCache(const DatabaseCache& cache, const DatabaseCacheKey& key,
                  const Database& database) {
  std::vector<std::string> blobs;
  std::vector<const hs_database_t*> all = {database.prefilter, database.detector, database.words,
                                           database.presence};
  for (std::size_t id = 0; id < database.shapes.size(); ++id) {
    if (!database.shapes[id]) all.push_back(database.tracked[id]);
  }
  for (const hs_database_t* compiled : all) {
    std::optional<std::string> bytes = SerializeOrEmpty(compiled);
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

struct WordsContext {
  std::vector<Match>* matches;
  const WordsStart* starts;  // by pattern id
  std::string_view compact;
  const std::size_t* compact_origin;  // folded offset of each compact byte
};

// For the `words` database, scanned over the compact text without start-of-match tracking: each
// of its patterns has a shape, which gives the start; both ends are word bytes, so they map back
// to the folded text byte for byte.
int OnWordsMatch(unsigned int id, unsigned long long /*from*/, unsigned long long to,
                 unsigned int /*flags*/, void* context) {
  auto* words = static_cast<WordsContext*>(context);
  const auto end = static_cast<std::size_t>(to);
  const std::size_t start = words->starts[id].Start(words->compact, end);
  words->matches->push_back({id, words->compact_origin[start], words->compact_origin[end - 1] + 1});
  return 0;
}

int OnPresent(unsigned int id, unsigned long long /*from*/, unsigned long long /*to*/,
              unsigned int /*flags*/, void* context) {
  static_cast<std::vector<unsigned int>*>(context)->push_back(id);
  return 0;
}

// True for the bytes `[\s\-]` matches: ASCII whitespace (Hyperscan's `\s`) and the hyphen.
constexpr std::array<bool, 256> MakeSeparatorTable() {
  std::array<bool, 256> table{};
  for (const unsigned char c : {' ', '-', '\t', '\n', '\v', '\f', '\r'}) table[c] = true;
  return table;
}
constexpr std::array<bool, 256> kSeparatorByte = MakeSeparatorTable();

// Writes the compact form of `folded` to the start of *out: every maximal run of spaces and
// hyphens becomes one space, other bytes are kept; (*origin)[i] is the folded offset of compact
// byte i. Returns the compact size. The buffers only grow, so that a thread reuses them; the loop
// writes every byte and advances past it unless it continues a run, without a branch.
std::size_t Compact(std::string_view folded, std::string* out, std::vector<std::size_t>* origin) {
  if (out->size() < folded.size()) out->resize(folded.size());
  if (origin->size() < folded.size()) origin->resize(folded.size());
  char* data = out->data();
  std::size_t* from = origin->data();
  std::size_t n = 0;
  bool in_run = false;
  for (std::size_t i = 0; i < folded.size(); ++i) {
    const char c = folded[i];
    const bool separator = kSeparatorByte[static_cast<unsigned char>(c)];
    data[n] = separator ? ' ' : c;
    from[n] = i;
    n += static_cast<std::size_t>(!(separator && in_run));
    in_run = separator;
  }
  return n;
}

// The shape of every term and cue that has one, by pattern id.
std::vector<std::optional<WordsShape>> Shapes(const std::vector<Pattern>& patterns) {
  std::vector<std::optional<WordsShape>> shapes;
  shapes.reserve(patterns.size());
  for (const Pattern& pattern : patterns) {
    shapes.push_back(pattern.kind == PatternKind::kGuard ? std::nullopt : ShapeOf(pattern.regex));
  }
  return shapes;
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

// Sizes the thread's scratch for `database` (the classifier numbered `serial`) unless it already
// is; cannot fail short of memory exhaustion, which Hyperscan reports and callers surface as
// "nothing classified" rather than crash.
template <typename Database>
bool AllocateScratch(const Database& database, std::size_t serial, ThreadState& state) {
  if (state.scratch_serial == serial) return true;
  std::vector<const hs_database_t*> all = {database.prefilter, database.detector, database.words,
                                           database.presence};
  all.insert(all.end(), database.tracked.begin(), database.tracked.end());
  for (const hs_database_t* compiled : all) {
    if (compiled != nullptr && hs_alloc_scratch(compiled, &state.scratch) != HS_SUCCESS) {
      return false;
    }
  }
  state.scratch_serial = serial;
  return true;
}

// Fills state.matches with every match of every term and cue in `folded` (Fold's text), with
// the guards' when `every_guard` or when there is a term match, sorted and distinct (none at all
// when there is no term match and not `every_guard`). False when Hyperscan fails.
template <typename Database>
bool FindMatches(const std::vector<Pattern>& patterns, const Database& database,
                 std::string_view folded, bool every_guard, ThreadState& state) {
  std::vector<Match>& matches = state.matches;
  matches.clear();
  const auto folded_size = static_cast<unsigned int>(folded.size());
  if (database.words != nullptr) {
    const std::size_t compact_size = Compact(folded, &state.compact, &state.compact_origin);
    WordsContext words{&matches, database.starts.data(),
                       std::string_view(state.compact.data(), compact_size),
                       state.compact_origin.data()};
    if (hs_scan(database.words, state.compact.data(), static_cast<unsigned int>(compact_size), 0,
                state.scratch, OnWordsMatch, &words) != HS_SUCCESS) {
      return false;
    }
  }
  std::vector<unsigned int>& present = state.present;
  present.clear();
  if (database.presence != nullptr &&
      hs_scan(database.presence, folded.data(), folded_size, 0, state.scratch, OnPresent,
              &present) != HS_SUCCESS) {
    return false;
  }
  const auto is_guard = [&patterns](unsigned int id) {
    return patterns[id].kind == PatternKind::kGuard;
  };
  for (const unsigned int id : present) {
    if (is_guard(id)) continue;
    if (hs_scan(database.tracked[id], folded.data(), folded_size, 0, state.scratch, OnMatch,
                &matches) != HS_SUCCESS) {
      return false;
    }
  }
  // Guards only ever drop a term: without one, they need no start.
  const bool has_term = std::any_of(matches.begin(), matches.end(), [&](const Match& match) {
    return patterns[match.id].kind == PatternKind::kTerm;
  });
  if (!has_term && !every_guard) {
    matches.clear();
    return true;
  }
  for (const unsigned int id : present) {
    if (!is_guard(id)) continue;
    if (hs_scan(database.tracked[id], folded.data(), folded_size, 0, state.scratch, OnMatch,
                &matches) != HS_SUCCESS) {
      return false;
    }
  }
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  return true;
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
  const std::optional<std::vector<std::string>> literals = PrefilterLiterals(patterns);
  auto database = std::make_unique<Database>();
  database->shapes = Shapes(patterns);
  database->starts.resize(patterns.size());
  for (std::size_t id = 0; id < patterns.size(); ++id) {
    if (const std::optional<WordsShape>& shape = database->shapes[id]) {
      database->starts[id] = {static_cast<std::uint32_t>(shape->words.back().size()),
                              static_cast<std::uint32_t>(shape->head_width), shape->open_end};
    }
  }
  std::optional<DatabaseCache> cache;
  DatabaseCacheKey key{};
  if (cache_directory && !cache_directory->empty()) {
    cache.emplace(*cache_directory);
    key = KeyFor(literals, {detector, Select(patterns, AnyPattern, HS_FLAG_SOM_LEFTMOST)});
    if (LoadFromCache(*cache, key, literals.has_value(), database.get())) {
      return std::unique_ptr<Classifier>(
          new Classifier(std::move(patterns), std::move(database), std::move(source), true));
    }
  }
  const auto& shapes = database->shapes;
  const auto compile_some = [&patterns](const CompileInput& input, hs_database_t** compiled) {
    return input.expressions.empty() ? Status::Ok() : Compile(patterns, input, compiled);
  };
  MV_RETURN_IF_ERROR(Compile(patterns, detector, &database->detector));
  // The shaped terms and cues, as scanned over the compact text; the expressions must outlive
  // the compilation.
  std::vector<std::string> compact_regexes;
  CompileInput words;
  for (std::size_t id = 0; id < patterns.size(); ++id) {
    if (shapes[id]) compact_regexes.push_back(shapes[id]->CompactRegex());
  }
  for (std::size_t id = 0, next = 0; id < patterns.size(); ++id) {
    if (!shapes[id]) continue;
    words.expressions.push_back(compact_regexes[next++].c_str());
    words.flags.push_back(0);
    words.ids.push_back(static_cast<unsigned int>(id));
  }
  MV_RETURN_IF_ERROR(compile_some(words, &database->words));
  const auto unshaped = [&shapes](std::size_t id) { return !shapes[id].has_value(); };
  MV_RETURN_IF_ERROR(compile_some(SelectIds(patterns, unshaped, HS_FLAG_SINGLEMATCH),
                                  &database->presence));
  database->tracked.assign(patterns.size(), nullptr);
  for (std::size_t id = 0; id < patterns.size(); ++id) {
    if (shapes[id]) continue;
    MV_RETURN_IF_ERROR(Compile(
        patterns, SelectIds(patterns, [id](std::size_t other) { return other == id; },
                            HS_FLAG_SOM_LEFTMOST),
        &database->tracked[id]));
  }
  if (literals) MV_RETURN_IF_ERROR(CompileLiterals(*literals, &database->prefilter));
  if (cache) StoreInCache(*cache, key, *database);
  return std::unique_ptr<Classifier>(
      new Classifier(std::move(patterns), std::move(database), std::move(source), false));
}

bool Classifier::has_prefilter() const { return database_->prefilter != nullptr; }

Classification Classifier::Classify(std::string_view utf8) const { return Run(utf8, true); }

std::vector<Classifier::PatternMatch> Classifier::MatchesForTesting(std::string_view utf8) const {
  std::vector<PatternMatch> out;
  ThreadState& state = CurrentThreadState();
  if (!AllocateScratch(*database_, serial_, state)) return out;
  Fold(utf8.substr(0, std::min(utf8.size(), kMaxTextBytes)), false, &state.folded);
  if (!FindMatches(patterns_, *database_, state.folded.text(), /*every_guard=*/true, state)) {
    return out;
  }
  for (const Match& match : state.matches) out.push_back({match.id, match.from, match.to});
  return out;
}

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
  const Database& database = *database_;
  if (!AllocateScratch(database, serial_, state)) return result;
  const bool prefiltered = use_prefilter && database.prefilter != nullptr;
  if (prefiltered) {
    FoldSkeleton(utf8, &state.skeleton);
    // HS_SCAN_TERMINATED: a required literal is there; HS_SUCCESS: no term can match.
    if (hs_scan(database.prefilter, state.skeleton.data(),
                static_cast<unsigned int>(state.skeleton.size()), 0, state.scratch,
                StopAtFirstMatch, nullptr) != HS_SCAN_TERMINATED) {
      return result;
    }
  }
  // A note that passed the prefilter most likely has something to report: it is folded with the
  // offset map at once rather than a second time below.
  Fold(utf8, prefiltered, &state.folded);
  const std::string& folded = state.folded.text();
  const auto folded_size = static_cast<unsigned int>(folded.size());
  // HS_SCAN_TERMINATED means the detector found a term; HS_SUCCESS means there is none.
  if (hs_scan(database.detector, folded.data(), folded_size, 0, state.scratch, StopAtFirstMatch,
              nullptr) != HS_SCAN_TERMINATED) {
    return result;
  }
  std::vector<Match>& matches = state.matches;
  if (!FindMatches(patterns_, database, folded, /*every_guard=*/false, state)) return result;
  if (matches.empty()) return result;

  // Something to report: now build the offset map (free for pure ASCII notes).
  if (!state.folded.has_offsets()) Fold(utf8, true, &state.folded);

  std::vector<Match>& guards = state.guards;
  std::vector<Match>& cues = state.cues;
  std::vector<Match>& mentions = state.mentions;
  guards.clear();
  cues.clear();
  mentions.clear();
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
    // Every cue scope lies within the sentence of the cue (a clause never spans two sentences),
    // so only the cues that start in the mention's sentence can reach it.
    const std::size_t sentence_begin = propositions.sentence_begin(mention.from);
    const std::size_t sentence_end = propositions.sentence_end(mention.from);
    const auto first =
        std::lower_bound(cues.begin(), cues.end(), sentence_begin,
                         [](const Match& cue, std::size_t offset) { return cue.from < offset; });
    for (auto cue_match = first; cue_match != cues.end() && cue_match->from < sentence_end;
         ++cue_match) {
      const Pattern& cue = patterns_[cue_match->id];
      if (has_qualifier[Index(cue.qualifier)]) continue;
      if (!CueReaches(cue, *cue_match, mention, folded, propositions)) continue;
      if (cue.qualifier == Qualifier::kAboutRelative) {
        // "d'après sa mère" names who reports, not whom the mention is about.
        const bool inside_hearsay = std::any_of(cues.begin(), cues.end(), [&](const Match& other) {
          return patterns_[other.id].qualifier == Qualifier::kHearsay &&
                 Overlaps(other, *cue_match);
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

  // A mention nested in another of its category (same start and a later end, or an earlier start
  // and no earlier end) is not a span. Mentions are sorted by start, then end: walking them by
  // groups of equal start, the furthest end of the mentions that start earlier, and of those of
  // the group, tell it for each category.
  std::array<std::size_t, kCategoryCount> earlier_end{};
  std::array<bool, kCategoryCount> has_earlier{};
  for (std::size_t group = 0; group < mentions.size();) {
    std::size_t group_end = group;
    std::array<std::size_t, kCategoryCount> group_end_max{};
    while (group_end < mentions.size() && mentions[group_end].from == mentions[group].from) {
      const std::size_t index = Index(*patterns_[mentions[group_end].id].category);
      group_end_max[index] = std::max(group_end_max[index], mentions[group_end].to);
      ++group_end;
    }
    for (std::size_t i = group; i < group_end; ++i) {
      const Match& mention = mentions[i];
      const Category category = *patterns_[mention.id].category;
      const std::size_t index = Index(category);
      const bool nested = (has_earlier[index] && earlier_end[index] >= mention.to) ||
                          group_end_max[index] > mention.to;
      if (nested) continue;
      result.spans.push_back({state.folded.OriginalBegin(mention.from),
                              state.folded.OriginalEnd(mention.to), category});
    }
    for (std::size_t i = group; i < group_end; ++i) {
      const std::size_t index = Index(*patterns_[mentions[i].id].category);
      earlier_end[index] = has_earlier[index] ? std::max(earlier_end[index], mentions[i].to)
                                              : mentions[i].to;
      has_earlier[index] = true;
    }
    group = group_end;
  }
  std::sort(result.spans.begin(), result.spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.start, a.end, a.category) < std::tie(b.start, b.end, b.category);
  });
  result.spans.erase(std::unique(result.spans.begin(), result.spans.end()), result.spans.end());
  return result;
}

}  // namespace medvault::notes
