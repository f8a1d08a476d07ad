#pragma once
// Reading a leaked dump whose layout is not known in advance, for `medvault breach match`
// (docs/breach-match.md): CSV with any of the separators , ; TAB | (quoted or not, with or without
// a header line) or JSON lines. Each column is given a kind from its values (birth dates in several
// formats, NIRs, phones, e-mails, names) and, when there is a header, from its name.
//
// The parser never fails on content: lines it cannot read are counted, not fatal. Values are kept
// in memory only; nothing here writes or logs them.
// Thread-safety: pure functions.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"

namespace medvault::app {

enum class DumpColumnKind {
  kOther,   // nothing we match on
  kFamily,  // family name (from the header)
  kGiven,   // given name(s) (from the header)
  kName,    // a name of unknown role, or a full name: tried as family and as given
  kBirthDate,
  kNir,
  kPhone,
  kEmail,
};
std::string_view DumpColumnKindName(DumpColumnKind kind);

struct DumpColumn {
  std::string header;  // empty without a header line
  DumpColumnKind kind = DumpColumnKind::kOther;
  // What the header name alone announces (kOther for no header or an unknown name). Only
  // recognised header names are ever shown: an unknown one might be a value.
  DumpColumnKind header_kind = DumpColumnKind::kOther;
};

struct ParsedDump {
  std::string format;  // "csv" or "jsonl"
  char separator = 0;  // for csv
  bool header = false;
  std::vector<DumpColumn> columns;
  std::vector<std::vector<std::string>> rows;  // one cell per column ("" when absent)
  size_t unreadable_lines = 0;                 // JSON lines that are not objects, ...
};

// Never fails; an empty or unreadable input gives no rows.
ParsedDump ParseDump(std::string_view text);

// Lenient value readers (also used to compare a dump's values with ours). They return nullopt for
// a value that is not of their kind.
// 1980-03-14, 1980/03/14, 14/03/1980, 14-03-1980, 14.03.1980, 14031980, 19800314, 14/3/1980,
// with an optional time after a 'T' or a space.
std::optional<Date> ReadLooseDate(std::string_view text);
// A NIR with or without spaces, dots or dashes, with its key (checked) or without it (computed):
// the canonical 15 characters.
std::optional<std::string> ReadLooseNir(std::string_view text);
// A French phone number in national (06 12 34 56 78, 06.12..., 0612345678, 612345678) or
// international form (+33 6 12..., 0033 6...): 10 national digits starting with 0.
std::optional<std::string> ReadLoosePhone(std::string_view text);
// An e-mail address, folded as the blind index folds it.
std::optional<std::string> ReadLooseEmail(std::string_view text);
// True for a value made of letters (any script), spaces, hyphens, apostrophes and dots, with at
// least two letters.
bool LooksLikeName(std::string_view text);

}  // namespace medvault::app
