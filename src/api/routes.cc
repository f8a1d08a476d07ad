#include "api/routes.h"

#include <array>

namespace medvault::api {
namespace {

struct MethodRoute {
  std::string_view method;
  Route route;
};

struct PathRoutes {
  std::string_view path;
  bool prefix;  // matches every path starting with `path`
  std::array<MethodRoute, 3> methods;
};

constexpr MethodRoute kNone{"", Route::kOther};

constexpr std::array<PathRoutes, 13> kRoutes = {{
    {"/health", false, {{{"GET", Route::kHealth}, {"HEAD", Route::kHealth}, kNone}}},
    {"/metrics", false, {{{"GET", Route::kMetrics}, kNone, kNone}}},
    {"/log/", true, {{{"GET", Route::kLog}, kNone, kNone}}},
    {"/auth/login", false, {{{"POST", Route::kLogin}, kNone, kNone}}},
    {"/auth/logout", false, {{{"POST", Route::kLogout}, kNone, kNone}}},
    {"/auth/step-up", false, {{{"POST", Route::kStepUp}, kNone, kNone}}},
    {"/patient-access", false, {{{"POST", Route::kPatientAccess}, kNone, kNone}}},
    {"/fhir/Patient", false,
     {{{"GET", Route::kPatientSearch}, {"POST", Route::kPatientCreate}, kNone}}},
    {"/fhir/Patient/", true,
     {{{"GET", Route::kPatientRead}, {"PUT", Route::kPatientUpdate},
       {"DELETE", Route::kPatientDelete}}}},
    {"/fhir/Appointment", false,
     {{{"GET", Route::kAppointmentSearch}, {"POST", Route::kAppointmentCreate}, kNone}}},
    {"/fhir/DocumentReference", false,
     {{{"GET", Route::kNoteSearch}, {"POST", Route::kNoteCreate}, kNone}}},
    {"/fhir/DocumentReference/", true, {{{"GET", Route::kNoteRead}, kNone, kNone}}},
    {"/fhir/AuditEvent", false, {{{"GET", Route::kAuditEvent}, kNone, kNone}}},
}};

bool IsTokenChar(char c) {
  // token68 (RFC 7235): ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding.
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

}  // namespace

RouteMatch MatchRoute(std::string_view method, std::string_view path) {
  RouteMatch out;
  constexpr std::string_view kPatientPrefix = "/fhir/Patient/";
  constexpr std::string_view kAccessCodeSuffix = "/$access-code";
  if (path.size() > kPatientPrefix.size() + kAccessCodeSuffix.size() &&
      path.starts_with(kPatientPrefix) && path.ends_with(kAccessCodeSuffix)) {
    out.found = true;
    out.route = Route::kAccessCodeIssue;
    out.method_allowed = method == "POST";
    out.id = path.substr(kPatientPrefix.size(),
                         path.size() - kPatientPrefix.size() - kAccessCodeSuffix.size());
    return out;
  }
  for (const PathRoutes& entry : kRoutes) {
    const bool matches = entry.prefix ? path.size() > entry.path.size() &&
                                            path.substr(0, entry.path.size()) == entry.path
                                      : path == entry.path;
    if (!matches) continue;
    out.found = true;
    out.route = entry.methods[0].route;
    if (entry.prefix && (entry.path == "/fhir/Patient/" || entry.path == "/fhir/DocumentReference/")) {
      out.id = path.substr(entry.path.size());
    }
    for (const MethodRoute& m : entry.methods) {
      if (!m.method.empty() && m.method == method) {
        out.route = m.route;
        out.method_allowed = true;
        break;
      }
    }
    return out;
  }
  return out;
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ') return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  for (char c : token) {
    if (!IsTokenChar(c)) return {};
  }
  return token;
}

}  // namespace medvault::api
