#pragma once
// `medvault breach scope`: which patients' data reached the matching requests, and which data.
// The log is verified first; if it does not verify, no scope is produced (exit 3). Then every leaf
// is opened with its practice's audit key and the matching ones aggregated (CONTRACT.md
// "breach scope"). A request counts as exposing a patient when its leaf names the patient, carries
// field groups and has a 2xx outcome (the response was released). Canary patients are listed
// apart: they prove an extraction but expose nobody.
//
// Output formats: JSON (the contract's shape, plus "canaries"), CSV (one row per patient, RFC 4180)
// and a readable summary. `--evidence DIR` also writes the offline proof (app/breach_evidence.h).
// Thread-safety: the functions are thread-safe; ScopeAggregator is not (one per thread).
#include <cstdint>
#include <iosfwd>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/leaf.h"
#include "audit/merkle.h"
#include "core/clock.h"
#include "core/field_group.h"
#include "core/status.h"
#include "store/log_store.h"

namespace medvault::app {

struct ScopeQuery {
  std::string data_dir;
  std::vector<std::string> logins;      // empty: every account
  std::vector<std::string> source_ips;  // empty: every source
  std::vector<std::string> practices;   // empty: every practice
  std::string since;                    // ISO 8601, inclusive; empty: from the beginning
  std::string until;                    // ISO 8601, exclusive; empty: up to now
  std::string format = "json";          // json | csv | summary
  std::string evidence_dir;             // empty: no evidence written
};

// Which leaves a query selects. Vault-wide leaves (no practice) never expose patient data but
// count as requests of their account unless a practice filter is given.
struct ScopeFilter {
  std::vector<std::string> logins;
  std::vector<std::string> source_ips;
  std::vector<std::string> practices;
  UnixMicros since = INT64_MIN;
  UnixMicros until = INT64_MAX;

  // InvalidArgument naming the option for a time that does not parse.
  static Result<ScopeFilter> FromQuery(const ScopeQuery& query);
  // Whether a leaf under `key_id` can match at all (cheap: no decryption needed).
  bool MayMatchKeyId(std::string_view key_id) const;
  bool Matches(const audit::Leaf& leaf) const;
  bool Matches(const audit::LeafHead& head) const;
};

struct PatientExposure {
  std::string id;
  std::string practice;
  FieldGroupMask field_groups = 0;
  uint64_t note_categories = 0;
  UnixMicros first_access = 0;
  UnixMicros last_access = 0;
  int64_t accesses = 0;
  bool canary = false;
};

struct AccountExposure {
  std::string login;
  std::string practice;
  int64_t requests = 0;
  int64_t patients = 0;  // distinct patients released to it (canaries included)
};

// Streams matching leaves into compact per-patient and per-account state. Patient ids are
// interned once; an account keeps the indexes of its patients.
class ScopeAggregator {
 public:
  // REQUIRES: the filter matched `leaf`.
  void Add(const audit::Leaf& leaf);
  // Sorted by login.
  std::vector<AccountExposure> Accounts() const;
  // Sorted by id; canary is false for all (the vault knows which are canaries).
  std::vector<PatientExposure> Patients() const;

 private:
  struct Account {
    std::string practice;
    int64_t requests = 0;
    std::vector<uint32_t> patients;  // patient indexes, deduplicated on output
  };
  std::unordered_map<std::string, uint32_t> patient_index_;
  std::vector<PatientExposure> patients_;
  std::unordered_map<std::string, Account> accounts_;
};

struct Scope {
  std::vector<std::string> logins, source_ips, practices;
  std::string since, until;  // normalised ISO 8601, or empty
  uint64_t tree_size = 0;
  audit::Hash root{};
  std::vector<AccountExposure> accounts;
  std::vector<PatientExposure> patients;  // exposed patients, not canaries; sorted by id
  std::vector<PatientExposure> canaries;  // sorted by id
  std::vector<uint64_t> matching_leaves;  // indexes of every matching leaf, ascending
};

// The scope JSON of CONTRACT.md (plus "canaries", listed apart).
std::string ScopeToJson(const Scope& scope);
// Parses what ScopeToJson wrote (the --scope input of `breach notify`). InvalidArgument naming
// the field that is missing or wrong.
Result<Scope> ScopeFromJson(std::string_view text);
// One row per patient, canaries last with canary=true; RFC 4180 (CRLF, quoted where needed).
std::string ScopeToCsv(const Scope& scope);
// A readable text: the query, the log, totals, accounts, time span, categories.
std::string ScopeSummary(const Scope& scope);

// Field group and category names, in the contract's order.
std::vector<std::string> FieldGroupNames(FieldGroupMask mask);
std::vector<std::string> NoteCategoryNames(uint64_t mask);

class VaultContext;

// Verifies `log` (the vault's access log) and computes the scope of `query` over every leaf,
// opening the leaves on two threads. IntegrityError if the log does not verify or a leaf cannot
// be opened; InvalidArgument for a bad query.
Result<Scope> ComputeScope(VaultContext& vault, store::LogStore& log, const ScopeQuery& query);

// Prints the scope on `out` in `query.format`, and writes the evidence if asked. Returns the exit
// code: 0, 1 (bad query), 2, 3 (log tampered; nothing printed or written).
int RunBreachScope(const ScopeQuery& query, std::ostream& out, std::ostream& err);

}  // namespace medvault::app
