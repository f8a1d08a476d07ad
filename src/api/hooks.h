#pragma once
// What the HTTP API needs from the modules around it, as small interfaces the composition root
// (src/app) adapts the real audit log, guard and note classifier to. Default implementations for
// tests and for a vault without those modules are at the end.
//
// Thread-safety: every implementation must be thread-safe; the API calls them from its io threads
// and its worker pool at the same time.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/field_group.h"
#include "core/role.h"
#include "core/status.h"

namespace medvault::api {

// One access to patient data or to security state, as the audit log records it. Holds no patient
// field: patient ids are random identifiers, field groups and note categories are masks.
struct AccessRecord {
  UnixMicros time = 0;
  std::string practice_id;     // the caller's practice; empty for the security role or unknown
  std::string login;           // as claimed for a failed login
  Role role = Role::kPractitioner;
  std::string session_id;      // hex prefix of the session's token hash, never the token
  std::string source_ip;
  std::string action;          // "login.ok", "patient.read", "breakglass", "guard.contain", ...
  std::string resource_type;   // "Patient", "DocumentReference", ... or empty
  std::vector<std::string> patient_ids;  // every patient whose data the response carries
  FieldGroupMask field_groups = 0;       // the groups returned
  uint32_t note_categories = 0;          // bit = 1 << notes::Category, of the notes returned
  Code outcome = Code::kOk;
  std::string guard_decision;  // "allow", "step_up", "contain_account", "contain_source"
  std::string request_id;
  std::string detail;          // e.g. the break-glass reason's length; never a patient field
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Appends `rec` and calls `on_durable` exactly once, from any thread, when its leaf is durable
  // (OK) or cannot be made so (an error: the API then answers 503 and releases no data).
  // Must not block on I/O in the caller's thread.
  virtual void Record(AccessRecord rec, std::function<void(Status)> on_durable) = 0;
};

// Which search parameters a patient search set (GuardContext::search_params).
enum GuardSearchParam : uint8_t {
  kSearchFamily = 1,
  kSearchGiven = 2,
  kSearchBirthDate = 4,
  kSearchIdentifier = 8,
};

// What the guard knows about the request it is asked about. Never a patient field: a search is
// described by which parameters it set and a keyed hash of their values.
struct GuardContext {
  UnixMicros time = 0;
  std::string practice_id;
  std::string user_id;
  std::string login;
  Role role = Role::kPractitioner;
  std::string session_id;
  std::string source_ip;
  std::string user_agent;  // the client's User-Agent (a device fingerprint)
  std::string request_id;
  std::string action;  // as in AccessRecord
  bool break_glass = false;
  int64_t page_depth = 0;     // page index of a list/search (0: the first page)
  uint8_t search_params = 0;  // GuardSearchParam bits
  uint64_t query_hash = 0;    // keyed hash of the search's parameter values; 0: not a search
  bool id_not_found = false;  // the request named a patient id absent from the practice
  // appointment.create: the booked practitioner and the start.
  std::string appointment_practitioner;
  UnixMicros appointment_start = 0;
};

struct AccountToContain {
  std::string user_id;
  std::string login;
};

struct Decision {
  bool allow = true;
  // With allow == false: the request is refused until the session passes POST /auth/step-up
  // (401, docs/api.md "Step-up").
  bool step_up = false;
  bool contain_account = false;  // revoke every session of the account and lock it
  bool contain_source = false;   // refuse every request from this source address
  std::vector<AccountToContain> also_contain;  // with contain_source: other accounts used from it
  // With allow == false: the guard's state could not be read or kept (a shared store down); the
  // request is refused with 503 "guard state unavailable".
  bool unavailable = false;
  std::string reason;            // for the log line; never a patient field
  // "allow", "step_up", "contain_account", "contain_source", "unavailable", "deny"
  std::string Name() const;
};

class Guard {
 public:
  virtual ~Guard() = default;
  // Before the store is read.
  virtual Decision Admit(const GuardContext& ctx) = 0;
  // After decryption: the distinct patients whose fields `groups` are about to be returned (or
  // that the request acts on: update, delete, booking, note); `canary[i]` says whether
  // patient_ids[i] is a canary. Also called with no patient for a search that found nobody and
  // for a patient id that was not found (ctx.id_not_found, with that id in patient_ids).
  virtual Decision Charge(const GuardContext& ctx, const std::vector<std::string>& patient_ids,
                          const std::vector<bool>& canary, FieldGroupMask groups) = 0;
  // The session answered a step-up with a valid fresh TOTP code (`passed`) or a wrong one.
  virtual Decision StepUp(const GuardContext& ctx, bool passed) {
    (void)ctx;
    Decision d;
    d.allow = passed;
    return d;
  }
  // Whether the guard holds `source_ip`'s address block contained at `now` (decided on this node
  // or another sharing the guard's state), for the login of any account from it. Unavailable
  // when the guard's state is.
  virtual Result<bool> SourceContained(const std::string& source_ip, UnixMicros now) {
    (void)source_ip;
    (void)now;
    return false;
  }
};

struct NoteSpan {
  size_t start = 0;  // byte offsets in the original UTF-8 text
  size_t end = 0;
  std::string category;
};

struct Classification {
  std::vector<std::string> categories;  // contract ids ("hiv_sti", ...)
  std::vector<std::string> qualifiers;  // contract ids ("negated", ...)
  std::vector<NoteSpan> spans;
};

class NoteClassifier {
 public:
  virtual ~NoteClassifier() = default;
  virtual Classification Classify(std::string_view text) = 0;
};

// One access to a patient's record as shown in an AuditEvent.
struct AccessEventView {
  UnixMicros time = 0;
  std::string login;
  Role role = Role::kPractitioner;
  std::string action;
  FieldGroupMask field_groups = 0;
  Code outcome = Code::kOk;
};

class AuditQuery {
 public:
  virtual ~AuditQuery() = default;
  // Accesses to the patient, oldest first. `practice_id` empty: any practice (security role).
  virtual Result<std::vector<AccessEventView>> ForPatient(const std::string& practice_id,
                                                          const std::string& patient_id) = 0;
};

// The public, token-less log endpoints (/log/checkpoint, /log/tile/..., /log/key).
struct LogResponse {
  std::string content_type;
  std::string body;
};
// Given the request path ("/log/checkpoint"): NotFound for an unknown path or tile.
using LogHandler = std::function<Result<LogResponse>(std::string_view path)>;

// Writes one operational log line (no trailing newline). Never given a patient field.
using LogLine = std::function<void(std::string_view line)>;

// --- Defaults -------------------------------------------------------------------------------

// Acknowledges every record at once. For tests and tools only: it records nothing.
class NullAuditSink final : public AuditSink {
 public:
  void Record(AccessRecord rec, std::function<void(Status)> on_durable) override;
};

// Allows everything, except that returning the identity or contact of a canary patient contains
// the account at once (canaries are never reached by legitimate flows).
class PermissiveGuard final : public Guard {
 public:
  Decision Admit(const GuardContext& ctx) override;
  Decision Charge(const GuardContext& ctx, const std::vector<std::string>& patient_ids,
                  const std::vector<bool>& canary, FieldGroupMask groups) override;
};

// Finds nothing.
class NullNoteClassifier final : public NoteClassifier {
 public:
  Classification Classify(std::string_view text) override;
};

// Knows no access.
class EmptyAuditQuery final : public AuditQuery {
 public:
  Result<std::vector<AccessEventView>> ForPatient(const std::string& practice_id,
                                                  const std::string& patient_id) override;
};

}  // namespace medvault::api
