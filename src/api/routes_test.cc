#include "api/routes.h"

#include <gtest/gtest.h>

namespace medvault::api {
namespace {

TEST(MatchRoute, SendsEachMethodAndPathToItsRoute) {
  struct Case {
    std::string_view method, path;
    Route route;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"GET", "/health", Route::kHealth},
           {"HEAD", "/health", Route::kHealth},
           {"GET", "/metrics", Route::kMetrics},
           {"GET", "/log/checkpoint", Route::kLog},
           {"GET", "/log/tile/0/000", Route::kLog},
           {"POST", "/auth/login", Route::kLogin},
           {"POST", "/auth/logout", Route::kLogout},
           {"POST", "/auth/step-up", Route::kStepUp},
           {"POST", "/fhir/Patient", Route::kPatientCreate},
           {"GET", "/fhir/Patient", Route::kPatientSearch},
           {"GET", "/fhir/Patient/abc", Route::kPatientRead},
           {"PUT", "/fhir/Patient/abc", Route::kPatientUpdate},
           {"DELETE", "/fhir/Patient/abc", Route::kPatientDelete},
           {"POST", "/fhir/Appointment", Route::kAppointmentCreate},
           {"GET", "/fhir/Appointment", Route::kAppointmentSearch},
           {"POST", "/fhir/DocumentReference", Route::kNoteCreate},
           {"GET", "/fhir/DocumentReference", Route::kNoteSearch},
           {"GET", "/fhir/DocumentReference/abc", Route::kNoteRead},
           {"GET", "/fhir/AuditEvent", Route::kAuditEvent},
           {"POST", "/fhir/Patient/abc/$access-code", Route::kAccessCodeIssue},
           {"POST", "/patient-access", Route::kPatientAccess},
       }) {
    const RouteMatch m = MatchRoute(c.method, c.path);
    EXPECT_TRUE(m.found) << c.method << " " << c.path;
    EXPECT_TRUE(m.method_allowed) << c.method << " " << c.path;
    EXPECT_EQ(m.route, c.route) << c.method << " " << c.path;
  }
}

TEST(MatchRoute, UnknownPathsAreNotFound) {
  for (std::string_view path : {"/", "", "/fhir", "/fhir/", "/fhir/Practitioner", "/fhir/patient",
                                "/healthz", "/health/", "/log", "/log/", "/fhir/Patient/",
                                "/auth/login/x", "/fhir/AuditEvent/1"}) {
    const RouteMatch m = MatchRoute("GET", path);
    EXPECT_FALSE(m.found) << path;
    EXPECT_FALSE(m.method_allowed) << path;
  }
}

TEST(MatchRoute, KnownPathsWithAnotherMethodAreRefusedNotMissing) {
  struct Case {
    std::string_view method, path;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"POST", "/health"}, {"DELETE", "/metrics"}, {"PUT", "/log/checkpoint"},
           {"GET", "/auth/login"}, {"GET", "/auth/logout"}, {"DELETE", "/fhir/Patient"},
           {"PATCH", "/fhir/Patient/abc"}, {"POST", "/fhir/Patient/abc"},
           {"PUT", "/fhir/Appointment"}, {"DELETE", "/fhir/DocumentReference"},
           {"POST", "/fhir/AuditEvent"}, {"get", "/health"},
           {"PUT", "/fhir/DocumentReference/abc"},
           {"GET", "/fhir/Patient/abc/$access-code"}, {"GET", "/patient-access"}}) {
    const RouteMatch m = MatchRoute(c.method, c.path);
    EXPECT_TRUE(m.found) << c.method << " " << c.path;
    EXPECT_FALSE(m.method_allowed) << c.method << " " << c.path;
  }
}

TEST(MatchRoute, PatientIdIsTheRestOfThePath) {
  EXPECT_EQ(MatchRoute("GET", "/fhir/Patient/abc123").id, "abc123");
  EXPECT_EQ(MatchRoute("GET", "/fhir/Patient/a/b").id, "a/b");  // the handler rejects it
  EXPECT_EQ(MatchRoute("GET", "/fhir/Patient").id, "");
  EXPECT_EQ(MatchRoute("GET", "/fhir/DocumentReference/n42").id, "n42");
}

TEST(BearerToken, AcceptsTheSchemeInAnyCase) {
  EXPECT_EQ(BearerToken("Bearer abc-DEF_123"), "abc-DEF_123");
  EXPECT_EQ(BearerToken("bearer abc"), "abc");
  EXPECT_EQ(BearerToken("BEARER abc"), "abc");
  EXPECT_EQ(BearerToken("Bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("Bearer abc=="), "abc==");
}

TEST(BearerToken, RefusesOtherSchemesAndMalformedTokens) {
  for (std::string_view header :
       {"", "Bearer", "Bearer ", "Bearer    ", "Basic eDp5", "Bearerabc", "Token abc",
        "Bearer abc def", "Bearer abc\tdef", "Bearer ab\"c", "Bearer abc,def", " Bearer abc",
        "Bearer\tabc", "Bearer é"}) {
    EXPECT_EQ(BearerToken(header), "") << header;
  }
}

}  // namespace
TEST(MatchRoute, AccessCodeRouteCarriesThePatientIdAndNeedsOne) {
  const RouteMatch m = MatchRoute("POST", "/fhir/Patient/abc/$access-code");
  EXPECT_EQ(m.id, "abc");
  EXPECT_EQ(MatchRoute("POST", "/fhir/Patient//$access-code").route, Route::kPatientRead);
  EXPECT_FALSE(MatchRoute("POST", "/fhir/Patient/$access-code").method_allowed);
}

}  // namespace medvault::api
