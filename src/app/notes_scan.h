#pragma once
// `medvault notes scan --data DIR`: re-classifies every stored note in bulk, after a lexicon
// change, so that each note's categories (its meta.security labels, and whether it is restricted)
// and qualifiers are those a note written today would get.
//
// The server must be stopped (the scan takes the access log's writer lock): the scan decrypts
// every note, which the access log records first — one leaf per practice and per 1,000 patients,
// account `cli:notes-scan`, field group `notes` — and a running server would keep classifying new
// notes with its old lexicons anyway. No note text leaves the process; only counts are printed.
//
// Thread-safety: one scan at a time per vault (the writer lock enforces it across processes).
#include <array>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/status.h"
#include "notes/category.h"
#include "notes/classifier.h"

namespace medvault::app {

class VaultContext;

struct NotesScanReport {
  int64_t scanned = 0;     // notes decrypted and classified
  int64_t changed = 0;     // notes whose categories or qualifiers changed (written unless dry run)
  int64_t restricted_before = 0;
  int64_t restricted_after = 0;
  int64_t unreadable = 0;  // notes of crypto-shredded patients: skipped
  // Per category (notes::Index): notes carrying it after the scan, notes that gained it, notes
  // that lost it.
  std::array<int64_t, notes::kCategoryCount> after{};
  std::array<int64_t, notes::kCategoryCount> added{};
  std::array<int64_t, notes::kCategoryCount> removed{};
};

// Scans every note of `vault` with `classifier`; writes the new masks unless `dry_run`.
// Records the access-log leaves before decrypting anything. The caller holds the log writer lock.
// Errors: those of the stores and of the access log; a note that cannot be decrypted because its
// patient was shredded is counted in `unreadable`, any other decryption failure is an error.
[[nodiscard]] Result<NotesScanReport> ScanNotes(VaultContext& vault,
                                                const notes::Classifier& classifier, bool dry_run);

struct NotesScanOptions {
  std::string data_dir;
  std::optional<std::string> lexicons;  // default: as the server finds them
  bool dry_run = false;
};

// The command: opens the vault, takes the log writer lock, loads the classifier, scans, prints
// the report. Exit 0 on success; 1 with a message on stderr otherwise.
int RunNotesScan(const NotesScanOptions& options, std::ostream& out, std::ostream& err);

// The report as printed by the command.
void PrintNotesScanReport(const NotesScanReport& report, const std::string& lexicon_source,
                          bool dry_run, std::ostream& out);

}  // namespace medvault::app
