#pragma once
// The access log's patient index: for each patient id, the indexes of the leaves that name it, so
// that a patient's access history (GET /fhir/AuditEvent?patient=, the patient access view) opens
// only that patient's leaves instead of the whole log. docs/formats/patient-index.md.
//
// The index is derived data kept in the log store (store::LogStore::AppendPatientIndex). It is
// caught up lazily: CatchUp() opens the entries after the last indexed one, in chunks, and
// appends their rows and the new indexed size in one transaction per chunk, so a crash loses at
// most the chunk in progress and the next CatchUp() resumes there. Leaves sealed under the vault
// key (security-officer and unknown-login events) are not indexed: a patient's history is the
// history kept by its practice.
//
// Errors: the store's; IntegrityError if an entry does not open (a tampered log: the index is not
// advanced past it); FailedPrecondition from the store if another indexer advanced the index
// concurrently (CatchUp retries once from the new position).
// Thread-safety: thread-safe; catch-ups are serialised within one PatientIndex.
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "audit/leaf.h"
#include "core/status.h"
#include "store/log_store.h"

namespace medvault::audit {

class PatientIndex {
 public:
  // Both must outlive the index.
  PatientIndex(store::LogStore& store, AuditKeyProvider& keys) : store_(store), keys_(keys) {}

  // Indexes every entry the store holds now. Returns the indexed size.
  Result<uint64_t> CatchUp();

  // Catches up, then opens the leaves naming `patient_id`, oldest first. `practice_id` non-empty:
  // only that practice's leaves (a leaf of another practice naming the id is skipped). Leaves are
  // decrypted and checked to name the patient, so a wrong index row never leaks another leaf.
  Result<std::vector<Leaf>> ForPatient(const std::string& practice_id,
                                       const std::string& patient_id);

  // Entries opened by CatchUp so far (for tests and metrics).
  uint64_t opened_for_indexing() const;

 private:
  static constexpr uint64_t kChunk = 4096;

  store::LogStore& store_;
  AuditKeyProvider& keys_;
  mutable std::mutex mu_;
  uint64_t opened_ = 0;  // GUARDED_BY(mu_)
};

// The same answer as PatientIndex::ForPatient by opening every entry of the log: the reference
// the index is tested against, and what a verifier without the index does.
Result<std::vector<Leaf>> ScanLogForPatient(store::LogStore& store, AuditKeyProvider& keys,
                                            const std::string& practice_id,
                                            const std::string& patient_id);

}  // namespace medvault::audit
