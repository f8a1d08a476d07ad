#include "api/fhir_json.h"

namespace medvault::api::fhir {

std::string Join(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  out += name;
  return out;
}

std::string Index(std::string_view parent, size_t i) {
  std::string out(parent);
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

namespace {
const nlohmann::json* Find(const nlohmann::json& obj, std::string_view name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

Result<const nlohmann::json*> OptObject(const nlohmann::json& obj, std::string_view name,
                                        const std::string& path) {
  const nlohmann::json* v = Find(obj, name);
  if (v != nullptr && !v->is_object()) return InvalidArgument(path + ": must be an object");
  return v;
}

Result<const nlohmann::json*> OptArray(const nlohmann::json& obj, std::string_view name,
                                       const std::string& path) {
  const nlohmann::json* v = Find(obj, name);
  if (v != nullptr && !v->is_array()) return InvalidArgument(path + ": must be an array");
  return v;
}

Result<std::string> OptString(const nlohmann::json& obj, std::string_view name,
                              const std::string& path) {
  const nlohmann::json* v = Find(obj, name);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return InvalidArgument(path + ": must be a string");
  return v->get<std::string>();
}

Result<std::string> ReqString(const nlohmann::json& obj, std::string_view name,
                              const std::string& path) {
  MV_ASSIGN_OR_RETURN(std::string s, OptString(obj, name, path));
  if (s.empty()) return InvalidArgument(path + ": required");
  return s;
}

Status CheckResourceType(const nlohmann::json& resource, std::string_view type) {
  if (!resource.is_object()) return InvalidArgument(std::string(type) + ": must be a JSON object");
  MV_ASSIGN_OR_RETURN(std::string rt, OptString(resource, "resourceType", "resourceType"));
  if (!rt.empty() && rt != type) {
    return InvalidArgument("resourceType: must be " + std::string(type));
  }
  return Status::Ok();
}

}  // namespace medvault::api::fhir
