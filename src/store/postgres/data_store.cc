// DataStore on PostgreSQL. Isolation (docs/postgres.md): every operation is one statement, or a
// few statements whose correctness rests on row locks, so READ COMMITTED everywhere:
// - single-statement writes are atomic, and a conditional UPDATE (AdvanceTotpStep) re-checks its
//   condition on the newest row version when it waits for a concurrent writer, so two racing
//   logins cannot both advance the step;
// - UpdatePatient and DeletePatient lock the patient row (SELECT ... FOR UPDATE) before they
//   replace its index entries, so two of them on one patient run one after the other;
// - inserts that must point at a practice's patient (appointments, notes) check it in the same
//   statement; notes also have a foreign key, so a note can never outlive its patient.
// Each read is one statement and sees one snapshot.
#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>

#include "store/postgres/pg.h"
#include "store/postgres/postgres_store.h"

namespace medvault::store {
namespace {

using postgres::Connection;
using postgres::CopyBuffer;
using postgres::Isolation;
using postgres::Migration;
using postgres::Params;
using postgres::Pool;
using postgres::Rows;

constexpr Migration kDataSteps[] = {
    {1, R"sql(
CREATE TABLE meta (
  key   text PRIMARY KEY,
  value text NOT NULL);

CREATE TABLE practices (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created     bigint NOT NULL,
  practice_no bigint GENERATED ALWAYS AS IDENTITY UNIQUE);

CREATE TABLE users (
  id             text PRIMARY KEY,
  practice_id    text REFERENCES practices (id),
  login          text NOT NULL UNIQUE,
  display_name   text NOT NULL,
  role           bigint NOT NULL,
  password_hash  text NOT NULL,
  totp_sealed    bytea NOT NULL,
  totp_last_step bigint NOT NULL,
  locked         boolean NOT NULL,
  created        bigint NOT NULL);
CREATE INDEX users_by_practice ON users (practice_id);

-- List positions: never reused, even after the patient holding the highest one is deleted.
CREATE SEQUENCE patient_seq;

CREATE TABLE patients (
  seq         bigint PRIMARY KEY,
  id          text NOT NULL UNIQUE,
  practice_id text NOT NULL REFERENCES practices (id),
  key_version bigint NOT NULL,
  identity    bytea NOT NULL,
  contact     bytea NOT NULL,
  insurance   bytea NOT NULL,
  canary      boolean NOT NULL,
  created     bigint NOT NULL,
  updated     bigint NOT NULL,
  index_keys  bytea NOT NULL);
CREATE INDEX patients_by_practice ON patients (practice_id, seq);

-- Blind-index entries, keyed by integers only (the practice's number, not its id).
CREATE TABLE patient_index (
  token       bigint NOT NULL,
  col         bigint NOT NULL,
  practice_no bigint NOT NULL,
  patient_seq bigint NOT NULL,
  PRIMARY KEY (token, col, practice_no, patient_seq));

CREATE TABLE appointments (
  id                 text PRIMARY KEY,
  practice_id        text NOT NULL REFERENCES practices (id),
  patient_id         text NOT NULL,
  practitioner_login text NOT NULL,
  status             text NOT NULL,
  start              bigint NOT NULL,
  "end"              bigint NOT NULL,
  created_by         text NOT NULL,
  created            bigint NOT NULL);
CREATE INDEX appointments_by_start ON appointments (practice_id, start);
CREATE INDEX appointments_by_patient ON appointments (practice_id, patient_id, start);

CREATE TABLE notes (
  seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id             text NOT NULL UNIQUE,
  practice_id    text NOT NULL REFERENCES practices (id),
  patient_id     text NOT NULL REFERENCES patients (id),
  author_login   text NOT NULL,
  category_mask  bigint NOT NULL,
  qualifier_mask bigint NOT NULL,
  sealed_text    bytea NOT NULL,
  created        bigint NOT NULL);
CREATE INDEX notes_by_patient ON notes (patient_id, created);

CREATE TABLE sessions (
  token_hash bytea PRIMARY KEY,
  user_id    text NOT NULL REFERENCES users (id),
  source     text NOT NULL,
  created    bigint NOT NULL,
  last_seen  bigint NOT NULL,
  expires    bigint NOT NULL,
  revoked    boolean NOT NULL);
CREATE INDEX sessions_by_user ON sessions (user_id);
)sql"},
    // One-time codes of the patient access view: only their hash is stored.
    {2, R"sql(
CREATE TABLE access_codes (
  code_hash   bytea PRIMARY KEY,
  practice_id text NOT NULL REFERENCES practices (id),
  patient_id  text NOT NULL,
  issued_by   text NOT NULL,
  created     bigint NOT NULL,
  expires     bigint NOT NULL,
  used        bigint NOT NULL);
CREATE INDEX access_codes_by_patient ON access_codes (patient_id);
)sql"},
    // The blind index is looked up by token only (a 32-bit keyed hash of one practice's column:
    // the few rows sharing a token are filtered on col and practice_no), so a B-tree on the token
    // alone replaces the four-column primary key: each entry is one 8-byte key instead of a
    // 32-byte one with a uniqueness check, about half the server's work per imported entry.
    // Entries stay unique because every writer sends a patient's distinct (col, token) pairs
    // once (PackIndexKeys) and removes them all before writing new ones.
    {3, R"sql(
ALTER TABLE patient_index DROP CONSTRAINT patient_index_pkey;
CREATE INDEX patient_index_by_token ON patient_index (token);
)sql"},
};

// How many patients a batch writer sends per COPY.
constexpr size_t kFlushRows = 2000;
constexpr int64_t kNotePage = 256;

const std::string kUserColumns =
    "id, practice_id, login, display_name, role, password_hash, totp_sealed, totp_last_step, "
    "locked, created";
const std::string kPatientColumns =
    "id, practice_id, key_version, identity, contact, insurance, canary, created, updated, seq";
const std::string kAppointmentColumns =
    "id, practice_id, patient_id, practitioner_login, status, start, \"end\", created_by, created";
const std::string kNoteColumns =
    "id, practice_id, patient_id, author_login, category_mask, qualifier_mask, sealed_text, "
    "created";
const std::string kSessionColumns =
    "token_hash, user_id, source, created, last_seen, expires, revoked";

UserRow ReadUser(const Rows& r, int i) {
  UserRow row;
  row.id = r.Text(i, 0);
  row.practice_id = r.Text(i, 1);
  row.login = r.Text(i, 2);
  row.display_name = r.Text(i, 3);
  row.role = static_cast<Role>(r.Int(i, 4));
  row.password_hash = r.Text(i, 5);
  row.totp_sealed = r.Blob(i, 6);
  row.totp_last_step = r.Int(i, 7);
  row.locked = r.Bool(i, 8);
  row.created = r.Int(i, 9);
  return row;
}

PatientRow ReadPatient(const Rows& r, int i) {
  PatientRow row;
  row.id = r.Text(i, 0);
  row.practice_id = r.Text(i, 1);
  row.key_version = static_cast<uint32_t>(r.Int(i, 2));
  row.identity = r.Blob(i, 3);
  row.contact = r.Blob(i, 4);
  row.insurance = r.Blob(i, 5);
  row.canary = r.Bool(i, 6);
  row.created = r.Int(i, 7);
  row.updated = r.Int(i, 8);
  row.seq = r.Int(i, 9);
  return row;
}

AppointmentRow ReadAppointment(const Rows& r, int i) {
  AppointmentRow row;
  row.id = r.Text(i, 0);
  row.practice_id = r.Text(i, 1);
  row.patient_id = r.Text(i, 2);
  row.practitioner_login = r.Text(i, 3);
  row.status = r.Text(i, 4);
  row.start = r.Int(i, 5);
  row.end = r.Int(i, 6);
  row.created_by = r.Text(i, 7);
  row.created = r.Int(i, 8);
  return row;
}

NoteRow ReadNote(const Rows& r, int i) {
  NoteRow row;
  row.id = r.Text(i, 0);
  row.practice_id = r.Text(i, 1);
  row.patient_id = r.Text(i, 2);
  row.author_login = r.Text(i, 3);
  row.category_mask = static_cast<uint32_t>(r.Int(i, 4));
  row.qualifier_mask = static_cast<uint32_t>(r.Int(i, 5));
  row.sealed_text = r.Blob(i, 6);
  row.created = r.Int(i, 7);
  return row;
}

SessionRow ReadSession(const Rows& r, int i) {
  SessionRow row;
  row.token_hash = r.Blob(i, 0);
  row.user_id = r.Text(i, 1);
  row.source = r.Text(i, 2);
  row.created = r.Int(i, 3);
  row.last_seen = r.Int(i, 4);
  row.expires = r.Int(i, 5);
  row.revoked = r.Bool(i, 6);
  return row;
}

// The packed (column, token) list kept in each patient row, as in the SQLite store: 1 byte
// column, 4 bytes token little-endian per entry; it lets an update or delete remove exactly the
// patient's entries by primary key. Duplicates are dropped (one entry per (column, token)).
void PackIndexKeys(std::span<const IndexEntry> index, std::vector<IndexEntry>* unique, Bytes* out) {
  unique->assign(index.begin(), index.end());
  std::sort(unique->begin(), unique->end(), [](const IndexEntry& a, const IndexEntry& b) {
    return a.column != b.column ? a.column < b.column : a.token < b.token;
  });
  unique->erase(std::unique(unique->begin(), unique->end(),
                            [](const IndexEntry& a, const IndexEntry& b) {
                              return a.column == b.column && a.token == b.token;
                            }),
                unique->end());
  out->clear();
  for (const IndexEntry& e : *unique) {
    out->push_back(e.column);
    PutU32(out, e.token);
  }
}

Result<std::vector<IndexEntry>> UnpackIndexKeys(ByteView packed) {
  std::vector<IndexEntry> out;
  ByteReader reader(packed);
  while (!reader.empty()) {
    IndexEntry e;
    if (!reader.ReadU8(&e.column) || !reader.ReadU32(&e.token)) {
      return Internal("postgres: corrupt index keys of a patient row");
    }
    out.push_back(e);
  }
  return out;
}

Status ExpectOne(const Rows& rows, std::string_view what) {
  if (rows.Affected() == 0) return NotFound(std::string(what) + ": not found");
  return Status::Ok();
}

Result<int64_t> PracticeNumber(Connection& conn, const std::string& practice_id,
                               std::string_view what) {
  Params p;
  p.Text(practice_id);
  MV_ASSIGN_OR_RETURN(Rows rows,
                      conn.Exec("SELECT practice_no FROM practices WHERE id = $1", p, what));
  if (rows.size() == 0) return NotFound(std::string(what) + ": practice not found");
  return rows.Int(0, 0);
}

Status DeleteIndexEntries(Connection& conn, int64_t practice_no, int64_t seq, ByteView packed) {
  MV_ASSIGN_OR_RETURN(std::vector<IndexEntry> entries, UnpackIndexKeys(packed));
  for (const IndexEntry& e : entries) {
    Params p;
    p.Int(e.token).Int(e.column).Int(practice_no).Int(seq);
    MV_RETURN_IF_ERROR(conn.Run(
        "DELETE FROM patient_index WHERE token = $1 AND col = $2 AND practice_no = $3 "
        "AND patient_seq = $4",
        p, "delete index entries"));
  }
  return Status::Ok();
}

Status InsertIndexEntries(Connection& conn, int64_t practice_no, int64_t seq,
                          std::span<const IndexEntry> index) {
  for (const IndexEntry& e : index) {
    Params p;
    p.Int(e.token).Int(e.column).Int(practice_no).Int(seq);
    MV_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO patient_index (token, col, practice_no, patient_seq) "
        "VALUES ($1, $2, $3, $4)",
        p, "insert index entry"));
  }
  return Status::Ok();
}

// Buffers patients and sends them with binary COPY, kFlushRows at a time, inside one open
// transaction on a connection of its own. Each full batch is sent on a thread of its own
// (InFlight) while the caller fills the next one, so that the caller's work (parsing, sealing)
// overlaps the server's (the COPY into the table and its indexes); at most one batch is in flight
// and one being filled, and the caller waits for the one in flight before handing over the next.
// The index entries of a batch are sent in token order, so that the server's B-tree inserts
// walk the index once instead of jumping between pages. A taken id is reported by the Add
// that gives it when it repeats an id of the same batch, and otherwise by a later Add or the
// Commit, once the flush that meets the unique constraint is done (store.h allows either); in
// every case the batch is abandoned whole.
class PgPatientBatchWriter final : public PatientBatchWriter {
 public:
  explicit PgPatientBatchWriter(Pool::Lease lease) : lease_(std::move(lease)) {}
  // The flush in flight uses the connection: it ends before the lease rolls back.
  ~PgPatientBatchWriter() override { inflight_.Wait().IgnoreError(); }

  Status Begin() { return lease_.conn().Simple("BEGIN ISOLATION LEVEL READ COMMITTED", "begin"); }

  Status Add(const PatientRow& row, std::span<const IndexEntry> index) override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient batch already committed");
    Status status = AddRow(row, index);
    if (!status.ok()) Fail(status);
    return status;
  }

  Status Commit() override {
    if (!failure_.ok()) return failure_;
    if (committed_) return FailedPrecondition("patient batch already committed");
    Status status = StartFlush();
    if (status.ok()) status = inflight_.Wait();
    if (status.ok()) status = lease_.conn().Simple("COMMIT", "commit patient batch");
    if (!status.ok()) {
      Fail(status);
      return status;
    }
    committed_ = true;
    return Status::Ok();
  }

 private:
  struct Pending {
    PatientRow row;
    int64_t practice_no;
    size_t index_begin;  // into Batch::entries
    size_t index_end;
    Bytes packed;
  };
  struct Batch {
    std::vector<Pending> pending;
    std::vector<IndexEntry> entries;
  };
  // One index row, ordered by token first (patient_index_by_token).
  struct IndexRow {
    int64_t token;
    int64_t col;
    int64_t practice_no;
    int64_t seq;
    auto operator<=>(const IndexRow&) const = default;
  };

  Status AddRow(const PatientRow& row, std::span<const IndexEntry> index) {
    if (!ids_.insert(row.id).second) {
      return AlreadyExists("insert patient: already exists");
    }
    if (practice_no_ == 0 || row.practice_id != practice_id_) {
      MV_RETURN_IF_ERROR(inflight_.Wait());  // the connection is the flush's until it is done
      MV_ASSIGN_OR_RETURN(practice_no_,
                          PracticeNumber(lease_.conn(), row.practice_id, "insert patient"));
      practice_id_ = row.practice_id;
    }
    if (filling_.pending.capacity() == 0) filling_.pending.reserve(kFlushRows);
    Pending& p = filling_.pending.emplace_back();
    p.row = row;
    p.practice_no = practice_no_;
    PackIndexKeys(index, &scratch_, &p.packed);
    p.index_begin = filling_.entries.size();
    filling_.entries.insert(filling_.entries.end(), scratch_.begin(), scratch_.end());
    p.index_end = filling_.entries.size();
    if (filling_.pending.size() >= kFlushRows) return StartFlush();
    return Status::Ok();
  }

  // Waits for the batch in flight (its error, if any, is this call's), then sends the one being
  // filled on the flush thread.
  Status StartFlush() {
    MV_RETURN_IF_ERROR(inflight_.Wait());
    if (filling_.pending.empty()) return Status::Ok();
    std::swap(sending_, filling_);
    filling_.pending.clear();
    filling_.entries.clear();
    inflight_.Start([this] { return Send(); });
    return Status::Ok();
  }

  // Runs on the flush thread: touches only the connection, sending_ and the copy buffers.
  Status Send() {
    Connection& conn = lease_.conn();
    const std::vector<Pending>& pending = sending_.pending;
    Params n;
    n.Int(static_cast<int64_t>(pending.size()));
    MV_ASSIGN_OR_RETURN(
        Rows seqs,
        conn.Exec("SELECT nextval('patient_seq') FROM generate_series(1, $1)", n, "patient seq"));
    if (seqs.size() != static_cast<int>(pending.size())) {
      return Internal("postgres: patient seq: short answer");
    }
    patients_.Clear();
    index_rows_.clear();
    for (size_t i = 0; i < pending.size(); ++i) {
      const Pending& p = pending[i];
      const int64_t seq = seqs.Int(static_cast<int>(i), 0);
      patients_.BeginTuple(11);
      patients_.Int(seq);
      patients_.Text(p.row.id);
      patients_.Text(p.row.practice_id);
      patients_.Int(p.row.key_version);
      patients_.Blob(p.row.identity);
      patients_.Blob(p.row.contact);
      patients_.Blob(p.row.insurance);
      patients_.Bool(p.row.canary);
      patients_.Int(p.row.created);
      patients_.Int(p.row.updated);
      patients_.Blob(p.packed);
      for (size_t e = p.index_begin; e < p.index_end; ++e) {
        const IndexEntry& entry = sending_.entries[e];
        index_rows_.push_back({entry.token, entry.column, p.practice_no, seq});
      }
    }
    MV_RETURN_IF_ERROR(conn.CopyIn(
        "COPY patients (seq, id, practice_id, key_version, identity, contact, insurance, canary, "
        "created, updated, index_keys) FROM STDIN (FORMAT binary)",
        patients_.Finish(), "insert patient"));
    if (!index_rows_.empty()) {
      std::sort(index_rows_.begin(), index_rows_.end());
      index_.Clear();
      for (const IndexRow& r : index_rows_) {
        index_.BeginTuple(4);
        index_.Int(r.token);
        index_.Int(r.col);
        index_.Int(r.practice_no);
        index_.Int(r.seq);
      }
      MV_RETURN_IF_ERROR(conn.CopyIn(
          "COPY patient_index (token, col, practice_no, patient_seq) FROM STDIN (FORMAT binary)",
          index_.Finish(), "insert index entry"));
    }
    return Status::Ok();
  }

  void Fail(const Status& status) {
    failure_ = status.WithContext("patient batch abandoned");
    inflight_.Wait().IgnoreError();
    lease_.conn().Simple("ROLLBACK", "rollback").IgnoreError();
  }

  Pool::Lease lease_;
  Status failure_;
  bool committed_ = false;
  std::unordered_set<std::string> ids_;
  std::vector<IndexEntry> scratch_;
  std::string practice_id_;
  int64_t practice_no_ = 0;
  Batch filling_;  // the caller's
  // The flush thread's while a flush is in flight, else the caller's.
  Batch sending_;
  std::vector<IndexRow> index_rows_;
  CopyBuffer patients_;
  CopyBuffer index_;
  InFlight inflight_;  // declared last: destroyed (waited for) first
};

class PgDataStore final : public DataStore {
 public:
  explicit PgDataStore(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    Params p;
    p.Text(key);
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT value FROM meta WHERE key = $1", p, "get meta"));
    if (r.size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.Text(0, 0));
  }

  Status SetMeta(const std::string& key, const std::string& value) override {
    Params p;
    p.Text(key).Text(value);
    return Write(
        "INSERT INTO meta (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        p, "set meta")
        .status();
  }

  Status CreatePractice(const PracticeRow& row) override {
    Params p;
    p.Text(row.id).Text(row.name).Int(row.created);
    return Write("INSERT INTO practices (id, name, created) VALUES ($1, $2, $3)", p,
                 "create practice")
        .status();
  }

  Result<PracticeRow> GetPractice(const std::string& id) override {
    Params p;
    p.Text(id);
    MV_ASSIGN_OR_RETURN(
        Rows r, Query("SELECT id, name, created FROM practices WHERE id = $1", p, "get practice"));
    if (r.size() == 0) return NotFound("practice not found");
    return PracticeRow{r.Text(0, 0), r.Text(0, 1), r.Int(0, 2)};
  }

  Result<std::vector<PracticeRow>> ListPractices() override {
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT id, name, created FROM practices "
                                      "ORDER BY created, id",
                                      Params(), "list practices"));
    std::vector<PracticeRow> rows;
    for (int i = 0; i < r.size(); ++i) rows.push_back({r.Text(i, 0), r.Text(i, 1), r.Int(i, 2)});
    return rows;
  }

  Status CreateUser(const UserRow& row) override {
    Params p;
    p.Text(row.id)
        .OptionalText(row.practice_id)
        .Text(row.login)
        .Text(row.display_name)
        .Int(static_cast<int64_t>(row.role))
        .Text(row.password_hash)
        .Blob(row.totp_sealed)
        .Int(row.totp_last_step)
        .Bool(row.locked)
        .Int(row.created);
    return Write("INSERT INTO users (" + kUserColumns +
                     ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                 p, "create user")
        .status();
  }

  Result<UserRow> GetUserByLogin(const std::string& login) override {
    Params p;
    p.Text(login);
    MV_ASSIGN_OR_RETURN(
        Rows r, Query("SELECT " + kUserColumns + " FROM users WHERE login = $1", p, "get user"));
    if (r.size() == 0) return NotFound("user not found");
    return ReadUser(r, 0);
  }

  Result<UserRow> GetUser(const std::string& id) override {
    Params p;
    p.Text(id);
    MV_ASSIGN_OR_RETURN(
        Rows r, Query("SELECT " + kUserColumns + " FROM users WHERE id = $1", p, "get user"));
    if (r.size() == 0) return NotFound("user not found");
    return ReadUser(r, 0);
  }

  Result<std::vector<UserRow>> ListUsers(const std::string& practice_id) override {
    Params p;
    p.OptionalText(practice_id);
    // IS NOT DISTINCT FROM: the empty practice (stored as NULL) lists the vault-wide users.
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kUserColumns +
                                          " FROM users WHERE practice_id IS NOT DISTINCT FROM $1 "
                                          "ORDER BY login",
                                      p, "list users"));
    std::vector<UserRow> rows;
    for (int i = 0; i < r.size(); ++i) rows.push_back(ReadUser(r, i));
    return rows;
  }

  Status SetUserLocked(const std::string& login, bool locked) override {
    Params p;
    p.Text(login).Bool(locked);
    MV_ASSIGN_OR_RETURN(Rows r, Write("UPDATE users SET locked = $2 WHERE login = $1", p,
                                      "set user locked"));
    return ExpectOne(r, "set user locked");
  }

  Result<bool> AdvanceTotpStep(const std::string& user_id, int64_t step) override {
    Params p;
    p.Text(user_id).Int(step);
    // One statement: a concurrent update of the row makes it re-check totp_last_step < $2 on the
    // new version, so of two logins racing with one code only one advances.
    MV_ASSIGN_OR_RETURN(
        Rows r, Write("WITH advanced AS (UPDATE users SET totp_last_step = $2 "
                      "WHERE id = $1 AND totp_last_step < $2 RETURNING 1) "
                      "SELECT (SELECT count(*) FROM advanced), "
                      "EXISTS (SELECT 1 FROM users WHERE id = $1)",
                      p, "advance totp step"));
    if (!r.Bool(0, 1)) return NotFound("advance totp step: user not found");
    return r.Int(0, 0) == 1;
  }

  Result<std::unique_ptr<PatientBatchWriter>> BeginPatientBatch() override {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool_->Acquire());
    auto writer = std::make_unique<PgPatientBatchWriter>(std::move(lease));
    MV_RETURN_IF_ERROR(writer->Begin());
    return std::unique_ptr<PatientBatchWriter>(std::move(writer));
  }

  Status UpdatePatient(const PatientRow& row, std::span<const IndexEntry> index) override {
    return postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
      return UpdateIn(conn, row, index);
    });
  }

  Result<PatientRow> GetPatient(const std::string& practice_id,
                                const std::string& patient_id) override {
    Params p;
    p.Text(patient_id).Text(practice_id);
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kPatientColumns +
                                          " FROM patients WHERE id = $1 AND practice_id = $2",
                                      p, "get patient"));
    if (r.size() == 0) return NotFound("patient not found");
    return ReadPatient(r, 0);
  }

  Result<std::vector<PatientRow>> ListPatients(const std::string& practice_id, int64_t after_seq,
                                               size_t limit) override {
    Params p;
    p.Text(practice_id).Int(after_seq).Int(
        limit > static_cast<size_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(limit));
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kPatientColumns +
                                          " FROM patients WHERE practice_id = $1 AND seq > $2 "
                                          "ORDER BY seq LIMIT $3",
                                      p, "list patients"));
    std::vector<PatientRow> rows;
    rows.reserve(static_cast<size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) rows.push_back(ReadPatient(r, i));
    return rows;
  }

  Result<std::vector<std::string>> FindByToken(const std::string& practice_id, uint8_t column,
                                               uint32_t token) override {
    Params p;
    p.Text(practice_id).Int(column).Int(token);
    MV_ASSIGN_OR_RETURN(
        Rows r, Query("SELECT p.id FROM patient_index i JOIN patients p ON p.seq = i.patient_seq "
                      "WHERE i.token = $3 AND i.col = $2 AND i.practice_no = "
                      "(SELECT practice_no FROM practices WHERE id = $1) "
                      "ORDER BY i.patient_seq",
                      p, "find by token"));
    std::vector<std::string> ids;
    for (int i = 0; i < r.size(); ++i) ids.push_back(r.Text(i, 0));
    return ids;
  }

  Result<int64_t> CountPatients(const std::string& practice_id) override {
    Params p;
    p.Text(practice_id);
    MV_ASSIGN_OR_RETURN(
        Rows r, Query("SELECT count(*) FROM patients WHERE practice_id = $1", p, "count patients"));
    return r.Int(0, 0);
  }

  Status DeletePatient(const std::string& practice_id, const std::string& patient_id) override {
    return postgres::InTransaction(*pool_, Isolation::kReadCommitted, [&](Connection& conn) {
      return DeleteIn(conn, practice_id, patient_id);
    });
  }

  Status CreateAppointment(const AppointmentRow& row) override {
    Params p;
    p.Text(row.id)
        .Text(row.practice_id)
        .Text(row.patient_id)
        .Text(row.practitioner_login)
        .Text(row.status)
        .Int(row.start)
        .Int(row.end)
        .Text(row.created_by)
        .Int(row.created);
    MV_ASSIGN_OR_RETURN(
        Rows r, Write("INSERT INTO appointments (" + kAppointmentColumns +
                          ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS "
                          "(SELECT 1 FROM patients WHERE id = $3 AND practice_id = $2)",
                      p, "create appointment"));
    if (r.Affected() == 0) return NotFound("create appointment: patient not found");
    return Status::Ok();
  }

  Result<std::vector<AppointmentRow>> ListAppointments(const std::string& practice_id,
                                                       UnixMicros from, UnixMicros to) override {
    Params p;
    p.Text(practice_id).Int(from).Int(to);
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kAppointmentColumns +
                                          " FROM appointments WHERE practice_id = $1 AND "
                                          "start >= $2 AND start < $3 ORDER BY start, id",
                                      p, "list appointments"));
    std::vector<AppointmentRow> rows;
    for (int i = 0; i < r.size(); ++i) rows.push_back(ReadAppointment(r, i));
    return rows;
  }

  Result<std::vector<AppointmentRow>> ListPatientAppointments(
      const std::string& practice_id, const std::string& patient_id) override {
    Params p;
    p.Text(practice_id).Text(patient_id);
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kAppointmentColumns +
                                          " FROM appointments WHERE practice_id = $1 AND "
                                          "patient_id = $2 ORDER BY start, id",
                                      p, "list patient appointments"));
    std::vector<AppointmentRow> rows;
    for (int i = 0; i < r.size(); ++i) rows.push_back(ReadAppointment(r, i));
    return rows;
  }

  Status CreateNote(const NoteRow& row) override {
    Params p;
    p.Text(row.id)
        .Text(row.practice_id)
        .Text(row.patient_id)
        .Text(row.author_login)
        .Int(row.category_mask)
        .Int(row.qualifier_mask)
        .Blob(row.sealed_text)
        .Int(row.created);
    MV_ASSIGN_OR_RETURN(Rows r, Write("INSERT INTO notes (" + kNoteColumns +
                                          ") SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS "
                                          "(SELECT 1 FROM patients WHERE id = $3 AND "
                                          "practice_id = $2)",
                                      p, "create note"));
    if (r.Affected() == 0) return NotFound("create note: patient not found");
    return Status::Ok();
  }

  Result<NoteRow> GetNote(const std::string& practice_id, const std::string& note_id) override {
    Params p;
    p.Text(note_id).Text(practice_id);
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kNoteColumns +
                                          " FROM notes WHERE id = $1 AND practice_id = $2",
                                      p, "get note"));
    if (r.size() == 0) return NotFound("note not found");
    return ReadNote(r, 0);
  }

  Result<std::vector<NoteRow>> ListNotes(const std::string& practice_id,
                                         const std::string& patient_id) override {
    Params p;
    p.Text(practice_id).Text(patient_id);
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kNoteColumns +
                                          " FROM notes WHERE patient_id = $2 AND "
                                          "practice_id = $1 ORDER BY created, seq",
                                      p, "list notes"));
    std::vector<NoteRow> rows;
    for (int i = 0; i < r.size(); ++i) rows.push_back(ReadNote(r, i));
    return rows;
  }

  Status ForEachNote(const std::function<Status(const NoteRow&)>& visit) override {
    int64_t after = 0;
    while (true) {
      Params p;
      p.Int(after).Int(kNotePage);
      // One page per statement; no connection is held while `visit` runs, so it may write.
      MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kNoteColumns +
                                            ", seq FROM notes WHERE seq > $1 ORDER BY seq LIMIT $2",
                                        p, "list notes"));
      if (r.size() == 0) return Status::Ok();
      for (int i = 0; i < r.size(); ++i) {
        MV_RETURN_IF_ERROR(visit(ReadNote(r, i)));
        after = r.Int(i, 8);
      }
    }
  }

  Status SetNoteCategories(const std::string& note_id, uint32_t category_mask,
                           uint32_t qualifier_mask) override {
    Params p;
    p.Text(note_id).Int(category_mask).Int(qualifier_mask);
    MV_ASSIGN_OR_RETURN(Rows r, Write("UPDATE notes SET category_mask = $2, qualifier_mask = $3 "
                                      "WHERE id = $1",
                                      p, "set note categories"));
    return ExpectOne(r, "set note categories");
  }

  Status CreateSession(const SessionRow& row) override {
    Params p;
    p.Blob(row.token_hash)
        .Text(row.user_id)
        .Text(row.source)
        .Int(row.created)
        .Int(row.last_seen)
        .Int(row.expires)
        .Bool(row.revoked);
    return Write("INSERT INTO sessions (" + kSessionColumns +
                     ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 p, "create session")
        .status();
  }

  Result<SessionRow> GetSession(ByteView token_hash) override {
    Params p;
    p.Blob(token_hash);
    MV_ASSIGN_OR_RETURN(Rows r, Query("SELECT " + kSessionColumns +
                                          " FROM sessions WHERE token_hash = $1",
                                      p, "get session"));
    if (r.size() == 0) return NotFound("session not found");
    return ReadSession(r, 0);
  }

  Status TouchSession(ByteView token_hash, UnixMicros last_seen) override {
    Params p;
    p.Blob(token_hash).Int(last_seen);
    // GREATEST: two nodes touching one session out of order never move last_seen back.
    MV_ASSIGN_OR_RETURN(Rows r, Write("UPDATE sessions SET last_seen = GREATEST(last_seen, $2) "
                                      "WHERE token_hash = $1",
                                      p, "touch session"));
    return ExpectOne(r, "touch session");
  }

  Status RevokeSession(ByteView token_hash) override {
    Params p;
    p.Blob(token_hash);
    MV_ASSIGN_OR_RETURN(
        Rows r, Write("UPDATE sessions SET revoked = true WHERE token_hash = $1", p,
                      "revoke session"));
    return ExpectOne(r, "revoke session");
  }

  Status RevokeUserSessions(const std::string& user_id) override {
    Params p;
    p.Text(user_id);
    return Write("UPDATE sessions SET revoked = true WHERE user_id = $1", p,
                 "revoke user sessions")
        .status();
  }

  Status CreateAccessCode(const AccessCodeRow& row) override {
    Params p;
    p.Blob(row.code_hash)
        .Text(row.practice_id)
        .Text(row.patient_id)
        .Text(row.issued_by)
        .Int(row.created)
        .Int(row.expires)
        .Int(row.used);
    MV_ASSIGN_OR_RETURN(Rows r, Write("INSERT INTO access_codes (code_hash, practice_id, "
                                      "patient_id, issued_by, created, expires, used) "
                                      "SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS "
                                      "(SELECT 1 FROM patients WHERE id = $3 AND "
                                      "practice_id = $2)",
                                      p, "create access code"));
    if (r.Affected() == 0) return NotFound("create access code: patient not found");
    return Status::Ok();
  }

  Result<AccessCodeRow> RedeemAccessCode(ByteView code_hash, UnixMicros now) override {
    Params p;
    p.Blob(code_hash).Int(now);
    // One statement: of two concurrent redemptions (on any node) only one finds used = 0.
    MV_ASSIGN_OR_RETURN(Rows r, Write("UPDATE access_codes SET used = $2 WHERE code_hash = $1 "
                                      "AND used = 0 AND expires > $2 RETURNING code_hash, "
                                      "practice_id, patient_id, issued_by, created, expires, used",
                                      p, "redeem access code"));
    if (r.size() == 0) return NotFound("no such access code");
    AccessCodeRow row;
    row.code_hash = r.Blob(0, 0);
    row.practice_id = r.Text(0, 1);
    row.patient_id = r.Text(0, 2);
    row.issued_by = r.Text(0, 3);
    row.created = r.Int(0, 4);
    row.expires = r.Int(0, 5);
    row.used = r.Int(0, 6);
    return row;
  }

 private:
  // A read: one statement on a pooled connection (autocommit: its own snapshot).
  Result<Rows> Query(const std::string& sql, const Params& params, std::string_view what) {
    MV_ASSIGN_OR_RETURN(Pool::Lease lease, pool_->Acquire());
    return lease.conn().Exec(sql, params, what);
  }
  // A one-statement write: autocommit makes it one transaction, durable when it returns.
  Result<Rows> Write(const std::string& sql, const Params& params, std::string_view what) {
    return Query(sql, params, what);
  }

  struct Stored {
    int64_t seq;
    int64_t practice_no;
    Bytes index_keys;
  };

  // Locks the patient row for the rest of the transaction.
  static Result<Stored> LockPatient(Connection& conn, const std::string& practice_id,
                                    const std::string& patient_id, std::string_view what) {
    Params p;
    p.Text(patient_id).Text(practice_id);
    MV_ASSIGN_OR_RETURN(
        Rows r, conn.Exec("SELECT p.seq, pr.practice_no, p.index_keys FROM patients p "
                          "JOIN practices pr ON pr.id = p.practice_id "
                          "WHERE p.id = $1 AND p.practice_id = $2 FOR UPDATE OF p",
                          p, what));
    if (r.size() == 0) return NotFound(std::string(what) + ": patient not found");
    return Stored{r.Int(0, 0), r.Int(0, 1), r.Blob(0, 2)};
  }

  static Status UpdateIn(Connection& conn, const PatientRow& row,
                         std::span<const IndexEntry> index) {
    MV_ASSIGN_OR_RETURN(Stored stored,
                        LockPatient(conn, row.practice_id, row.id, "update patient"));
    MV_RETURN_IF_ERROR(
        DeleteIndexEntries(conn, stored.practice_no, stored.seq, stored.index_keys));
    std::vector<IndexEntry> unique;
    Bytes packed;
    PackIndexKeys(index, &unique, &packed);
    Params p;
    p.Int(stored.seq)
        .Int(row.key_version)
        .Blob(row.identity)
        .Blob(row.contact)
        .Blob(row.insurance)
        .Bool(row.canary)
        .Int(row.updated)
        .Blob(packed);
    MV_RETURN_IF_ERROR(conn.Run(
        "UPDATE patients SET key_version = $2, identity = $3, contact = $4, insurance = $5, "
        "canary = $6, updated = $7, index_keys = $8 WHERE seq = $1",
        p, "update patient"));
    return InsertIndexEntries(conn, stored.practice_no, stored.seq, unique);
  }

  static Status DeleteIn(Connection& conn, const std::string& practice_id,
                         const std::string& patient_id) {
    MV_ASSIGN_OR_RETURN(Stored stored, LockPatient(conn, practice_id, patient_id,
                                                   "delete patient"));
    MV_RETURN_IF_ERROR(
        DeleteIndexEntries(conn, stored.practice_no, stored.seq, stored.index_keys));
    Params n;
    n.Text(patient_id);
    MV_RETURN_IF_ERROR(conn.Run("DELETE FROM notes WHERE patient_id = $1", n, "delete notes"));
    MV_RETURN_IF_ERROR(
        conn.Run("DELETE FROM access_codes WHERE patient_id = $1", n, "delete access codes"));
    Params p;
    p.Int(stored.seq);
    return conn.Run("DELETE FROM patients WHERE seq = $1", p, "delete patient");
  }

  std::unique_ptr<Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<DataStore>> OpenPostgresDataStore(const PostgresOptions& options) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool,
                      postgres::OpenMigratedPool(options, "data", kDataSteps));
  return std::unique_ptr<DataStore>(std::make_unique<PgDataStore>(std::move(pool)));
}

std::string RedactPostgresUrl(const std::string& url) {
  // postgresql://user:password@host/db → postgresql://user:***@host/db
  const size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    const size_t at = url.find('@', scheme + 3);
    const size_t colon = url.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      return url.substr(0, colon + 1) + "***" + url.substr(at);
    }
  }
  // key=value form: password=...
  std::string out = url;
  const size_t pw = out.find("password=");
  if (pw != std::string::npos) {
    size_t end = out.find_first_of(" &", pw);
    if (end == std::string::npos) end = out.size();
    out.replace(pw + 9, end - pw - 9, "***");
  }
  return out;
}

}  // namespace medvault::store
