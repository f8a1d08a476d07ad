#include "vault/nir.h"

#include <cctype>

namespace medvault::vault {
namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int ToInt(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

std::string CanonicalNir(std::string_view nir) {
  std::string out;
  out.reserve(15);
  for (char c : nir) {
    if (c == ' ') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

int NirControlKey(std::string_view first13) {
  // 2A / 2B: replace by 19 / 18 in the département position (characters 6 and 7).
  uint64_t n = 0;
  for (size_t i = 0; i < 13; ++i) {
    char c = first13[i];
    if (i == 5 && c == '2' && (first13[6] == 'A' || first13[6] == 'B')) {
      n = n * 100 + (first13[6] == 'A' ? 19 : 18);
      ++i;
      continue;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return 97 - static_cast<int>(n % 97);
}

bool IsNia(std::string_view canonical) {
  return !canonical.empty() && (canonical[0] == '7' || canonical[0] == '8');
}

Status ValidateNir(std::string_view raw) {
  const std::string nir = CanonicalNir(raw);
  if (nir.size() != 15) return InvalidArgument("must be 15 characters (13 + control key)");
  const std::string_view v(nir);
  const char sex = v[0];
  if (sex != '1' && sex != '2' && sex != '3' && sex != '4' && sex != '7' && sex != '8') {
    return InvalidArgument("invalid first digit (sex)");
  }
  if (!AllDigits(v.substr(1, 4))) return InvalidArgument("invalid birth year or month");
  const int month = ToInt(v.substr(3, 2));
  const bool month_ok = (month >= 1 && month <= 12) || (month >= 20 && month <= 42) ||
                        (month >= 50 && month <= 99);
  if (!month_ok) return InvalidArgument("invalid birth month");
  const std::string_view dept = v.substr(5, 2);
  const bool corsica = dept == "2A" || dept == "2B";
  if (!corsica && !AllDigits(dept)) return InvalidArgument("invalid département");
  if (!corsica && dept == "00") return InvalidArgument("invalid département");
  if (!AllDigits(v.substr(7, 8))) return InvalidArgument("invalid commune, order or key");
  if (ToInt(v.substr(13, 2)) != NirControlKey(v.substr(0, 13))) {
    return InvalidArgument("invalid NIR control key");
  }
  return Status::Ok();
}

}  // namespace medvault::vault
