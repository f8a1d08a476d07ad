#pragma once
// Command-line drivers of the classifier: `medvault notes classify` (CONTRACT.md "notes classify")
// and `medvault notes eval` (scores a labelled JSONL such as the shared dev set).
//
// Thread-safety: each call is independent; the streams must not be shared with other threads
// during the call.

#include <array>
#include <cstddef>
#include <iosfwd>
#include <iostream>
#include <string>

#include "core/status.h"
#include "notes/category.h"
#include "notes/classifier.h"

namespace medvault::notes {

// JSONL in, JSONL out. Each input line `{"id": ..., "text": "..."}` gives one output line, in the
// same order: `{"id": ..., "categories": [...], "qualifiers": [...], "spans": [{"start": N,
// "end": N, "category": "..."}]}`, offsets in bytes of the original UTF-8 text; the id is copied
// as given (null when absent). A line that is not a JSON object with a string "text" gives
// `{"line": N, "error": "..."}` (N counts from 1; the message never quotes the input) and the
// rest continues. Blank lines are skipped: they produce no output but still count for N.
// Returns 0, or 1 (message on `err`) if the lexicons cannot be loaded.
int RunClassifyJsonl(std::istream& in, std::ostream& out, std::ostream& err);

// Same, with an already loaded classifier; always returns 0.
int RunClassifyJsonl(const Classifier& classifier, std::istream& in, std::ostream& out);

// Counts of one binary decision over the notes of an evaluation.
struct Confusion {
  std::size_t true_positives = 0;
  std::size_t false_positives = 0;
  std::size_t false_negatives = 0;

  // Undefined ratios (nothing predicted, nothing to find) count as 1 when there was also nothing
  // to miss (resp. nothing wrongly predicted), else 0.
  double precision() const;
  double recall() const;
  double f1() const;
  std::size_t support() const { return true_positives + false_negatives; }
  void Add(bool expected, bool predicted);
};

struct EvalReport {
  std::array<Confusion, kCategoryCount> per_category{};
  std::array<Confusion, kQualifierCount> per_qualifier{};
  Confusion category_micro;   // summed over categories
  Confusion qualifier_micro;  // summed over qualifiers
  Confusion sensitive;        // "has any category" against "has none"
  std::size_t notes = 0;
  std::size_t clean_notes = 0;          // labelled with no category
  std::size_t clean_notes_flagged = 0;  // of which the classifier flagged some category

  double false_alerts_per_thousand_clean() const;
};

// Scores `classifier` on labelled JSONL: one object a line with "text", "categories" and
// "qualifiers" (the format of notes-labelling.md); blank lines are skipped.
// Errors: kInvalidArgument naming the line of a malformed entry or an unknown category or
// qualifier id.
[[nodiscard]] Result<EvalReport> Evaluate(const Classifier& classifier, std::istream& labelled);

// Prints the report as a fixed-width table.
void PrintReport(const EvalReport& report, std::ostream& out);

// Loads the lexicons, scores the file at `devset_path` and prints the table on `out`.
// Returns 0; 1 (message on `err`) if the file cannot be read or is malformed, or the lexicons
// cannot be loaded.
int RunEval(const std::string& devset_path, std::ostream& out, std::ostream& err = std::cerr);

}  // namespace medvault::notes
