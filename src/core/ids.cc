#include "core/ids.h"

#include <cctype>

#include "core/bytes.h"

namespace medvault {

std::string NewId(Random& random) {
  uint8_t raw[16];
  random.Fill(raw);
  std::string id = Base32Encode(raw);
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id;
}

bool IsWellFormedId(std::string_view id) {
  if (id.size() != 26) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

}  // namespace medvault
