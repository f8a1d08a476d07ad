#pragma once
// What the stores hold. No row carries a patient field in plaintext: patient data is in sealed
// envelopes (crypto/envelope.h), search goes through blind-index tokens, and everything else here
// (ids, logins, times, roles) is operational metadata.
#include <cstdint>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/role.h"

namespace medvault::store {

struct PracticeRow {
  std::string id;
  std::string name;  // the practice's own name (a data controller), not a patient field
  UnixMicros created = 0;
};

struct UserRow {
  std::string id;
  std::string practice_id;  // empty for the vault-wide security role
  std::string login;        // unique across the vault
  std::string display_name;
  Role role = Role::kPractitioner;
  std::string password_hash;  // Argon2id PHC string
  Bytes totp_sealed;          // TOTP secret sealed under the vault key; empty: cannot log in
  int64_t totp_last_step = 0; // last accepted TOTP time step (each code is accepted once)
  bool locked = false;        // contained by the guard, until `medvault account unlock`
  UnixMicros created = 0;
};

struct PatientRow {
  std::string id;
  std::string practice_id;
  uint32_t key_version = 1;  // version of the patient's DEK, also in each envelope header
  Bytes identity;            // envelopes, one per field group (crypto/envelope.h)
  Bytes contact;
  Bytes insurance;
  bool canary = false;       // a canary patient of the guard (never in appointment flows)
  UnixMicros created = 0;
  UnixMicros updated = 0;
  int64_t seq = 0;           // list order within the practice; assigned by the store on insert
};

// One blind-index entry: (practice, column, token) → patient.
struct IndexEntry {
  uint8_t column = 0;  // crypto::IndexColumn
  uint32_t token = 0;
};

struct AppointmentRow {
  std::string id;
  std::string practice_id;
  std::string patient_id;
  std::string practitioner_login;
  std::string status;  // FHIR AppointmentStatus code
  UnixMicros start = 0;
  UnixMicros end = 0;
  std::string created_by;  // login
  UnixMicros created = 0;
};

struct NoteRow {
  std::string id;
  std::string practice_id;
  std::string patient_id;
  std::string author_login;
  uint32_t category_mask = 0;  // notes classifier categories (bit = 1 << category)
  uint32_t qualifier_mask = 0;
  Bytes sealed_text;           // envelope of group `notes`, record id = note id
  UnixMicros created = 0;
};

struct SessionRow {
  Bytes token_hash;  // SHA-256 of the bearer token; the token itself is never stored
  std::string user_id;
  std::string source;  // client address
  UnixMicros created = 0;
  UnixMicros last_seen = 0;
  UnixMicros expires = 0;  // absolute expiry
  bool revoked = false;
};

// A one-time code a practice gives a patient to see who accessed their record (docs/patient-access.md).
struct AccessCodeRow {
  Bytes code_hash;  // SHA-256 of the normalised code; the code itself is never stored
  std::string practice_id;
  std::string patient_id;
  std::string issued_by;  // login
  UnixMicros created = 0;
  UnixMicros expires = 0;
  UnixMicros used = 0;  // 0: not used yet
};

// A key wrapped under another key. owner: a practice id, or "vault" for vault-wide keys.
// purpose: "kek" (wrapped by the master key), "index", "audit" (wrapped by the practice KEK),
// "system" (the vault key, wrapped by the master key).
struct WrappedKeyRow {
  std::string owner;
  std::string purpose;
  uint32_t version = 1;
  std::string wrapped_by;  // fingerprint or "owner/purpose/version" of the wrapping key
  Bytes wrapped;
};

struct PatientKeyRow {
  std::string practice_id;
  std::string patient_id;
  uint32_t dek_version = 1;
  uint32_t kek_version = 1;  // the practice KEK version that wraps it
  Bytes wrapped_dek;
};

}  // namespace medvault::store
