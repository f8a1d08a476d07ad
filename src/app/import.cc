#include "app/import.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "api/fhir_patient.h"

namespace medvault::app {
namespace {

// Parses without exceptions; an error names the position, never the content.
Result<nlohmann::json> ParseJson(std::string_view text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(where + ": not valid JSON (truncated or malformed)");
  return j;
}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

Result<int64_t> ImportNdjson(vault::Patients& patients, const std::string& practice_id,
                             std::ifstream& in) {
  int64_t line_no = 0;
  std::string line;
  vault::PatientSource next = [&]() -> Result<std::optional<vault::Patient>> {
    while (std::getline(in, line)) {
      ++line_no;
      if (IsBlank(line)) continue;
      const std::string where = "line " + std::to_string(line_no);
      MV_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(line, where));
      Result<vault::Patient> p = api::PatientFromFhir(j);
      if (!p.ok()) return p.status().WithContext(where);
      return std::optional<vault::Patient>(std::move(p).value());
    }
    if (in.bad()) return Internal("read error at line " + std::to_string(line_no + 1));
    return std::optional<vault::Patient>();
  };
  return patients.Import(practice_id, next, [&] { return "line " + std::to_string(line_no); });
}

Result<int64_t> ImportBundle(vault::Patients& patients, const std::string& practice_id,
                             const std::string& text) {
  MV_ASSIGN_OR_RETURN(nlohmann::json bundle, ParseJson(text, "bundle"));
  if (!bundle.is_object() || bundle.value("resourceType", "") != "Bundle") {
    return InvalidArgument("bundle: resourceType must be Bundle");
  }
  const auto it = bundle.find("entry");
  if (it == bundle.end()) return int64_t{0};
  if (!it->is_array()) return InvalidArgument("bundle: entry must be an array");
  size_t index = 0;
  vault::PatientSource next = [&]() -> Result<std::optional<vault::Patient>> {
    if (index >= it->size()) return std::optional<vault::Patient>();
    const nlohmann::json& entry = (*it)[index];
    const std::string where = "entry " + std::to_string(index + 1);
    ++index;
    if (!entry.is_object() || !entry.contains("resource")) {
      return InvalidArgument(where + ": resource: required");
    }
    Result<vault::Patient> p = api::PatientFromFhir(entry["resource"]);
    if (!p.ok()) return p.status().WithContext(where);
    return std::optional<vault::Patient>(std::move(p).value());
  };
  return patients.Import(practice_id, next);
}

}  // namespace

Result<int64_t> ImportPatientsFile(vault::Patients& patients, const std::string& practice_id,
                                   const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + path);
  std::string first;
  std::getline(in, first);
  // One complete Patient object on the first line means NDJSON; anything else is a Bundle.
  nlohmann::json probe = nlohmann::json::parse(first, nullptr, false);
  const bool ndjson = !probe.is_discarded() && probe.is_object() &&
                      probe.value("resourceType", "") == "Patient";
  in.clear();
  in.seekg(0);
  if (ndjson) return ImportNdjson(patients, practice_id, in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument(path + ": empty file");
  }
  return ImportBundle(patients, practice_id, text);
}

}  // namespace medvault::app
