#pragma once
// Small typed accessors over nlohmann::json for the FHIR decoders: each names the FHIR path of a
// member of the wrong kind ("name: must be an array") and never echoes a value.
// Thread-safety: pure functions.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace medvault::api::fhir {

// The path of member `name` under `parent` ("" → "name", "name[0]" → "name[0].family").
std::string Join(std::string_view parent, std::string_view name);
std::string Index(std::string_view parent, size_t i);

// Returns nullptr when `name` is absent or null; InvalidArgument when present with another kind.
Result<const nlohmann::json*> OptObject(const nlohmann::json& obj, std::string_view name,
                                        const std::string& path);
Result<const nlohmann::json*> OptArray(const nlohmann::json& obj, std::string_view name,
                                       const std::string& path);
// Absent or null → empty string.
Result<std::string> OptString(const nlohmann::json& obj, std::string_view name,
                              const std::string& path);
// Present, non-empty string; else "PATH: required" or "PATH: must be a string".
Result<std::string> ReqString(const nlohmann::json& obj, std::string_view name,
                              const std::string& path);

// Checks `resource` is an object whose resourceType, when present, is `type`.
Status CheckResourceType(const nlohmann::json& resource, std::string_view type);

}  // namespace medvault::api::fhir
