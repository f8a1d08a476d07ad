#pragma once
// FHIR R4 Patient <-> vault::Patient. Pure functions, shared by the HTTP routes and by
// `medvault import`.
//
// Wire shape (docs/api.md):
//   identifier[]   {system: "urn:oid:1.2.250.1.213.1.4.8" (INS-NIR) or "...4.9" (INS-NIA), value: NIR}
//   name[0]        {family, given[]}           (only the first name is kept)
//   gender, birthDate (YYYY-MM-DD)
//   telecom[]      {system: phone|email, value}
//   address[]      {line[], postalCode, city}
//   extension[]    {url: "urn:medvault:regime", valueCode: "NN"}
//                  {url: "urn:medvault:birthplace", valueCode: INSEE commune code}
// Other standard Patient elements (meta, text, active, ...) are accepted when they have the
// right JSON kind and ignored; any other member is rejected.
//
// Errors: InvalidArgument whose message starts with the FHIR path of the offending field
// ("identifier[0].value: invalid NIR control key", "birthDate: impossible date",
// "name: must be an array") and never contains a value from the input.
// Thread-safety: pure functions.
#include <nlohmann/json_fwd.hpp>

#include "core/field_group.h"
#include "core/status.h"
#include "vault/patient.h"

namespace medvault::api {

inline constexpr std::string_view kRegimeExtensionUrl = "urn:medvault:regime";
inline constexpr std::string_view kBirthplaceExtensionUrl = "urn:medvault:birthplace";

// Decodes and validates (vault::ValidatePatient) a Patient resource. `id` is taken from the
// resource when present and well-formed, else left empty; created/updated are left at 0.
Result<vault::Patient> PatientFromFhir(const nlohmann::json& resource);

// Encodes the field groups in `groups` (identity: name, gender, birthDate, birthplace; contact:
// telecom, address; insurance: identifier, régime); the others are omitted. Always carries
// resourceType and id, and meta.lastUpdated when `patient.updated` is set.
nlohmann::json PatientToFhir(const vault::Patient& patient, FieldGroupMask groups);

// A JSON member name safe to echo in an error: short and made of [A-Za-z0-9_-]; else "member".
std::string SafeMemberName(std::string_view name);

}  // namespace medvault::api
