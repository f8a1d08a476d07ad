#include "app/notes_scan.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <ostream>
#include <set>
#include <vector>

#include "app/audit_wiring.h"
#include "app/command_status.h"
#include "app/log_writer_lock.h"
#include "app/vault_context.h"
#include "audit/access_log.h"

namespace medvault::app {
namespace {

uint32_t CategoryMask(const notes::Classification& c) {
  uint32_t mask = 0;
  for (const notes::Category category : c.categories) mask |= 1U << notes::Index(category);
  return mask;
}

uint32_t QualifierMask(const notes::Classification& c) {
  uint32_t mask = 0;
  for (const notes::Qualifier qualifier : c.qualifiers) mask |= 1U << notes::Index(qualifier);
  return mask;
}

// Records, before anything is decrypted, that the notes of these patients are opened for
// re-classification.
Status RecordScan(VaultContext& vault, const std::map<std::string, std::set<std::string>>& ids) {
  std::map<std::string, std::vector<std::string>> patients;
  for (const auto& [practice, patient_set] : ids) {
    patients[practice].assign(patient_set.begin(), patient_set.end());
  }
  return RecordBulkDecryption(vault,
                              {.account = "cli:notes-scan",
                               .action = "notes.scan",
                               .resource_type = "DocumentReference",
                               .field_groups = MaskOf(FieldGroup::kNotes)},
                              patients);
}

}  // namespace

Result<NotesScanReport> ScanNotes(VaultContext& vault, const notes::Classifier& classifier,
                                  bool dry_run) {
  std::map<std::string, std::set<std::string>> patients;
  MV_RETURN_IF_ERROR(vault.data().ForEachNote([&](const store::NoteRow& row) {
    patients[row.practice_id].insert(row.patient_id);
    return Status::Ok();
  }));
  if (!patients.empty()) MV_RETURN_IF_ERROR(RecordScan(vault, patients));

  NotesScanReport report;
  MV_RETURN_IF_ERROR(vault.data().ForEachNote([&](const store::NoteRow& row) -> Status {
    Result<vault::Note> note = vault.notes().OpenRow(row);
    if (!note.ok()) {
      // A shredded patient's DEK is gone: its notes can no longer be read by anyone.
      if (note.status().code() == Code::kNotFound) {
        ++report.unreadable;
        return Status::Ok();
      }
      return note.status();
    }
    const notes::Classification c = classifier.Classify(note->text);
    const uint32_t categories = CategoryMask(c);
    const uint32_t qualifiers = QualifierMask(c);
    ++report.scanned;
    if (row.category_mask != 0) ++report.restricted_before;
    if (categories != 0) ++report.restricted_after;
    for (const notes::Category category : notes::kAllCategories) {
      const uint32_t bit = 1U << notes::Index(category);
      const bool had = (row.category_mask & bit) != 0;
      const bool has = (categories & bit) != 0;
      if (has) ++report.after[notes::Index(category)];
      if (has && !had) ++report.added[notes::Index(category)];
      if (had && !has) ++report.removed[notes::Index(category)];
    }
    if (categories == row.category_mask && qualifiers == row.qualifier_mask) return Status::Ok();
    ++report.changed;
    if (dry_run) return Status::Ok();
    return vault.data().SetNoteCategories(row.id, categories, qualifiers);
  }));
  return report;
}

void PrintNotesScanReport(const NotesScanReport& report, const std::string& lexicon_source,
                          bool dry_run, std::ostream& out) {
  out << "lexicons: " << lexicon_source << "\n";
  out << "scanned " << report.scanned << " notes, " << report.changed << " changed"
      << (dry_run ? " (dry run: nothing written)" : "") << "\n";
  out << "restricted notes: " << report.restricted_before << " before, "
      << report.restricted_after << " after\n";
  if (report.unreadable > 0) {
    out << "skipped " << report.unreadable << " notes of shredded patients\n";
  }
  out << std::left << std::setw(16) << "category" << std::right << std::setw(8) << "notes"
      << std::setw(8) << "added" << std::setw(8) << "removed" << "\n";
  for (const notes::Category category : notes::kAllCategories) {
    const std::size_t i = notes::Index(category);
    out << std::left << std::setw(16) << notes::CategoryId(category) << std::right
        << std::setw(8) << report.after[i] << std::setw(8) << report.added[i] << std::setw(8)
        << report.removed[i] << "\n";
  }
}

int RunNotesScan(const NotesScanOptions& options, std::ostream& out, std::ostream& err) {
  auto vault = VaultContext::Open(options.data_dir);
  if (!vault.ok()) return ReportFailure(err, vault.status().WithContext("--data"));
  auto lock = LogWriterLock::Acquire(**vault);
  if (!lock.ok()) return ReportFailure(err, lock.status().WithContext("--data"));
  auto classifier = notes::Classifier::Load(options.lexicons);
  if (!classifier.ok()) return ReportFailure(err, classifier.status().WithContext("--lexicons"));
  Result<NotesScanReport> report = ScanNotes(**vault, **classifier, options.dry_run);
  if (!report.ok()) return ReportFailure(err, report.status().WithContext("notes scan"));
  PrintNotesScanReport(*report, (*classifier)->lexicon_source(), options.dry_run, out);
  return 0;
}

}  // namespace medvault::app
