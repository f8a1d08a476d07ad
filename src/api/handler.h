#pragma once
// The API's request handling, independent of the transport: routing, authentication,
// authorization (practice scope, roles, break-glass), the guard, FHIR resources, and the audit
// order (a response carrying patient data is released only once its audit leaf is durable).
//
// Thread-safety: thread-safe; Handle() is called from every io thread at once.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/access_code.h"
#include "api/auth.h"
#include "api/metrics.h"
#include "api/server.h"
#include "api/worker_pool.h"
#include "crypto/secret.h"

namespace medvault::api {

struct Request {
  std::string method;  // upper case, e.g. "GET"
  std::string target;  // origin-form: path[?query]
  std::string authorization;
  std::string content_type;
  std::string break_glass_reason;  // X-Break-Glass-Reason
  std::string user_agent;          // User-Agent, at most 256 bytes (the guard's device hint)
  std::string body;
  std::string source_ip;
};

struct Response {
  int status = 200;
  std::string content_type;  // empty with an empty body
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Location
};

// Called exactly once per request, from any thread.
using Reply = std::function<void(Response)>;

// The FHIR mask of field groups a role may read.
FieldGroupMask PatientGroupsFor(Role role);

class Api {
 public:
  // `services` and `config` must outlive this object.
  Api(const Services& services, const ServerConfig& config);
  ~Api();

  void Handle(Request request, Reply reply);
  Metrics& metrics() { return metrics_; }
  // A response for a request that could not be parsed (413, 431, 400), counted in the metrics.
  Response TransportError(int status, std::string_view message);

  struct Call;

 private:
  void Dispatch(const std::shared_ptr<Call>& call);
  void Login(const std::shared_ptr<Call>& call);
  void Logout(const std::shared_ptr<Call>& call);
  void StepUp(const std::shared_ptr<Call>& call);
  void PatientCreate(const std::shared_ptr<Call>& call);
  void PatientRead(const std::shared_ptr<Call>& call, const std::string& id);
  void PatientUpdate(const std::shared_ptr<Call>& call, const std::string& id);
  void PatientDelete(const std::shared_ptr<Call>& call, const std::string& id);
  void PatientSearch(const std::shared_ptr<Call>& call);
  void AppointmentCreate(const std::shared_ptr<Call>& call);
  void AppointmentSearch(const std::shared_ptr<Call>& call);
  void NoteCreate(const std::shared_ptr<Call>& call);
  void NoteSearch(const std::shared_ptr<Call>& call);
  void NoteRead(const std::shared_ptr<Call>& call, const std::string& id);
  void AuditEvents(const std::shared_ptr<Call>& call);
  void AccessCodeIssue(const std::shared_ptr<Call>& call, const std::string& id);
  void PatientAccess(const std::shared_ptr<Call>& call);
  void LogRoute(const std::shared_ptr<Call>& call, const std::string& path);
  void DebugClock(const std::shared_ptr<Call>& call);

  // Authenticates the bearer token and checks the source; replies and returns false on failure.
  bool Authenticate(const std::shared_ptr<Call>& call);
  // Asks the guard before a read; replies (403 or containment) and returns false on refusal.
  bool Admit(const std::shared_ptr<Call>& call, const std::string& action);
  // Asks the guard after decryption; replies and returns false on refusal.
  bool Charge(const std::shared_ptr<Call>& call, const std::string& action,
              const std::vector<std::string>& ids, const std::vector<bool>& canary,
              FieldGroupMask groups);
  void Contain(const std::shared_ptr<Call>& call, const Decision& d, const std::string& action);
  // What the guard is told about the call.
  GuardContext Context(const Call& call, const std::string& action) const;
  // Acts on a guard decision; replies and returns false on refusal.
  bool Enforce(const std::shared_ptr<Call>& call, const Decision& d, const std::string& action);
  // Charges one patient the request acts on (update, delete, booking, note): its canary flag
  // comes from the store. Replies and returns false on refusal.
  bool ChargeOne(const std::shared_ptr<Call>& call, const std::string& action,
                 const std::string& id, bool canary, FieldGroupMask groups);
  // A patient id that does not exist in the practice (id walks): tells the guard, then replies
  // `status` unless the guard refused.
  void ReplyMissingPatient(const std::shared_ptr<Call>& call, const std::string& action,
                           const std::string& id, const Status& status);

  AccessRecord Record(const Call& call, std::string action, std::string resource_type) const;
  // Appends `rec`; replies `response` once it is durable, 503 if it cannot be made so.
  void ReplyAudited(const std::shared_ptr<Call>& call, AccessRecord rec, Response response);
  void ReplyError(const std::shared_ptr<Call>& call, const Status& status);
  void ReplyJson(const std::shared_ptr<Call>& call, int status, std::string body);
  void Send(const std::shared_ptr<Call>& call, Response response);
  void LogLine(const std::string& line) const;

  const Services& services_;
  const ServerConfig& config_;
  Authenticator auth_;
  AccessCodes access_codes_;
  Metrics metrics_;
  WorkerPool workers_;
  std::string request_prefix_;
  std::atomic<uint64_t> request_counter_{0};
  crypto::SecretKey query_key_;  // keys the hash of search values the guard sees
};

}  // namespace medvault::api
