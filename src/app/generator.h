#pragma once
// Synthetic French practices for demos, tests and benchmarks: patients with plausible names,
// birth dates, INSEE birthplaces, NIRs whose keys are valid, addresses, phones, e-mails and
// régimes; notes of which about 1 % carry a sensitive category; appointments. Deterministic for a
// seed. Word lists are data/synthetic/*.txt (embedded at build time), with their provenance.
// Never real people: names and numbers are drawn independently.
// Thread-safety: not thread-safe (one generator per thread).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "vault/patient.h"

namespace medvault::app {

struct SyntheticNote {
  std::string text;
  bool sensitive = false;
};

class Generator {
 public:
  explicit Generator(uint64_t seed);

  vault::Patient NextPatient();
  // About `sensitive_per_mille` notes in 1,000 are drawn from the sensitive templates.
  SyntheticNote NextNote(int sensitive_per_mille = 10);
  std::string NextPracticeName();
  // Consultation start times of one patient over the `years` before `until`: on average four a
  // year (none for some, many for the chronically ill), weekdays, 20-minute slots 08:00–19:00 UTC.
  std::vector<UnixMicros> NextVisits(UnixMicros until, int years);
  const std::vector<std::string>& family_names() const { return family_; }

 private:
  struct Commune {
    std::string insee;
    std::string postal_code;
    std::string name;
  };
  const std::string& Pick(const std::vector<std::string>& v);
  std::string Nir(char sex, const Date& birth, const std::string& insee, uint64_t order);

  SeededRandom random_;
  std::vector<std::string> family_, female_, male_, streets_;
  std::vector<Commune> communes_;
  std::vector<std::string> plain_notes_, sensitive_notes_;
  uint64_t counter_ = 0;
  std::unordered_map<std::string, uint64_t> next_slot_;  // per sex + birth year and month
};

}  // namespace medvault::app
