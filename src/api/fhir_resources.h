#pragma once
// FHIR R4 Appointment and DocumentReference (notes) decoding and encoding, and the other small
// resources the API returns (Bundle, AuditEvent). Pure functions; errors are InvalidArgument
// naming the FHIR path, never a value.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/hooks.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/rows.h"
#include "vault/notes.h"

namespace medvault::api {

inline constexpr std::string_view kNoteCategorySystem = "urn:medvault:note-category";
inline constexpr std::string_view kNoteContentType = "text/plain; charset=utf-8";

struct AppointmentInput {
  std::string status;
  UnixMicros start = 0;
  UnixMicros end = 0;
  std::string patient_id;          // from participant "Patient/{id}"
  std::string practitioner_login;  // from participant "Practitioner/{login}"
};

// status (FHIR AppointmentStatus), start < end (ISO 8601), exactly one Patient and one
// Practitioner participant.
Result<AppointmentInput> AppointmentFromFhir(const nlohmann::json& resource);
nlohmann::json AppointmentToFhir(const store::AppointmentRow& row);

struct NoteInput {
  std::string patient_id;
  std::string text;  // decoded attachment (UTF-8 checked by vault::Notes)
};

// subject.reference "Patient/{id}", content[0].attachment {contentType text/plain (charset
// utf-8), data base64}.
Result<NoteInput> DocumentReferenceFromFhir(const nlohmann::json& resource);
// meta.security: one coding per category in `category_mask`; `spans`, when given, become a
// contained OperationOutcome "classification" with one warning issue per span (docs/api.md).
nlohmann::json DocumentReferenceToFhir(const vault::Note& note, const std::vector<NoteSpan>* spans);
// A note as listed: a restricted note (one with a category) without its text — metadata,
// meta.security and an attachment holding only its content type — so that its text is read only
// by an individual GET /fhir/DocumentReference/{id}, which is logged with its categories.
nlohmann::json ListedDocumentReference(const vault::Note& note);

// "Patient/{id}" → id; empty if not of that form with a well-formed id.
std::string PatientIdFromReference(std::string_view reference);

nlohmann::json AuditEventToFhir(const AccessEventView& view, const std::string& patient_id);
// The same access as the patient access view shows it: the actor by `display_name` and role only
// (no login, no patient reference); an empty `display_name` is the patient's own use of an access
// code (role "patient").
nlohmann::json PatientAccessEventToFhir(const AccessEventView& view,
                                        const std::string& display_name);

// Bundle type searchset; `next_url` empty: no next link.
nlohmann::json SearchBundle(nlohmann::json entries, const std::string& self_url,
                            const std::string& next_url);

}  // namespace medvault::api
