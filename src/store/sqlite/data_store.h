#pragma once
// DataStore on SQLite (sqlite_store.h is the public entry point). Implementation split by topic:
// data_store.cc (meta, practices, users, appointments, notes, sessions) and patients.cc.
//
// Thread-safety: thread-safe. Reads take a pooled reader connection for one statement; writes take
// the writer lease for one transaction; a PatientBatchWriter keeps the writer lease until it is
// committed or destroyed.
#include <memory>
#include <string>
#include <string_view>

#include "store/sqlite/pool.h"
#include "store/store.h"

namespace medvault::store::sqlite {

class SqliteDataStore final : public DataStore {
 public:
  explicit SqliteDataStore(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}

  Result<std::optional<std::string>> GetMeta(const std::string& key) override;
  Status SetMeta(const std::string& key, const std::string& value) override;

  Status CreatePractice(const PracticeRow& row) override;
  Result<PracticeRow> GetPractice(const std::string& id) override;
  Result<std::vector<PracticeRow>> ListPractices() override;

  Status CreateUser(const UserRow& row) override;
  Result<UserRow> GetUserByLogin(const std::string& login) override;
  Result<UserRow> GetUser(const std::string& id) override;
  Result<std::vector<UserRow>> ListUsers(const std::string& practice_id) override;
  Status SetUserLocked(const std::string& login, bool locked) override;
  Result<bool> AdvanceTotpStep(const std::string& user_id, int64_t step) override;

  Result<std::unique_ptr<PatientBatchWriter>> BeginPatientBatch() override;
  Status UpdatePatient(const PatientRow& row, std::span<const IndexEntry> index) override;
  Result<PatientRow> GetPatient(const std::string& practice_id,
                                const std::string& patient_id) override;
  Result<std::vector<PatientRow>> ListPatients(const std::string& practice_id, int64_t after_seq,
                                               size_t limit) override;
  Result<std::vector<std::string>> FindByToken(const std::string& practice_id, uint8_t column,
                                               uint32_t token) override;
  Result<int64_t> CountPatients(const std::string& practice_id) override;
  Status DeletePatient(const std::string& practice_id, const std::string& patient_id) override;

  Status CreateAppointment(const AppointmentRow& row) override;
  Result<std::vector<AppointmentRow>> ListAppointments(const std::string& practice_id,
                                                       UnixMicros from, UnixMicros to) override;
  Result<std::vector<AppointmentRow>> ListPatientAppointments(
      const std::string& practice_id, const std::string& patient_id) override;

  Status CreateNote(const NoteRow& row) override;
  Result<NoteRow> GetNote(const std::string& practice_id, const std::string& note_id) override;
  Result<std::vector<NoteRow>> ListNotes(const std::string& practice_id,
                                         const std::string& patient_id) override;
  Status ForEachNote(const std::function<Status(const NoteRow&)>& visit) override;
  Status SetNoteCategories(const std::string& note_id, uint32_t category_mask,
                           uint32_t qualifier_mask) override;

  Status CreateSession(const SessionRow& row) override;
  Result<SessionRow> GetSession(ByteView token_hash) override;
  Status TouchSession(ByteView token_hash, UnixMicros last_seen) override;
  Status RevokeSession(ByteView token_hash) override;
  Status RevokeUserSessions(const std::string& user_id) override;

  Status CreateAccessCode(const AccessCodeRow& row) override;
  Result<AccessCodeRow> RedeemAccessCode(ByteView code_hash, UnixMicros now) override;

 private:
  // Runs `write` on the writer connection inside one transaction, committing if it returns OK.
  Status InTransaction(const std::function<Status(Connection&)>& write);

  std::unique_ptr<ConnectionPool> pool_;
};

// The number of the practice `practice_id` in `practice_numbers` (it keys the blind-index entries);
// NotFound if there is no such practice. `what` names the operation in the error.
Result<int64_t> PracticeNumber(Connection& conn, const std::string& practice_id,
                               std::string_view what);

// Inserts the index entries of the patient whose list position is `seq`, in the practice numbered
// `practice_no`. Shared by the batch writer and UpdatePatient. REQUIRES a write transaction is open
// on `conn`.
Status InsertIndexEntries(Connection& conn, int64_t practice_no, int64_t seq,
                          std::span<const IndexEntry> index);

}  // namespace medvault::store::sqlite
