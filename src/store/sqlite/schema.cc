// The schema of both databases, as migration steps; docs/formats/storage.md explains every table.
// Released steps are never edited: a schema change is a new step at the end.
#include <array>

#include "store/sqlite/migrations.h"

namespace medvault::store::sqlite {
namespace {

constexpr std::array kDataSteps = {
    Migration{1, R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE practices (
  id      TEXT PRIMARY KEY,
  name    TEXT NOT NULL,
  created INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
  id             TEXT PRIMARY KEY,
  practice_id    TEXT REFERENCES practices (id),
  login          TEXT NOT NULL UNIQUE,
  display_name   TEXT NOT NULL,
  role           INTEGER NOT NULL,
  password_hash  TEXT NOT NULL,
  totp_sealed    BLOB NOT NULL,
  totp_last_step INTEGER NOT NULL,
  locked         INTEGER NOT NULL,
  created        INTEGER NOT NULL
);
CREATE INDEX users_by_practice ON users (practice_id);

-- Monotonic counters; 'patient_seq' is the highest patient seq ever assigned, so a seq is never
-- reused, even after the patient holding the highest one is deleted.
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE patients (
  seq         INTEGER PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE,
  practice_id TEXT NOT NULL REFERENCES practices (id),
  key_version INTEGER NOT NULL,
  identity    BLOB NOT NULL,
  contact     BLOB NOT NULL,
  insurance   BLOB NOT NULL,
  canary      INTEGER NOT NULL,
  created     INTEGER NOT NULL,
  updated     INTEGER NOT NULL,
  index_keys  BLOB NOT NULL
);
CREATE INDEX patients_by_practice ON patients (practice_id, seq);

CREATE TABLE patient_index (
  practice_id TEXT NOT NULL,
  col         INTEGER NOT NULL,
  token       INTEGER NOT NULL,
  patient_seq INTEGER NOT NULL,
  PRIMARY KEY (practice_id, col, token, patient_seq)
) WITHOUT ROWID;
)sql"},
    Migration{2, R"sql(
CREATE TABLE appointments (
  id                 TEXT PRIMARY KEY,
  practice_id        TEXT NOT NULL REFERENCES practices (id),
  patient_id         TEXT NOT NULL,
  practitioner_login TEXT NOT NULL,
  status             TEXT NOT NULL,
  start              INTEGER NOT NULL,
  "end"              INTEGER NOT NULL,
  created_by         TEXT NOT NULL,
  created            INTEGER NOT NULL
);
CREATE INDEX appointments_by_start ON appointments (practice_id, start);
CREATE INDEX appointments_by_patient ON appointments (practice_id, patient_id, start);

CREATE TABLE notes (
  seq            INTEGER PRIMARY KEY,
  id             TEXT NOT NULL UNIQUE,
  practice_id    TEXT NOT NULL REFERENCES practices (id),
  patient_id     TEXT NOT NULL REFERENCES patients (id),
  author_login   TEXT NOT NULL,
  category_mask  INTEGER NOT NULL,
  qualifier_mask INTEGER NOT NULL,
  sealed_text    BLOB NOT NULL,
  created        INTEGER NOT NULL
);
CREATE INDEX notes_by_patient ON notes (patient_id, created);
)sql"},
    Migration{3, R"sql(
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id),
  source     TEXT NOT NULL,
  created    INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  expires    INTEGER NOT NULL,
  revoked    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);
)sql"},
    // Blind-index entries keyed by integers only: a small practice number instead of the
    // 26-character practice id, so that entries shrink to a few bytes and the (random) inserts of a
    // bulk import touch far fewer pages; and the token first, so that most key comparisons are
    // decided on the first field (SQLite compares a leading integer without decoding the record).
    Migration{4, R"sql(
CREATE TABLE practice_numbers (
  practice_no INTEGER PRIMARY KEY,
  practice_id TEXT NOT NULL UNIQUE REFERENCES practices (id)
);
INSERT INTO practice_numbers (practice_id) SELECT id FROM practices ORDER BY created, id;

CREATE TABLE patient_index_v4 (
  token       INTEGER NOT NULL,
  col         INTEGER NOT NULL,
  practice_no INTEGER NOT NULL,
  patient_seq INTEGER NOT NULL,
  PRIMARY KEY (token, col, practice_no, patient_seq)
) WITHOUT ROWID;
INSERT INTO patient_index_v4 (practice_no, col, token, patient_seq)
  SELECT n.practice_no, i.col, i.token, i.patient_seq
  FROM patient_index i JOIN practice_numbers n ON n.practice_id = i.practice_id;
DROP TABLE patient_index;
ALTER TABLE patient_index_v4 RENAME TO patient_index;
)sql"},
    // One-time codes of the patient access view: only their hash is stored.
    Migration{5, R"sql(
CREATE TABLE access_codes (
  code_hash   BLOB PRIMARY KEY,
  practice_id TEXT NOT NULL REFERENCES practices (id),
  patient_id  TEXT NOT NULL,
  issued_by   TEXT NOT NULL,
  created     INTEGER NOT NULL,
  expires     INTEGER NOT NULL,
  used        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_codes_by_patient ON access_codes (patient_id);
)sql"},
};

constexpr std::array kKeySteps = {
    Migration{1, R"sql(
CREATE TABLE wrapped_keys (
  owner      TEXT NOT NULL,
  purpose    TEXT NOT NULL,
  version    INTEGER NOT NULL,
  wrapped_by TEXT NOT NULL,
  wrapped    BLOB NOT NULL,
  PRIMARY KEY (owner, purpose, version)
) WITHOUT ROWID;

CREATE TABLE patient_keys (
  practice_id TEXT NOT NULL,
  patient_id  TEXT NOT NULL,
  dek_version INTEGER NOT NULL,
  kek_version INTEGER NOT NULL,
  wrapped_dek BLOB NOT NULL,
  PRIMARY KEY (practice_id, patient_id)
) WITHOUT ROWID;
)sql"},
};

}  // namespace

std::span<const Migration> DataStoreMigrations() { return kDataSteps; }
std::span<const Migration> KeyStoreMigrations() { return kKeySteps; }

}  // namespace medvault::store::sqlite
