#include "api/handler.h"

#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/fhir_patient.h"
#include "api/fhir_resources.h"
#include "api/outcome.h"
#include "api/routes.h"
#include "core/ids.h"
#include "core/text_fold.h"
#include "crypto/hash.h"
#include "api/note_labels.h"
#include "vault/nir.h"

namespace medvault::api {

using nlohmann::json;

namespace {

constexpr std::string_view kFhirJson = "application/fhir+json";
constexpr std::string_view kJson = "application/json";
constexpr size_t kDefaultCount = 20;
constexpr size_t kMaxCount = 100;
constexpr int64_t kMicrosPerDay = 86'400'000'000;

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

using Params = std::vector<std::pair<std::string, std::string>>;

Params ParseQuery(std::string_view query) {
  Params out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    out.emplace_back(PercentDecode(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : PercentDecode(part.substr(eq + 1)));
  }
  return out;
}

bool IsJsonType(std::string_view content_type) {
  std::string_view base = content_type.substr(0, content_type.find(';'));
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  return base.empty() || base == kJson || base == kFhirJson;
}

Status Forbidden(std::string m) { return PermissionDenied(std::move(m)); }

Response UnsupportedMediaType() {
  Response r;
  r.status = 415;
  r.content_type = std::string(kFhirJson);
  r.body = OutcomeBody("not-supported", "body must be application/fhir+json or application/json");
  return r;
}

}  // namespace

struct Api::Call {
  Request req;
  Reply reply;
  std::string path;
  Params params;
  Principal who;
  std::string request_id;
  UnixMicros started = 0;
  api::Route route = api::Route::kOther;
  bool break_glass = false;
  int64_t page_depth = 0;
  uint8_t search_params = 0;   // GuardSearchParam bits
  uint64_t query_hash = 0;     // keyed hash of the search values (the guard never sees them)
  std::string appointment_practitioner;
  UnixMicros appointment_start = 0;

  const std::string* Param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

FieldGroupMask PatientGroupsFor(Role role) {
  switch (role) {
    case Role::kPractitioner:
      return MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
             MaskOf(FieldGroup::kInsurance) | MaskOf(FieldGroup::kNotes);
    case Role::kSecretary:
      return MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
             MaskOf(FieldGroup::kInsurance);
    case Role::kAdmin:
    case Role::kSecurity: return 0;
  }
  return 0;
}

Api::Api(const Services& services, const ServerConfig& config)
    : services_(services),
      config_(config),
      auth_(services, config),
      access_codes_(services.data, services.random, config),
      workers_(config.worker_threads),
      query_key_(crypto::SecretKey::Generate()) {
  request_prefix_ = HexEncode(AsBytes(NewToken(services_.random))).substr(0, 8);
}

Api::~Api() = default;

void Api::LogLine(const std::string& line) const {
  if (services_.log_line) {
    services_.log_line(line);
    return;
  }
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

Response Api::TransportError(int status, std::string_view message) {
  metrics_.CountRequest(Route::kOther, status, 0);
  Response r;
  r.status = status;
  r.content_type = std::string(kFhirJson);
  r.body = OutcomeBody(status == 413 || status == 431 ? "too-costly" : "structure", message);
  return r;
}

void Api::Send(const std::shared_ptr<Call>& call, Response response) {
  metrics_.CountRequest(call->route, response.status, services_.clock.Now() - call->started);
  response.headers.emplace_back("X-Request-Id", call->request_id);
  call->reply(std::move(response));
}

void Api::ReplyJson(const std::shared_ptr<Call>& call, int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::string(call->path.rfind("/fhir/", 0) == 0 ? kFhirJson : kJson);
  r.body = std::move(body);
  Send(call, std::move(r));
}

void Api::ReplyError(const std::shared_ptr<Call>& call, const Status& status) {
  if (status.code() == Code::kInternal || status.code() == Code::kIntegrity) {
    LogLine("error request=" + call->request_id + " route=" + std::string(RouteName(call->route)) +
            " status=" + status.ToString());
  }
  Response r;
  r.status = HttpStatusFor(status.code());
  r.content_type = std::string(kFhirJson);
  r.body = OutcomeBody(status);
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  Send(call, std::move(r));
}

AccessRecord Api::Record(const Call& call, std::string action, std::string resource_type) const {
  AccessRecord rec;
  rec.time = services_.clock.Now();
  rec.practice_id = call.who.practice_id;
  rec.login = call.who.login;
  rec.role = call.who.role;
  rec.session_id = call.who.session_id;
  rec.source_ip = call.req.source_ip;
  rec.action = std::move(action);
  rec.resource_type = std::move(resource_type);
  rec.request_id = call.request_id;
  rec.guard_decision = "allow";
  return rec;
}

void Api::ReplyAudited(const std::shared_ptr<Call>& call, AccessRecord rec, Response response) {
  auto pending = std::make_shared<Response>(std::move(response));
  services_.audit.Record(std::move(rec), [this, call, pending](Status s) {
    if (s.ok()) {
      Send(call, std::move(*pending));
    } else {
      LogLine("audit-unavailable request=" + call->request_id + " status=" + s.ToString());
      ReplyError(call, Unavailable("the access log is unavailable; no data released"));
    }
  });
}

void Api::Handle(Request request, Reply reply) {
  auto call = std::make_shared<Call>();
  call->started = services_.clock.Now();
  call->req = std::move(request);
  call->reply = std::move(reply);
  call->request_id =
      request_prefix_ + "-" + std::to_string(request_counter_.fetch_add(1) + 1);
  const std::string& target = call->req.target;
  const size_t q = target.find('?');
  call->path = target.substr(0, q);
  if (q != std::string::npos) call->params = ParseQuery(std::string_view(target).substr(q + 1));
  try {
    Dispatch(call);
  } catch (const std::exception& e) {
    LogLine("error request=" + call->request_id + " unexpected exception");
    ReplyError(call, Internal("unexpected exception"));
  }
}

void Api::Dispatch(const std::shared_ptr<Call>& call) {
  const std::string& m = call->req.method;
  const RouteMatch match = MatchRoute(m, call->path);
  call->route = match.route;
  if (config_.debug_clock != nullptr && call->path == "/debug/clock") return DebugClock(call);
  if (!match.found) return ReplyError(call, NotFound("no such route"));
  if (!match.method_allowed) {
    Response r;
    r.status = 405;
    r.content_type = std::string(kFhirJson);
    r.body = OutcomeBody("not-supported", "method not allowed");
    return Send(call, std::move(r));
  }
  switch (match.route) {
    case Route::kHealth: return ReplyJson(call, 200, R"({"status":"ok"})");
    case Route::kMetrics: {
      Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = metrics_.Render();
      return Send(call, std::move(r));
    }
    case Route::kLog: return LogRoute(call, call->path);
    case Route::kLogin: return Login(call);
    case Route::kLogout: return Logout(call);
    case Route::kPatientAccess: return PatientAccess(call);
    default: break;
  }
  if ((m == "POST" || m == "PUT") && !IsJsonType(call->req.content_type)) {
    return Send(call, UnsupportedMediaType());
  }
  if (!Authenticate(call)) return;
  switch (match.route) {
    case Route::kStepUp: return StepUp(call);
    case Route::kPatientCreate: return PatientCreate(call);
    case Route::kPatientSearch: return PatientSearch(call);
    case Route::kPatientRead:
    case Route::kPatientUpdate:
    case Route::kPatientDelete: {
      if (PatientGroupsFor(call->who.role) == 0) {
        return ReplyError(call, Forbidden("this role may not access patient data"));
      }
      const std::string id(match.id);
      if (!IsWellFormedId(id)) return ReplyError(call, NotFound("no such patient"));
      if (match.route == Route::kPatientRead) return PatientRead(call, id);
      if (match.route == Route::kPatientUpdate) return PatientUpdate(call, id);
      return PatientDelete(call, id);
    }
    case Route::kAppointmentCreate: return AppointmentCreate(call);
    case Route::kAppointmentSearch: return AppointmentSearch(call);
    case Route::kNoteCreate: return NoteCreate(call);
    case Route::kNoteSearch: return NoteSearch(call);
    case Route::kNoteRead: {
      const std::string id(match.id);
      if (!IsWellFormedId(id)) return ReplyError(call, NotFound("no such note"));
      return NoteRead(call, id);
    }
    case Route::kAuditEvent: return AuditEvents(call);
    case Route::kAccessCodeIssue: {
      const std::string id(match.id);
      if (!IsWellFormedId(id)) return ReplyError(call, NotFound("no such patient"));
      return AccessCodeIssue(call, id);
    }
    default: return ReplyError(call, NotFound("no such route"));
  }
}

bool Api::Authenticate(const std::shared_ptr<Call>& call) {
  const std::string_view token = BearerToken(call->req.authorization);
  if (token.empty()) {
    ReplyError(call, Unauthenticated(std::string(kBadToken)));
    return false;
  }
  Result<Principal> who = auth_.Authenticate(token);
  if (!who.ok()) {
    ReplyError(call, who.status());
    return false;
  }
  call->who = std::move(who).value();
  if (auth_.SourceContained(call->req.source_ip)) {
    ReplyError(call, Status(Code::kSuspended, "access suspended by the guard"));
    return false;
  }
  if (!call->req.break_glass_reason.empty()) {
    if (call->who.role != Role::kPractitioner) {
      ReplyError(call, Forbidden("break-glass is for practitioners only"));
      return false;
    }
    call->break_glass = true;
  }
  return true;
}

void Api::Contain(const std::shared_ptr<Call>& call, const Decision& d,
                  const std::string& action) {
  if (d.contain_account) {
    Status s = auth_.ContainAccount(call->who);
    if (!s.ok()) LogLine("error request=" + call->request_id + " containment: " + s.ToString());
  }
  if (d.contain_source) auth_.ContainSource(call->req.source_ip);
  std::string others;
  for (const AccountToContain& a : d.also_contain) {
    Principal p;
    p.user_id = a.user_id;
    p.login = a.login;
    Status s = auth_.ContainAccount(p);
    if (!s.ok()) LogLine("error request=" + call->request_id + " containment: " + s.ToString());
    others += (others.empty() ? "" : ",") + SafeMemberName(a.login);
  }
  LogLine("ALERT guard.contain login=" + call->who.login + " practice=" + call->who.practice_id +
          " source=" + call->req.source_ip + " decision=" + d.Name() + " action=" + action +
          " reason=" + d.reason + (others.empty() ? "" : " also=" + others) +
          " request=" + call->request_id);
  AccessRecord rec = Record(*call, "guard.contain", "");
  rec.outcome = Code::kSuspended;
  rec.guard_decision = d.Name();
  rec.detail = action + (others.empty() ? "" : " also=" + others);
  services_.audit.Record(std::move(rec), [this, call](Status s) {
    if (!s.ok()) LogLine("audit-unavailable request=" + call->request_id);
    ReplyError(call, Status(Code::kSuspended, "access suspended by the guard"));
  });
}

GuardContext Api::Context(const Call& call, const std::string& action) const {
  GuardContext ctx;
  ctx.time = services_.clock.Now();
  ctx.practice_id = call.who.practice_id;
  ctx.user_id = call.who.user_id;
  ctx.login = call.who.login;
  ctx.role = call.who.role;
  ctx.session_id = call.who.session_id;
  ctx.source_ip = call.req.source_ip;
  ctx.user_agent = call.req.user_agent;
  ctx.request_id = call.request_id;
  ctx.action = action;
  ctx.break_glass = call.break_glass;
  ctx.page_depth = call.page_depth;
  ctx.search_params = call.search_params;
  ctx.query_hash = call.query_hash;
  ctx.appointment_practitioner = call.appointment_practitioner;
  ctx.appointment_start = call.appointment_start;
  return ctx;
}

bool Api::Enforce(const std::shared_ptr<Call>& call, const Decision& d,
                  const std::string& action) {
  if (d.unavailable && !d.contain_account && !d.contain_source) {
    LogLine("error guard.unavailable login=" + call->who.login + " action=" + action +
            " request=" + call->request_id);
    ReplyError(call, Unavailable("guard state unavailable"));
    return false;
  }
  if (d.contain_account || d.contain_source) {
    Contain(call, d, action);
    return false;
  }
  if (d.step_up && !d.allow) {
    // RFC 9470's challenge: the same session may go on once it proves a fresh second factor.
    json outcome = {{"resourceType", "OperationOutcome"},
                    {"issue",
                     {{{"severity", "error"},
                       {"code", "login"},
                       {"details",
                        {{"coding",
                          {{{"system", "urn:medvault:guard"}, {"code", "step-up-required"}}}}}},
                       {"diagnostics",
                        "a fresh TOTP code is required: POST /auth/step-up {\"totp\": CODE}"}}}}};
    Response r;
    r.status = 401;
    r.content_type = std::string(kFhirJson);
    r.body = Dump(outcome);
    r.headers.emplace_back("WWW-Authenticate",
                           "Bearer error=\"insufficient_user_authentication\", "
                           "error_description=\"a fresh TOTP code is required at /auth/step-up\"");
    Send(call, std::move(r));
    return false;
  }
  if (!d.allow) {
    ReplyError(call, Forbidden("refused by the guard"));
    return false;
  }
  return true;
}

bool Api::Admit(const std::shared_ptr<Call>& call, const std::string& action) {
  return Enforce(call, services_.guard.Admit(Context(*call, action)), action);
}

bool Api::Charge(const std::shared_ptr<Call>& call, const std::string& action,
                 const std::vector<std::string>& ids, const std::vector<bool>& canary,
                 FieldGroupMask groups) {
  return Enforce(call, services_.guard.Charge(Context(*call, action), ids, canary, groups),
                 action);
}

bool Api::ChargeOne(const std::shared_ptr<Call>& call, const std::string& action,
                    const std::string& id, bool canary, FieldGroupMask groups) {
  return Charge(call, action, {id}, {canary}, groups);
}

void Api::ReplyMissingPatient(const std::shared_ptr<Call>& call, const std::string& action,
                              const std::string& id, const Status& status) {
  GuardContext ctx = Context(*call, action);
  ctx.id_not_found = true;
  if (!Enforce(call, services_.guard.Charge(ctx, {id}, {false}, 0), action)) return;
  ReplyError(call, status);
}

// --- Authentication routes -------------------------------------------------------------------

void Api::Login(const std::shared_ptr<Call>& call) {
  if (!IsJsonType(call->req.content_type)) {
    return Send(call, UnsupportedMediaType());
  }
  json body = json::parse(call->req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return ReplyError(call, InvalidArgument("body: must be a JSON object"));
  }
  std::string fields[3];
  const char* names[3] = {"login", "password", "totp"};
  for (int i = 0; i < 3; ++i) {
    auto it = body.find(names[i]);
    if (it == body.end() || !it->is_string()) {
      return ReplyError(call, InvalidArgument(std::string(names[i]) + ": required string"));
    }
    fields[i] = it->get<std::string>();
  }
  workers_.Submit([this, call, login = std::move(fields[0]), password = std::move(fields[1]),
                   totp = std::move(fields[2])] {
    bool known_login = false;
    Result<LoginResult> r = auth_.Login(login, password, totp, call->req.source_ip, &known_login);
    metrics_.CountLogin(r.ok());
    AccessRecord rec = Record(*call, r.ok() ? "login.ok" : "login.fail", "");
    rec.login = login.size() <= 64 ? login : login.substr(0, 64);
    if (r.ok()) {
      call->who = r->principal;
      rec.practice_id = r->principal.practice_id;
      rec.role = r->principal.role;
      rec.session_id = r->principal.session_id;
      Response resp;
      resp.content_type = std::string(kJson);
      resp.body = Dump({{"token", r->token}, {"expires_at", FormatIsoTime(r->expires_at)}});
      return ReplyAudited(call, std::move(rec), std::move(resp));
    }
    rec.outcome = r.status().code();
    // An unknown login is not written: it may be a mistyped password or a patient's name.
    const std::string safe_login = known_login ? SafeMemberName(rec.login) : "(unknown)";
    LogLine("login.fail login=" + safe_login + " source=" + call->req.source_ip + " reason=" +
            std::string(CodeName(r.status().code())) + " request=" + call->request_id);
    const Status failure = r.status();
    services_.audit.Record(std::move(rec), [this, call, failure](Status) {
      ReplyError(call, failure);
    });
  });
}

void Api::Logout(const std::shared_ptr<Call>& call) {
  if (!Authenticate(call)) return;
  Status s = auth_.Logout(call->who);
  if (!s.ok()) return ReplyError(call, s);
  Response r;
  r.status = 204;
  ReplyAudited(call, Record(*call, "logout", ""), std::move(r));
}

void Api::StepUp(const std::shared_ptr<Call>& call) {
  json body = json::parse(call->req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return ReplyError(call, InvalidArgument("body: must be a JSON object"));
  }
  auto it = body.find("totp");
  if (it == body.end() || !it->is_string()) {
    return ReplyError(call, InvalidArgument("totp: required string"));
  }
  workers_.Submit([this, call, totp = it->get<std::string>()] {
    const Status verified = auth_.VerifyTotp(call->who, totp);
    if (!verified.ok() && verified.code() != Code::kUnauthenticated) {
      return ReplyError(call, verified);
    }
    const std::string action = verified.ok() ? "guard.step_up.ok" : "guard.step_up.fail";
    const Decision d = services_.guard.StepUp(Context(*call, action), verified.ok());
    if (d.contain_account || d.contain_source) return Contain(call, d, action);
    if (d.unavailable) return ReplyError(call, Unavailable("guard state unavailable"));
    LogLine(std::string(verified.ok() ? "guard.step_up.ok" : "ALERT guard.step_up.fail") +
            " login=" + call->who.login + " practice=" + call->who.practice_id +
            " source=" + call->req.source_ip + " request=" + call->request_id);
    AccessRecord rec = Record(*call, action, "");
    rec.outcome = verified.code();
    if (!verified.ok()) {
      return services_.audit.Record(std::move(rec), [this, call, verified](Status) {
        ReplyError(call, verified);
      });
    }
    Response r;
    r.status = 204;
    ReplyAudited(call, std::move(rec), std::move(r));
  });
}

// --- Patients --------------------------------------------------------------------------------

namespace {
Result<json> ParseBody(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("body: not valid JSON");
  return j;
}
}  // namespace

void Api::PatientCreate(const std::shared_ptr<Call>& call) {
  const FieldGroupMask groups = PatientGroupsFor(call->who.role);
  if (groups == 0) return ReplyError(call, Forbidden("this role may not access patient data"));
  Result<json> body = ParseBody(call->req.body);
  if (!body.ok()) return ReplyError(call, body.status());
  Result<vault::Patient> p = PatientFromFhir(*body);
  if (!p.ok()) return ReplyError(call, p.status());
  if (!Admit(call, "patient.create")) return;
  Result<vault::Patient> created = services_.patients.Create(call->who.practice_id, std::move(*p));
  if (!created.ok()) return ReplyError(call, created.status());
  if (!ChargeOne(call, "patient.create", created->id, false, groups)) return;
  AccessRecord rec = Record(*call, "patient.create", "Patient");
  rec.patient_ids = {created->id};
  rec.field_groups = groups & static_cast<FieldGroupMask>(~MaskOf(FieldGroup::kNotes));
  Response r;
  r.status = 201;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(PatientToFhir(*created, groups));
  r.headers.emplace_back("Location", "/fhir/Patient/" + created->id);
  ReplyAudited(call, std::move(rec), std::move(r));
}

void Api::PatientRead(const std::shared_ptr<Call>& call, const std::string& id) {
  const FieldGroupMask groups =
      PatientGroupsFor(call->who.role) & static_cast<FieldGroupMask>(~MaskOf(FieldGroup::kNotes));
  const std::string action = call->break_glass ? "breakglass" : "patient.read";
  if (!Admit(call, action)) return;
  Result<vault::Patient> p = services_.patients.Read(call->who.practice_id, id, groups);
  if (!p.ok()) {
    if (p.status().code() == Code::kNotFound) return ReplyMissingPatient(call, action, id, p.status());
    return ReplyError(call, p.status());
  }
  const bool canary = services_.patients.IsCanary(call->who.practice_id, id);
  if (!Charge(call, action, {id}, {canary}, groups)) return;
  AccessRecord rec = Record(*call, action, "Patient");
  rec.patient_ids = {id};
  rec.field_groups = groups;
  if (call->break_glass) {
    rec.detail = "reason_bytes=" + std::to_string(call->req.break_glass_reason.size());
    LogLine("ALERT breakglass login=" + call->who.login + " practice=" + call->who.practice_id +
            " patient=" + id + " request=" + call->request_id);
  }
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(PatientToFhir(*p, groups));
  ReplyAudited(call, std::move(rec), std::move(r));
}

void Api::PatientUpdate(const std::shared_ptr<Call>& call, const std::string& id) {
  const FieldGroupMask groups =
      PatientGroupsFor(call->who.role) & static_cast<FieldGroupMask>(~MaskOf(FieldGroup::kNotes));
  Result<json> body = ParseBody(call->req.body);
  if (!body.ok()) return ReplyError(call, body.status());
  Result<vault::Patient> p = PatientFromFhir(*body);
  if (!p.ok()) return ReplyError(call, p.status());
  if (!Admit(call, "patient.update")) return;
  Result<store::PatientRow> row = services_.data.GetPatient(call->who.practice_id, id);
  if (!row.ok()) {
    if (row.status().code() == Code::kNotFound) {
      return ReplyMissingPatient(call, "patient.update", id, NotFound("no such patient"));
    }
    return ReplyError(call, row.status());
  }
  if (!ChargeOne(call, "patient.update", id, row->canary, groups)) return;
  p->id = id;
  Result<vault::Patient> updated = services_.patients.Update(call->who.practice_id, std::move(*p));
  if (!updated.ok()) return ReplyError(call, updated.status());
  AccessRecord rec = Record(*call, "patient.update", "Patient");
  rec.patient_ids = {id};
  rec.field_groups = groups;
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(PatientToFhir(*updated, groups));
  ReplyAudited(call, std::move(rec), std::move(r));
}

void Api::PatientDelete(const std::shared_ptr<Call>& call, const std::string& id) {
  if (call->who.role != Role::kPractitioner) {
    return ReplyError(call, Forbidden("only a practitioner may delete a patient"));
  }
  if (!Admit(call, "patient.shred")) return;
  Result<store::PatientRow> row = services_.data.GetPatient(call->who.practice_id, id);
  if (!row.ok()) {
    if (row.status().code() == Code::kNotFound) {
      return ReplyMissingPatient(call, "patient.shred", id, NotFound("no such patient"));
    }
    return ReplyError(call, row.status());
  }
  if (!ChargeOne(call, "patient.shred", id, row->canary, 0)) return;
  Status s = services_.patients.Shred(call->who.practice_id, id);
  if (!s.ok()) return ReplyError(call, s);
  AccessRecord rec = Record(*call, "patient.shred", "Patient");
  rec.patient_ids = {id};
  Response r;
  r.status = 204;
  ReplyAudited(call, std::move(rec), std::move(r));
}

namespace {

// The opaque paging cursor: "<seq>.<page index>".
bool ParseCursor(const std::string& text, int64_t* seq, int64_t* page) {
  const size_t dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) return false;
  try {
    size_t used = 0;
    *seq = std::stoll(text.substr(0, dot), &used);
    if (used != dot) return false;
    *page = std::stoll(text.substr(dot + 1), &used);
    if (used != text.size() - dot - 1) return false;
  } catch (const std::exception&) {
    return false;
  }
  return *seq >= 0 && *page >= 0;
}

}  // namespace

void Api::PatientSearch(const std::shared_ptr<Call>& call) {
  const FieldGroupMask groups =
      PatientGroupsFor(call->who.role) & static_cast<FieldGroupMask>(~MaskOf(FieldGroup::kNotes));
  if (groups == 0) return ReplyError(call, Forbidden("this role may not access patient data"));
  vault::PatientQuery query;
  size_t count = kDefaultCount;
  int64_t after = 0;
  for (const auto& [key, value] : call->params) {
    if (key == "family") {
      query.family = value;
    } else if (key == "given") {
      query.given = value;
    } else if (key == "birthdate") {
      Result<Date> d = ParseDate(value);
      if (!d.ok()) return ReplyError(call, InvalidArgument("birthdate: " + d.status().message()));
      query.birth_date = *d;
    } else if (key == "identifier") {
      const size_t bar = value.find('|');
      const std::string system = bar == std::string::npos ? "" : value.substr(0, bar);
      if (bar == std::string::npos ||
          (system != vault::kInsNirSystem && system != vault::kInsNiaSystem)) {
        return ReplyError(call, InvalidArgument("identifier: must be " +
                                                std::string(vault::kInsNirSystem) + "|NIR"));
      }
      query.nir = vault::CanonicalNir(value.substr(bar + 1));
      if (query.nir.empty()) return ReplyError(call, InvalidArgument("identifier: empty value"));
    } else if (key == "_count") {
      size_t used = 0;
      long long n = 0;
      try {
        n = std::stoll(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || value.empty() || n < 1) {
        return ReplyError(call, InvalidArgument("_count: must be a positive integer"));
      }
      count = static_cast<size_t>(std::min<long long>(n, kMaxCount));
    } else if (key == "_cursor") {
      if (!ParseCursor(value, &after, &call->page_depth)) {
        return ReplyError(call, InvalidArgument("_cursor: invalid"));
      }
      // The page index is the client's word; a cursor past the first row is never the first
      // page, whatever it says (the canary rule exempts the first page only).
      if (after > 0 && call->page_depth == 0) call->page_depth = 1;
    } else {
      return ReplyError(call, InvalidArgument(SafeMemberName(key) + ": unknown search parameter"));
    }
  }
  const bool listing = query.empty();
  if (!listing) {
    call->search_params = static_cast<uint8_t>(
        (query.family.empty() ? 0 : kSearchFamily) | (query.given.empty() ? 0 : kSearchGiven) |
        (query.birth_date ? kSearchBirthDate : 0) | (query.nir.empty() ? 0 : kSearchIdentifier));
    std::string shape = FoldForSearch(query.family);
    shape += '\0';
    shape += FoldForSearch(query.given);
    shape += '\0';
    if (query.birth_date) shape += FormatDate(*query.birth_date);
    shape += '\0';
    shape += query.nir;
    uint8_t digest[16];
    crypto::KeyedBlake2b(query_key_, AsBytes(shape), digest);
    for (size_t i = 0; i < 8; ++i) call->query_hash = (call->query_hash << 8) | digest[i];
    if (call->query_hash == 0) call->query_hash = 1;
  }
  const std::string action = listing ? "patient.list" : "patient.search";
  if (!Admit(call, action)) return;
  Result<vault::PatientPage> page =
      listing ? services_.patients.List(call->who.practice_id, after, count, groups)
              : services_.patients.Search(call->who.practice_id, query, after, count, groups);
  if (!page.ok()) return ReplyError(call, page.status());
  std::vector<std::string> ids;
  ids.reserve(page->patients.size());
  for (const vault::Patient& p : page->patients) ids.push_back(p.id);
  if (!Charge(call, action, ids, page->canary, groups)) return;

  json entries = json::array();
  for (const vault::Patient& p : page->patients) {
    entries.push_back({{"fullUrl", "/fhir/Patient/" + p.id}, {"resource", PatientToFhir(p, groups)},
                       {"search", {{"mode", "match"}}}});
  }
  std::string base = "/fhir/Patient?";
  for (const auto& [key, value] : call->params) {
    if (key == "_cursor" || key == "_count") continue;
    base += PercentEncode(key) + "=" + PercentEncode(value) + "&";
  }
  base += "_count=" + std::to_string(count);
  std::string next;
  if (page->next_cursor) {
    next = base + "&_cursor=" + std::to_string(*page->next_cursor) + "." +
           std::to_string(call->page_depth + 1);
  }
  AccessRecord rec = Record(*call, action, "Patient");
  rec.patient_ids = std::move(ids);
  rec.field_groups = rec.patient_ids.empty() ? 0 : groups;
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(SearchBundle(std::move(entries), call->req.target, next));
  ReplyAudited(call, std::move(rec), std::move(r));
}

// --- Appointments ----------------------------------------------------------------------------

void Api::AppointmentCreate(const std::shared_ptr<Call>& call) {
  if (PatientGroupsFor(call->who.role) == 0) {
    return ReplyError(call, Forbidden("this role may not access patient data"));
  }
  Result<json> body = ParseBody(call->req.body);
  if (!body.ok()) return ReplyError(call, body.status());
  Result<AppointmentInput> in = AppointmentFromFhir(*body);
  if (!in.ok()) return ReplyError(call, in.status());
  if (!Admit(call, "appointment.create")) return;
  Result<store::PatientRow> patient = services_.data.GetPatient(call->who.practice_id, in->patient_id);
  if (!patient.ok()) {
    if (patient.status().code() == Code::kNotFound) {
      return ReplyMissingPatient(call, "appointment.create", in->patient_id,
                                 NotFound("participant: no such patient"));
    }
    return ReplyError(call, patient.status());
  }
  Result<store::UserRow> practitioner = services_.data.GetUserByLogin(in->practitioner_login);
  if (!practitioner.ok() || practitioner->practice_id != call->who.practice_id ||
      practitioner->role != Role::kPractitioner) {
    return ReplyError(call, InvalidArgument("participant: no such practitioner in the practice"));
  }
  call->appointment_practitioner = in->practitioner_login;
  call->appointment_start = in->start;
  if (!ChargeOne(call, "appointment.create", in->patient_id, patient->canary, 0)) return;
  store::AppointmentRow row;
  row.id = NewId(services_.random);
  row.practice_id = call->who.practice_id;
  row.patient_id = in->patient_id;
  row.practitioner_login = in->practitioner_login;
  row.status = in->status;
  row.start = in->start;
  row.end = in->end;
  row.created_by = call->who.login;
  row.created = services_.clock.Now();
  Status s = services_.data.CreateAppointment(row);
  if (!s.ok()) return ReplyError(call, s);
  AccessRecord rec = Record(*call, "appointment.create", "Appointment");
  rec.patient_ids = {row.patient_id};
  Response r;
  r.status = 201;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(AppointmentToFhir(row));
  r.headers.emplace_back("Location", "/fhir/Appointment/" + row.id);
  ReplyAudited(call, std::move(rec), std::move(r));
}

void Api::AppointmentSearch(const std::shared_ptr<Call>& call) {
  if (PatientGroupsFor(call->who.role) == 0) {
    return ReplyError(call, Forbidden("this role may not access patient data"));
  }
  const std::string* date = call->Param("date");
  if (date == nullptr) return ReplyError(call, InvalidArgument("date: required"));
  Result<Date> day = ParseDate(*date);
  if (!day.ok()) return ReplyError(call, InvalidArgument("date: " + day.status().message()));
  {
    uint8_t digest[16];
    crypto::KeyedBlake2b(query_key_, AsBytes("appointment:" + *date), digest);
    for (size_t i = 0; i < 8; ++i) call->query_hash = (call->query_hash << 8) | digest[i];
    if (call->query_hash == 0) call->query_hash = 1;
  }
  if (!Admit(call, "appointment.search")) return;
  const UnixMicros from = DaysFromCivil(*day) * kMicrosPerDay;
  Result<std::vector<store::AppointmentRow>> rows =
      services_.data.ListAppointments(call->who.practice_id, from, from + kMicrosPerDay);
  if (!rows.ok()) return ReplyError(call, rows.status());
  json entries = json::array();
  AccessRecord rec = Record(*call, "appointment.search", "Appointment");
  for (const store::AppointmentRow& row : *rows) {
    // medvault books no canary; one booked anyway (in shadow mode the guard only logs) stays
    // out of the agenda, so that nobody opens it from there (docs/canaries.md).
    if (services_.patients.IsCanary(call->who.practice_id, row.patient_id)) continue;
    entries.push_back({{"fullUrl", "/fhir/Appointment/" + row.id},
                       {"resource", AppointmentToFhir(row)}});
    rec.patient_ids.push_back(row.patient_id);
  }
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(SearchBundle(std::move(entries), call->req.target, ""));
  ReplyAudited(call, std::move(rec), std::move(r));
}

// --- Notes -----------------------------------------------------------------------------------

void Api::NoteCreate(const std::shared_ptr<Call>& call) {
  if (call->who.role != Role::kPractitioner) {
    return ReplyError(call, Forbidden("only practitioners write notes"));
  }
  Result<json> body = ParseBody(call->req.body);
  if (!body.ok()) return ReplyError(call, body.status());
  Result<NoteInput> in = DocumentReferenceFromFhir(*body);
  if (!in.ok()) return ReplyError(call, in.status());
  if (!Admit(call, "note.create")) return;
  Result<store::PatientRow> subject = services_.data.GetPatient(call->who.practice_id, in->patient_id);
  if (!subject.ok()) {
    if (subject.status().code() == Code::kNotFound) {
      return ReplyMissingPatient(call, "note.create", in->patient_id,
                                 NotFound("subject.reference: no such patient"));
    }
    return ReplyError(call, subject.status());
  }
  if (!ChargeOne(call, "note.create", in->patient_id, subject->canary, MaskOf(FieldGroup::kNotes))) {
    return;
  }
  // Classifying takes milliseconds, and waits for the classifier while it is still loading:
  // never on an io thread.
  workers_.Submit([this, call, in = std::move(*in)]() mutable {
    const Classification cls = services_.classifier.Classify(in.text);
    vault::Note note;
    note.patient_id = std::move(in.patient_id);
    note.author_login = call->who.login;
    note.text = std::move(in.text);
    for (const std::string& c : cls.categories) note.category_mask |= CategoryBit(c);
    for (const std::string& q : cls.qualifiers) note.qualifier_mask |= QualifierBit(q);
    Result<vault::Note> created = services_.notes.Create(call->who.practice_id, std::move(note));
    if (!created.ok()) {
      if (created.status().code() == Code::kNotFound) {
        return ReplyError(call, NotFound("subject.reference: no such patient"));
      }
      return ReplyError(call, created.status());
    }
    AccessRecord rec = Record(*call, "note.create", "DocumentReference");
    rec.patient_ids = {created->patient_id};
    rec.field_groups = MaskOf(FieldGroup::kNotes);
    rec.note_categories = created->category_mask;
    Response r;
    r.status = 201;
    r.content_type = std::string(kFhirJson);
    r.body = Dump(DocumentReferenceToFhir(*created, &cls.spans));
    r.headers.emplace_back("Location", "/fhir/DocumentReference/" + created->id);
    ReplyAudited(call, std::move(rec), std::move(r));
  });
}

void Api::NoteSearch(const std::shared_ptr<Call>& call) {
  if (call->who.role != Role::kPractitioner) {
    return ReplyError(call, Forbidden("only practitioners read notes"));
  }
  const std::string* ref = call->Param("patient");
  if (ref == nullptr) return ReplyError(call, InvalidArgument("patient: required"));
  std::string id = PatientIdFromReference(*ref);
  if (id.empty() && IsWellFormedId(*ref)) id = *ref;
  if (id.empty()) return ReplyError(call, InvalidArgument("patient: must be Patient/{id}"));
  const std::string action = call->break_glass ? "breakglass" : "note.read";
  if (!Admit(call, action)) return;
  Result<std::vector<vault::Note>> found = services_.notes.List(call->who.practice_id, id);
  if (!found.ok()) return ReplyError(call, found.status());
  const bool canary = services_.patients.IsCanary(call->who.practice_id, id);
  if (!Charge(call, action, {id}, {canary}, MaskOf(FieldGroup::kNotes))) return;
  AccessRecord rec = Record(*call, action, "DocumentReference");
  rec.patient_ids = {id};
  json entries = json::array();
  for (const vault::Note& n : *found) {
    // Restricted notes are listed without their text; their labels are shown, hence logged.
    entries.push_back({{"fullUrl", "/fhir/DocumentReference/" + n.id},
                       {"resource", ListedDocumentReference(n)}});
    rec.note_categories |= n.category_mask;
  }
  rec.field_groups = found->empty() ? 0 : MaskOf(FieldGroup::kNotes);
  if (call->break_glass) {
    LogLine("ALERT breakglass login=" + call->who.login + " practice=" + call->who.practice_id +
            " patient=" + id + " request=" + call->request_id);
  }
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(SearchBundle(std::move(entries), call->req.target, ""));
  ReplyAudited(call, std::move(rec), std::move(r));
}

void Api::NoteRead(const std::shared_ptr<Call>& call, const std::string& id) {
  if (call->who.role != Role::kPractitioner) {
    return ReplyError(call, Forbidden("only practitioners read notes"));
  }
  const std::string action = call->break_glass ? "breakglass" : "note.read";
  if (!Admit(call, action)) return;
  Result<vault::Note> note = services_.notes.Get(call->who.practice_id, id);
  if (!note.ok()) {
    if (note.status().code() == Code::kNotFound) return ReplyError(call, NotFound("no such note"));
    return ReplyError(call, note.status());
  }
  const bool canary = services_.patients.IsCanary(call->who.practice_id, note->patient_id);
  if (!Charge(call, action, {note->patient_id}, {canary}, MaskOf(FieldGroup::kNotes))) return;
  AccessRecord rec = Record(*call, action, "DocumentReference");
  rec.patient_ids = {note->patient_id};
  rec.field_groups = MaskOf(FieldGroup::kNotes);
  rec.note_categories = note->category_mask;
  if (call->break_glass) {
    rec.detail = "reason_bytes=" + std::to_string(call->req.break_glass_reason.size());
    LogLine("ALERT breakglass login=" + call->who.login + " practice=" + call->who.practice_id +
            " patient=" + note->patient_id + " request=" + call->request_id);
  }
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(DocumentReferenceToFhir(*note, nullptr));
  ReplyAudited(call, std::move(rec), std::move(r));
}

// --- Audit events and the public log ---------------------------------------------------------

void Api::AuditEvents(const std::shared_ptr<Call>& call) {
  if (call->who.role == Role::kSecretary) {
    return ReplyError(call, Forbidden("this role may not read access records"));
  }
  const std::string* ref = call->Param("patient");
  if (ref == nullptr) return ReplyError(call, InvalidArgument("patient: required"));
  std::string id = PatientIdFromReference(*ref);
  if (id.empty() && IsWellFormedId(*ref)) id = *ref;
  if (id.empty()) return ReplyError(call, InvalidArgument("patient: must be Patient/{id}"));
  if (call->who.role != Role::kSecurity) {
    Result<store::PatientRow> row = services_.data.GetPatient(call->who.practice_id, id);
    if (!row.ok()) return ReplyError(call, row.status());
  }
  Result<std::vector<AccessEventView>> events =
      services_.audit_query.ForPatient(call->who.practice_id, id);
  if (!events.ok()) return ReplyError(call, events.status());
  json entries = json::array();
  for (const AccessEventView& v : *events) entries.push_back({{"resource", AuditEventToFhir(v, id)}});
  AccessRecord rec = Record(*call, "auditevent.read", "AuditEvent");
  rec.patient_ids = {id};
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump(SearchBundle(std::move(entries), call->req.target, ""));
  ReplyAudited(call, std::move(rec), std::move(r));
}

// Simulated time (ServerConfig::debug_clock): {"set": ISO 8601} or {"advance_seconds": N}; the
// clock never goes back, since the access log's times and every window assume it does not.
void Api::DebugClock(const std::shared_ptr<Call>& call) {
  const std::string& ip = call->req.source_ip;
  const bool loopback = ip.rfind("127.", 0) == 0 || ip == "::1" || ip.rfind("::ffff:127.", 0) == 0;
  if (!loopback) return ReplyError(call, Forbidden("the simulated clock answers loopback clients only"));
  if (call->req.method != "POST") {
    Response r;
    r.status = 405;
    r.content_type = std::string(kFhirJson);
    r.body = OutcomeBody("not-supported", "method not allowed");
    return Send(call, std::move(r));
  }
  json body = json::parse(call->req.body, nullptr, false);
  if (!body.is_object()) return ReplyError(call, InvalidArgument("body: expected a JSON object"));
  FakeClock& clock = *config_.debug_clock;
  const UnixMicros now = clock.Now();
  UnixMicros target = now;
  if (auto it = body.find("set"); it != body.end()) {
    if (!it->is_string()) return ReplyError(call, InvalidArgument("set: expected a string"));
    Result<UnixMicros> t = ParseIsoTime(it->get<std::string>());
    if (!t.ok()) return ReplyError(call, InvalidArgument("set: " + t.status().message()));
    target = *t;
  } else if (auto adv = body.find("advance_seconds"); adv != body.end()) {
    if (!adv->is_number_integer() || adv->get<int64_t>() < 0 ||
        adv->get<int64_t>() > int64_t{366} * 86400 * 100) {
      return ReplyError(call, InvalidArgument("advance_seconds: expected a non-negative integer"));
    }
    target = now + adv->get<int64_t>() * 1'000'000;
  } else {
    return ReplyError(call, InvalidArgument("body: expected \"set\" or \"advance_seconds\""));
  }
  if (target < now) return ReplyError(call, InvalidArgument("set: before the current simulated time"));
  // Concurrent requests may have read `now` meanwhile; moving forward only keeps it monotone.
  UnixMicros seen = clock.Now();
  while (seen < target) {
    clock.Set(target);
    seen = clock.Now();
  }
  json out = {{"now", FormatIsoTime(clock.Now())}, {"micros", clock.Now()}};
  ReplyJson(call, 200, out.dump());
}

// --- The patient access view (docs/patient-access.md) -----------------------------------------

void Api::AccessCodeIssue(const std::shared_ptr<Call>& call, const std::string& id) {
  if (call->who.role != Role::kPractitioner && call->who.role != Role::kSecretary) {
    return ReplyError(call, Forbidden("only practitioners and secretaries issue access codes"));
  }
  const std::string action = "patient.access_code";
  if (!Admit(call, action)) return;
  Result<store::PatientRow> row = services_.data.GetPatient(call->who.practice_id, id);
  if (!row.ok()) {
    if (row.status().code() == Code::kNotFound) {
      return ReplyMissingPatient(call, action, id, NotFound("no such patient"));
    }
    return ReplyError(call, row.status());
  }
  if (!ChargeOne(call, action, id, row->canary, 0)) return;
  Result<IssuedAccessCode> issued =
      access_codes_.Issue(call->who.practice_id, id, call->who.login, services_.clock.Now());
  if (!issued.ok()) return ReplyError(call, issued.status());
  AccessRecord rec = Record(*call, action, "Patient");
  rec.patient_ids = {id};
  Response r;
  r.status = 201;
  r.content_type = std::string(kJson);
  r.body = Dump({{"code", issued->code}, {"expires_at", FormatIsoTime(issued->expires)}});
  ReplyAudited(call, std::move(rec), std::move(r));
}

void Api::PatientAccess(const std::shared_ptr<Call>& call) {
  if (!IsJsonType(call->req.content_type)) return Send(call, UnsupportedMediaType());
  if (Status source = auth_.CheckSource(call->req.source_ip, services_.clock.Now());
      !source.ok()) {
    return ReplyError(call, source);
  }
  json body = json::parse(call->req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return ReplyError(call, InvalidArgument("body: must be a JSON object"));
  }
  auto it = body.find("code");
  if (it == body.end() || !it->is_string()) {
    return ReplyError(call, InvalidArgument("code: required string"));
  }
  const UnixMicros now = services_.clock.Now();
  Result<store::AccessCodeRow> code =
      access_codes_.Redeem(it->get<std::string>(), call->req.source_ip, now);
  if (!code.ok()) {
    const Status failure = code.status();
    // The practice (and so the audit key) of a wrong code is unknown: a vault-wide leaf.
    AccessRecord rec = Record(*call, "patient.access_view.fail", "");
    rec.outcome = failure.code();
    rec.guard_decision = "";
    LogLine("patient_access.fail source=" + call->req.source_ip + " reason=" +
            std::string(CodeName(failure.code())) + " request=" + call->request_id);
    return services_.audit.Record(std::move(rec), [this, call, failure](Status) {
      ReplyError(call, failure);
    });
  }
  Result<std::vector<AccessEventView>> events =
      services_.audit_query.ForPatient(code->practice_id, code->patient_id);
  if (!events.ok()) return ReplyError(call, events.status());
  // Who is shown by display name and role, never by login; looked up once per login.
  std::map<std::string, std::string> names;
  json entries = json::array();
  for (const AccessEventView& v : *events) {
    std::string who;
    if (!v.login.empty()) {
      auto [pos, inserted] = names.try_emplace(v.login);
      if (inserted) {
        Result<store::UserRow> user = services_.data.GetUserByLogin(v.login);
        pos->second = user.ok() && user->practice_id == code->practice_id
                          ? user->display_name
                          : std::string("a former user of the practice");
      }
      who = pos->second;
    }
    entries.push_back({{"resource", PatientAccessEventToFhir(v, who)}});
  }
  AccessRecord rec = Record(*call, "patient.access_view", "AuditEvent");
  rec.practice_id = code->practice_id;
  rec.patient_ids = {code->patient_id};
  rec.guard_decision = "";
  LogLine("patient_access.ok practice=" + code->practice_id + " source=" + call->req.source_ip +
          " request=" + call->request_id);
  Response r;
  r.content_type = std::string(kFhirJson);
  r.body = Dump({{"resourceType", "Bundle"},
                 {"type", "collection"},
                 {"total", entries.size()},
                 {"entry", std::move(entries)}});
  ReplyAudited(call, std::move(rec), std::move(r));
}

void Api::LogRoute(const std::shared_ptr<Call>& call, const std::string& path) {
  if (!services_.log) return ReplyError(call, NotFound("no access log is served here"));
  Result<LogResponse> out = services_.log(path);
  if (!out.ok()) return ReplyError(call, out.status());
  Response r;
  r.content_type = out->content_type;
  r.body = std::move(out->body);
  Send(call, std::move(r));
}

}  // namespace medvault::api
