// Fuzz target for the access code a patient types (POST /patient-access). Properties: no crash
// (nor sanitizer report); a code that normalises is 20 characters of the alphabet, and
// normalising it again gives it back unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/access_code.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view typed(reinterpret_cast<const char*>(data), size);
  const std::string canonical = medvault::api::NormaliseAccessCode(typed);
  if (canonical.empty()) return 0;
  if (canonical.size() != 20) std::abort();
  for (char c : canonical) {
    if (std::string_view("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(c) == std::string_view::npos) {
      std::abort();
    }
  }
  if (medvault::api::NormaliseAccessCode(canonical) != canonical) std::abort();
  return 0;
}
