#include "api/fhir_resources.h"

#include <array>

#include "api/fhir_json.h"
#include "core/bytes.h"
#include "core/field_group.h"
#include "core/ids.h"
#include "api/note_labels.h"

namespace medvault::api {
namespace {

using nlohmann::json;
using namespace fhir;  // NOLINT(google-build-using-namespace): local helpers only

constexpr std::array<std::string_view, 10> kAppointmentStatuses = {
    "proposed",  "pending", "booked",           "arrived",    "fulfilled",
    "cancelled", "noshow",  "entered-in-error", "checked-in", "waitlist"};

Result<UnixMicros> ReqTime(const json& obj, std::string_view name) {
  const std::string path(name);
  MV_ASSIGN_OR_RETURN(std::string text, ReqString(obj, name, path));
  Result<UnixMicros> t = ParseIsoTime(text);
  if (!t.ok()) return InvalidArgument(path + ": not an ISO 8601 instant");
  return *t;
}

bool IsValidLogin(std::string_view login) {
  if (login.size() < 3 || login.size() > 64) return false;
  for (char c : login) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string PatientIdFromReference(std::string_view reference) {
  constexpr std::string_view kPrefix = "Patient/";
  if (reference.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string_view id = reference.substr(kPrefix.size());
  return IsWellFormedId(id) ? std::string(id) : std::string();
}

Result<AppointmentInput> AppointmentFromFhir(const json& resource) {
  MV_RETURN_IF_ERROR(CheckResourceType(resource, "Appointment"));
  AppointmentInput in;
  MV_ASSIGN_OR_RETURN(in.status, ReqString(resource, "status", "status"));
  bool known = false;
  for (std::string_view s : kAppointmentStatuses) known = known || in.status == s;
  if (!known) return InvalidArgument("status: not a FHIR appointment status");
  MV_ASSIGN_OR_RETURN(in.start, ReqTime(resource, "start"));
  MV_ASSIGN_OR_RETURN(in.end, ReqTime(resource, "end"));
  if (in.end <= in.start) return InvalidArgument("end: must be after start");
  MV_ASSIGN_OR_RETURN(const json* participants, OptArray(resource, "participant", "participant"));
  if (participants == nullptr) return InvalidArgument("participant: required");
  for (size_t i = 0; i < participants->size(); ++i) {
    const std::string path = Index("participant", i);
    const json& p = (*participants)[i];
    if (!p.is_object()) return InvalidArgument(path + ": must be an object");
    MV_ASSIGN_OR_RETURN(const json* actor, OptObject(p, "actor", Join(path, "actor")));
    if (actor == nullptr) return InvalidArgument(Join(path, "actor") + ": required");
    const std::string ref_path = Join(path, "actor.reference");
    MV_ASSIGN_OR_RETURN(std::string ref, ReqString(*actor, "reference", ref_path));
    constexpr std::string_view kPractitioner = "Practitioner/";
    if (ref.rfind("Patient/", 0) == 0) {
      if (!in.patient_id.empty()) return InvalidArgument(ref_path + ": more than one patient");
      in.patient_id = PatientIdFromReference(ref);
      if (in.patient_id.empty()) return InvalidArgument(ref_path + ": not a patient id");
    } else if (ref.rfind(kPractitioner, 0) == 0) {
      if (!in.practitioner_login.empty()) {
        return InvalidArgument(ref_path + ": more than one practitioner");
      }
      in.practitioner_login = ref.substr(kPractitioner.size());
      if (!IsValidLogin(in.practitioner_login)) {
        return InvalidArgument(ref_path + ": not a practitioner login");
      }
    } else {
      return InvalidArgument(ref_path + ": must be Patient/{id} or Practitioner/{login}");
    }
  }
  if (in.patient_id.empty()) return InvalidArgument("participant: a Patient actor is required");
  if (in.practitioner_login.empty()) {
    return InvalidArgument("participant: a Practitioner actor is required");
  }
  return in;
}

json AppointmentToFhir(const store::AppointmentRow& row) {
  return {{"resourceType", "Appointment"},
          {"id", row.id},
          {"status", row.status},
          {"start", FormatIsoTime(row.start)},
          {"end", FormatIsoTime(row.end)},
          {"participant",
           json::array({{{"actor", {{"reference", "Patient/" + row.patient_id}}},
                         {"status", "accepted"}},
                        {{"actor", {{"reference", "Practitioner/" + row.practitioner_login}}},
                         {"status", "accepted"}}})}};
}

Result<NoteInput> DocumentReferenceFromFhir(const json& resource) {
  MV_RETURN_IF_ERROR(CheckResourceType(resource, "DocumentReference"));
  NoteInput in;
  MV_ASSIGN_OR_RETURN(const json* subject, OptObject(resource, "subject", "subject"));
  if (subject == nullptr) return InvalidArgument("subject: required");
  MV_ASSIGN_OR_RETURN(std::string ref, ReqString(*subject, "reference", "subject.reference"));
  in.patient_id = PatientIdFromReference(ref);
  if (in.patient_id.empty()) return InvalidArgument("subject.reference: must be Patient/{id}");
  MV_ASSIGN_OR_RETURN(const json* content, OptArray(resource, "content", "content"));
  if (content == nullptr || content->empty()) return InvalidArgument("content: required");
  if (!(*content)[0].is_object()) return InvalidArgument("content[0]: must be an object");
  MV_ASSIGN_OR_RETURN(const json* attachment,
                      OptObject((*content)[0], "attachment", "content[0].attachment"));
  if (attachment == nullptr) return InvalidArgument("content[0].attachment: required");
  MV_ASSIGN_OR_RETURN(std::string type, ReqString(*attachment, "contentType",
                                                  "content[0].attachment.contentType"));
  std::string folded;
  for (char c : type) {
    if (c != ' ') folded += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  if (folded != "text/plain;charset=utf-8" && folded != "text/plain") {
    return InvalidArgument("content[0].attachment.contentType: must be text/plain; charset=utf-8");
  }
  MV_ASSIGN_OR_RETURN(std::string data,
                      ReqString(*attachment, "data", "content[0].attachment.data"));
  Result<Bytes> raw = Base64Decode(data);
  if (!raw.ok()) return InvalidArgument("content[0].attachment.data: not valid base64");
  in.text.assign(AsChars(*raw));
  return in;
}

json DocumentReferenceToFhir(const vault::Note& note, const std::vector<NoteSpan>* spans) {
  json security = json::array();
  for (std::string_view id : CategoryIds(note.category_mask)) {
    security.push_back({{"system", kNoteCategorySystem}, {"code", id}});
  }
  json out = {{"resourceType", "DocumentReference"},
              {"id", note.id},
              {"status", "current"},
              {"subject", {{"reference", "Patient/" + note.patient_id}}},
              {"author", json::array({{{"reference", "Practitioner/" + note.author_login}}})},
              {"date", FormatIsoTime(note.created)},
              {"content",
               json::array({{{"attachment",
                              {{"contentType", kNoteContentType},
                               {"data", Base64Encode(AsBytes(note.text))}}}}})}};
  if (!security.empty()) out["meta"] = {{"security", std::move(security)}};
  if (spans != nullptr) {
    json issues = json::array();
    for (const NoteSpan& s : *spans) {
      issues.push_back(
          {{"severity", "warning"},
           {"code", "business-rule"},
           {"details",
            {{"coding", json::array({{{"system", kNoteCategorySystem}, {"code", s.category}}})}}},
           {"diagnostics", "sensitive content (" + s.category + ") at bytes " +
                               std::to_string(s.start) + "-" + std::to_string(s.end)},
           {"extension", json::array({{{"url", "urn:medvault:span-start"},
                                       {"valueInteger", s.start}},
                                      {{"url", "urn:medvault:span-end"},
                                       {"valueInteger", s.end}}})}});
    }
    if (!issues.empty()) {
      out["contained"] = json::array({{{"resourceType", "OperationOutcome"},
                                       {"id", "classification"},
                                       {"issue", std::move(issues)}}});
    }
  }
  return out;
}

json ListedDocumentReference(const vault::Note& note) {
  json out = DocumentReferenceToFhir(note, nullptr);
  if (note.category_mask != 0) {
    out["content"] = json::array({{{"attachment", {{"contentType", kNoteContentType}}}}});
  }
  return out;
}

json AuditEventToFhir(const AccessEventView& v, const std::string& patient_id) {
  json groups = json::array();
  for (FieldGroup g : kAllFieldGroups) {
    if (MaskHas(v.field_groups, g)) {
      groups.push_back({{"system", "urn:medvault:field-group"}, {"code", FieldGroupName(g)}});
    }
  }
  return {{"resourceType", "AuditEvent"},
          {"type", {{"system", "urn:medvault:action"}, {"code", v.action}}},
          {"recorded", FormatIsoTime(v.time)},
          {"outcome", v.outcome == Code::kOk ? "0" : "4"},
          {"agent", json::array({{{"who", {{"identifier", {{"value", v.login}}}}},
                                  // No login: the patient's own use of an access code.
                                  {"role", json::array({{{"text", v.login.empty()
                                                                      ? std::string_view("patient")
                                                                      : RoleName(v.role)}}})},
                                  {"requestor", true}}})},
          {"source", {{"observer", {{"display", "medvault"}}}}},
          {"entity", json::array({{{"what", {{"reference", "Patient/" + patient_id}}},
                                   {"securityLabel", std::move(groups)}}})}};
}

json PatientAccessEventToFhir(const AccessEventView& v, const std::string& display_name) {
  json groups = json::array();
  for (FieldGroup g : kAllFieldGroups) {
    if (MaskHas(v.field_groups, g)) {
      groups.push_back({{"system", "urn:medvault:field-group"}, {"code", FieldGroupName(g)}});
    }
  }
  const bool self = display_name.empty();
  return {{"resourceType", "AuditEvent"},
          {"type", {{"system", "urn:medvault:action"}, {"code", v.action}}},
          {"recorded", FormatIsoTime(v.time)},
          {"outcome", v.outcome == Code::kOk ? "0" : "4"},
          {"agent", json::array({{{"who", {{"display", self ? "you (access code)" : display_name}}},
                                  {"role", json::array({{{"text", self ? std::string_view("patient")
                                                                       : RoleName(v.role)}}})},
                                  {"requestor", true}}})},
          {"source", {{"observer", {{"display", "medvault"}}}}},
          {"entity", json::array({{{"securityLabel", std::move(groups)}}})}};
}

json SearchBundle(json entries, const std::string& self_url, const std::string& next_url) {
  json links = json::array({{{"relation", "self"}, {"url", self_url}}});
  if (!next_url.empty()) links.push_back({{"relation", "next"}, {"url", next_url}});
  return {{"resourceType", "Bundle"},
          {"type", "searchset"},
          {"link", std::move(links)},
          {"entry", std::move(entries)}};
}

}  // namespace medvault::api
