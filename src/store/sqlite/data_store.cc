#include "store/sqlite/data_store.h"

#include <string>
#include <utility>

namespace medvault::store::sqlite {
namespace {

// How many notes ForEachNote reads per statement: the reader connection (and its snapshot) is
// released between pages, so `visit` may write, and checkpoints are not held back for long.
constexpr int64_t kNotePage = 256;

UserRow ReadUser(const Statement& st) {
  UserRow row;
  row.id = st.Text(0);
  row.practice_id = st.Text(1);
  row.login = st.Text(2);
  row.display_name = st.Text(3);
  row.role = static_cast<Role>(st.Int(4));
  row.password_hash = st.Text(5);
  row.totp_sealed = st.Blob(6);
  row.totp_last_step = st.Int(7);
  row.locked = st.Int(8) != 0;
  row.created = st.Int(9);
  return row;
}

AppointmentRow ReadAppointment(const Statement& st) {
  AppointmentRow row;
  row.id = st.Text(0);
  row.practice_id = st.Text(1);
  row.patient_id = st.Text(2);
  row.practitioner_login = st.Text(3);
  row.status = st.Text(4);
  row.start = st.Int(5);
  row.end = st.Int(6);
  row.created_by = st.Text(7);
  row.created = st.Int(8);
  return row;
}

NoteRow ReadNote(const Statement& st) {
  NoteRow row;
  row.id = st.Text(0);
  row.practice_id = st.Text(1);
  row.patient_id = st.Text(2);
  row.author_login = st.Text(3);
  row.category_mask = static_cast<uint32_t>(st.Int(4));
  row.qualifier_mask = static_cast<uint32_t>(st.Int(5));
  row.sealed_text = st.Blob(6);
  row.created = st.Int(7);
  return row;
}

SessionRow ReadSession(const Statement& st) {
  SessionRow row;
  row.token_hash = st.Blob(0);
  row.user_id = st.Text(1);
  row.source = st.Text(2);
  row.created = st.Int(3);
  row.last_seen = st.Int(4);
  row.expires = st.Int(5);
  row.revoked = st.Int(6) != 0;
  return row;
}

// Runs a write that must change exactly one row; NotFound otherwise.
Status RunOne(Connection& conn, Statement& st, std::string_view what) {
  MV_RETURN_IF_ERROR(st.Run(what));
  if (conn.Changes() == 0) return NotFound(std::string(what) + ": not found");
  return Status::Ok();
}

}  // namespace

Status SqliteDataStore::InTransaction(const std::function<Status(Connection&)>& write) {
  ConnectionPool::WriterLease lease = pool_->Writer();
  Transaction txn(lease.conn());
  MV_RETURN_IF_ERROR(txn.Begin());
  MV_RETURN_IF_ERROR(write(lease.conn()));
  return txn.Commit();
}

Result<std::optional<std::string>> SqliteDataStore::GetMeta(const std::string& key) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(), "SELECT value FROM meta WHERE key = ?1");
  st.Bind(1, key);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get meta"));
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Status SqliteDataStore::SetMeta(const std::string& key, const std::string& value) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn,
                 "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    st.Bind(1, key);
    st.Bind(2, value);
    return st.Run("set meta");
  });
}

Status SqliteDataStore::CreatePractice(const PracticeRow& row) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn, "INSERT INTO practices (id, name, created) VALUES (?1, ?2, ?3)");
    st.Bind(1, row.id);
    st.Bind(2, row.name);
    st.Bind(3, row.created);
    MV_RETURN_IF_ERROR(st.Run("create practice"));
    // The practice's number keys its blind-index entries (storage.md, `practice_numbers`).
    MV_STATEMENT(number, conn, "INSERT INTO practice_numbers (practice_id) VALUES (?1)");
    number.Bind(1, row.id);
    return number.Run("create practice");
  });
}

Result<PracticeRow> SqliteDataStore::GetPractice(const std::string& id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(), "SELECT id, name, created FROM practices WHERE id = ?1");
  st.Bind(1, id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get practice"));
  if (!row) return NotFound("practice not found");
  return PracticeRow{st.Text(0), st.Text(1), st.Int(2)};
}

Result<std::vector<PracticeRow>> SqliteDataStore::ListPractices() {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(), "SELECT id, name, created FROM practices ORDER BY created, id");
  std::vector<PracticeRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("list practices"));
    if (!row) break;
    rows.push_back(PracticeRow{st.Text(0), st.Text(1), st.Int(2)});
  }
  return rows;
}

Status SqliteDataStore::CreateUser(const UserRow& row) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn,
                 "INSERT INTO users (id, practice_id, login, display_name, role, password_hash, "
                 "totp_sealed, totp_last_step, locked, created) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    st.Bind(1, row.id);
    st.BindOptional(2, row.practice_id);
    st.Bind(3, row.login);
    st.Bind(4, row.display_name);
    st.Bind(5, static_cast<int64_t>(row.role));
    st.Bind(6, row.password_hash);
    st.Bind(7, ByteView(row.totp_sealed));
    st.Bind(8, row.totp_last_step);
    st.Bind(9, int64_t{row.locked ? 1 : 0});
    st.Bind(10, row.created);
    return st.Run("create user");
  });
}

Result<UserRow> SqliteDataStore::GetUserByLogin(const std::string& login) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, login, display_name, role, password_hash, totp_sealed, "
               "totp_last_step, locked, created FROM users WHERE login = ?1");
  st.Bind(1, login);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get user"));
  if (!row) return NotFound("user not found");
  return ReadUser(st);
}

Result<UserRow> SqliteDataStore::GetUser(const std::string& id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, login, display_name, role, password_hash, totp_sealed, "
               "totp_last_step, locked, created FROM users WHERE id = ?1");
  st.Bind(1, id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get user"));
  if (!row) return NotFound("user not found");
  return ReadUser(st);
}

Result<std::vector<UserRow>> SqliteDataStore::ListUsers(const std::string& practice_id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  // `IS` so that the empty practice (stored as NULL) lists the vault-wide users.
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, login, display_name, role, password_hash, totp_sealed, "
               "totp_last_step, locked, created FROM users WHERE practice_id IS ?1 "
               "ORDER BY login");
  st.BindOptional(1, practice_id);
  std::vector<UserRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("list users"));
    if (!row) break;
    rows.push_back(ReadUser(st));
  }
  return rows;
}

Status SqliteDataStore::SetUserLocked(const std::string& login, bool locked) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn, "UPDATE users SET locked = ?2 WHERE login = ?1");
    st.Bind(1, login);
    st.Bind(2, int64_t{locked ? 1 : 0});
    return RunOne(conn, st, "set user locked");
  });
}

Result<bool> SqliteDataStore::AdvanceTotpStep(const std::string& user_id, int64_t step) {
  bool advanced = false;
  MV_RETURN_IF_ERROR(InTransaction([&](Connection& conn) -> Status {
    // The comparison sits in the UPDATE itself, so two logins racing with the same code cannot
    // both see the old step.
    MV_STATEMENT(st, conn,
                 "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2");
    st.Bind(1, user_id);
    st.Bind(2, step);
    MV_RETURN_IF_ERROR(st.Run("advance totp step"));
    advanced = conn.Changes() == 1;
    if (advanced) return Status::Ok();
    MV_STATEMENT(exists, conn, "SELECT 1 FROM users WHERE id = ?1");
    exists.Bind(1, user_id);
    MV_ASSIGN_OR_RETURN(bool found, exists.Step("advance totp step"));
    return found ? Status::Ok() : NotFound("advance totp step: user not found");
  }));
  return advanced;
}

Status SqliteDataStore::CreateAppointment(const AppointmentRow& row) {
  return InTransaction([&](Connection& conn) -> Status {
    // Inserted only if the patient is one of the practice's, so an appointment can never point
    // across practices.
    MV_STATEMENT(st, conn,
                 "INSERT INTO appointments (id, practice_id, patient_id, practitioner_login, "
                 "status, start, \"end\", created_by, created) "
                 "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS "
                 "(SELECT 1 FROM patients WHERE id = ?3 AND practice_id = ?2)");
    st.Bind(1, row.id);
    st.Bind(2, row.practice_id);
    st.Bind(3, row.patient_id);
    st.Bind(4, row.practitioner_login);
    st.Bind(5, row.status);
    st.Bind(6, row.start);
    st.Bind(7, row.end);
    st.Bind(8, row.created_by);
    st.Bind(9, row.created);
    MV_RETURN_IF_ERROR(st.Run("create appointment"));
    if (conn.Changes() == 0) return NotFound("create appointment: patient not found");
    return Status::Ok();
  });
}

Result<std::vector<AppointmentRow>> SqliteDataStore::ListAppointments(
    const std::string& practice_id, UnixMicros from, UnixMicros to) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, patient_id, practitioner_login, status, start, \"end\", "
               "created_by, created FROM appointments "
               "WHERE practice_id = ?1 AND start >= ?2 AND start < ?3 ORDER BY start, id");
  st.Bind(1, practice_id);
  st.Bind(2, from);
  st.Bind(3, to);
  std::vector<AppointmentRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("list appointments"));
    if (!row) break;
    rows.push_back(ReadAppointment(st));
  }
  return rows;
}

Result<std::vector<AppointmentRow>> SqliteDataStore::ListPatientAppointments(
    const std::string& practice_id, const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, patient_id, practitioner_login, status, start, \"end\", "
               "created_by, created FROM appointments "
               "WHERE practice_id = ?1 AND patient_id = ?2 ORDER BY start, id");
  st.Bind(1, practice_id);
  st.Bind(2, patient_id);
  std::vector<AppointmentRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("list patient appointments"));
    if (!row) break;
    rows.push_back(ReadAppointment(st));
  }
  return rows;
}

Status SqliteDataStore::CreateNote(const NoteRow& row) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn,
                 "INSERT INTO notes (id, practice_id, patient_id, author_login, category_mask, "
                 "qualifier_mask, sealed_text, created) "
                 "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS "
                 "(SELECT 1 FROM patients WHERE id = ?3 AND practice_id = ?2)");
    st.Bind(1, row.id);
    st.Bind(2, row.practice_id);
    st.Bind(3, row.patient_id);
    st.Bind(4, row.author_login);
    st.Bind(5, int64_t{row.category_mask});
    st.Bind(6, int64_t{row.qualifier_mask});
    st.Bind(7, ByteView(row.sealed_text));
    st.Bind(8, row.created);
    MV_RETURN_IF_ERROR(st.Run("create note"));
    if (conn.Changes() == 0) return NotFound("create note: patient not found");
    return Status::Ok();
  });
}

Result<NoteRow> SqliteDataStore::GetNote(const std::string& practice_id,
                                         const std::string& note_id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, patient_id, author_login, category_mask, qualifier_mask, "
               "sealed_text, created FROM notes WHERE id = ?1 AND practice_id = ?2");
  st.Bind(1, note_id);
  st.Bind(2, practice_id);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get note"));
  if (!row) return NotFound("note not found");
  return ReadNote(st);
}

Result<std::vector<NoteRow>> SqliteDataStore::ListNotes(const std::string& practice_id,
                                                        const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT id, practice_id, patient_id, author_login, category_mask, qualifier_mask, "
               "sealed_text, created FROM notes WHERE patient_id = ?2 AND practice_id = ?1 "
               "ORDER BY created, seq");
  st.Bind(1, practice_id);
  st.Bind(2, patient_id);
  std::vector<NoteRow> rows;
  while (true) {
    MV_ASSIGN_OR_RETURN(bool row, st.Step("list notes"));
    if (!row) break;
    rows.push_back(ReadNote(st));
  }
  return rows;
}

Status SqliteDataStore::ForEachNote(const std::function<Status(const NoteRow&)>& visit) {
  int64_t after = 0;
  while (true) {
    std::vector<std::pair<int64_t, NoteRow>> page;
    {
      MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
      MV_STATEMENT(st, reader.conn(),
                   "SELECT id, practice_id, patient_id, author_login, category_mask, "
                   "qualifier_mask, sealed_text, created, seq FROM notes WHERE seq > ?1 "
                   "ORDER BY seq LIMIT ?2");
      st.Bind(1, after);
      st.Bind(2, kNotePage);
      while (true) {
        MV_ASSIGN_OR_RETURN(bool row, st.Step("list notes"));
        if (!row) break;
        page.emplace_back(st.Int(8), ReadNote(st));
      }
    }
    if (page.empty()) return Status::Ok();
    for (const auto& [seq, note] : page) {
      MV_RETURN_IF_ERROR(visit(note));
      after = seq;
    }
  }
}

Status SqliteDataStore::SetNoteCategories(const std::string& note_id, uint32_t category_mask,
                                          uint32_t qualifier_mask) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn,
                 "UPDATE notes SET category_mask = ?2, qualifier_mask = ?3 WHERE id = ?1");
    st.Bind(1, note_id);
    st.Bind(2, int64_t{category_mask});
    st.Bind(3, int64_t{qualifier_mask});
    return RunOne(conn, st, "set note categories");
  });
}

Status SqliteDataStore::CreateSession(const SessionRow& row) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn,
                 "INSERT INTO sessions (token_hash, user_id, source, created, last_seen, expires, "
                 "revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.Bind(1, ByteView(row.token_hash));
    st.Bind(2, row.user_id);
    st.Bind(3, row.source);
    st.Bind(4, row.created);
    st.Bind(5, row.last_seen);
    st.Bind(6, row.expires);
    st.Bind(7, int64_t{row.revoked ? 1 : 0});
    return st.Run("create session");
  });
}

Result<SessionRow> SqliteDataStore::GetSession(ByteView token_hash) {
  MV_ASSIGN_OR_RETURN(ConnectionPool::ReaderLease reader, pool_->Reader());
  MV_STATEMENT(st, reader.conn(),
               "SELECT token_hash, user_id, source, created, last_seen, expires, revoked "
               "FROM sessions WHERE token_hash = ?1");
  st.Bind(1, token_hash);
  MV_ASSIGN_OR_RETURN(bool row, st.Step("get session"));
  if (!row) return NotFound("session not found");
  return ReadSession(st);
}

Status SqliteDataStore::TouchSession(ByteView token_hash, UnixMicros last_seen) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn, "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1");
    st.Bind(1, token_hash);
    st.Bind(2, last_seen);
    return RunOne(conn, st, "touch session");
  });
}

Status SqliteDataStore::RevokeSession(ByteView token_hash) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn, "UPDATE sessions SET revoked = 1 WHERE token_hash = ?1");
    st.Bind(1, token_hash);
    return RunOne(conn, st, "revoke session");
  });
}

Status SqliteDataStore::RevokeUserSessions(const std::string& user_id) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn, "UPDATE sessions SET revoked = 1 WHERE user_id = ?1");
    st.Bind(1, user_id);
    return st.Run("revoke user sessions");
  });
}

Status SqliteDataStore::CreateAccessCode(const AccessCodeRow& row) {
  return InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(patient, conn, "SELECT 1 FROM patients WHERE id = ?1 AND practice_id = ?2");
    patient.Bind(1, row.patient_id);
    patient.Bind(2, row.practice_id);
    MV_ASSIGN_OR_RETURN(bool found, patient.Step("create access code"));
    if (!found) return NotFound("no such patient");
    MV_STATEMENT(st, conn,
                 "INSERT INTO access_codes (code_hash, practice_id, patient_id, issued_by, "
                 "created, expires, used) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.Bind(1, ByteView(row.code_hash));
    st.Bind(2, row.practice_id);
    st.Bind(3, row.patient_id);
    st.Bind(4, row.issued_by);
    st.Bind(5, row.created);
    st.Bind(6, row.expires);
    st.Bind(7, row.used);
    return st.Run("create access code");
  });
}

Result<AccessCodeRow> SqliteDataStore::RedeemAccessCode(ByteView code_hash, UnixMicros now) {
  AccessCodeRow out;
  Status s = InTransaction([&](Connection& conn) -> Status {
    MV_STATEMENT(st, conn,
                 "UPDATE access_codes SET used = ?2 WHERE code_hash = ?1 AND used = 0 "
                 "AND expires > ?2 RETURNING code_hash, practice_id, patient_id, issued_by, "
                 "created, expires, used");
    st.Bind(1, code_hash);
    st.Bind(2, now);
    MV_ASSIGN_OR_RETURN(bool row, st.Step("redeem access code"));
    if (!row) return NotFound("no such access code");
    out.code_hash = st.Blob(0);
    out.practice_id = st.Text(1);
    out.patient_id = st.Text(2);
    out.issued_by = st.Text(3);
    out.created = st.Int(4);
    out.expires = st.Int(5);
    out.used = st.Int(6);
    MV_ASSIGN_OR_RETURN(bool more, st.Step("redeem access code"));
    (void)more;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace medvault::store::sqlite
