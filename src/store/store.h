#pragma once
// The storage interfaces. Everything above store/ talks to these, never to SQL. Two of them, kept
// in separate files or databases on purpose: DataStore holds envelopes, blind indexes and
// operational rows; KeyStore holds wrapped keys. A backup of the data alone cannot be decrypted,
// and shredding a patient (deleting its DEK from the key store) makes every earlier data backup of
// that patient unreadable.
//
// Errors: NotFound for an absent row (or one outside the given practice), AlreadyExists for a
// taken unique key, Internal for I/O or engine failures (message names no patient value),
// Unavailable when the backend is busy past its timeout.
// Thread-safety: implementations are thread-safe; reads may run in parallel with one writer.
// Every method that writes does so in one transaction: it is applied whole or not at all, and is
// durable when it returns OK.
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/rows.h"

namespace medvault::store {

// Accumulates patients in one open transaction; nothing is visible or durable until Commit().
// Destroying the writer without Commit() rolls everything back. A failed Add abandons the whole
// batch: every later Add and Commit return that first error, and nothing of the batch is written.
// Not thread-safe; while it lives, other writers of the same store wait.
class PatientBatchWriter {
 public:
  virtual ~PatientBatchWriter() = default;
  // The store assigns the stored row's seq (row.seq is ignored). Fails with AlreadyExists if the
  // id is taken (patient ids are unique across the vault), NotFound if the practice is absent.
  // A backend may buffer rows (PostgreSQL sends them in bulk): an id repeated within the batch is
  // reported by its Add, but one taken by a committed patient may be reported by a later Add or by
  // Commit instead; the batch is abandoned either way.
  // The same (column, token) given twice is one index entry.
  virtual Status Add(const PatientRow& row, std::span<const IndexEntry> index) = 0;
  virtual Status Commit() = 0;
};

class DataStore {
 public:
  virtual ~DataStore() = default;

  // Vault metadata (schema version, vault id, configuration fingerprints).
  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual Status SetMeta(const std::string& key, const std::string& value) = 0;

  // Practices.
  virtual Status CreatePractice(const PracticeRow& row) = 0;
  virtual Result<PracticeRow> GetPractice(const std::string& id) = 0;
  virtual Result<std::vector<PracticeRow>> ListPractices() = 0;

  // Users. Logins are unique across the vault (AlreadyExists).
  virtual Status CreateUser(const UserRow& row) = 0;
  virtual Result<UserRow> GetUserByLogin(const std::string& login) = 0;
  virtual Result<UserRow> GetUser(const std::string& id) = 0;
  virtual Result<std::vector<UserRow>> ListUsers(const std::string& practice_id) = 0;
  // Sets locked; NotFound if no such login.
  virtual Status SetUserLocked(const std::string& login, bool locked) = 0;
  // Atomically advances totp_last_step to `step` if it is greater than the stored one; returns
  // false (code already used) otherwise.
  virtual Result<bool> AdvanceTotpStep(const std::string& user_id, int64_t step) = 0;

  // Patients.
  virtual Result<std::unique_ptr<PatientBatchWriter>> BeginPatientBatch() = 0;
  // Replaces the envelopes, key_version, canary, updated and all index entries of an existing
  // patient of `row.practice_id` (NotFound otherwise); id, created and seq are kept.
  virtual Status UpdatePatient(const PatientRow& row, std::span<const IndexEntry> index) = 0;
  virtual Result<PatientRow> GetPatient(const std::string& practice_id,
                                        const std::string& patient_id) = 0;
  // Patients of a practice in list order, seq > after_seq, at most `limit`.
  virtual Result<std::vector<PatientRow>> ListPatients(const std::string& practice_id,
                                                       int64_t after_seq, size_t limit) = 0;
  // Ids of the practice's patients with an index entry (column, token), in list order.
  virtual Result<std::vector<std::string>> FindByToken(const std::string& practice_id,
                                                       uint8_t column, uint32_t token) = 0;
  virtual Result<int64_t> CountPatients(const std::string& practice_id) = 0;
  // Deletes the patient's envelopes, index entries and notes. NotFound if absent. Appointments
  // are kept: they hold only ids and times (the practice's schedule history).
  virtual Status DeletePatient(const std::string& practice_id, const std::string& patient_id) = 0;

  // Appointments. NotFound unless the patient is one of the practice's.
  virtual Status CreateAppointment(const AppointmentRow& row) = 0;
  // Appointments of the practice starting in [from, to), ordered by start.
  virtual Result<std::vector<AppointmentRow>> ListAppointments(const std::string& practice_id,
                                                               UnixMicros from, UnixMicros to) = 0;
  virtual Result<std::vector<AppointmentRow>> ListPatientAppointments(
      const std::string& practice_id, const std::string& patient_id) = 0;

  // Notes. NotFound unless the patient is one of the practice's.
  virtual Status CreateNote(const NoteRow& row) = 0;
  virtual Result<NoteRow> GetNote(const std::string& practice_id, const std::string& note_id) = 0;
  virtual Result<std::vector<NoteRow>> ListNotes(const std::string& practice_id,
                                                 const std::string& patient_id) = 0;
  // Visits every note of the vault (bulk re-classification); `visit` may write to this store.
  // Stops at and returns the first error of `visit`.
  virtual Status ForEachNote(const std::function<Status(const NoteRow&)>& visit) = 0;
  // NotFound if no such note.
  virtual Status SetNoteCategories(const std::string& note_id, uint32_t category_mask,
                                   uint32_t qualifier_mask) = 0;

  // Sessions. GetSession returns revoked and expired sessions too (the caller decides); Touch and
  // Revoke are NotFound for an unknown token; RevokeUserSessions succeeds with none.
  virtual Status CreateSession(const SessionRow& row) = 0;
  virtual Result<SessionRow> GetSession(ByteView token_hash) = 0;
  virtual Status TouchSession(ByteView token_hash, UnixMicros last_seen) = 0;
  virtual Status RevokeSession(ByteView token_hash) = 0;
  virtual Status RevokeUserSessions(const std::string& user_id) = 0;

  // Patient access codes. Create: NotFound unless the patient is one of the practice's,
  // AlreadyExists if the hash is taken. Redeem atomically marks an unused, unexpired code
  // (expires > now) used at `now` and returns it; NotFound, whatever the reason (unknown, used,
  // expired), so that a caller cannot tell them apart. DeletePatient deletes the patient's codes.
  virtual Status CreateAccessCode(const AccessCodeRow& row) = 0;
  virtual Result<AccessCodeRow> RedeemAccessCode(ByteView code_hash, UnixMicros now) = 0;
};

// Accumulates patient keys in one open transaction, like PatientBatchWriter (including the
// abandoned batch after a failed Add, and a taken key reported by a later Add or Commit when the
// backend buffers rows).
class PatientKeyBatchWriter {
 public:
  virtual ~PatientKeyBatchWriter() = default;
  virtual Status Add(const PatientKeyRow& row) = 0;
  virtual Status Commit() = 0;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  virtual Status PutWrappedKey(const WrappedKeyRow& row) = 0;
  // All versions for (owner, purpose), newest first. Empty if none.
  virtual Result<std::vector<WrappedKeyRow>> GetWrappedKeys(const std::string& owner,
                                                            const std::string& purpose) = 0;
  virtual Result<std::vector<WrappedKeyRow>> ListWrappedKeys() = 0;
  // Replaces the given rows (matched by owner, purpose, version) in one transaction; NotFound,
  // and nothing changes, if one of them is absent.
  virtual Status ReplaceWrappedKeys(std::span<const WrappedKeyRow> rows) = 0;

  virtual Result<std::unique_ptr<PatientKeyBatchWriter>> BeginPatientKeyBatch() = 0;
  virtual Result<PatientKeyRow> GetPatientKey(const std::string& practice_id,
                                              const std::string& patient_id) = 0;
  // Deletes the DEK durably (crypto-shredding). NotFound if absent.
  virtual Status DeletePatientKey(const std::string& practice_id,
                                  const std::string& patient_id) = 0;
  // Rewraps every patient key of a practice in one transaction: `rewrap` maps the old row to the
  // new one (same practice and patient, else InvalidArgument). If it fails for any row, nothing
  // changes. `rewrap` may run while the store's writer is held: it must not call this store.
  virtual Status RewrapPatientKeys(
      const std::string& practice_id,
      const std::function<Result<PatientKeyRow>(const PatientKeyRow&)>& rewrap) = 0;
};

}  // namespace medvault::store
