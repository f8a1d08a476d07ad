// The HTTP API driven as an outside client would: the real binary, port 0, a Beast client.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

const std::map<std::string, std::string> kJsonHeader = {{"Content-Type", "application/json"}};

std::map<std::string, std::string> Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    practice_a_ = vault_.AddPractice("Cabinet A");
    practice_b_ = vault_.AddPractice("Cabinet B");
    doctor_ = vault_.AddUser(practice_a_, "dr.house", "practitioner");
    secretary_ = vault_.AddUser(practice_a_, "sec.a", "secretary");
    admin_ = vault_.AddUser(practice_a_, "admin.a", "admin");
    other_doctor_ = vault_.AddUser(practice_b_, "dr.other", "practitioner");
  }

  void Start(bool tls = false) {
    vault_.Serve(tls);
    client_ = vault_.Client();
  }

  HttpResponse LoginWith(const std::string& login, const std::string& password,
                         const std::string& code) {
    json body = {{"login", login}, {"password", password}, {"totp", code}};
    return client_->Send("POST", "/auth/login", body.dump(), kJsonHeader);
  }

  std::string CreatePatient(const std::string& token, const json& patient) {
    HttpResponse r = client_->Send("POST", "/fhir/Patient", patient.dump(), Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("id", "");
  }

  Vault vault_;
  std::string practice_a_, practice_b_;
  User doctor_, secretary_, admin_, other_doctor_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(ApiTest, LoginReturnsATokenThatOpensTheApi) {
  Start();
  HttpResponse r = LoginWith(doctor_.login, doctor_.password, doctor_.NextCode());
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  ASSERT_TRUE(j.contains("token"));
  ASSERT_TRUE(j.contains("expires_at"));
  const std::string token = j["token"];
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient", "", Bearer(token)).status, 200);
}

TEST_F(ApiTest, EveryLoginFailureGetsTheSame401Body) {
  Start();
  const HttpResponse unknown = LoginWith("nobody", "whatever password", "123456");
  const HttpResponse bad_password = LoginWith(doctor_.login, "wrong password!", doctor_.NextCode());
  const HttpResponse bad_code = LoginWith(doctor_.login, doctor_.password, "000000");
  const std::string code = doctor_.NextCode();
  ASSERT_EQ(LoginWith(doctor_.login, doctor_.password, code).status, 200);
  const HttpResponse replayed = LoginWith(doctor_.login, doctor_.password, code);
  for (const HttpResponse* r : {&unknown, &bad_password, &bad_code, &replayed}) {
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body, unknown.body);
    EXPECT_EQ(r->Json()["resourceType"], "OperationOutcome");
  }
}

TEST_F(ApiTest, RepeatedFailuresAreThrottled) {
  Start();
  int last = 0;
  for (int i = 0; i < 6; ++i) {
    last = LoginWith(secretary_.login, "wrong password!", "000000").status;
  }
  EXPECT_EQ(last, 429);
  // Even the right credentials are refused while throttled.
  EXPECT_EQ(LoginWith(secretary_.login, secretary_.password, secretary_.NextCode()).status, 429);
}

TEST_F(ApiTest, MalformedLoginBodiesAre400) {
  Start();
  HttpResponse r = client_->Send("POST", "/auth/login", "{not json", kJsonHeader);
  EXPECT_EQ(r.status, 400);
  r = client_->Send("POST", "/auth/login", R"({"login":"x","password":"y"})", kJsonHeader);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("totp"), std::string::npos);
}

TEST_F(ApiTest, LogoutRevokesTheToken) {
  Start();
  const std::string token = vault_.Login(doctor_);
  EXPECT_EQ(client_->Send("POST", "/auth/logout", "", Bearer(token)).status, 204);
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient", "", Bearer(token)).status, 401);
}

TEST_F(ApiTest, RequestsWithoutAValidTokenAre401) {
  Start();
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient").status, 401);
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient", "", Bearer(std::string(43, 'A'))).status, 401);
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient", "", {{"Authorization", "Basic x"}}).status, 401);
}

TEST_F(ApiTest, IdleSessionsExpire) {
  vault_.SetApiConfig("session_idle_seconds", "1");
  Start();
  const std::string token = vault_.Login(doctor_);
  ASSERT_EQ(client_->Send("GET", "/fhir/Patient", "", Bearer(token)).status, 200);
  // The token must stay unused for longer than the idle timeout: keep the server busy with
  // other requests until 1.5 s have passed, then use it once.
  const auto idle_over = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  auto probe = vault_.Client();
  while (std::chrono::steady_clock::now() < idle_over) {
    ASSERT_EQ(probe->Send("GET", "/health").status, 200);
  }
  const int status = client_->Send("GET", "/fhir/Patient", "", Bearer(token)).status;
  EXPECT_EQ(status, 401);
}

TEST_F(ApiTest, PatientCreateReadUpdateDelete) {
  Start();
  const std::string token = vault_.Login(doctor_);
  HttpResponse created =
      client_->Send("POST", "/fhir/Patient", SamplePatient("Lebrun", "Alice").dump(), Bearer(token));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  EXPECT_EQ(created.Header("location"), "/fhir/Patient/" + id);
  EXPECT_EQ(created.Header("content-type"), "application/fhir+json");

  HttpResponse read = client_->Send("GET", "/fhir/Patient/" + id, "", Bearer(token));
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.Json()["name"][0]["family"], "Lebrun");
  EXPECT_EQ(read.Json()["identifier"][0]["value"], NirWithKey("1841275056007"));

  json changed = SamplePatient("Lebrun-Moreau", "Alice");
  HttpResponse put = client_->Send("PUT", "/fhir/Patient/" + id, changed.dump(), Bearer(token));
  EXPECT_EQ(put.status, 200) << put.body;
  read = client_->Send("GET", "/fhir/Patient/" + id, "", Bearer(token));
  EXPECT_EQ(read.Json()["name"][0]["family"], "Lebrun-Moreau");

  EXPECT_EQ(client_->Send("DELETE", "/fhir/Patient/" + id, "", Bearer(token)).status, 204);
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).status, 404);
}

TEST_F(ApiTest, AnotherPracticesPatientIsNotFound) {
  Start();
  const std::string token = vault_.Login(doctor_);
  const std::string id = CreatePatient(token, SamplePatient("Durand", "Paul"));
  const std::string other = vault_.Login(other_doctor_);
  const HttpResponse theirs = client_->Send("GET", "/fhir/Patient/" + id, "", Bearer(other));
  const HttpResponse absent =
      client_->Send("GET", "/fhir/Patient/aaaaaaaaaaaaaaaaaaaaaaaaaa", "", Bearer(other));
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(theirs.body, absent.body);
  EXPECT_EQ(client_->Send("DELETE", "/fhir/Patient/" + id, "", Bearer(other)).status, 404);
  const json list = client_->Send("GET", "/fhir/Patient", "", Bearer(other)).Json();
  EXPECT_TRUE(list["entry"].empty());
}

TEST_F(ApiTest, SearchFoldsCaseAndAccentsAndPages) {
  Start();
  const std::string token = vault_.Login(doctor_);
  CreatePatient(token, SamplePatient("Lefèvre", "Élodie", "2850375056011"));
  CreatePatient(token, SamplePatient("Martin", "Jean", "1850375056012"));
  CreatePatient(token, SamplePatient("Martin", "Luc", "1850375056013"));
  json found = client_->Send("GET", "/fhir/Patient?family=LEFEVRE", "", Bearer(token)).Json();
  ASSERT_EQ(found["entry"].size(), 1u);
  EXPECT_EQ(found["type"], "searchset");
  found = client_->Send("GET", "/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8%7C" +
                                   NirWithKey("1850375056012"),
                        "", Bearer(token))
              .Json();
  ASSERT_EQ(found["entry"].size(), 1u);
  EXPECT_EQ(found["entry"][0]["resource"]["name"][0]["given"][0], "Jean");

  json page = client_->Send("GET", "/fhir/Patient?_count=2", "", Bearer(token)).Json();
  ASSERT_EQ(page["entry"].size(), 2u);
  std::string next;
  for (const json& l : page["link"]) {
    if (l["relation"] == "next") next = l["url"];
  }
  ASSERT_EQ(next.rfind("/fhir/Patient?", 0), 0u) << next;
  json rest = client_->Send("GET", next, "", Bearer(token)).Json();
  EXPECT_EQ(rest["entry"].size(), 1u);
}

TEST_F(ApiTest, RolesSeeOnlyTheirFieldGroups) {
  Start();
  const std::string doctor = vault_.Login(doctor_);
  const std::string id = CreatePatient(doctor, SamplePatient("Petit", "Marc"));
  const std::string secretary = vault_.Login(secretary_);
  const std::string admin = vault_.Login(admin_);

  json seen = client_->Send("GET", "/fhir/Patient/" + id, "", Bearer(secretary)).Json();
  EXPECT_TRUE(seen.contains("name"));
  EXPECT_TRUE(seen.contains("telecom"));

  HttpResponse r = client_->Send("GET", "/fhir/Patient/" + id, "", Bearer(admin));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient", "", Bearer(admin)).status, 403);

  json note = {{"resourceType", "DocumentReference"},
               {"subject", {{"reference", "Patient/" + id}}},
               {"content", {{{"attachment", {{"contentType", "text/plain; charset=utf-8"},
                                             {"data", "Q29uc3VsdGF0aW9uIGRlIHN1aXZp"}}}}}}};
  EXPECT_EQ(client_->Send("POST", "/fhir/DocumentReference", note.dump(), Bearer(secretary)).status,
            403);
  EXPECT_EQ(client_->Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "",
                          Bearer(secretary)).status, 403);
  HttpResponse written =
      client_->Send("POST", "/fhir/DocumentReference", note.dump(), Bearer(doctor));
  EXPECT_EQ(written.status, 201) << written.body;
  json notes = client_->Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "",
                             Bearer(doctor)).Json();
  EXPECT_EQ(notes["entry"].size(), 1u);

  // Break-glass is a practitioner's tool only.
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient/" + id, "",
                          {{"Authorization", "Bearer " + secretary},
                           {"X-Break-Glass-Reason", "urgence"}}).status, 403);
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient/" + id, "",
                          {{"Authorization", "Bearer " + doctor},
                           {"X-Break-Glass-Reason", "urgence"}}).status, 200);
  EXPECT_NE(vault_.ServerStderr().find("breakglass"), std::string::npos);
}

TEST_F(ApiTest, InvalidPatientsAre400NamingTheFieldNotTheValue) {
  Start();
  const std::string token = vault_.Login(doctor_);
  struct Case {
    std::function<void(json&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](json& p) { p["identifier"][0]["value"] = "184127505600700"; },
       "identifier[0].value: invalid NIR control key"},
      {[](json& p) { p["birthDate"] = "1984-02-30"; }, "birthDate: impossible date"},
      {[](json& p) { p["name"] = "Zoltan"; }, "name: must be an array"},
      {[](json& p) { p["gender"] = 3; }, "gender: must be a string"},
      {[](json& p) { p["telecom"][0]["system"] = "pigeon"; }, "telecom[0].system"},
      {[](json& p) { p["address"][0]["postalCode"] = "7501"; }, "address[0].postalCode"},
      {[](json& p) { p["extension"][0]["valueCode"] = "1"; }, "urn:medvault:regime"},
      {[](json& p) { p["favourite"] = 1; }, "favourite: unknown field"},
  };
  for (const Case& c : cases) {
    json p = SamplePatient("Zoltan", "Zora");
    c.mutate(p);
    HttpResponse r = client_->Send("POST", "/fhir/Patient", p.dump(), Bearer(token));
    EXPECT_EQ(r.status, 400) << c.field;
    EXPECT_NE(r.body.find(c.field), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("Zoltan"), std::string::npos);
    EXPECT_EQ(r.body.find("18412750560"), std::string::npos);
  }
  EXPECT_EQ(client_->Send("POST", "/fhir/Patient", "{oops", Bearer(token)).status, 400);
  HttpResponse wrong_type = client_->Send("POST", "/fhir/Patient", "x",
                                          {{"Authorization", "Bearer " + token},
                                           {"Content-Type", "text/csv"}});
  EXPECT_EQ(wrong_type.status, 415);
}

TEST_F(ApiTest, OversizedAndMalformedRequestsAreRefused) {
  Start();
  const std::string token = vault_.Login(doctor_);
  const std::string big(1024 * 1024 + 10, ' ');
  HttpResponse r = client_->Send("POST", "/fhir/Patient", big, Bearer(token));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Json()["resourceType"], "OperationOutcome");
  const std::string raw = client_->SendRaw("GARBAGE\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 400", 0), 0u) << raw;
  const std::string huge_header =
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(client_->SendRaw(huge_header).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(client_->Send("GET", "/no/such/route", "", Bearer(token)).status, 404);
}

TEST_F(ApiTest, EveryResponseCarriesSecurityHeaders) {
  Start();
  for (const HttpResponse& r : {client_->Send("GET", "/health"), client_->Send("GET", "/fhir/Patient"),
                                client_->Send("GET", "/metrics")}) {
    EXPECT_EQ(r.Header("cache-control"), "no-store");
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
    EXPECT_NE(r.Header("strict-transport-security").find("max-age="), std::string::npos);
  }
  EXPECT_EQ(client_->Send("GET", "/health").status, 200);
  HttpResponse metrics = client_->Send("GET", "/metrics");
  EXPECT_NE(metrics.body.find("medvault_http_requests_total"), std::string::npos);
}

TEST_F(ApiTest, AppointmentsAreCreatedAndListedByDay) {
  Start();
  const std::string token = vault_.Login(secretary_);
  const std::string id = CreatePatient(token, SamplePatient("Roux", "Anne"));
  json appt = {{"resourceType", "Appointment"},
               {"status", "booked"},
               {"start", "2026-03-02T09:00:00Z"},
               {"end", "2026-03-02T09:20:00Z"},
               {"participant", {{{"actor", {{"reference", "Patient/" + id}}}},
                                {{"actor", {{"reference", "Practitioner/dr.house"}}}}}}};
  HttpResponse r = client_->Send("POST", "/fhir/Appointment", appt.dump(), Bearer(token));
  EXPECT_EQ(r.status, 201) << r.body;
  json day = client_->Send("GET", "/fhir/Appointment?date=2026-03-02", "", Bearer(token)).Json();
  EXPECT_EQ(day["entry"].size(), 1u);
  appt["end"] = "2026-03-02T08:00:00Z";
  r = client_->Send("POST", "/fhir/Appointment", appt.dump(), Bearer(token));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("end: must be after start"), std::string::npos);
}

TEST_F(ApiTest, NoPatientFieldReachesTheServerLog) {
  Start();
  const std::string token = vault_.Login(doctor_);
  CreatePatient(token, SamplePatient("Quintard", "Wilhelmine", "2840175056014"));
  json bad = SamplePatient("Quintard", "Wilhelmine", "2840175056014");
  bad["birthDate"] = "1990-13-01";
  client_->Send("POST", "/fhir/Patient", bad.dump(), Bearer(token));
  client_->Send("GET", "/fhir/Patient?family=Quintard", "", Bearer(token));
  LoginWith(doctor_.login, "bad password!", "000000");
  vault_.StopServer();
  const std::string log = vault_.ServerStderr();
  EXPECT_EQ(log.find("Quintard"), std::string::npos);
  EXPECT_EQ(log.find("Wilhelmine"), std::string::npos);
  EXPECT_EQ(log.find("2840175056014"), std::string::npos);
  EXPECT_EQ(log.find("Lilas"), std::string::npos);
}

TEST_F(ApiTest, TlsHandshakeAndRequestsWork) {
  Start(/*tls=*/true);
  HttpResponse r = client_->Send("GET", "/health");
  EXPECT_EQ(r.status, 200);
  const std::string token = vault_.Login(doctor_);
  EXPECT_EQ(client_->Send("GET", "/fhir/Patient", "", Bearer(token)).status, 200);
}

}  // namespace
}  // namespace medvault::e2e
