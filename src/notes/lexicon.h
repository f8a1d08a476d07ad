#pragma once
// Lexicon files: their names, where they are found, and how their lines become Hyperscan patterns.
// The format is documented in data/lexicons/README.md and docs/notes-classifier.md.
//
// Thread-safety: values and pure functions, except FindLexiconDirectory which reads the
// environment and the file system.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "notes/category.h"

namespace medvault::notes {

// File name (e.g. "hiv_sti.txt") → content.
using LexiconTexts = std::map<std::string, std::string, std::less<>>;

// Where a qualifier cue reaches, relative to the cue, within the note's propositions: a sentence
// ends at . ; ! ? or a line break, a clause also at a comma, "mais" or an arrow.
enum class CueScope {
  kClauseForward,     // ">"    mentions after the cue, to the end of its clause
  kSentenceForward,   // ">>"   mentions after the cue, to the end of its sentence
  kClauseBackward,    // "<"    mentions before the cue, from the start of its clause
  kSentenceBackward,  // "<<"   mentions before the cue, from the start of its sentence
  kClause,            // "<>"   any mention of its clause
  kSentence,          // "<<>>" any mention of its sentence
  kClauseOpening,     // "^"    any mention of its clause, when the cue opens the clause
  kWordsAfterCue,     // "+N"   a mention that follows the cue within N words
  kWordsBeforeCue,    // "-N"   a mention that precedes the cue within N words
};

enum class PatternKind { kTerm, kCue, kGuard };

// One compiled line of a lexicon file.
struct Pattern {
  PatternKind kind = PatternKind::kTerm;
  std::string regex;   // Hyperscan syntax, over folded text
  std::string origin;  // "file:line", for error messages
  // kTerm: the category revealed. kGuard: the only category it suppresses, if any.
  std::optional<Category> category;
  bool upper_case_only = false;  // kTerm: the original text must hold no lower-case letter
  // kCue:
  Qualifier qualifier = Qualifier::kNegated;
  CueScope scope = CueScope::kClause;
  std::size_t words = 0;  // for kWordsAfterCue / kWordsBeforeCue
  bool partner = false;   // an intimate-partner word of about_partner.txt
};

// Every file the classifier needs; a directory override must hold all of them.
std::vector<std::string> RequiredLexiconFiles();

// The copy compiled into the binary from data/lexicons/ at build time.
const LexiconTexts& EmbeddedLexicons();

// Reads every required file from `directory`.
// Errors: kNotFound naming the first missing or unreadable file.
[[nodiscard]] Result<LexiconTexts> ReadLexiconDirectory(const std::string& directory);

// The first of: `explicit_directory`; $MEDVAULT_LEXICONS; <executable dir>/../data/lexicons;
// <executable dir>/../../data/lexicons; /usr/share/medvault/lexicons that exists as a directory
// (the explicit and environment choices are returned even when absent, so that reading them
// reports the mistake). nullopt when none applies: the embedded copy is then used.
std::optional<std::string> FindLexiconDirectory(
    const std::optional<std::string>& explicit_directory);

// Turns one line into a pattern. Returns nullopt for blank and comment lines.
// Errors: kInvalidArgument naming `origin` for a malformed line.
[[nodiscard]] Result<std::optional<Pattern>> ParseLexiconLine(std::string_view file,
                                                              std::string_view line,
                                                              const std::string& origin);

// Parses every file into patterns, in a stable order.
// Errors: kInvalidArgument naming file and line of the first malformed line; kNotFound for a
// missing required file.
[[nodiscard]] Result<std::vector<Pattern>> ParseLexicons(const LexiconTexts& texts);

// The regex for a plain term (already folded): words matched on word boundaries, a space matching
// any run of spaces and hyphens, a hyphen optional, a trailing '*' any continuation of the word.
std::string TermToRegex(std::string_view folded_term);

}  // namespace medvault::notes
