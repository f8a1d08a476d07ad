#include "api/fhir_patient.h"

#include <array>
#include <nlohmann/json.hpp>

#include "api/fhir_json.h"
#include "core/ids.h"
#include "vault/nir.h"

namespace medvault::api {
namespace {

using nlohmann::json;
using namespace fhir;  // NOLINT(google-build-using-namespace): local helpers only

enum class Kind { kObject, kArray, kString, kBool, kNumber };

struct KnownMember {
  std::string_view name;
  Kind kind;
};

// Standard FHIR R4 Patient elements that medvault does not store: accepted when of the right kind.
constexpr std::array<KnownMember, 17> kIgnoredMembers = {{
    {"meta", Kind::kObject},
    {"implicitRules", Kind::kString},
    {"language", Kind::kString},
    {"text", Kind::kObject},
    {"contained", Kind::kArray},
    {"modifierExtension", Kind::kArray},
    {"active", Kind::kBool},
    {"deceasedBoolean", Kind::kBool},
    {"deceasedDateTime", Kind::kString},
    {"maritalStatus", Kind::kObject},
    {"multipleBirthBoolean", Kind::kBool},
    {"multipleBirthInteger", Kind::kNumber},
    {"photo", Kind::kArray},
    {"contact", Kind::kArray},
    {"communication", Kind::kArray},
    {"generalPractitioner", Kind::kArray},
    {"managingOrganization", Kind::kObject},
}};

constexpr std::array<std::string_view, 10> kDecodedMembers = {
    "resourceType", "id",      "identifier", "name",    "gender",
    "birthDate",    "telecom", "address",    "extension", "link"};

bool HasKind(const json& v, Kind kind) {
  switch (kind) {
    case Kind::kObject: return v.is_object();
    case Kind::kArray: return v.is_array();
    case Kind::kString: return v.is_string();
    case Kind::kBool: return v.is_boolean();
    case Kind::kNumber: return v.is_number();
  }
  return false;
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kObject: return "an object";
    case Kind::kArray: return "an array";
    case Kind::kString: return "a string";
    case Kind::kBool: return "a boolean";
    case Kind::kNumber: return "a number";
  }
  return "?";
}

Status CheckMembers(const json& resource) {
  for (auto it = resource.begin(); it != resource.end(); ++it) {
    const std::string& key = it.key();
    bool decoded = false;
    for (std::string_view d : kDecodedMembers) decoded = decoded || key == d;
    if (decoded) continue;
    // FHIR primitive extensions (_birthDate, ...) are objects or arrays of objects.
    if (!key.empty() && key[0] == '_') {
      if (!it->is_object() && !it->is_array() && !it->is_null()) {
        return InvalidArgument(SafeMemberName(key) + ": must be an object");
      }
      continue;
    }
    bool known = false;
    for (const KnownMember& m : kIgnoredMembers) {
      if (key != m.name) continue;
      known = true;
      if (!it->is_null() && !HasKind(*it, m.kind)) {
        return InvalidArgument(std::string(m.name) + ": must be " + std::string(KindName(m.kind)));
      }
    }
    if (!known) return InvalidArgument(SafeMemberName(key) + ": unknown field");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> StringArray(const json& obj, std::string_view name,
                                             const std::string& path) {
  std::vector<std::string> out;
  MV_ASSIGN_OR_RETURN(const json* arr, OptArray(obj, name, path));
  if (arr == nullptr) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const json& v = (*arr)[i];
    if (!v.is_string()) return InvalidArgument(Index(path, i) + ": must be a string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Status DecodeIdentifiers(const json& resource, vault::Patient& p) {
  MV_ASSIGN_OR_RETURN(const json* ids, OptArray(resource, "identifier", "identifier"));
  if (ids == nullptr) return Status::Ok();
  bool have_ins = false;
  for (size_t i = 0; i < ids->size(); ++i) {
    const std::string path = Index("identifier", i);
    const json& entry = (*ids)[i];
    if (!entry.is_object()) return InvalidArgument(path + ": must be an object");
    MV_ASSIGN_OR_RETURN(std::string system, OptString(entry, "system", Join(path, "system")));
    MV_ASSIGN_OR_RETURN(std::string value, OptString(entry, "value", Join(path, "value")));
    if (system != vault::kInsNirSystem && system != vault::kInsNiaSystem) continue;
    if (have_ins) return InvalidArgument(path + ": more than one INS identifier");
    have_ins = true;
    if (value.empty()) return InvalidArgument(Join(path, "value") + ": required");
    Status s = vault::ValidateNir(value);
    if (!s.ok()) return InvalidArgument(Join(path, "value") + ": " + s.message());
    p.insurance.nir = vault::CanonicalNir(value);
  }
  return Status::Ok();
}

Status DecodeName(const json& resource, vault::Patient& p) {
  MV_ASSIGN_OR_RETURN(const json* names, OptArray(resource, "name", "name"));
  if (names == nullptr || names->empty()) return InvalidArgument("name[0].family: required");
  for (size_t i = 0; i < names->size(); ++i) {
    if (!(*names)[i].is_object()) return InvalidArgument(Index("name", i) + ": must be an object");
  }
  const json& first = (*names)[0];
  MV_ASSIGN_OR_RETURN(p.identity.family, OptString(first, "family", "name[0].family"));
  MV_ASSIGN_OR_RETURN(p.identity.given, StringArray(first, "given", "name[0].given"));
  return Status::Ok();
}

Status DecodeTelecom(const json& resource, vault::Patient& p) {
  MV_ASSIGN_OR_RETURN(const json* arr, OptArray(resource, "telecom", "telecom"));
  if (arr == nullptr) return Status::Ok();
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string path = Index("telecom", i);
    const json& entry = (*arr)[i];
    if (!entry.is_object()) return InvalidArgument(path + ": must be an object");
    vault::Telecom t;
    MV_ASSIGN_OR_RETURN(t.system, OptString(entry, "system", Join(path, "system")));
    MV_ASSIGN_OR_RETURN(t.value, OptString(entry, "value", Join(path, "value")));
    p.contact.telecom.push_back(std::move(t));
  }
  return Status::Ok();
}

Status DecodeAddress(const json& resource, vault::Patient& p) {
  MV_ASSIGN_OR_RETURN(const json* arr, OptArray(resource, "address", "address"));
  if (arr == nullptr) return Status::Ok();
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string path = Index("address", i);
    const json& entry = (*arr)[i];
    if (!entry.is_object()) return InvalidArgument(path + ": must be an object");
    vault::Address a;
    MV_ASSIGN_OR_RETURN(a.lines, StringArray(entry, "line", Join(path, "line")));
    MV_ASSIGN_OR_RETURN(a.postal_code, OptString(entry, "postalCode", Join(path, "postalCode")));
    MV_ASSIGN_OR_RETURN(a.city, OptString(entry, "city", Join(path, "city")));
    p.contact.addresses.push_back(std::move(a));
  }
  return Status::Ok();
}

Status DecodeExtensions(const json& resource, vault::Patient& p) {
  MV_ASSIGN_OR_RETURN(const json* arr, OptArray(resource, "extension", "extension"));
  if (arr == nullptr) return Status::Ok();
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string path = Index("extension", i);
    const json& entry = (*arr)[i];
    if (!entry.is_object()) return InvalidArgument(path + ": must be an object");
    MV_ASSIGN_OR_RETURN(std::string url, ReqString(entry, "url", Join(path, "url")));
    std::string* target = nullptr;
    if (url == kRegimeExtensionUrl) target = &p.insurance.regime;
    if (url == kBirthplaceExtensionUrl) target = &p.identity.birthplace;
    if (target == nullptr) continue;
    const std::string field = "extension[" + url + "].valueCode";
    MV_ASSIGN_OR_RETURN(*target, ReqString(entry, "valueCode", field));
  }
  return Status::Ok();
}

}  // namespace

std::string SafeMemberName(std::string_view name) {
  if (name.empty() || name.size() > 40) return "member";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return "member";
  }
  return std::string(name);
}

Result<vault::Patient> PatientFromFhir(const json& resource) {
  MV_RETURN_IF_ERROR(CheckResourceType(resource, "Patient"));
  MV_RETURN_IF_ERROR(CheckMembers(resource));
  vault::Patient p;
  MV_ASSIGN_OR_RETURN(std::string id, OptString(resource, "id", "id"));
  if (IsWellFormedId(id)) p.id = std::move(id);
  MV_ASSIGN_OR_RETURN(const json* links, OptArray(resource, "link", "link"));
  (void)links;
  MV_RETURN_IF_ERROR(DecodeIdentifiers(resource, p));
  MV_RETURN_IF_ERROR(DecodeName(resource, p));
  MV_ASSIGN_OR_RETURN(p.identity.gender, OptString(resource, "gender", "gender"));
  MV_ASSIGN_OR_RETURN(std::string birth, OptString(resource, "birthDate", "birthDate"));
  if (!birth.empty()) {
    Result<Date> d = ParseDate(birth);
    if (!d.ok()) return InvalidArgument("birthDate: " + d.status().message());
    p.identity.birth_date = *d;
  }
  MV_RETURN_IF_ERROR(DecodeTelecom(resource, p));
  MV_RETURN_IF_ERROR(DecodeAddress(resource, p));
  MV_RETURN_IF_ERROR(DecodeExtensions(resource, p));
  MV_RETURN_IF_ERROR(vault::ValidatePatient(p));
  return p;
}

json PatientToFhir(const vault::Patient& p, FieldGroupMask groups) {
  json out = json::object();
  out["resourceType"] = "Patient";
  out["id"] = p.id;
  if (p.updated != 0) out["meta"] = {{"lastUpdated", FormatIsoTime(p.updated)}};
  json extensions = json::array();
  if (MaskHas(groups, FieldGroup::kInsurance)) {
    if (!p.insurance.nir.empty()) {
      const std::string_view system =
          vault::IsNia(p.insurance.nir) ? vault::kInsNiaSystem : vault::kInsNirSystem;
      out["identifier"] = json::array({{{"system", system}, {"value", p.insurance.nir}}});
    }
    if (!p.insurance.regime.empty()) {
      extensions.push_back({{"url", kRegimeExtensionUrl}, {"valueCode", p.insurance.regime}});
    }
  }
  if (MaskHas(groups, FieldGroup::kIdentity)) {
    json name = {{"family", p.identity.family}};
    if (!p.identity.given.empty()) name["given"] = p.identity.given;
    out["name"] = json::array({std::move(name)});
    if (!p.identity.gender.empty()) out["gender"] = p.identity.gender;
    if (p.identity.birth_date) out["birthDate"] = FormatDate(*p.identity.birth_date);
    if (!p.identity.birthplace.empty()) {
      extensions.push_back(
          {{"url", kBirthplaceExtensionUrl}, {"valueCode", p.identity.birthplace}});
    }
  }
  if (MaskHas(groups, FieldGroup::kContact)) {
    if (!p.contact.telecom.empty()) {
      json telecom = json::array();
      for (const vault::Telecom& t : p.contact.telecom) {
        telecom.push_back({{"system", t.system}, {"value", t.value}});
      }
      out["telecom"] = std::move(telecom);
    }
    if (!p.contact.addresses.empty()) {
      json addresses = json::array();
      for (const vault::Address& a : p.contact.addresses) {
        json addr = json::object();
        if (!a.lines.empty()) addr["line"] = a.lines;
        if (!a.postal_code.empty()) addr["postalCode"] = a.postal_code;
        if (!a.city.empty()) addr["city"] = a.city;
        addresses.push_back(std::move(addr));
      }
      out["address"] = std::move(addresses);
    }
  }
  if (!extensions.empty()) out["extension"] = std::move(extensions);
  return out;
}

}  // namespace medvault::api
