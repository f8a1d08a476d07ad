#pragma once
// Prometheus counters of the API: requests by route and status, a latency histogram, logins and
// refusals. Lock-free (relaxed atomics). Thread-safety: thread-safe.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace medvault::api {

enum class Route : uint8_t {
  kHealth, kMetrics, kLogin, kLogout, kStepUp, kPatientCreate, kPatientRead, kPatientUpdate,
  kPatientDelete, kPatientSearch, kAppointmentCreate, kAppointmentSearch, kNoteCreate,
  kNoteSearch, kNoteRead, kAuditEvent, kAccessCodeIssue, kPatientAccess, kLog, kOther,
};
inline constexpr size_t kRouteCount = 20;
std::string_view RouteName(Route r);

class Metrics {
 public:
  void CountRequest(Route route, int status, int64_t latency_micros);
  void CountLogin(bool ok) { (ok ? logins_ok_ : logins_failed_).fetch_add(1, kRelaxed); }
  std::string Render() const;

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
  static constexpr std::array<int, 17> kStatuses = {200, 201, 204, 400, 401, 403, 404, 409, 413,
                                                    415, 423, 429, 431, 500, 503, 405, 0};
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.02,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};
  std::array<std::array<std::atomic<uint64_t>, kStatuses.size()>, kRouteCount> requests_{};
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> latency_{};
  std::atomic<uint64_t> latency_sum_micros_{0};
  std::atomic<uint64_t> logins_ok_{0};
  std::atomic<uint64_t> logins_failed_{0};
  std::atomic<uint64_t> refusals_{0};
};

}  // namespace medvault::api
