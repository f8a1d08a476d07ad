#pragma once
// What may explain an account's access to a patient: the patient's appointments and notes, with
// who they are with, who wrote or booked them and when. The composition root backs this with the
// DataStore (cached); tests use MemoryExplainer.
// Thread-safety: implementations are thread-safe.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace medvault::guard {

// Logins appear as 64-bit hashes (LoginHash), so facts hold no string.
uint64_t LoginHash(std::string_view login);

struct AppointmentFact {
  uint64_t practitioner = 0;
  uint64_t created_by = 0;
  UnixMicros start = 0;
  UnixMicros created = 0;
};

struct NoteFact {
  uint64_t author = 0;
  UnixMicros created = 0;
};

struct PatientFacts {
  std::vector<AppointmentFact> appointments;
  std::vector<NoteFact> notes;
};

class Explainer {
 public:
  virtual ~Explainer() = default;
  // The facts known about the patient of the practice (none if unknown). `now` lets a cache
  // decide whether its copy is fresh enough.
  virtual void Facts(std::string_view practice_id, std::string_view patient_id, UnixMicros now,
                     PatientFacts* out) = 0;
  // An appointment or note was just created: a cache must not miss it.
  virtual void LearnAppointment(std::string_view practice_id, std::string_view patient_id,
                                const AppointmentFact& fact) = 0;
  virtual void LearnNote(std::string_view practice_id, std::string_view patient_id,
                         const NoteFact& fact) = 0;
};

// Facts kept in memory only: for tests, benchmarks and as the guard's default.
class MemoryExplainer final : public Explainer {
 public:
  void Facts(std::string_view practice_id, std::string_view patient_id, UnixMicros now,
             PatientFacts* out) override;
  void LearnAppointment(std::string_view practice_id, std::string_view patient_id,
                        const AppointmentFact& fact) override;
  void LearnNote(std::string_view practice_id, std::string_view patient_id,
                 const NoteFact& fact) override;

 private:
  std::mutex mu_;
  std::unordered_map<std::string, PatientFacts> facts_;  // GUARDED_BY(mu_); key practice/patient
};

}  // namespace medvault::guard
