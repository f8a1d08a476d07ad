#include "guard/explainer.h"

#include "guard/window.h"

namespace medvault::guard {

uint64_t LoginHash(std::string_view login) {
  const uint64_t h = Hash64(login.data(), login.size());
  return h == 0 ? 1 : h;
}

namespace {
std::string Key(std::string_view practice_id, std::string_view patient_id) {
  std::string k;
  k.reserve(practice_id.size() + 1 + patient_id.size());
  k.append(practice_id).append("/").append(patient_id);
  return k;
}
}  // namespace

void MemoryExplainer::Facts(std::string_view practice_id, std::string_view patient_id,
                            UnixMicros now, PatientFacts* out) {
  (void)now;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = facts_.find(Key(practice_id, patient_id));
  if (it == facts_.end()) {
    out->appointments.clear();
    out->notes.clear();
    return;
  }
  *out = it->second;
}

void MemoryExplainer::LearnAppointment(std::string_view practice_id, std::string_view patient_id,
                                       const AppointmentFact& fact) {
  std::lock_guard<std::mutex> lock(mu_);
  facts_[Key(practice_id, patient_id)].appointments.push_back(fact);
}

void MemoryExplainer::LearnNote(std::string_view practice_id, std::string_view patient_id,
                                const NoteFact& fact) {
  std::lock_guard<std::mutex> lock(mu_);
  facts_[Key(practice_id, patient_id)].notes.push_back(fact);
}

}  // namespace medvault::guard
