// Fuzz target for request decoding: the body is parsed as JSON and decoded as a Patient, an
// Appointment and a DocumentReference. Properties: no crash (nor sanitizer report); a decoded
// patient re-encodes and decodes to the same value; a decoded note's subject is a well-formed
// patient reference.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "api/fhir_patient.h"
#include "api/fhir_resources.h"

namespace {

constexpr medvault::FieldGroupMask kAllGroups =
    medvault::MaskOf(medvault::FieldGroup::kIdentity) |
    medvault::MaskOf(medvault::FieldGroup::kContact) |
    medvault::MaskOf(medvault::FieldGroup::kInsurance);

void CheckPatient(const nlohmann::json& j) {
  medvault::Result<medvault::vault::Patient> p = medvault::api::PatientFromFhir(j);
  if (!p.ok()) return;
  const nlohmann::json again = medvault::api::PatientToFhir(*p, kAllGroups);
  medvault::Result<medvault::vault::Patient> q = medvault::api::PatientFromFhir(again);
  if (!q.ok() || !(*q == *p)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j =
      nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  CheckPatient(j);
  (void)medvault::api::AppointmentFromFhir(j);
  medvault::Result<medvault::api::NoteInput> note = medvault::api::DocumentReferenceFromFhir(j);
  if (note.ok() && medvault::api::PatientIdFromReference("Patient/" + note->patient_id).empty()) {
    std::abort();
  }
  return 0;
}
