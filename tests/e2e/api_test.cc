// The HTTP API driven as an outside client would: the real binary on port 0, a Beast client.
// One vault and one server are shared by the tests of a suite (CTest runs each suite as one
// process, see tests/CMakeLists.txt); the `Api` suite ends by stopping its server and verifying
// the access log it wrote.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

const Headers kJsonHeader = {{"Content-Type", "application/json"}};

std::string NextLink(const json& bundle) {
  if (!bundle.contains("link")) return "";
  for (const json& l : bundle["link"]) {
    if (l.value("relation", "") == "next") return l.value("url", "");
  }
  return "";
}

std::string Diagnostics(const HttpResponse& r) {
  const json j = r.Json();
  if (!j.is_object() || !j.contains("issue")) return "";
  return j["issue"][0].value("diagnostics", "");
}

// The tree size (second line) of a C2SP checkpoint; -1 if malformed.
long long CheckpointSize(const std::string& checkpoint) {
  const size_t first = checkpoint.find('\n');
  if (first == std::string::npos) return -1;
  const size_t second = checkpoint.find('\n', first + 1);
  if (second == std::string::npos) return -1;
  try {
    return std::stoll(checkpoint.substr(first + 1, second - first - 1));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(n >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned n = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

json Note(const std::string& patient_id, const std::string& text) {
  return {{"resourceType", "DocumentReference"},
          {"subject", {{"reference", "Patient/" + patient_id}}},
          {"content", {{{"attachment", {{"contentType", "text/plain; charset=utf-8"},
                                        {"data", Base64(text)}}}}}}};
}

// The patient fields of this suite: none may appear in an error body, a header or a log line.
// Every test patient is made from these names and NIRs.
const std::vector<std::string> kFamilies = {"Zabulonet", "Quintardier", "Xanthoulis", "Lefèvre",
                                            "Wolkowicz"};
const std::vector<std::string> kGivens = {"Wilhelmine", "Orzabal", "Élodie", "Ysengrin"};
const std::vector<std::string> kNirs = {"2840175056014", "1841275056007", "2850375056011",
                                        "1850375056012", "1850375056013", "1790699123456"};
const std::string kNoteText =
    "Patiente séropositive pour le VIH depuis 2019, traitement bien toléré.";

struct Env {
  Vault vault;
  std::string practice_a, practice_b, practice_c;
  User doctor, secretary, admin, security, other_doctor, other_admin, paging_doctor;
  User login_user, throttled_user, unaffected_user, locked_user, logout_user;
  std::string doctor_token, secretary_token, admin_token, security_token, other_token,
      other_admin_token, paging_token;
  std::unique_ptr<HttpClient> client;
  std::vector<std::string> secrets;
  std::vector<std::string> leaks;  // where a secret was seen
  long long audited = 0;           // responses that carried data or a session: each has a leaf
  long long initial_checkpoint = -1;
};

Env* env = nullptr;

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env;
    Vault& v = env->vault;
    env->practice_a = v.AddPractice("Cabinet A");
    env->practice_b = v.AddPractice("Cabinet B");
    env->practice_c = v.AddPractice("Cabinet C");
    env->doctor = v.AddUser(env->practice_a, "dr.house", "practitioner");
    env->secretary = v.AddUser(env->practice_a, "sec.a", "secretary");
    env->admin = v.AddUser(env->practice_a, "admin.a", "admin");
    env->security = v.AddUser("", "rssi", "security");
    env->other_doctor = v.AddUser(env->practice_b, "dr.other", "practitioner");
    env->other_admin = v.AddUser(env->practice_b, "admin.b", "admin");
    env->paging_doctor = v.AddUser(env->practice_c, "dr.pages", "practitioner");
    env->login_user = v.AddUser(env->practice_a, "dr.login", "practitioner");
    env->throttled_user = v.AddUser(env->practice_a, "sec.throttled", "secretary");
    env->unaffected_user = v.AddUser(env->practice_a, "sec.unaffected", "secretary");
    env->locked_user = v.AddUser(env->practice_a, "dr.locked", "practitioner");
    env->logout_user = v.AddUser(env->practice_a, "dr.logout", "practitioner");
    for (const std::string& s : kFamilies) env->secrets.push_back(s);
    for (const std::string& s : kGivens) env->secrets.push_back(s);
    for (const std::string& nir : kNirs) {
      env->secrets.push_back(nir);
      env->secrets.push_back(NirWithKey(nir));
    }
    env->secrets.push_back("Lilas");
    env->secrets.push_back("12 34 56 78");
    env->secrets.push_back("séropositive");
    v.Serve();
    env->client = v.Client();
    env->client->SetObserver([](const HttpResponse& r) {
      for (const std::string& secret : env->secrets) {
        for (const auto& [name, value] : r.headers) {
          if (value.find(secret) != std::string::npos) env->leaks.push_back("header " + name);
        }
        if (r.status >= 400 && r.body.find(secret) != std::string::npos) {
          env->leaks.push_back("error body " + std::to_string(r.status) + ": " + r.body);
        }
      }
    });
    HttpResponse checkpoint = env->client->Send("GET", "/log/checkpoint");
    if (checkpoint.status == 200) env->initial_checkpoint = CheckpointSize(checkpoint.body);
    env->doctor_token = LoginToken(env->doctor);
    env->secretary_token = LoginToken(env->secretary);
    env->admin_token = LoginToken(env->admin);
    env->security_token = LoginToken(env->security);
    env->other_token = LoginToken(env->other_doctor);
    env->other_admin_token = LoginToken(env->other_admin);
    env->paging_token = LoginToken(env->paging_doctor);
  }

  static void TearDownTestSuite() {
    delete env;
    env = nullptr;
  }

  // Sends through the suite's client, counting the responses that the access log must cover.
  static HttpResponse Send(const std::string& method, const std::string& target,
                           const std::string& body = "", const Headers& headers = {}) {
    HttpResponse r = env->client->Send(method, target, body, headers);
    const bool audited_route = target.rfind("/fhir/", 0) == 0 || target.rfind("/auth/", 0) == 0;
    if (audited_route && r.status >= 200 && r.status < 300) ++env->audited;
    return r;
  }

  static HttpResponse LoginWith(const std::string& login, const std::string& password,
                                const std::string& code) {
    json body = {{"login", login}, {"password", password}, {"totp", code}};
    return Send("POST", "/auth/login", body.dump(), kJsonHeader);
  }

  static std::string LoginToken(User& user) {
    HttpResponse r = LoginWith(user.login, user.password, user.NextCode());
    EXPECT_EQ(r.status, 200) << user.login << ": " << r.body;
    const json j = r.Json();
    return j.is_object() && j.contains("token") ? j["token"].get<std::string>() : "";
  }

  static std::string CreatePatient(const std::string& token, const json& patient) {
    HttpResponse r = Send("POST", "/fhir/Patient", patient.dump(), Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    const json j = r.Json();
    return j.is_object() ? j.value("id", "") : "";
  }

  static const Env& E() { return *env; }

  // A NIR (13 digits) used by no other test patient; registered as a secret.
  static std::string Nir() {
    static long long next = 1850375057000;
    const std::string nir13 = std::to_string(next++);
    env->secrets.push_back(nir13);
    env->secrets.push_back(NirWithKey(nir13));
    return nir13;
  }
};

// --- Login and sessions ----------------------------------------------------------------------

TEST_F(Api, LoginReturnsATokenAndItsAbsoluteExpiry) {
  HttpResponse r = LoginWith(env->login_user.login, env->login_user.password,
                             env->login_user.NextCode());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  const json j = r.Json();
  ASSERT_TRUE(j.contains("token"));
  EXPECT_EQ(j["token"].get<std::string>().size(), 43u);
  ASSERT_TRUE(j.contains("expires_at"));
  EXPECT_EQ(j["expires_at"].get<std::string>().back(), 'Z') << j["expires_at"];
  EXPECT_EQ(Send("GET", "/fhir/Patient", "", Bearer(j["token"])).status, 200);
}

TEST_F(Api, EveryLoginFailureGetsTheSame401Body) {
  User& u = env->login_user;
  const HttpResponse unknown = LoginWith("nobody", "whatever password", "123456");
  const HttpResponse bad_password = LoginWith(u.login, "wrong password!", u.NextCode());
  const HttpResponse bad_code = LoginWith(u.login, u.password, "000000");
  const HttpResponse not_digits = LoginWith(u.login, u.password, "abcdef");
  const std::string code = u.NextCode();
  ASSERT_EQ(LoginWith(u.login, u.password, code).status, 200);
  const HttpResponse replayed = LoginWith(u.login, u.password, code);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(IssueCode(unknown), "login");
  EXPECT_EQ(Diagnostics(unknown), "invalid login, password or code");
  EXPECT_EQ(unknown.Header("www-authenticate"), "Bearer");
  for (const HttpResponse* r : {&bad_password, &bad_code, &not_digits, &replayed}) {
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body, unknown.body);
  }
}

TEST_F(Api, RepeatedFailuresAreThrottledWith429) {
  User& u = env->throttled_user;
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i) statuses.push_back(LoginWith(u.login, "wrong password!", "000000").status);
  EXPECT_EQ(statuses, (std::vector<int>{401, 401, 401, 401, 401, 429}));
  // Even the right credentials are refused while throttled.
  const HttpResponse r = LoginWith(u.login, u.password, u.NextCode());
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(IssueCode(r), "throttled");
  // Other accounts from the same source are not affected.
  EXPECT_EQ(LoginWith(env->unaffected_user.login, env->unaffected_user.password,
                      env->unaffected_user.NextCode()).status, 200);
}

TEST_F(Api, MalformedLoginRequestsAre400NamingTheFieldOr415) {
  HttpResponse r = Send("POST", "/auth/login", "{not json", kJsonHeader);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(IssueCode(r), "invalid");
  r = Send("POST", "/auth/login", "[1,2]", kJsonHeader);
  EXPECT_EQ(r.status, 400);
  r = Send("POST", "/auth/login", R"({"login":"x","password":"y"})", kJsonHeader);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Diagnostics(r), "totp: required string");
  r = Send("POST", "/auth/login", R"({"login":"x","password":12,"totp":"123456"})", kJsonHeader);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Diagnostics(r), "password: required string");
  EXPECT_EQ(r.body.find("12"), std::string::npos);
  r = Send("POST", "/auth/login", "login=x", {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(Send("GET", "/auth/login").status, 405);
}

TEST_F(Api, ALockedAccountGets423OnlyWithTheRightCredentialsUntilUnlocked) {
  User& u = env->locked_user;
  env->vault.LockAccount(u.login);
  const HttpResponse locked = LoginWith(u.login, u.password, u.NextCode());
  EXPECT_EQ(locked.status, 423);
  EXPECT_EQ(IssueCode(locked), "lock-error");
  // Wrong credentials on a locked account say nothing about the lock.
  const HttpResponse wrong = LoginWith(u.login, "wrong password!", u.NextCode());
  EXPECT_EQ(wrong.status, 401);
  const CommandResult unlock =
      RunMedvault({"account", "unlock", "--data", env->vault.dir(), "--login", u.login});
  ASSERT_EQ(unlock.exit_code, 0) << unlock.err;
  EXPECT_EQ(LoginWith(u.login, u.password, u.NextCode()).status, 200);
}

TEST_F(Api, LogoutRevokesTheToken) {
  const std::string token = LoginToken(env->logout_user);
  ASSERT_EQ(Send("GET", "/fhir/Patient", "", Bearer(token)).status, 200);
  EXPECT_EQ(Send("POST", "/auth/logout", "", Bearer(token)).status, 204);
  EXPECT_EQ(Send("GET", "/fhir/Patient", "", Bearer(token)).status, 401);
  EXPECT_EQ(Send("POST", "/auth/logout", "", Bearer(token)).status, 401);
  // Another session of the same account is untouched.
  const std::string second = LoginToken(env->logout_user);
  EXPECT_EQ(Send("GET", "/fhir/Patient", "", Bearer(second)).status, 200);
}

TEST_F(Api, RequestsWithoutAValidTokenAre401WithOneBody) {
  const HttpResponse none = Send("GET", "/fhir/Patient");
  const HttpResponse unknown = Send("GET", "/fhir/Patient", "", Bearer(std::string(43, 'A')));
  const HttpResponse short_token = Send("GET", "/fhir/Patient/x", "", Bearer("abc"));
  const HttpResponse basic = Send("GET", "/fhir/Patient", "", {{"Authorization", "Basic eDp5"}});
  const HttpResponse two_tokens = Send("GET", "/fhir/AuditEvent?patient=Patient/x", "",
                                       {{"Authorization", "Bearer " + E().doctor_token + " x"}});
  for (const HttpResponse* r : {&none, &unknown, &short_token, &basic, &two_tokens}) {
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body, none.body);
    EXPECT_EQ(r->Header("www-authenticate"), "Bearer");
  }
  EXPECT_EQ(Diagnostics(none), "missing, invalid or expired token");
  // The scheme is case-insensitive (RFC 7235).
  EXPECT_EQ(Send("GET", "/fhir/Patient", "", {{"Authorization", "bearer " + E().doctor_token}})
                .status,
            200);
}

// --- Patients --------------------------------------------------------------------------------

TEST_F(Api, PatientCreateReadUpdate) {
  const std::string& token = E().doctor_token;
  HttpResponse created =
      Send("POST", "/fhir/Patient", SamplePatient("Zabulonet", "Wilhelmine").dump(), Bearer(token));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  EXPECT_EQ(created.Header("location"), "/fhir/Patient/" + id);
  EXPECT_EQ(created.Header("content-type"), "application/fhir+json");

  HttpResponse read = Send("GET", "/fhir/Patient/" + id, "", Bearer(token));
  ASSERT_EQ(read.status, 200);
  const json p = read.Json();
  EXPECT_EQ(p["resourceType"], "Patient");
  EXPECT_EQ(p["id"], id);
  EXPECT_EQ(p["name"][0]["family"], "Zabulonet");
  EXPECT_EQ(p["name"][0]["given"][0], "Wilhelmine");
  EXPECT_EQ(p["identifier"][0]["system"], "urn:oid:1.2.250.1.213.1.4.8");
  EXPECT_EQ(p["identifier"][0]["value"], NirWithKey("1841275056007"));
  EXPECT_EQ(p["birthDate"], "1984-12-03");
  EXPECT_EQ(p["address"][0]["city"], "Paris");

  json changed = SamplePatient("Zabulonet-Wolkowicz", "Wilhelmine");
  HttpResponse put = Send("PUT", "/fhir/Patient/" + id, changed.dump(), Bearer(token));
  EXPECT_EQ(put.status, 200) << put.body;
  read = Send("GET", "/fhir/Patient/" + id, "", Bearer(token));
  EXPECT_EQ(read.Json()["name"][0]["family"], "Zabulonet-Wolkowicz");

  // The same NIR twice in a practice is a conflict.
  const HttpResponse twice =
      Send("POST", "/fhir/Patient", SamplePatient("Xanthoulis", "Orzabal").dump(), Bearer(token));
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(IssueCode(twice), "duplicate");
}

TEST_F(Api, DeleteCryptoShredsThenThePatientIsNotFound) {
  const std::string& token = E().doctor_token;
  const std::string nir = Nir();
  const std::string id = CreatePatient(token, SamplePatient("Wolkowicz", "Ysengrin", nir));
  ASSERT_FALSE(id.empty());
  const std::string by_nir =
      "/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8%7C" + NirWithKey(nir);
  ASSERT_EQ(Send("GET", by_nir, "", Bearer(token)).Json()["entry"].size(), 1u);
  const HttpResponse secretary_delete = Send("DELETE", "/fhir/Patient/" + id, "",
                                             Bearer(E().secretary_token));
  EXPECT_EQ(secretary_delete.status, 403);
  EXPECT_EQ(IssueCode(secretary_delete), "forbidden");
  const HttpResponse deleted = Send("DELETE", "/fhir/Patient/" + id, "", Bearer(token));
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty());
  const HttpResponse read = Send("GET", "/fhir/Patient/" + id, "", Bearer(token));
  EXPECT_EQ(read.status, 404);
  EXPECT_EQ(IssueCode(read), "not-found");
  EXPECT_EQ(Send("DELETE", "/fhir/Patient/" + id, "", Bearer(token)).status, 404);
  EXPECT_EQ(Send("PUT", "/fhir/Patient/" + id,
                 SamplePatient("Wolkowicz", "Ysengrin", nir).dump(), Bearer(token))
                .status,
            404);
  EXPECT_TRUE(Send("GET", by_nir, "", Bearer(token)).Json()["entry"].empty());
}

TEST_F(Api, AnotherPracticesPatientIsNotFoundOnEveryRoute) {
  const std::string nir = Nir();
  const std::string id =
      CreatePatient(E().doctor_token, SamplePatient("Quintardier", "Orzabal", nir));
  ASSERT_FALSE(id.empty());
  const std::string& other = E().other_token;
  const std::string absent_id = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
  const HttpResponse theirs = Send("GET", "/fhir/Patient/" + id, "", Bearer(other));
  const HttpResponse absent = Send("GET", "/fhir/Patient/" + absent_id, "", Bearer(other));
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(theirs.body, absent.body);
  EXPECT_EQ(Send("PUT", "/fhir/Patient/" + id,
                 SamplePatient("Quintardier", "Orzabal", nir).dump(), Bearer(other))
                .status,
            404);
  EXPECT_EQ(Send("DELETE", "/fhir/Patient/" + id, "", Bearer(other)).status, 404);
  EXPECT_EQ(Send("GET", "/fhir/Patient/" + id, "",
                 {{"Authorization", "Bearer " + other}, {"X-Break-Glass-Reason", "urgence"}})
                .status,
            404);
  EXPECT_EQ(Send("POST", "/fhir/DocumentReference", Note(id, "Consultation de suivi.").dump(),
                 Bearer(other)).status,
            404);
  const HttpResponse notes =
      Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "", Bearer(other));
  EXPECT_TRUE(notes.status == 404 || (notes.status == 200 && notes.Json()["entry"].empty()))
      << notes.status;
  EXPECT_EQ(Send("GET", "/fhir/AuditEvent?patient=Patient/" + id, "", Bearer(E().other_admin_token))
                .status,
            404);
  const json list = Send("GET", "/fhir/Patient?family=Quintardier", "", Bearer(other)).Json();
  EXPECT_TRUE(list["entry"].empty());
  // The patient is still there for its own practice.
  EXPECT_EQ(Send("GET", "/fhir/Patient/" + id, "", Bearer(E().doctor_token)).status, 200);
}

TEST_F(Api, SearchFoldsCaseAndAccents) {
  const std::string& token = E().doctor_token;
  const std::string nir = Nir();
  CreatePatient(token, SamplePatient("Lefèvre", "Élodie", nir));
  json found = Send("GET", "/fhir/Patient?family=LEFEVRE", "", Bearer(token)).Json();
  ASSERT_EQ(found["entry"].size(), 1u) << found;
  EXPECT_EQ(found["type"], "searchset");
  EXPECT_EQ(found["resourceType"], "Bundle");
  found = Send("GET", "/fhir/Patient?given=elodie&family=lef%C3%A8vre", "", Bearer(token)).Json();
  EXPECT_EQ(found["entry"].size(), 1u) << found;
  found = Send("GET", "/fhir/Patient?birthdate=1984-12-03&family=Lefevre", "", Bearer(token)).Json();
  EXPECT_EQ(found["entry"].size(), 1u) << found;
  found = Send("GET", "/fhir/Patient?birthdate=1985-12-03&family=Lefevre", "", Bearer(token)).Json();
  EXPECT_TRUE(found["entry"].empty()) << found;
  found = Send("GET", "/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8%7C" +
                          NirWithKey(nir),
               "", Bearer(token))
              .Json();
  ASSERT_EQ(found["entry"].size(), 1u);
  EXPECT_EQ(found["entry"][0]["resource"]["name"][0]["given"][0], "Élodie");
}

TEST_F(Api, ListAndSearchPagesFollowTheNextLinkToTheEnd) {
  const std::string& token = E().paging_token;
  std::set<std::string> created;
  for (int i = 0; i < 7; ++i) {
    created.insert(CreatePatient(token, SamplePatient(i < 5 ? "Xanthoulis" : "Quintardier",
                                                      "Orzabal", Nir())));
  }
  auto walk = [&](const std::string& first, size_t count, std::vector<size_t>* sizes) {
    std::set<std::string> seen;
    std::string url = first;
    for (int pages = 0; !url.empty() && pages < 20; ++pages) {
      const HttpResponse r = Send("GET", url, "", Bearer(token));
      EXPECT_EQ(r.status, 200) << url << " " << r.body;
      const json bundle = r.Json();
      sizes->push_back(bundle["entry"].size());
      EXPECT_LE(bundle["entry"].size(), count);
      for (const json& e : bundle["entry"]) {
        EXPECT_TRUE(seen.insert(e["resource"]["id"].get<std::string>()).second) << "repeated";
      }
      url = NextLink(bundle);
      if (!url.empty()) {
        EXPECT_EQ(url.rfind("/fhir/Patient?", 0), 0u) << url;
      }
    }
    return seen;
  };
  std::vector<size_t> sizes;
  EXPECT_EQ(walk("/fhir/Patient?_count=3", 3, &sizes), created);
  EXPECT_GE(sizes.size(), 3u);
  EXPECT_EQ(sizes[0], 3u);
  EXPECT_EQ(sizes[1], 3u);
  sizes.clear();
  const std::set<std::string> xanthoulis = walk("/fhir/Patient?family=xanthoulis&_count=2", 2, &sizes);
  EXPECT_EQ(xanthoulis.size(), 5u);
  EXPECT_GE(sizes.size(), 3u);
  // Without _count a page holds up to 20; more than 100 is capped at 100.
  const json all = Send("GET", "/fhir/Patient", "", Bearer(token)).Json();
  EXPECT_EQ(all["entry"].size(), 7u);
  EXPECT_EQ(NextLink(all), "");
  EXPECT_EQ(Send("GET", "/fhir/Patient?_count=1000", "", Bearer(token)).Json()["entry"].size(), 7u);
}

// --- Roles -----------------------------------------------------------------------------------

TEST_F(Api, PractitionerSeesPatientFieldGroupsAndNotes) {
  const std::string& token = E().doctor_token;
  const std::string id = CreatePatient(token, SamplePatient("Xanthoulis", "Ysengrin", Nir()));
  const json p = Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).Json();
  EXPECT_TRUE(p.contains("name"));       // identity
  EXPECT_TRUE(p.contains("telecom"));    // contact
  EXPECT_TRUE(p.contains("identifier"));  // insurance
  const HttpResponse written =
      Send("POST", "/fhir/DocumentReference", Note(id, "Consultation de suivi.").dump(), Bearer(token));
  ASSERT_EQ(written.status, 201) << written.body;
  EXPECT_EQ(written.Header("location").rfind("/fhir/DocumentReference/", 0), 0u);
  const json notes =
      Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "", Bearer(token)).Json();
  ASSERT_EQ(notes["entry"].size(), 1u);
  EXPECT_EQ(notes["entry"][0]["resource"]["content"][0]["attachment"]["data"],
            Base64("Consultation de suivi."));
}

TEST_F(Api, SecretarySeesPatientsButNotNotesOrAccessRecords) {
  const std::string& token = E().secretary_token;
  const std::string id = CreatePatient(token, SamplePatient("Xanthoulis", "Élodie", Nir()));
  ASSERT_FALSE(id.empty());
  const json p = Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).Json();
  EXPECT_TRUE(p.contains("name"));
  EXPECT_TRUE(p.contains("telecom"));
  EXPECT_TRUE(p.contains("identifier"));
  EXPECT_EQ(Send("GET", "/fhir/Patient?family=xanthoulis", "", Bearer(token)).status, 200);
  const HttpResponse write_note =
      Send("POST", "/fhir/DocumentReference", Note(id, "Consultation.").dump(), Bearer(token));
  EXPECT_EQ(write_note.status, 403);
  EXPECT_EQ(IssueCode(write_note), "forbidden");
  EXPECT_EQ(Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "", Bearer(token)).status,
            403);
  EXPECT_EQ(Send("GET", "/fhir/AuditEvent?patient=Patient/" + id, "", Bearer(token)).status, 403);
}

TEST_F(Api, AdminSeesNoPatientDataOnlyAccessRecords) {
  const std::string& token = E().admin_token;
  const std::string mine =
      CreatePatient(E().doctor_token, SamplePatient("Wolkowicz", "Élodie", Nir()));
  for (const HttpResponse& r :
       {Send("GET", "/fhir/Patient/" + mine, "", Bearer(token)),
        Send("GET", "/fhir/Patient", "", Bearer(token)),
        Send("GET", "/fhir/Patient?family=wolkowicz", "", Bearer(token)),
        Send("POST", "/fhir/Patient", SamplePatient("Wolkowicz", "Élodie", Nir()).dump(),
             Bearer(token)),
        Send("PUT", "/fhir/Patient/" + mine, SamplePatient("Wolkowicz", "Élodie", Nir()).dump(),
             Bearer(token)),
        Send("DELETE", "/fhir/Patient/" + mine, "", Bearer(token)),
        Send("GET", "/fhir/DocumentReference?patient=Patient/" + mine, "", Bearer(token)),
        Send("GET", "/fhir/Appointment?date=2026-03-02", "", Bearer(token))}) {
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(IssueCode(r), "forbidden");
  }
  EXPECT_EQ(Send("GET", "/fhir/AuditEvent?patient=Patient/" + mine, "", Bearer(token)).status, 200);
}

TEST_F(Api, SecurityOfficerSeesAccessRecordsOfAnyPracticeButNoPatient) {
  const std::string id =
      CreatePatient(E().other_token, SamplePatient("Zabulonet", "Ysengrin", Nir()));
  const std::string& token = E().security_token;
  EXPECT_EQ(Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).status, 403);
  EXPECT_EQ(Send("GET", "/fhir/Patient", "", Bearer(token)).status, 403);
  EXPECT_EQ(Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "", Bearer(token)).status,
            403);
  const HttpResponse events =
      Send("GET", "/fhir/AuditEvent?patient=Patient/" + id, "", Bearer(token));
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_FALSE(events.Json()["entry"].empty());
}

TEST_F(Api, BreakGlassIsForPractitionersAndIsAnnounced) {
  const std::string id =
      CreatePatient(E().doctor_token, SamplePatient("Quintardier", "Élodie", Nir()));
  const Headers secretary = {{"Authorization", "Bearer " + E().secretary_token},
                             {"X-Break-Glass-Reason", "urgence vitale"}};
  EXPECT_EQ(Send("GET", "/fhir/Patient/" + id, "", secretary).status, 403);
  const Headers doctor = {{"Authorization", "Bearer " + E().doctor_token},
                          {"X-Break-Glass-Reason", "urgence vitale"}};
  EXPECT_EQ(Send("GET", "/fhir/Patient/" + id, "", doctor).status, 200);
  const std::string log = env->vault.ServerOutput();
  EXPECT_NE(log.find("ALERT breakglass login=dr.house"), std::string::npos) << log;
  EXPECT_EQ(log.find("urgence vitale"), std::string::npos);
  const json events =
      Send("GET", "/fhir/AuditEvent?patient=Patient/" + id, "", Bearer(E().admin_token)).Json();
  bool recorded = false;
  for (const json& e : events["entry"]) {
    recorded = recorded || e["resource"]["type"]["code"] == "breakglass";
  }
  EXPECT_TRUE(recorded) << events;
}

// --- Errors ----------------------------------------------------------------------------------

TEST_F(Api, InvalidPatientsAre400NamingTheFieldNotTheValue) {
  const std::string& token = E().doctor_token;
  struct Case {
    std::function<void(json&)> mutate;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](json& p) { p["identifier"][0]["value"] = "184127505600700"; },
       "identifier[0].value: invalid NIR control key"},
      {[](json& p) { p["birthDate"] = "1984-02-30"; }, "birthDate: impossible date"},
      {[](json& p) { p["name"] = "Zabulonet"; }, "name: must be an array"},
      {[](json& p) { p["gender"] = 3; }, "gender: must be a string"},
      {[](json& p) { p["telecom"][0]["system"] = "pigeon"; }, "telecom[0].system"},
      {[](json& p) { p["address"][0]["postalCode"] = "7501"; }, "address[0].postalCode"},
      {[](json& p) { p["extension"][0]["valueCode"] = "1"; }, "urn:medvault:regime"},
      {[](json& p) { p["favourite"] = 1; }, "favourite: unknown field"},
      {[](json& p) { p["resourceType"] = "Practitioner"; }, "resourceType"},
  };
  for (const Case& c : cases) {
    json p = SamplePatient("Zabulonet", "Wilhelmine");
    c.mutate(p);
    HttpResponse r = Send("POST", "/fhir/Patient", p.dump(), Bearer(token));
    EXPECT_EQ(r.status, 400) << c.message;
    EXPECT_EQ(IssueCode(r), "invalid") << r.body;
    EXPECT_NE(Diagnostics(r).find(c.message), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("18412750560"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("7501\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("pigeon"), std::string::npos) << r.body;
  }
  const HttpResponse not_json = Send("POST", "/fhir/Patient", "{oops", Bearer(token));
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(Diagnostics(not_json), "body: not valid JSON");
  const HttpResponse wrong_type = Send("POST", "/fhir/Patient", "x",
                                       {{"Authorization", "Bearer " + token},
                                        {"Content-Type", "text/csv"}});
  EXPECT_EQ(wrong_type.status, 415);
  EXPECT_EQ(wrong_type.Json()["resourceType"], "OperationOutcome");
}

TEST_F(Api, InvalidSearchParametersAre400NamingTheParameter) {
  const std::string& token = E().doctor_token;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/fhir/Patient?birthdate=1984-02-30", "birthdate:"},
      {"/fhir/Patient?identifier=Wilhelmine", "identifier:"},
      {"/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8%7C", "identifier:"},
      {"/fhir/Patient?_count=0", "_count:"},
      {"/fhir/Patient?_count=abc", "_count:"},
      {"/fhir/Patient?_cursor=Wilhelmine", "_cursor:"},
      {"/fhir/Patient?nickname=Wilhelmine", "nickname: unknown search parameter"},
      {"/fhir/Appointment", "date: required"},
      {"/fhir/Appointment?date=2026-13-01", "date:"},
      {"/fhir/DocumentReference", "patient: required"},
      {"/fhir/DocumentReference?patient=Wilhelmine", "patient:"},
      {"/fhir/AuditEvent", "patient: required"},
  };
  for (const auto& [target, message] : cases) {
    const HttpResponse r = Send("GET", target, "", Bearer(token));
    EXPECT_EQ(r.status, 400) << target << " " << r.body;
    EXPECT_EQ(Diagnostics(r).rfind(message, 0), 0u) << target << " " << r.body;
  }
}

TEST_F(Api, OversizedAndMalformedRequestsAreRefused) {
  const std::string& token = E().doctor_token;
  const std::string big(1024 * 1024 + 10, ' ');
  HttpResponse r = Send("POST", "/fhir/Patient", big, Bearer(token));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(IssueCode(r), "too-costly");
  const std::string garbage = env->client->SendRaw("GARBAGE\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  EXPECT_NE(garbage.find("OperationOutcome"), std::string::npos) << garbage;
  const std::string bad_version = env->client->SendRaw("GET /health HTTP/9.9\r\nHost: x\r\n\r\n");
  EXPECT_EQ(bad_version.rfind("HTTP/1.1 400", 0), 0u) << bad_version;
  const std::string bad_length =
      env->client->SendRaw("POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n");
  EXPECT_EQ(bad_length.rfind("HTTP/1.1 400", 0), 0u) << bad_length;
  const std::string huge_header =
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  const std::string too_big = env->client->SendRaw(huge_header);
  EXPECT_EQ(too_big.rfind("HTTP/1.1 431", 0), 0u) << too_big;
  // The server is still fine afterwards.
  EXPECT_EQ(Send("GET", "/health").status, 200);
}

TEST_F(Api, UnknownRoutesAre404AndWrongMethods405) {
  const std::string& token = E().doctor_token;
  const HttpResponse route = Send("GET", "/no/such/route", "", Bearer(token));
  EXPECT_EQ(route.status, 404);
  EXPECT_EQ(IssueCode(route), "not-found");
  EXPECT_EQ(Send("GET", "/fhir/Practitioner", "", Bearer(token)).status, 404);
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"DELETE", "/fhir/Patient"}, {"PATCH", "/fhir/Patient/aaaaaaaaaaaaaaaaaaaaaaaaaa"},
           {"POST", "/health"}, {"PUT", "/fhir/AuditEvent"}, {"DELETE", "/fhir/Appointment"},
           {"GET", "/auth/logout"}, {"POST", "/metrics"}, {"POST", "/log/checkpoint"}}) {
    const HttpResponse r = Send(method, target, "", Bearer(token));
    EXPECT_EQ(r.status, 405) << method << " " << target;
    EXPECT_EQ(IssueCode(r), "not-supported") << r.body;
  }
}

TEST_F(Api, EveryResponseCarriesSecurityHeadersAndARequestId) {
  std::set<std::string> ids;
  for (const HttpResponse& r :
       {Send("GET", "/health"), Send("GET", "/fhir/Patient"), Send("GET", "/metrics"),
        Send("GET", "/fhir/Patient", "", Bearer(E().doctor_token)),
        Send("GET", "/no/such/route")}) {
    EXPECT_EQ(r.Header("cache-control"), "no-store");
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
    EXPECT_NE(r.Header("strict-transport-security").find("max-age="), std::string::npos);
    EXPECT_FALSE(r.Header("x-request-id").empty());
    ids.insert(r.Header("x-request-id"));
  }
  EXPECT_EQ(ids.size(), 5u);
}

TEST_F(Api, HealthAndMetrics) {
  const HttpResponse health = Send("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json()["status"], "ok");
  const HttpResponse metrics = Send("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("content-type").rfind("text/plain", 0), 0u);
  for (const char* name : {"medvault_http_requests_total{", "medvault_http_request_duration_seconds",
                           "medvault_logins_total{", "medvault_refusals_total"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name << "\n" << metrics.body;
  }
  EXPECT_NE(metrics.body.find("status=\"200\""), std::string::npos);
}

TEST_F(Api, AppointmentsAreCreatedAndListedByDay) {
  const std::string& token = E().secretary_token;
  const std::string id = CreatePatient(token, SamplePatient("Zabulonet", "Orzabal", Nir()));
  json appt = {{"resourceType", "Appointment"},
               {"status", "booked"},
               {"start", "2026-03-02T09:00:00Z"},
               {"end", "2026-03-02T09:20:00Z"},
               {"participant", {{{"actor", {{"reference", "Patient/" + id}}}},
                                {{"actor", {{"reference", "Practitioner/dr.house"}}}}}}};
  HttpResponse r = Send("POST", "/fhir/Appointment", appt.dump(), Bearer(token));
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("location").rfind("/fhir/Appointment/", 0), 0u);
  json day = Send("GET", "/fhir/Appointment?date=2026-03-02", "", Bearer(token)).Json();
  EXPECT_EQ(day["entry"].size(), 1u);
  EXPECT_TRUE(Send("GET", "/fhir/Appointment?date=2026-03-03", "", Bearer(token))
                  .Json()["entry"].empty());
  // Another practice sees none of them, and cannot book this patient.
  EXPECT_TRUE(Send("GET", "/fhir/Appointment?date=2026-03-02", "", Bearer(E().other_token))
                  .Json()["entry"].empty());
  EXPECT_EQ(Send("POST", "/fhir/Appointment", appt.dump(), Bearer(E().other_token)).status, 404);
  json bad = appt;
  bad["end"] = "2026-03-02T08:00:00Z";
  r = Send("POST", "/fhir/Appointment", bad.dump(), Bearer(token));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Diagnostics(r), "end: must be after start");
  bad = appt;
  bad["participant"][1]["actor"]["reference"] = "Practitioner/dr.other";
  r = Send("POST", "/fhir/Appointment", bad.dump(), Bearer(token));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Diagnostics(r).rfind("participant", 0), 0u) << r.body;
}

// --- Notes and access records ----------------------------------------------------------------

TEST_F(Api, SensitiveNoteCarriesSecurityLabelsAndSpanWarnings) {
  const std::string& token = E().doctor_token;
  const std::string id = CreatePatient(token, SamplePatient("Lefèvre", "Ysengrin", Nir()));
  // The first note waits for the classifier, which the server loads in the background.
  HttpResponse r;
  const bool answered = WaitFor(
      [&] {
        r = Send("POST", "/fhir/DocumentReference", Note(id, kNoteText).dump(), Bearer(token));
        return r.status != 0;
      },
      120'000, 100);
  ASSERT_TRUE(answered);
  ASSERT_EQ(r.status, 201) << r.body;
  const json doc = r.Json();
  std::set<std::string> labels;
  for (const json& c : doc["meta"]["security"]) {
    EXPECT_EQ(c["system"], "urn:medvault:note-category");
    labels.insert(c["code"].get<std::string>());
  }
  EXPECT_TRUE(labels.count("hiv_sti")) << doc;
  ASSERT_TRUE(doc.contains("contained")) << doc;
  const json& outcome = doc["contained"][0];
  EXPECT_EQ(outcome["resourceType"], "OperationOutcome");
  bool hiv_span = false;
  for (const json& issue : outcome["issue"]) {
    EXPECT_EQ(issue["severity"], "warning");
    const std::string diagnostics = issue["diagnostics"];
    EXPECT_EQ(diagnostics.find("VIH"), std::string::npos) << diagnostics;
    EXPECT_EQ(diagnostics.find("séropositive"), std::string::npos) << diagnostics;
    size_t start = 0, end = 0;
    for (const json& ext : issue["extension"]) {
      if (ext["url"] == "urn:medvault:span-start") start = ext["valueInteger"];
      if (ext["url"] == "urn:medvault:span-end") end = ext["valueInteger"];
    }
    ASSERT_LT(start, end);
    ASSERT_LE(end, kNoteText.size());
    const std::string span = kNoteText.substr(start, end - start);
    if (issue["details"]["coding"][0]["code"] == "hiv_sti") {
      hiv_span = hiv_span || span.find("VIH") != std::string::npos ||
                 span.find("séropositive") != std::string::npos;
    }
  }
  EXPECT_TRUE(hiv_span) << outcome;
  // Stored with its labels; the secretary cannot read it.
  const json notes =
      Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "", Bearer(token)).Json();
  ASSERT_EQ(notes["entry"].size(), 1u);
  EXPECT_EQ(notes["entry"][0]["resource"]["meta"]["security"], doc["meta"]["security"]);
  EXPECT_FALSE(notes["entry"][0]["resource"].contains("contained"));
  EXPECT_EQ(Send("GET", "/fhir/DocumentReference?patient=Patient/" + id, "",
                 Bearer(E().secretary_token)).status,
            403);
  // A note with a wrong content type or data that is not base64 is refused, naming the field.
  json bad = Note(id, "Consultation.");
  bad["content"][0]["attachment"]["contentType"] = "text/html";
  r = Send("POST", "/fhir/DocumentReference", bad.dump(), Bearer(token));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(Diagnostics(r).find("contentType"), std::string::npos) << r.body;
  bad = Note(id, "Consultation.");
  bad["content"][0]["attachment"]["data"] = "***";
  r = Send("POST", "/fhir/DocumentReference", bad.dump(), Bearer(token));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(Diagnostics(r).find("data"), std::string::npos) << r.body;
}

TEST_F(Api, AuditEventListsWhoReadThePatient) {
  const std::string id =
      CreatePatient(E().doctor_token, SamplePatient("Quintardier", "Wilhelmine", Nir()));
  ASSERT_EQ(Send("GET", "/fhir/Patient/" + id, "", Bearer(E().doctor_token)).status, 200);
  ASSERT_EQ(Send("GET", "/fhir/Patient/" + id, "", Bearer(E().secretary_token)).status, 200);
  for (const std::string* token : {&E().admin_token, &E().doctor_token, &E().security_token}) {
    const HttpResponse r = Send("GET", "/fhir/AuditEvent?patient=Patient/" + id, "", Bearer(*token));
    ASSERT_EQ(r.status, 200) << r.body;
    const json bundle = r.Json();
    EXPECT_EQ(bundle["type"], "searchset");
    std::set<std::string> readers;
    for (const json& e : bundle["entry"]) {
      const json& event = e["resource"];
      EXPECT_EQ(event["resourceType"], "AuditEvent");
      EXPECT_EQ(event["entity"][0]["what"]["reference"], "Patient/" + id);
      EXPECT_FALSE(event["recorded"].get<std::string>().empty());
      if (event["type"]["code"] != "patient.read") continue;
      readers.insert(event["agent"][0]["who"]["identifier"]["value"].get<std::string>());
      std::set<std::string> groups;
      for (const json& label : event["entity"][0]["securityLabel"]) groups.insert(label["code"]);
      EXPECT_EQ(groups, (std::set<std::string>{"identity", "contact", "insurance"})) << event;
    }
    EXPECT_EQ(readers, (std::set<std::string>{"dr.house", "sec.a"})) << bundle;
  }
}

TEST_F(Api, LogCheckpointGrowsAndServesItsKey) {
  long long size = -1;
  const bool grew = WaitFor(
      [&] {
        const HttpResponse r = Send("GET", "/log/checkpoint");
        if (r.status == 200) size = CheckpointSize(r.body);
        return size > E().initial_checkpoint && size > 0;
      },
      30'000, 200);
  EXPECT_TRUE(grew) << "checkpoint size " << size << ", at start " << E().initial_checkpoint;
  const HttpResponse key = Send("GET", "/log/key");
  EXPECT_EQ(key.status, 200);
  EXPECT_FALSE(key.body.empty());
  EXPECT_EQ(Send("GET", "/log/tile/0/x999").status, 404);
}

TEST_F(Api, NoPatientFieldInAnyErrorBodyOrHeader) {
  // Errors that could tempt an implementation to echo a value.
  Send("GET", "/fhir/Patient?family=Zabulonet&nickname=Wilhelmine", "", Bearer(E().doctor_token));
  Send("GET", "/fhir/Patient/Wilhelmine", "", Bearer(E().doctor_token));
  Send("GET", "/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8%7CWilhelmine", "",
       Bearer(E().doctor_token));
  json p = SamplePatient("Quintardier", "Wilhelmine", Nir());
  p["birthDate"] = "Wilhelmine";
  p["address"][0]["postalCode"] = "Quintardier";
  Send("POST", "/fhir/Patient", p.dump(), Bearer(E().doctor_token));
  LoginWith("Wilhelmine", "Quintardier", "000000");
  EXPECT_TRUE(env->leaks.empty()) << ::testing::PrintToString(env->leaks);
}

TEST_F(Api, AfterShutdownTheLogVerifiesAndCoversEveryAuditedResponse) {
  ASSERT_GT(E().audited, 0);
  EXPECT_EQ(env->vault.StopServer(), 0);
  const CommandResult verify = RunMedvault({"audit", "verify", "--data", env->vault.dir()});
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  ASSERT_EQ(verify.out.rfind("ok tree_size=", 0), 0u) << verify.out;
  const long long tree_size = std::stoll(verify.out.substr(13));
  EXPECT_GE(tree_size, E().audited);
  const std::string log = env->vault.ServerOutput();
  for (const std::string& secret : E().secrets) {
    const size_t at = log.find(secret);
    EXPECT_EQ(at, std::string::npos)
        << secret << " in the server log: "
        << log.substr(at < 200 ? 0 : at - 200, 400);
  }
}

// --- Idle expiry (its own server: one-second idle timeout) -----------------------------------

class ApiIdle : public ::testing::Test {};

TEST_F(ApiIdle, AnUnusedTokenExpiresWhileAUsedOneStaysValid) {
  Vault vault;
  const std::string practice = vault.AddPractice("Cabinet");
  User idle_user = vault.AddUser(practice, "dr.idle", "practitioner");
  User busy_user = vault.AddUser(practice, "dr.busy", "practitioner");
  vault.SetConfig("session_idle_seconds", "2");
  vault.Serve();
  auto client = vault.Client();
  // Each token is used as soon as it is issued: a login can take over a second under load
  // (password hashing under sanitizers), longer than a token may stay unused here.
  const std::string idle = vault.Login(idle_user);
  ASSERT_EQ(client->Send("GET", "/fhir/Patient", "", Bearer(idle)).status, 200);
  const auto last_use = std::chrono::steady_clock::now();
  const std::string busy = vault.Login(busy_user);
  // The busy token is used every 200 ms until the idle one has been unused for 3 s.
  const bool idle_long_enough = WaitFor(
      [&] {
        EXPECT_EQ(client->Send("GET", "/fhir/Patient", "", Bearer(busy)).status, 200);
        return std::chrono::steady_clock::now() - last_use > std::chrono::milliseconds(3000);
      },
      20'000, 200);
  ASSERT_TRUE(idle_long_enough);
  const HttpResponse expired = client->Send("GET", "/fhir/Patient", "", Bearer(idle));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(IssueCode(expired), "login");
  EXPECT_EQ(client->Send("GET", "/fhir/Patient", "", Bearer(busy)).status, 200);
  EXPECT_EQ(vault.StopServer(), 0);
}

// --- TLS -------------------------------------------------------------------------------------

class ApiTls : public ::testing::Test {};

TEST_F(ApiTls, LoginReadAndSecurityHeadersOverTls) {
  Vault vault;
  const std::string practice = vault.AddPractice("Cabinet");
  User doctor = vault.AddUser(practice, "dr.tls", "practitioner");
  vault.Serve(/*tls=*/true);
  auto client = vault.Client();  // verifies the server against DIR/tls/cert.pem
  const HttpResponse health = client->Send("GET", "/health");
  EXPECT_EQ(health.status, 200);
  const std::string token = vault.Login(doctor);
  ASSERT_FALSE(token.empty());
  const HttpResponse created = client->Send(
      "POST", "/fhir/Patient", SamplePatient("Zabulonet", "Wilhelmine").dump(), Bearer(token));
  ASSERT_EQ(created.status, 201) << created.body;
  const HttpResponse read =
      client->Send("GET", "/fhir/Patient/" + created.Json()["id"].get<std::string>(), "",
                   Bearer(token));
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.Json()["name"][0]["family"], "Zabulonet");
  for (const HttpResponse* r : {&health, &read}) {
    EXPECT_EQ(r->Header("cache-control"), "no-store");
    EXPECT_EQ(r->Header("x-content-type-options"), "nosniff");
    EXPECT_NE(r->Header("strict-transport-security").find("max-age="), std::string::npos);
  }
  // Plain HTTP on the TLS port gets no HTTP answer.
  const std::string plain = client->SendRaw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(plain.find("\"status\":\"ok\""), std::string::npos);
  EXPECT_EQ(vault.StopServer(), 0);
}

}  // namespace
}  // namespace medvault::e2e
