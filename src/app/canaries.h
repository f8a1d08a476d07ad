#pragma once
// Canary patients of the guard (docs/canaries.md): per practice, rows flagged `canary` that
// medvault creates and keeps up itself, drawn from the same synthetic distributions as the demo's
// patients (app/generator.h) and sealed, keyed and indexed like real ones.
//
// Placement, with K = [guard] canary_spacing: in the practice's list order, and in the
// subsequence of rows of each folded family name and of each birth date, no run of real rows
// between two canaries (or before the first, or after the last) is longer than K - 1. The keeper
// keeps it as real patients are appended: right after the real row that brings a run to K - 1,
// it asks for a canary that ends that run (of the same family, or of the same birth date, or any
// for the list), in the same transaction. A canary's (family, birth date), NIR, phone and e-mail
// are never a real patient's of the practice; when a real patient written later takes one, the
// canary is rewritten in place (same id and list position, a fresh draw).
//
// Thread-safety: vault::Patients calls the placer methods under its write lock, one at a time;
// spacing() is thread-safe. MeasureCanarySpacing only reads and is thread-safe.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "app/generator.h"
#include "core/random.h"
#include "store/store.h"
#include "vault/patients.h"

namespace medvault::app {

inline constexpr size_t kDefaultCanarySpacing = 10;

class CanaryKeeper final : public vault::CanaryPlacer {
 public:
  // `data` and `patients` must outlive the keeper; `patients` is used only to open rows when a
  // practice's state is loaded and to read a canary that must be rewritten. `random` (thread-safe)
  // gives ids, the generator's seed and NIR order numbers. REQUIRES: spacing >= 2.
  CanaryKeeper(store::DataStore& data, vault::Patients& patients, Random& random, size_t spacing);
  ~CanaryKeeper() override;

  size_t spacing() const override { return spacing_; }
  Result<std::vector<vault::Patient>> Upkeep(const std::string& practice_id) override;
  Result<std::vector<vault::Patient>> AfterReal(const std::string& practice_id,
                                                const vault::Patient& p) override;
  void Updated(const std::string& practice_id, const vault::Patient& p) override;
  void Written(const std::string& practice_id, bool committed) override;
  Result<std::vector<vault::Patient>> Rewrites(const std::string& practice_id) override;

 private:
  struct Practice;
  struct Canary;
  Result<Practice*> State(const std::string& practice_id);
  Status Load(const std::string& practice_id, Practice* s);
  // Records a real patient's values; the canaries it collides with are queued for rewriting.
  void AddReal(Practice* s, const vault::Patient& p);
  void AddCanary(Practice* s, const vault::Patient& c, uint8_t role);
  void RemoveCanary(Practice* s, const std::string& id);
  // A fresh canary: `family` and/or `birth_date` imposed when given, everything else drawn; its
  // (family, birth date), NIR, phone and e-mail taken by no row of the practice.
  Result<vault::Patient> Draw(Practice* s, const std::string* family, const Date* birth_date);
  // Appends canaries ending every run that has reached K - 1 at the end of the list.
  Result<std::vector<vault::Patient>> CloseRuns(Practice* s, const vault::Patient* last_real);

  store::DataStore& data_;
  vault::Patients& patients_;
  Random& random_;
  const size_t spacing_;
  Generator generator_;
  std::unordered_map<std::string, std::unique_ptr<Practice>> practices_;
};

// What the stored rows of a practice look like, read from the store (for tests, upkeep reports
// and `medvault canaries check`): the longest run of real rows without a canary in list order,
// in any family name's subsequence and in any birth date's.
struct CanarySpacing {
  int64_t rows = 0;
  int64_t canaries = 0;
  int64_t longest_list_run = 0;
  int64_t longest_family_run = 0;
  int64_t longest_date_run = 0;
  // Canaries whose (family, birth date) or NIR is also a real patient's of the practice.
  int64_t colliding_canaries = 0;
  // True when every run is at most spacing - 1 and no canary collides.
  bool Holds(size_t spacing) const;
};
Result<CanarySpacing> MeasureCanarySpacing(store::DataStore& data, vault::Patients& patients,
                                           const std::string& practice_id);

}  // namespace medvault::app
