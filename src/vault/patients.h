#pragma once
// Patient records: validation, sealing, blind indexes, search, crypto-shredding. This is where
// plaintext patient fields exist, in memory only, and only for the field groups asked for.
//
// Errors: InvalidArgument naming the field (never its value); NotFound for an id absent from the
// practice (another practice's patient is NotFound too); AlreadyExists for a NIR already in the
// practice; IntegrityError("cannot open") if an envelope does not authenticate.
// Thread-safety: thread-safe.
#include <functional>
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

// Pulls the next patient of an import; returns std::nullopt at the end. An error aborts the import.
using PatientSource = std::function<Result<std::optional<Patient>>()>;

class Patients {
 public:
  // All references must outlive this object.
  Patients(store::DataStore& data, store::KeyStore& keys, Keyring& keyring, const Clock& clock,
           Random& random);

  // Validates, assigns a new id, seals and stores. Returns the stored patient.
  Result<Patient> Create(const std::string& practice_id, Patient patient, bool canary = false);
  // All or nothing: every patient is validated and checked for duplicate NIRs (within the input
  // and against the practice) and written in one transaction, or nothing is. Errors from `next`
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
  Result<bool> NirTaken(const std::string& practice_id, const PracticeKeys& keys,
                        const std::string& nir, const std::string& except_id);

  store::DataStore& data_;
  store::KeyStore& keys_;
  Keyring& keyring_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace medvault::vault
