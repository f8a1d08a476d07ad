#include "api/metrics.h"

#include <cstdio>

namespace medvault::api {

std::string_view RouteName(Route r) {
  switch (r) {
    case Route::kHealth: return "/health";
    case Route::kMetrics: return "/metrics";
    case Route::kLogin: return "/auth/login";
    case Route::kLogout: return "/auth/logout";
    case Route::kStepUp: return "/auth/step-up";
    case Route::kPatientCreate: return "POST /fhir/Patient";
    case Route::kPatientRead: return "GET /fhir/Patient/{id}";
    case Route::kPatientUpdate: return "PUT /fhir/Patient/{id}";
    case Route::kPatientDelete: return "DELETE /fhir/Patient/{id}";
    case Route::kPatientSearch: return "GET /fhir/Patient";
    case Route::kAppointmentCreate: return "POST /fhir/Appointment";
    case Route::kAppointmentSearch: return "GET /fhir/Appointment";
    case Route::kNoteCreate: return "POST /fhir/DocumentReference";
    case Route::kNoteSearch: return "GET /fhir/DocumentReference";
    case Route::kNoteRead: return "GET /fhir/DocumentReference/{id}";
    case Route::kAuditEvent: return "GET /fhir/AuditEvent";
    case Route::kAccessCodeIssue: return "POST /fhir/Patient/{id}/$access-code";
    case Route::kPatientAccess: return "POST /patient-access";
    case Route::kLog: return "/log";
    case Route::kOther: return "other";
  }
  return "other";
}

void Metrics::CountRequest(Route route, int status, int64_t latency_micros) {
  size_t si = kStatuses.size() - 1;
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) {
      si = i;
      break;
    }
  }
  requests_[static_cast<size_t>(route)][si].fetch_add(1, kRelaxed);
  if (status == 403 || status == 423 || status == 429) refusals_.fetch_add(1, kRelaxed);
  const double seconds = static_cast<double>(latency_micros) / 1e6;
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  latency_[b].fetch_add(1, kRelaxed);
  latency_sum_micros_.fetch_add(static_cast<uint64_t>(latency_micros < 0 ? 0 : latency_micros),
                                kRelaxed);
}

std::string Metrics::Render() const {
  std::string out;
  char line[256];
  out += "# TYPE medvault_http_requests_total counter\n";
  for (size_t r = 0; r < kRouteCount; ++r) {
    for (size_t s = 0; s < kStatuses.size(); ++s) {
      const uint64_t n = requests_[r][s].load(kRelaxed);
      if (n == 0) continue;
      const std::string_view name = RouteName(static_cast<Route>(r));
      std::snprintf(line, sizeof line,
                    "medvault_http_requests_total{route=\"%.*s\",status=\"%d\"} %llu\n",
                    static_cast<int>(name.size()), name.data(), kStatuses[s],
                    static_cast<unsigned long long>(n));
      out += line;
    }
  }
  out += "# TYPE medvault_http_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += latency_[b].load(kRelaxed);
    if (b < kBuckets.size()) {
      std::snprintf(line, sizeof line,
                    "medvault_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    kBuckets[b], static_cast<unsigned long long>(cumulative));
    } else {
      std::snprintf(line, sizeof line,
                    "medvault_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                    static_cast<unsigned long long>(cumulative));
    }
    out += line;
  }
  std::snprintf(line, sizeof line, "medvault_http_request_duration_seconds_sum %.6f\n",
                static_cast<double>(latency_sum_micros_.load(kRelaxed)) / 1e6);
  out += line;
  std::snprintf(line, sizeof line, "medvault_http_request_duration_seconds_count %llu\n",
                static_cast<unsigned long long>(cumulative));
  out += line;
  std::snprintf(line, sizeof line,
                "# TYPE medvault_logins_total counter\n"
                "medvault_logins_total{result=\"ok\"} %llu\n"
                "medvault_logins_total{result=\"failed\"} %llu\n"
                "# TYPE medvault_refusals_total counter\nmedvault_refusals_total %llu\n",
                static_cast<unsigned long long>(logins_ok_.load(kRelaxed)),
                static_cast<unsigned long long>(logins_failed_.load(kRelaxed)),
                static_cast<unsigned long long>(refusals_.load(kRelaxed)));
  out += line;
  return out;
}

}  // namespace medvault::api
