#include "app/generator.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "core/text_fold.h"
#include "vault/nir.h"

namespace medvault {
std::string_view EmbeddedSyntheticData(std::string_view file_name);
}

namespace medvault::app {
namespace {

// Lines of an embedded file, without comments and blanks.
std::vector<std::string> Lines(std::string_view file_name) {
  std::vector<std::string> out;
  std::string_view text = EmbeddedSyntheticData(file_name);
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    out.emplace_back(line);
  }
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string Digits(uint64_t v, int width) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Generator::Generator(uint64_t seed)
    : random_(seed),
      family_(Lines("family.txt")),
      female_(Lines("given_female.txt")),
      male_(Lines("given_male.txt")),
      streets_(Lines("streets.txt")) {
  for (const auto& line : Lines("communes.txt")) {
    auto f = Split(line, ';');
    if (f.size() == 3) communes_.push_back({f[0], f[1], f[2]});
  }
  for (const auto& line : Lines("notes.txt")) {
    auto f = Split(line, '|');
    if (f.size() != 2) continue;
    (f[0] == "sensitive" ? sensitive_notes_ : plain_notes_).push_back(f[1]);
  }
}

const std::string& Generator::Pick(const std::vector<std::string>& v) {
  return v[random_.Uniform(v.size())];
}

std::string Generator::Nir(char sex, const Date& birth, const std::string& insee,
                           uint64_t order) {
  std::string first13;
  first13.push_back(sex);
  first13 += Digits(static_cast<uint64_t>(birth.year % 100), 2);
  first13 += Digits(static_cast<uint64_t>(birth.month), 2);
  first13 += insee;  // département (2 or 3 characters) and commune: the INSEE code
  first13 += Digits(order, 3);
  return first13 + Digits(static_cast<uint64_t>(vault::NirControlKey(first13)), 2);
}

vault::Patient Generator::NextPatient() {
  ++counter_;
  vault::Patient p;
  const bool female = random_.Uniform(2) == 0;
  p.identity.family = Pick(family_);
  p.identity.given.push_back(Pick(female ? female_ : male_));
  if (random_.Uniform(4) == 0) p.identity.given.push_back(Pick(female ? female_ : male_));
  p.identity.gender = female ? "female" : "male";
  Date birth;
  birth.year = 1930 + static_cast<int>(random_.Uniform(95));
  birth.month = 1 + static_cast<int>(random_.Uniform(12));
  birth.day = 1 + static_cast<int>(random_.Uniform(static_cast<uint64_t>(
                      DaysInMonth(birth.year, birth.month))));
  p.identity.birth_date = birth;
  // Birthplace and order number come from a counter per (sex, birth year and month), so that
  // NIRs never repeat: 73 communes × 999 orders = 72,927 people per sex and month of birth.
  const char sex = female ? '2' : '1';
  const std::string prefix = std::string(1, sex) + Digits(static_cast<uint64_t>(birth.year % 100), 2) +
                             Digits(static_cast<uint64_t>(birth.month), 2);
  const uint64_t slot = next_slot_[prefix]++;
  const Commune& born = communes_[slot % communes_.size()];
  const uint64_t order = 1 + (slot / communes_.size()) % 999;
  p.identity.birthplace = born.insee;
  const Commune& lives = communes_[random_.Uniform(communes_.size())];
  vault::Address address;
  address.lines.push_back(std::to_string(1 + random_.Uniform(120)) + " " + Pick(streets_));
  address.postal_code = lives.postal_code;
  address.city = lives.name;
  p.contact.addresses.push_back(std::move(address));
  p.contact.telecom.push_back(
      {"phone", "0" + std::to_string(6 + random_.Uniform(2)) + Digits(random_.Uniform(100'000'000), 8)});
  if (random_.Uniform(2) == 0) {
    p.contact.telecom.push_back(
        {"email", FoldForSearch(p.identity.given[0]) + "." + FoldForSearch(p.identity.family) +
                      std::to_string(random_.Uniform(1000)) + "@exemple.fr"});
  }
  p.insurance.nir = Nir(sex, birth, born.insee, order);
  static constexpr const char* kRegimes[] = {"01", "01", "01", "01", "01", "02", "03", "04"};
  p.insurance.regime = kRegimes[random_.Uniform(std::size(kRegimes))];
  return p;
}

SyntheticNote Generator::NextNote(int sensitive_per_mille) {
  const bool sensitive = random_.Uniform(1000) < static_cast<uint64_t>(sensitive_per_mille);
  return {Pick(sensitive ? sensitive_notes_ : plain_notes_), sensitive};
}

std::vector<UnixMicros> Generator::NextVisits(UnixMicros until, int years) {
  constexpr int64_t kDay = 86'400'000'000;
  constexpr int64_t kSlot = 20 * 60'000'000LL;
  const uint64_t per_year = random_.Uniform(10) == 0 ? 12 + random_.Uniform(12)  // chronic
                                                     : random_.Uniform(7);      // 0 to 6
  const uint64_t count = per_year * static_cast<uint64_t>(years);
  const int64_t span_days = 365LL * years;
  const int64_t first_day = until / kDay - span_days;
  std::vector<UnixMicros> visits;
  visits.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    int64_t day = first_day + static_cast<int64_t>(random_.Uniform(static_cast<uint64_t>(span_days)));
    const int64_t weekday = (day + 3) % 7;  // 1970-01-01 was a Thursday; 0 = Monday
    if (weekday >= 5) day -= weekday - 4;   // weekends move to Friday
    const int64_t slot = static_cast<int64_t>(random_.Uniform(33));  // 08:00 to 18:40
    visits.push_back(day * kDay + 8 * 3'600'000'000LL + slot * kSlot);
  }
  std::sort(visits.begin(), visits.end());
  return visits;
}

std::string Generator::NextPracticeName() {
  const std::string& city = communes_[random_.Uniform(communes_.size())].name;
  return "Cabinet médical " + Pick(streets_) + ", " + city;
}

}  // namespace medvault::app
