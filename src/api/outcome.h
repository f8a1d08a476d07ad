#pragma once
// FHIR OperationOutcome bodies and the one table mapping Status codes to HTTP statuses.
// Thread-safety: pure functions.
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/status.h"

namespace medvault::api {

// 400, 401, 403, 404, 409, 423, 429, 500, 503 ... (kSuspended is 403).
int HttpStatusFor(Code code);
// The FHIR issue type for a code ("invalid", "login", "forbidden", "suspended", "not-found", ...).
std::string_view IssueTypeFor(Code code);

// {"resourceType":"OperationOutcome","issue":[{"severity":"error","code":...,"diagnostics":...}]}
// The message comes from a Status, which never holds a patient field. Internal errors are
// reported as "internal error" only; their detail goes to the log line, not to the client.
std::string OutcomeBody(const Status& status);
std::string OutcomeBody(std::string_view issue_code, std::string_view diagnostics);

}  // namespace medvault::api
