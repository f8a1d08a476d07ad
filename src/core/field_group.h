#pragma once
// Field groups: the unit of encryption, of role visibility and of breach reporting.
#include <cstdint>
#include <optional>
#include <string_view>

namespace medvault {

enum class FieldGroup : uint8_t {
  kIdentity = 1,   // names, birth date, sex, birthplace
  kContact = 2,    // address, phones, e-mail
  kInsurance = 3,  // INS/NIR, régime
  kNotes = 4,      // free-text notes
};

inline constexpr FieldGroup kAllFieldGroups[] = {FieldGroup::kIdentity, FieldGroup::kContact,
                                                 FieldGroup::kInsurance, FieldGroup::kNotes};

constexpr std::string_view FieldGroupName(FieldGroup g) {
  switch (g) {
    case FieldGroup::kIdentity: return "identity";
    case FieldGroup::kContact: return "contact";
    case FieldGroup::kInsurance: return "insurance";
    case FieldGroup::kNotes: return "notes";
  }
  return "unknown";
}

inline std::optional<FieldGroup> ParseFieldGroup(std::string_view name) {
  for (FieldGroup g : kAllFieldGroups) {
    if (FieldGroupName(g) == name) return g;
  }
  return std::nullopt;
}

// A set of field groups as a bit mask (bit = 1 << value).
using FieldGroupMask = uint8_t;
constexpr FieldGroupMask MaskOf(FieldGroup g) {
  return static_cast<FieldGroupMask>(1u << static_cast<unsigned>(g));
}
constexpr bool MaskHas(FieldGroupMask m, FieldGroup g) { return (m & MaskOf(g)) != 0; }

}  // namespace medvault
