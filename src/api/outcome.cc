#include "api/outcome.h"

#include <nlohmann/json.hpp>

namespace medvault::api {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kSuspended: return 403;
    case Code::kLocked: return 423;
    case Code::kResourceExhausted: return 429;
    case Code::kFailedPrecondition: return 409;
    case Code::kIntegrity: return 500;
    case Code::kUnavailable: return 503;
    case Code::kInternal: return 500;
  }
  return 500;
}

std::string_view IssueTypeFor(Code code) {
  switch (code) {
    case Code::kOk: return "informational";
    case Code::kInvalidArgument: return "invalid";
    case Code::kNotFound: return "not-found";
    case Code::kAlreadyExists: return "duplicate";
    case Code::kUnauthenticated: return "login";
    case Code::kPermissionDenied: return "forbidden";
    case Code::kSuspended: return "suspended";
    case Code::kLocked: return "lock-error";
    case Code::kResourceExhausted: return "throttled";
    case Code::kFailedPrecondition: return "conflict";
    case Code::kIntegrity: return "exception";
    case Code::kUnavailable: return "transient";
    case Code::kInternal: return "exception";
  }
  return "exception";
}

std::string OutcomeBody(std::string_view issue_code, std::string_view diagnostics) {
  nlohmann::json issue = {{"severity", "error"}, {"code", issue_code}};
  if (!diagnostics.empty()) issue["diagnostics"] = diagnostics;
  nlohmann::json body = {{"resourceType", "OperationOutcome"},
                         {"issue", nlohmann::json::array({std::move(issue)})}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string OutcomeBody(const Status& status) {
  const bool opaque = status.code() == Code::kInternal || status.code() == Code::kIntegrity;
  return OutcomeBody(IssueTypeFor(status.code()), opaque ? "internal error" : status.message());
}

}  // namespace medvault::api
