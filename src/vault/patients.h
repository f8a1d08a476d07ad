#pragma once
// Patient records: validation, sealing, blind indexes, search, crypto-shredding. This is where
// plaintext patient fields exist, in memory only, and only for the field groups asked for.
//
// Errors: InvalidArgument naming the field (never its value); NotFound for an id absent from the
// practice (another practice's patient is NotFound too); AlreadyExists for a NIR already in the
// practice; IntegrityError("cannot open") if an envelope does not authenticate.
// Thread-safety: thread-safe.
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/field_group.h"
#include "core/random.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "vault/patient.h"

namespace medvault::vault {

// Exact search on folded values; empty fields are not constrained. At least one must be set.
struct PatientQuery {
  std::string family;
  std::string given;
  std::optional<Date> birth_date;
  std::string nir;
  bool empty() const { return family.empty() && given.empty() && !birth_date && nir.empty(); }
};

struct PatientPage {
  std::vector<Patient> patients;       // with only the field groups asked for filled in
  std::vector<bool> canary;            // parallel to patients (for the guard; never on the wire)
  std::optional<int64_t> next_cursor;  // pass as `after` for the next page; absent at the end
};

// Places the guard's canary patients as real ones are written (docs/canaries.md); app/canaries.h
// implements it. Patients calls every method but spacing() under its write lock, one call at a
// time, so an implementation needs no lock of its own, and the canaries it asks for are written in
// the same transaction as the real patient they follow. The canaries it returns are complete,
// valid patients with their id set (new ones: a fresh NewId; rewrites: the canary's own id).
class CanaryPlacer {
 public:
  virtual ~CanaryPlacer() = default;
  // K. Searches show canaries only for a family-only or birth-date-only query whose whole result
  // has at least K rows. Thread-safe.
  virtual size_t spacing() const = 0;
  // Canaries to append to the practice's list now (maintenance: practice add, after an import,
  // serve start).
  virtual Result<std::vector<Patient>> Upkeep(const std::string& practice_id) = 0;
  // The real patient `p` (id set) is about to be written at the end of the practice's list; the
  // canaries to write right after it. An error aborts the write.
  virtual Result<std::vector<Patient>> AfterReal(const std::string& practice_id,
                                                 const Patient& p) = 0;
  // A real patient's fields were replaced by `p`.
  virtual void Updated(const std::string& practice_id, const Patient& p) = 0;
  // The rows announced since the last call (reals and canaries) were committed, or rolled back.
  virtual void Written(const std::string& practice_id, bool committed) = 0;
  // Canaries to rewrite in place (same id, list position kept) because a real patient written
  // since now shares their (family, birth date), NIR, phone or e-mail.
  virtual Result<std::vector<Patient>> Rewrites(const std::string& practice_id) = 0;
};

// Pulls the next patient of an import; returns std::nullopt at the end. An error aborts the import.
using PatientSource = std::function<Result<std::optional<Patient>>()>;

class Patients {
 public:
  // All references must outlive this object.
  Patients(store::DataStore& data, store::KeyStore& keys, Keyring& keyring, const Clock& clock,
           Random& random);

  // Installs the canary placer (not owned; it must outlive this object). Call once, before use;
  // without one no canary is written and searches show canaries like any patient.
  void SetCanaryPlacer(CanaryPlacer* placer) { placer_ = placer; }
  // Validates, assigns a new id, seals and stores. Returns the stored patient. With a placer and
  // `canary` false, the canaries the placer asks for are written right after it.
  Result<Patient> Create(const std::string& practice_id, Patient patient, bool canary = false);
  // Runs the placer's upkeep for the practice: appends the canaries it asks for and rewrites any
  // it names. Returns how many canaries were written. Does nothing without a placer.
  Result<int64_t> KeepCanaries(const std::string& practice_id);
  // All or nothing: every patient is validated and checked for duplicate NIRs (within the input
  // and against the practice) and written in one transaction, or nothing is. Canaries the placer
  // asks for are interleaved in the same transaction.  Errors from `next`
  // are returned as they are (the source names its own position); others are prefixed with
  // `position()` when given, else "entry N" (1-based). Returns the count imported.
  Result<int64_t> Import(const std::string& practice_id, const PatientSource& next,
                         const std::function<std::string()>& position = nullptr);
  // The groups in `groups` (notes excluded: see Notes) are decrypted; the others stay empty.
  Result<Patient> Read(const std::string& practice_id, const std::string& patient_id,
                       FieldGroupMask groups);
  bool IsCanary(const std::string& practice_id, const std::string& patient_id);
  // Replaces every field group of an existing patient (the id comes from `patient.id`).
  Result<Patient> Update(const std::string& practice_id, Patient patient);
  // Crypto-shreds: the DEK first (from then on no copy of the data can be opened), then the
  // envelopes, index entries and notes.
  Status Shred(const std::string& practice_id, const std::string& patient_id);

  Result<PatientPage> List(const std::string& practice_id, int64_t after, size_t count,
                           FieldGroupMask groups);
  Result<PatientPage> Search(const std::string& practice_id, const PatientQuery& query,
                             int64_t after, size_t count, FieldGroupMask groups);

  // Seals the field groups of `patient` with its DEK (exposed for benchmarks and tests).
  Result<store::PatientRow> Seal(const std::string& practice_id, const Patient& patient,
                                 const crypto::SecretKey& dek);
  Result<Patient> Open(const store::PatientRow& row, FieldGroupMask groups);

 private:
  std::vector<store::IndexEntry> IndexEntries(const PracticeKeys& keys, const Patient& p) const;
  // Whether a real patient of the practice other than `except_id` has this NIR (canaries do not
  // count: the placer rewrites a canary a real patient collides with).
  Result<bool> NirTaken(const std::string& practice_id, const PracticeKeys& keys,
                        const std::string& nir, const std::string& except_id);
  // Seals `p` (id set) as a new row; its key row goes to *key_row.
  Result<store::PatientRow> SealNew(const std::string& practice_id, const Patient& p, bool canary,
                                    store::PatientKeyRow* key_row);
  // Writes `canaries` (ids set) as new rows of the practice, in one transaction each store.
  Status WriteCanaries(const std::string& practice_id, const std::vector<Patient>& canaries);
  // After a commit (or rollback): tells the placer, then rewrites the canaries it names.
  Status SettleCanaries(const std::string& practice_id, bool committed);
  Result<Patient> UpdateLocked(const std::string& practice_id, Patient patient);
  Result<int64_t> ImportLocked(const std::string& practice_id, const PatientSource& next,
                               const std::function<std::string()>& position, bool* announced);

  store::DataStore& data_;
  store::KeyStore& keys_;
  Keyring& keyring_;
  const Clock& clock_;
  Random& random_;
  CanaryPlacer* placer_ = nullptr;
  // Held by every write that appends to a list or changes a real patient's searched fields while
  // a placer is installed, so that placement sees the writes one at a time in list order.
  std::mutex write_mu_;
};

}  // namespace medvault::vault
