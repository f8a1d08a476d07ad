#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace medvault {

enum class Role : uint8_t {
  kPractitioner = 1,  // every field group and the notes of the practice's patients
  kSecretary = 2,     // identity, contact, insurance: booking and billing; never notes
  kAdmin = 3,         // the practice's users; no patient field
  kSecurity = 4,      // the log and breach tools for the whole vault; no patient field
};

constexpr std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kPractitioner: return "practitioner";
    case Role::kSecretary: return "secretary";
    case Role::kAdmin: return "admin";
    case Role::kSecurity: return "security";
  }
  return "unknown";
}

inline std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kPractitioner, Role::kSecretary, Role::kAdmin, Role::kSecurity}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

}  // namespace medvault
