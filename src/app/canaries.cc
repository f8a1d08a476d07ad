#include "app/canaries.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/date.h"
#include "core/flat_u64_set.h"
#include "core/ids.h"
#include "core/text_fold.h"
#include "vault/nir.h"

namespace medvault::app {
namespace {

constexpr uint8_t kRoleList = 1;
constexpr uint8_t kRoleFamily = 2;
constexpr uint8_t kRoleDate = 4;
constexpr int64_t kNoDate = INT64_MIN;
constexpr int kMaxDraws = 1000;
constexpr size_t kLoadPage = 512;

constexpr FieldGroupMask kAllGroups = MaskOf(FieldGroup::kIdentity) |
                                      MaskOf(FieldGroup::kContact) |
                                      MaskOf(FieldGroup::kInsurance);

// 64-bit FNV-1a. The values hashed stay in memory; two values sharing a hash only make a draw
// look taken (one more draw) or a canary look colliding (one needless rewrite).
uint64_t Hash(char tag, std::string_view a, std::string_view b = {}) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  mix(static_cast<unsigned char>(tag));
  for (char c : a) mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : b) mix(static_cast<unsigned char>(c));
  return h;
}

// As vault/patients.cc folds phones for the blind index: national digits.
std::string FoldPhone(std::string_view phone) {
  std::string digits;
  for (char c : phone) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  size_t country_prefix = 0;
  if (phone.starts_with("+33") && digits.size() == 11) country_prefix = 2;
  if (digits.starts_with("0033") && digits.size() == 13) country_prefix = 4;
  if (country_prefix == 0) return digits;
  std::string national(1, '0');
  national.append(digits, country_prefix, std::string::npos);
  return national;
}

int64_t DateKey(const vault::Patient& p) {
  return p.identity.birth_date ? DaysFromCivil(*p.identity.birth_date) : kNoDate;
}

std::string FamilyKey(const vault::Patient& p) { return FoldForSearch(p.identity.family); }

uint64_t PairHash(const vault::Patient& p) {
  if (!p.identity.birth_date) return 0;
  return Hash('p', FamilyKey(p), FormatDate(*p.identity.birth_date));
}

// Every value of `p` a canary must not share with a real patient: (family, birth date), NIR,
// phones and e-mails.
std::vector<uint64_t> Values(const vault::Patient& p) {
  std::vector<uint64_t> out;
  if (uint64_t pair = PairHash(p); pair != 0) out.push_back(pair);
  if (!p.insurance.nir.empty()) out.push_back(Hash('n', vault::CanonicalNir(p.insurance.nir)));
  for (const auto& t : p.contact.telecom) {
    if (t.system == "phone") out.push_back(Hash('t', FoldPhone(t.value)));
    if (t.system == "email") out.push_back(Hash('e', FoldForSearch(t.value)));
  }
  return out;
}

std::string Digits(uint64_t v, int width) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

struct CanaryKeeper::Canary {
  std::vector<uint64_t> values;
  uint8_t role = 0;  // kRole* bits it was drawn for; 0 when loaded from the store
  std::string family;
  std::optional<Date> birth_date;
};

struct CanaryKeeper::Practice {
  bool loaded = false;
  bool in_batch = false;   // rows announced and not yet committed or rolled back
  int64_t tail_seq = 0;    // seq of the last row of the list this state has seen
  std::string last_id;     // id of the last row announced in the open batch
  int64_t list_run = 0;    // real rows since the last canary, in list order
  struct Run {
    int64_t reals = 0;     // real rows since the last canary of this family (or date)
    std::string spelling;  // the family name as last written (for a canary of this family)
  };
  std::unordered_map<std::string, Run> family_runs;  // by folded family
  std::unordered_map<int64_t, Run> date_runs;        // by days since 1970-01-01
  FlatU64Set real_values;                              // Values() of every real row
  std::unordered_map<uint64_t, std::string> canary_values;  // Values() of canaries → id
  std::unordered_map<std::string, Canary> canaries;
  std::vector<std::string> rewrite;  // canaries a real row now collides with
};

CanaryKeeper::CanaryKeeper(store::DataStore& data, vault::Patients& patients, Random& random,
                           size_t spacing)
    : data_(data),
      patients_(patients),
      random_(random),
      spacing_(std::max<size_t>(spacing, 2)),
      generator_(random.Next64()) {}

CanaryKeeper::~CanaryKeeper() = default;

void CanaryKeeper::AddReal(Practice* s, const vault::Patient& p) {
  for (uint64_t v : Values(p)) {
    s->real_values.Insert(v);
    if (auto it = s->canary_values.find(v); it != s->canary_values.end()) {
      s->rewrite.push_back(it->second);
    }
  }
}

void CanaryKeeper::AddCanary(Practice* s, const vault::Patient& c, uint8_t role) {
  Canary info;
  info.values = Values(c);
  info.role = role;
  info.family = c.identity.family;
  info.birth_date = c.identity.birth_date;
  for (uint64_t v : info.values) {
    s->canary_values[v] = c.id;
    if (s->real_values.Contains(v)) s->rewrite.push_back(c.id);
  }
  s->canaries[c.id] = std::move(info);
}

void CanaryKeeper::RemoveCanary(Practice* s, const std::string& id) {
  auto it = s->canaries.find(id);
  if (it == s->canaries.end()) return;
  for (uint64_t v : it->second.values) {
    auto owner = s->canary_values.find(v);
    if (owner != s->canary_values.end() && owner->second == id) s->canary_values.erase(owner);
  }
  s->canaries.erase(it);
}

namespace {

// A row appended at the end of the list: real rows lengthen their runs, a canary ends them.
template <typename PracticeT>
void Append(PracticeT* s, const vault::Patient& p, bool canary) {
  auto& family = s->family_runs[FamilyKey(p)];
  family.spelling = p.identity.family;
  const int64_t date = DateKey(p);
  if (canary) {
    s->list_run = 0;
    family.reals = 0;
    if (date != kNoDate) s->date_runs[date].reals = 0;
    return;
  }
  ++s->list_run;
  ++family.reals;
  if (date != kNoDate) ++s->date_runs[date].reals;
}

}  // namespace

Status CanaryKeeper::Load(const std::string& practice_id, Practice* s) {
  *s = Practice{};
  int64_t after = 0;
  for (;;) {
    MV_ASSIGN_OR_RETURN(auto rows, data_.ListPatients(practice_id, after, kLoadPage));
    for (const auto& row : rows) {
      MV_ASSIGN_OR_RETURN(vault::Patient p, patients_.Open(row, kAllGroups));
      if (row.canary) {
        AddCanary(s, p, 0);
      } else {
        AddReal(s, p);
      }
      Append(s, p, row.canary);
      after = row.seq;
    }
    if (rows.size() < kLoadPage) break;
  }
  s->tail_seq = after;
  s->loaded = true;
  return Status::Ok();
}

Result<CanaryKeeper::Practice*> CanaryKeeper::State(const std::string& practice_id) {
  auto& slot = practices_[practice_id];
  if (!slot) slot = std::make_unique<Practice>();
  Practice* s = slot.get();
  if (s->loaded && !s->in_batch) {
    // Another process (an import, another node) may have appended rows: then start over.
    MV_ASSIGN_OR_RETURN(auto newer, data_.ListPatients(practice_id, s->tail_seq, 1));
    if (!newer.empty()) s->loaded = false;
  }
  if (!s->loaded) {
    Status loaded = Load(practice_id, s);
    if (!loaded.ok()) {
      practices_.erase(practice_id);
      return loaded.WithContext("canaries");
    }
  }
  return s;
}

Result<vault::Patient> CanaryKeeper::Draw(Practice* s, const std::string* family,
                                          const Date* birth_date) {
  for (int attempt = 0; attempt < kMaxDraws; ++attempt) {
    vault::Patient c = generator_.NextPatient();
    if (family != nullptr) c.identity.family = *family;
    if (birth_date != nullptr) c.identity.birth_date = *birth_date;
    // The e-mail follows the generator's pattern with the canary's own names.
    for (auto& t : c.contact.telecom) {
      if (t.system != "email") continue;
      t.value = FoldForSearch(c.identity.given[0]) + "." + FoldForSearch(c.identity.family) +
                std::to_string(random_.Uniform(1000)) + "@exemple.fr";
    }
    // The NIR from the canary's sex, birth year and month and birthplace, with a random order
    // number: the generator's own numbering would repeat the demo patients' NIRs.
    const Date& born = *c.identity.birth_date;
    std::string first13(1, c.identity.gender == "female" ? '2' : '1');
    first13 += Digits(static_cast<uint64_t>(born.year % 100), 2);
    first13 += Digits(static_cast<uint64_t>(born.month), 2);
    first13 += c.identity.birthplace;
    first13 += Digits(1 + random_.Uniform(999), 3);
    c.insurance.nir = first13 + Digits(static_cast<uint64_t>(vault::NirControlKey(first13)), 2);
    bool free = true;
    for (uint64_t v : Values(c)) {
      if (s->real_values.Contains(v) || s->canary_values.contains(v)) {
        free = false;
        break;
      }
    }
    if (!free) continue;
    c.id = NewId(random_);
    return c;
  }
  return Internal("canaries: no free identity found");
}

Result<std::vector<vault::Patient>> CanaryKeeper::CloseRuns(Practice* s,
                                                            const vault::Patient* last_real) {
  const int64_t full = static_cast<int64_t>(spacing_) - 1;
  std::vector<vault::Patient> out;
  auto place = [&](const std::string* family, const Date* date, uint8_t role) -> Status {
    MV_ASSIGN_OR_RETURN(vault::Patient c, Draw(s, family, date));
    AddCanary(s, c, role);
    Append(s, c, true);
    s->last_id = c.id;
    out.push_back(std::move(c));
    return Status::Ok();
  };
  // The families and dates whose run is full: the last real row's, or (upkeep) all of them.
  std::vector<std::string> families;
  std::vector<int64_t> dates;
  if (last_real != nullptr) {
    families.push_back(FamilyKey(*last_real));
    if (int64_t d = DateKey(*last_real); d != kNoDate) dates.push_back(d);
  } else {
    for (const auto& [key, run] : s->family_runs) families.push_back(key);
    for (const auto& [key, run] : s->date_runs) dates.push_back(key);
    std::sort(families.begin(), families.end());
    std::sort(dates.begin(), dates.end());
  }
  for (const std::string& key : families) {
    const auto& run = s->family_runs[key];
    if (run.reals < full) continue;
    const std::string spelling = run.spelling;
    MV_RETURN_IF_ERROR(place(&spelling, nullptr, kRoleFamily));
  }
  for (int64_t key : dates) {
    if (s->date_runs[key].reals < full) continue;
    const Date date = CivilFromDays(key);
    MV_RETURN_IF_ERROR(place(nullptr, &date, kRoleDate));
  }
  if (s->list_run >= full) MV_RETURN_IF_ERROR(place(nullptr, nullptr, kRoleList));
  return out;
}

Result<std::vector<vault::Patient>> CanaryKeeper::Upkeep(const std::string& practice_id) {
  MV_ASSIGN_OR_RETURN(Practice * s, State(practice_id));
  s->in_batch = true;
  return CloseRuns(s, nullptr);
}

Result<std::vector<vault::Patient>> CanaryKeeper::AfterReal(const std::string& practice_id,
                                                            const vault::Patient& p) {
  MV_ASSIGN_OR_RETURN(Practice * s, State(practice_id));
  s->in_batch = true;
  AddReal(s, p);
  Append(s, p, false);
  s->last_id = p.id;
  return CloseRuns(s, &p);
}

void CanaryKeeper::Updated(const std::string& practice_id, const vault::Patient& p) {
  // Only the collisions are checked: the patient keeps its list position, and the values it had
  // stay counted as taken (no canary takes them later; harmless).
  Result<Practice*> s = State(practice_id);
  if (s.ok()) AddReal(*s, p);
}

void CanaryKeeper::Written(const std::string& practice_id, bool committed) {
  auto it = practices_.find(practice_id);
  if (it == practices_.end()) return;
  Practice* s = it->second.get();
  s->in_batch = false;
  if (committed && !s->last_id.empty()) {
    Result<store::PatientRow> last = data_.GetPatient(practice_id, s->last_id);
    if (last.ok()) {
      s->tail_seq = std::max(s->tail_seq, last->seq);
      s->last_id.clear();
      return;
    }
  } else if (committed) {
    return;
  }
  // Rolled back, or the last row cannot be found: what this state counted is not what is stored.
  practices_.erase(it);
}

Result<std::vector<vault::Patient>> CanaryKeeper::Rewrites(const std::string& practice_id) {
  auto it = practices_.find(practice_id);
  if (it == practices_.end() || it->second->rewrite.empty()) return std::vector<vault::Patient>();
  Practice* s = it->second.get();
  std::vector<std::string> ids = std::move(s->rewrite);
  s->rewrite.clear();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<vault::Patient> out;
  for (const std::string& id : ids) {
    auto found = s->canaries.find(id);
    if (found == s->canaries.end()) continue;
    const Canary old = found->second;
    // Values() puts the (family, birth date) hash first when there is a birth date.
    const bool pair_taken = old.birth_date.has_value() && !old.values.empty() &&
                            s->real_values.Contains(old.values.front());
    RemoveCanary(s, id);
    // Keep the list positions' purpose: a canary drawn for a birth date keeps it and changes
    // family; any other keeps its family; both are kept when only a NIR or a contact collides.
    const bool keep_date = !pair_taken || (old.role & kRoleDate) != 0;
    const bool keep_family = !pair_taken || (old.role & kRoleDate) == 0;
    Result<vault::Patient> c =
        Draw(s, keep_family ? &old.family : nullptr,
             keep_date && old.birth_date ? &*old.birth_date : nullptr);
    if (!c.ok()) return c.status();
    c->id = id;
    AddCanary(s, *c, old.role);
    out.push_back(std::move(*c));
  }
  return out;
}

bool CanarySpacing::Holds(size_t spacing) const {
  const int64_t full = static_cast<int64_t>(spacing) - 1;
  return longest_list_run <= full && longest_family_run <= full && longest_date_run <= full &&
         colliding_canaries == 0;
}

Result<CanarySpacing> MeasureCanarySpacing(store::DataStore& data, vault::Patients& patients,
                                           const std::string& practice_id) {
  CanarySpacing out;
  int64_t list_run = 0;
  std::unordered_map<std::string, int64_t> family_runs;
  std::unordered_map<int64_t, int64_t> date_runs;
  std::unordered_set<std::string> real_pairs, real_nirs;
  std::vector<std::pair<std::string, std::string>> canary_keys;  // (pair, nir)
  auto bump = [](int64_t* run, int64_t* longest) {
    ++*run;
    *longest = std::max(*longest, *run);
  };
  int64_t after = 0;
  for (;;) {
    MV_ASSIGN_OR_RETURN(auto rows, data.ListPatients(practice_id, after, kLoadPage));
    for (const auto& row : rows) {
      MV_ASSIGN_OR_RETURN(vault::Patient p,
                          patients.Open(row, MaskOf(FieldGroup::kIdentity) |
                                                 MaskOf(FieldGroup::kInsurance)));
      ++out.rows;
      const std::string family = FamilyKey(p);
      const int64_t date = DateKey(p);
      const std::string pair =
          family + '\0' + (p.identity.birth_date ? FormatDate(*p.identity.birth_date) : "");
      const std::string nir = vault::CanonicalNir(p.insurance.nir);
      if (row.canary) {
        ++out.canaries;
        list_run = 0;
        family_runs[family] = 0;
        if (date != kNoDate) date_runs[date] = 0;
        canary_keys.emplace_back(pair, nir);
      } else {
        bump(&list_run, &out.longest_list_run);
        bump(&family_runs[family], &out.longest_family_run);
        if (date != kNoDate) bump(&date_runs[date], &out.longest_date_run);
        real_pairs.insert(pair);
        if (!nir.empty()) real_nirs.insert(nir);
      }
      after = row.seq;
    }
    if (rows.size() < kLoadPage) break;
  }
  for (const auto& [pair, nir] : canary_keys) {
    if (real_pairs.contains(pair) || (!nir.empty() && real_nirs.contains(nir))) {
      ++out.colliding_canaries;
    }
  }
  return out;
}

}  // namespace medvault::app
