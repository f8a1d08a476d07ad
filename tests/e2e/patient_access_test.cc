// The patient access view over real HTTP: a practice issues a one-time code for one patient; with
// it (and no account) the patient sees who accessed their record — only theirs, by display name
// and role — once; wrong and reused codes are refused with one message and throttled.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using json = nlohmann::json;

const Headers kJsonBody = {{"Content-Type", "application/json"}};

std::string CreatePatient(HttpClient& c, const std::string& token, const std::string& family,
                          const std::string& given, const std::string& nir13) {
  Headers h = Bearer(token);
  h["Content-Type"] = "application/fhir+json";
  HttpResponse r = c.Send("POST", "/fhir/Patient", SamplePatient(family, given, nir13).dump(), h);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.Json().value("id", "");
}

std::string IssueCode(HttpClient& c, const std::string& token, const std::string& patient) {
  HttpResponse r = c.Send("POST", "/fhir/Patient/" + patient + "/$access-code", "", Bearer(token));
  EXPECT_EQ(r.status, 201) << r.body;
  return r.Json().value("code", "");
}

HttpResponse UseCode(HttpClient& c, const std::string& code) {
  return c.Send("POST", "/patient-access", json{{"code", code}}.dump(), kJsonBody);
}

std::string Diagnostics(const HttpResponse& r) {
  const json j = r.Json();
  if (!j.is_object() || !j.contains("issue")) return "";
  return j["issue"][0].value("diagnostics", "");
}

TEST(PatientAccessE2e, ThePatientSeesOnlyTheirOwnHistoryOnceAndWrongCodesAreThrottled) {
  Vault v;
  v.SetConfig("access_code_failures_per_source", "4");
  const std::string practice_a = v.AddPractice("Cabinet A");
  const std::string practice_b = v.AddPractice("Cabinet B");
  User dr_a = v.AddUser(practice_a, "dr.a", "practitioner", "Dr Alice Martin");
  User sec_a = v.AddUser(practice_a, "sec.a", "secretary", "Sophie Durand");
  User admin_a = v.AddUser(practice_a, "admin.a", "admin");
  User dr_b = v.AddUser(practice_b, "dr.b", "practitioner", "Dr Bruno Petit");
  v.Serve();
  auto c = v.Client();
  const std::string dr_a_token = v.Login(dr_a);
  const std::string sec_a_token = v.Login(sec_a);
  const std::string admin_a_token = v.Login(admin_a);
  const std::string dr_b_token = v.Login(dr_b);

  const std::string p1 = CreatePatient(*c, dr_a_token, "Lefebvre", "Anne", "2850375056001");
  const std::string p2 = CreatePatient(*c, dr_a_token, "Moreau", "Paul", "1790275056002");
  const std::string p3 = CreatePatient(*c, dr_b_token, "Garnier", "Luc", "1660575056003");
  ASSERT_FALSE(p1.empty());
  ASSERT_FALSE(p2.empty());
  ASSERT_FALSE(p3.empty());
  EXPECT_EQ(c->Send("GET", "/fhir/Patient/" + p1, "", Bearer(dr_a_token)).status, 200);
  EXPECT_EQ(c->Send("GET", "/fhir/Patient/" + p2, "", Bearer(dr_a_token)).status, 200);
  EXPECT_EQ(c->Send("GET", "/fhir/Patient/" + p1, "", Bearer(sec_a_token)).status, 200);
  EXPECT_EQ(c->Send("GET", "/fhir/Patient/" + p3, "", Bearer(dr_b_token)).status, 200);

  // Who may issue a code: the practice's practitioners and secretaries, for its own patients.
  EXPECT_EQ(c->Send("POST", "/fhir/Patient/" + p1 + "/$access-code", "", Bearer(admin_a_token))
                .status, 403);
  EXPECT_EQ(c->Send("POST", "/fhir/Patient/" + p1 + "/$access-code", "", Bearer(dr_b_token))
                .status, 404);
  EXPECT_EQ(c->Send("POST", "/fhir/Patient/" + p1 + "/$access-code").status, 401);
  HttpResponse issued =
      c->Send("POST", "/fhir/Patient/" + p1 + "/$access-code", "", Bearer(sec_a_token));
  ASSERT_EQ(issued.status, 201) << issued.body;
  const std::string code = issued.Json().value("code", "");
  ASSERT_EQ(code.size(), 24u) << issued.body;
  EXPECT_FALSE(issued.Json().value("expires_at", "").empty());

  // The patient's view: no token, only the code.
  HttpResponse view = UseCode(*c, code);
  ASSERT_EQ(view.status, 200) << view.body;
  const json bundle = view.Json();
  ASSERT_EQ(bundle.value("resourceType", ""), "Bundle");
  // Nothing names another patient, a login or the patient's own id.
  for (const std::string& hidden : {p1, p2, p3, std::string("dr.a"), std::string("sec.a"),
                                    std::string("Dr Bruno Petit"), std::string("Lefebvre")}) {
    EXPECT_EQ(view.body.find(hidden), std::string::npos) << hidden;
  }
  std::multiset<std::string> seen;  // "display name|role|action|groups"
  for (const json& e : bundle["entry"]) {
    const json& ev = e["resource"];
    EXPECT_EQ(ev.value("resourceType", ""), "AuditEvent");
    EXPECT_FALSE(ev.value("recorded", "").empty());
    std::string groups;
    for (const json& g : ev["entity"][0]["securityLabel"]) groups += g.value("code", "") + ",";
    seen.insert(ev["agent"][0]["who"].value("display", "") + "|" +
                ev["agent"][0]["role"][0].value("text", "") + "|" +
                ev["type"].value("code", "") + "|" + groups);
  }
  // Created and read by Dr Martin, read by the secretary, who then issued the code.
  EXPECT_EQ(seen.count("Dr Alice Martin|practitioner|patient.create|identity,contact,insurance,"),
            1u) << view.body;
  EXPECT_EQ(seen.count("Dr Alice Martin|practitioner|patient.read|identity,contact,insurance,"),
            1u) << view.body;
  EXPECT_EQ(seen.count("Sophie Durand|secretary|patient.read|identity,contact,insurance,"), 1u)
      << view.body;
  EXPECT_EQ(seen.count("Sophie Durand|secretary|patient.access_code|"), 1u) << view.body;
  EXPECT_EQ(seen.size(), 4u) << view.body;

  // Reused, wrong and malformed codes: 401 with one message.
  HttpResponse reused = UseCode(*c, code);
  EXPECT_EQ(reused.status, 401);
  HttpResponse wrong = UseCode(*c, "0000-0000-0000-0000-0000");
  EXPECT_EQ(wrong.status, 401);
  HttpResponse malformed = UseCode(*c, "not a code");
  EXPECT_EQ(malformed.status, 401);
  EXPECT_EQ(Diagnostics(reused), "invalid, used or expired access code");
  EXPECT_EQ(reused.body, wrong.body);
  EXPECT_EQ(reused.body, malformed.body);
  EXPECT_EQ(c->Send("POST", "/patient-access", "{}", kJsonBody).status, 400);

  // The fourth failure from this address throttles it: even a fresh valid code is refused.
  EXPECT_EQ(UseCode(*c, "1111-1111-1111-1111-1111").status, 401);
  const std::string second = IssueCode(*c, dr_a_token, p2);
  HttpResponse throttled = UseCode(*c, second);
  EXPECT_EQ(throttled.status, 429) << throttled.body;

  // Issuing and using the code are in the patient's access history, for the practice's staff;
  // the secretary may not read it, another practice does not see the patient.
  HttpResponse history =
      c->Send("GET", "/fhir/AuditEvent?patient=Patient/" + p1, "", Bearer(admin_a_token));
  ASSERT_EQ(history.status, 200) << history.body;
  std::set<std::string> actions;
  const json history_bundle = history.Json();
  for (const json& e : history_bundle["entry"]) actions.insert(e["resource"]["type"]["code"]);
  EXPECT_TRUE(actions.count("patient.access_code")) << history.body;
  EXPECT_TRUE(actions.count("patient.access_view")) << history.body;
  EXPECT_EQ(c->Send("GET", "/fhir/AuditEvent?patient=Patient/" + p1, "", Bearer(sec_a_token)).status,
            403);
  EXPECT_EQ(c->Send("GET", "/fhir/AuditEvent?patient=Patient/" + p1, "", Bearer(dr_b_token)).status,
            404);
  EXPECT_EQ(c->Send("GET", "/fhir/AuditEvent?patient=Patient/" + p1, "", Bearer(dr_a_token)).status,
            200);

  ASSERT_EQ(v.StopServer(), 0) << v.ServerOutput();
  const std::string out = v.ServerOutput();
  EXPECT_NE(out.find("patient_access.ok"), std::string::npos);
  EXPECT_NE(out.find("patient_access.fail"), std::string::npos);
  EXPECT_EQ(out.find(code), std::string::npos);  // the code is never logged
  // The log, with the leaves of every use and failed use, verifies.
  CommandResult verified = RunMedvault({"audit", "verify", "--data", v.dir()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
}

}  // namespace
}  // namespace medvault::e2e
