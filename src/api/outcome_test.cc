#include "api/outcome.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace medvault::api {
namespace {

using nlohmann::json;

TEST(OutcomeBody, IsAFhirOperationOutcomeWithOneErrorIssue) {
  const json j = json::parse(OutcomeBody(InvalidArgument("birthDate: impossible date")));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), 2u);
  EXPECT_EQ(j["resourceType"], "OperationOutcome");
  ASSERT_TRUE(j["issue"].is_array());
  ASSERT_EQ(j["issue"].size(), 1u);
  const json& issue = j["issue"][0];
  EXPECT_EQ(issue.size(), 3u);
  EXPECT_EQ(issue["severity"], "error");
  EXPECT_EQ(issue["code"], "invalid");
  EXPECT_EQ(issue["diagnostics"], "birthDate: impossible date");
}

TEST(OutcomeBody, InternalAndIntegrityErrorsRevealNothing) {
  for (const Status& s : {Internal("sqlite: disk I/O error at /var/lib/x"),
                          Status(Code::kIntegrity, "envelope tag mismatch for row 42")}) {
    const json j = json::parse(OutcomeBody(s));
    EXPECT_EQ(j["issue"][0]["code"], "exception");
    EXPECT_EQ(j["issue"][0]["diagnostics"], "internal error");
  }
}

TEST(OutcomeBody, OmitsEmptyDiagnosticsAndEscapesInvalidUtf8) {
  json j = json::parse(OutcomeBody("not-found", ""));
  EXPECT_FALSE(j["issue"][0].contains("diagnostics"));
  j = json::parse(OutcomeBody("invalid", std::string("bad \xff byte")));
  EXPECT_EQ(j["issue"][0]["code"], "invalid");
  EXPECT_NE(j["issue"][0]["diagnostics"].get<std::string>().find("bad "), std::string::npos);
}

TEST(HttpStatusFor, MapsEveryCodeToItsStatusAndIssueType) {
  struct Case {
    Code code;
    int status;
    std::string_view issue;
  };
  for (const Case& c : std::initializer_list<Case>{
           {Code::kInvalidArgument, 400, "invalid"},
           {Code::kUnauthenticated, 401, "login"},
           {Code::kPermissionDenied, 403, "forbidden"},
           {Code::kSuspended, 403, "suspended"},
           {Code::kNotFound, 404, "not-found"},
           {Code::kAlreadyExists, 409, "duplicate"},
           {Code::kFailedPrecondition, 409, "conflict"},
           {Code::kLocked, 423, "lock-error"},
           {Code::kResourceExhausted, 429, "throttled"},
           {Code::kInternal, 500, "exception"},
           {Code::kIntegrity, 500, "exception"},
           {Code::kUnavailable, 503, "transient"},
       }) {
    EXPECT_EQ(HttpStatusFor(c.code), c.status) << CodeName(c.code);
    EXPECT_EQ(IssueTypeFor(c.code), c.issue) << CodeName(c.code);
  }
}

}  // namespace
}  // namespace medvault::api
