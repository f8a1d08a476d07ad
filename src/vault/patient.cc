#include "core/utf8.h"
#include "vault/patient.h"

#include "vault/nir.h"

namespace medvault::vault {
namespace {

constexpr size_t kMaxText = 200;
constexpr size_t kMaxRepeated = 10;

bool HasControl(std::string_view s) {
  for (char c : s) {
    if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Status CheckText(std::string_view value, const std::string& path, bool required) {
  if (required && value.empty()) return InvalidArgument(path + ": required");
  if (value.size() > kMaxText) return InvalidArgument(path + ": longer than 200 bytes");
  if (!IsValidUtf8(value)) return InvalidArgument(path + ": not valid UTF-8");
  if (HasControl(value)) return InvalidArgument(path + ": contains control characters");
  return Status::Ok();
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Status ValidatePatient(const Patient& p) {
  const Identity& id = p.identity;
  MV_RETURN_IF_ERROR(CheckText(id.family, "name[0].family", true));
  if (id.given.size() > kMaxRepeated) return InvalidArgument("name[0].given: too many names");
  for (size_t i = 0; i < id.given.size(); ++i) {
    MV_RETURN_IF_ERROR(CheckText(id.given[i], "name[0].given[" + std::to_string(i) + "]", true));
  }
  if (!id.gender.empty() && id.gender != "male" && id.gender != "female" &&
      id.gender != "other" && id.gender != "unknown") {
    return InvalidArgument("gender: must be male, female, other or unknown");
  }
  if (id.birth_date && !IsValidDate(*id.birth_date)) {
    return InvalidArgument("birthDate: impossible date");
  }
  if (!id.birthplace.empty() && id.birthplace.size() != 5) {
    return InvalidArgument("birthplace: must be a 5-character INSEE code");
  }
  if (p.contact.addresses.size() > kMaxRepeated) return InvalidArgument("address: too many");
  for (size_t i = 0; i < p.contact.addresses.size(); ++i) {
    const Address& a = p.contact.addresses[i];
    const std::string path = "address[" + std::to_string(i) + "]";
    if (a.lines.size() > 4) return InvalidArgument(path + ".line: too many lines");
    for (size_t k = 0; k < a.lines.size(); ++k) {
      MV_RETURN_IF_ERROR(CheckText(a.lines[k], path + ".line[" + std::to_string(k) + "]", true));
    }
    if (!a.postal_code.empty() && (a.postal_code.size() != 5 || !AllDigits(a.postal_code))) {
      return InvalidArgument(path + ".postalCode: must be 5 digits");
    }
    MV_RETURN_IF_ERROR(CheckText(a.city, path + ".city", false));
  }
  if (p.contact.telecom.size() > kMaxRepeated) return InvalidArgument("telecom: too many");
  for (size_t i = 0; i < p.contact.telecom.size(); ++i) {
    const Telecom& t = p.contact.telecom[i];
    const std::string path = "telecom[" + std::to_string(i) + "]";
    if (t.system != "phone" && t.system != "email") {
      return InvalidArgument(path + ".system: must be phone or email");
    }
    MV_RETURN_IF_ERROR(CheckText(t.value, path + ".value", true));
    if (t.system == "email" && t.value.find('@') == std::string::npos) {
      return InvalidArgument(path + ".value: not an e-mail address");
    }
    if (t.system == "phone") {
      for (char c : t.value) {
        if (!((c >= '0' && c <= '9') || c == '+' || c == ' ' || c == '.' || c == '-')) {
          return InvalidArgument(path + ".value: not a phone number");
        }
      }
    }
  }
  if (!p.insurance.nir.empty()) {
    Status s = ValidateNir(p.insurance.nir);
    if (!s.ok()) return InvalidArgument("identifier[0].value: " + s.message());
  }
  if (!p.insurance.regime.empty() &&
      (p.insurance.regime.size() != 2 || !AllDigits(p.insurance.regime))) {
    return InvalidArgument("extension[urn:medvault:regime].valueCode: must be two digits");
  }
  return Status::Ok();
}

}  // namespace medvault::vault
