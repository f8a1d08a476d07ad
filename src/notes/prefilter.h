#pragma once
// The prefilter of the note classifier: a literal pass that rules out, cheaply, the notes that
// cannot hold any category term, so that the regular-expression scans run only on the others.
//
// It works on the *word skeleton* of the folded text: every run of non-word bytes (anything but
// [0-9A-Za-z_], as Hyperscan's \w without UCP) becomes one space, with one space added at each
// end. For every category term, RequiredLiterals() derives from its regular expression a set of
// skeleton literals such that any match of the term, anywhere in a folded text, puts at least one
// of them in the skeleton of that text. A word boundary next to a word byte becomes a space, so
// `\bts\b` requires " ts " and is not set off by "patients". A note whose skeleton holds none of
// the literals of any term has no term match: skipping it changes no result.
//
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medvault::notes {

// Writes the word skeleton of `folded` to *out (reusing its buffer).
void WordSkeleton(std::string_view folded, std::string* out);

// Skeleton literals, at least one of which the skeleton of any text holding a match of `regex`
// (Hyperscan syntax, no flags) contains; sorted, distinct, none empty. nullopt when no such set
// could be derived: a construct outside the supported subset (literals, escapes \b \B \s \S \w \W
// \d \D \xHH and escaped punctuation, classes, `.`, `^`, `$`, groups `(...)` and `(?:...)`,
// alternation, quantifiers ? * + {m} {m,} {m,n}, lazy or not), or a pattern that may match
// without any literal (`\w+`).
std::optional<std::vector<std::string>> RequiredLiterals(std::string_view regex);

// Literals shorter than this (spaces included) make a prefilter that flags most notes; a term
// whose best set holds one is treated as having none.
inline constexpr std::size_t kMinPrefilterLiteral = 3;

}  // namespace medvault::notes
