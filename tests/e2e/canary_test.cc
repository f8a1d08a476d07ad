// Canary patients against the real server (docs/canaries.md): a list dump past the first page
// and a broad family search are contained by the canaries they expose; a secretary booking by
// family name and birth date and a doctor opening the day's agenda never meet one; on the wire a
// canary has exactly the fields and shapes of a real patient; the spacing survives an import made
// while the server runs; the agenda never lists a canary.
//
// Canaries are told apart here only through what the test knows of its own patients (their NIRs):
// nothing on the wire marks them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

constexpr size_t kK = 10;  // [guard] canary_spacing, default

std::string NextLink(const json& bundle) {
  for (const json& link : bundle["link"]) {
    if (link.value("relation", "") == "next") return link.value("url", "");
  }
  return "";
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// The real patients of the tests, by index i: family Martin when i % 5 == 0, born on
// 1975-03-14 when i % 5 == 1, distinct families and birth dates otherwise; every NIR distinct.
struct RealPatient {
  std::string family;
  std::string birth_date;
  std::string nir;
};

std::vector<RealPatient> RealPatients(int first, int count) {
  std::vector<RealPatient> out;
  for (int i = first; i < first + count; ++i) {
    RealPatient p;
    char nir13[32];
    std::snprintf(nir13, sizeof nir13, "2760375%06d", i + 1);
    p.nir = NirWithKey(nir13);
    char date[16];
    std::snprintf(date, sizeof date, "19%02d-%02d-%02d", 40 + i % 60, 1 + i % 12, 1 + i % 28);
    p.birth_date = date;
    p.family = "Famille" + std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i);
    if (i % 5 == 0) p.family = "Martin";
    if (i % 5 == 1) p.birth_date = "1975-03-14";
    out.push_back(p);
  }
  return out;
}

json ToFhir(const RealPatient& p, int i) {
  json j = SamplePatient(p.family, i % 2 ? "Louise" : "Camille", p.nir.substr(0, 13));
  j["birthDate"] = p.birth_date;
  j["telecom"] = {{{"system", "phone"}, {"value", "06" + std::to_string(10'000'000 + i)}}};
  if (i % 3 == 0) {
    j["telecom"].push_back({{"system", "email"}, {"value", "p" + std::to_string(i) + "@exemple.fr"}});
  }
  return j;
}

void ImportFile(Vault& vault, const std::string& practice, int first, int count) {
  const std::string file = vault.dir() + "/import-" + std::to_string(first) + ".ndjson";
  {
    std::ofstream out(file);
    const auto patients = RealPatients(first, count);
    for (int i = 0; i < count; ++i) out << ToFhir(patients[static_cast<size_t>(i)], first + i).dump() << "\n";
  }
  CommandResult r = RunMedvault({"import", "--data", vault.dir(), "--practice", practice, file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out, std::to_string(count) + "\n");  // canaries are not counted
  std::remove(file.c_str());
}

std::string NirOf(const json& resource) {
  for (const json& id : resource["identifier"]) return id.value("value", "");
  return "";
}

// The structure of a resource: every member path with its JSON type, values left out.
void Shape(const json& j, const std::string& path, std::set<std::string>* out) {
  out->insert(path + ":" + j.type_name());
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) Shape(value, path + "/" + key, out);
  } else if (j.is_array()) {
    for (const json& item : j) Shape(item, path + "[]", out);
  }
}

struct Walk {
  std::vector<json> resources;
  std::vector<bool> canary;  // by what the test knows: a NIR it did not import
  int status = 200;
};

Walk WalkAll(HttpClient& client, const std::string& token, std::string target,
             const std::set<std::string>& real_nirs) {
  Walk w;
  while (!target.empty()) {
    HttpResponse r = client.Send("GET", target, "", Bearer(token));
    if (r.status != 200) {
      w.status = r.status;
      return w;
    }
    const json bundle = r.Json();
    for (const json& entry : bundle["entry"]) {
      w.resources.push_back(entry["resource"]);
      w.canary.push_back(!real_nirs.contains(NirOf(entry["resource"])));
    }
    target = NextLink(bundle);
  }
  return w;
}

size_t LongestRealRun(const std::vector<bool>& canary) {
  size_t run = 0, longest = 0;
  for (bool c : canary) {
    run = c ? 0 : run + 1;
    longest = std::max(longest, run);
  }
  return longest;
}

class CanaryE2E : public ::testing::Test {
 protected:
  void Start(bool shadow) {
    practice_ = vault_.AddPractice("Cabinet des Canaris");
    ImportFile(vault_, practice_, 0, 200);
    for (const auto& p : RealPatients(0, 200)) real_nirs_.insert(p.nir);
    if (shadow) vault_.SetConfig("shadow", "true");
  }

  Vault vault_;
  std::string practice_;
  std::set<std::string> real_nirs_;
};

TEST_F(CanaryE2E, AListDumpPastThePageOneIsContainedWithinKRowsOfPageTwo) {
  Start(false);
  User thief = vault_.AddUser(practice_, "dr.vole", "practitioner");
  vault_.Serve();
  auto client = vault_.Client();
  const std::string token = vault_.Login(thief);
  HttpResponse first = client->Send("GET", "/fhir/Patient?_count=20", "", Bearer(token));
  ASSERT_EQ(first.status, 200) << first.body;  // the first page is exempt
  std::string next = NextLink(first.Json());
  ASSERT_FALSE(next.empty());
  // Page two asked K rows at a time: its first K rows hold a canary.
  next.replace(next.find("_count=20"), 9, "_count=" + std::to_string(kK));
  HttpResponse second = client->Send("GET", next, "", Bearer(token));
  EXPECT_EQ(second.status, 403) << second.body;
  EXPECT_EQ(IssueCode(second), "suspended");
  EXPECT_NE(vault_.ServerOutput().find("canary: listed or searched"), std::string::npos);
  EXPECT_EQ(client->Send("GET", "/fhir/Patient?_count=1", "", Bearer(token)).status, 401);
}

TEST_F(CanaryE2E, ACursorClaimingPageZeroPastTheFirstRowIsNotExempt) {
  Start(false);
  User thief = vault_.AddUser(practice_, "dr.ruse", "practitioner");
  vault_.Serve();
  auto client = vault_.Client();
  const std::string token = vault_.Login(thief);
  HttpResponse first = client->Send("GET", "/fhir/Patient?_count=20", "", Bearer(token));
  ASSERT_EQ(first.status, 200);
  std::string next = NextLink(first.Json());
  const size_t dot = next.rfind('.');
  ASSERT_NE(dot, std::string::npos);
  next = next.substr(0, dot + 1) + "0";  // "page index 0" past the first row
  HttpResponse forged = client->Send("GET", next, "", Bearer(token));
  EXPECT_EQ(forged.status, 403) << forged.body;
}

TEST_F(CanaryE2E, AFamilyOnlySearchOfAtLeastKRowsIsContained) {
  Start(false);
  User doctor = vault_.AddUser(practice_, "dr.curieux", "practitioner");
  vault_.Serve();
  auto client = vault_.Client();
  const std::string token = vault_.Login(doctor);
  HttpResponse r = client->Send("GET", "/fhir/Patient?family=martin", "", Bearer(token));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(IssueCode(r), "suspended");
  EXPECT_EQ(r.body.find("Martin"), std::string::npos);
}

TEST_F(CanaryE2E, SecretaryBookingByNameAndBirthDateAndDoctorOpeningTheAgendaAreNeverContained) {
  Start(false);
  User secretary = vault_.AddUser(practice_, "secretariat", "secretary");
  User doctor = vault_.AddUser(practice_, "dr.agenda", "practitioner");
  vault_.Serve();
  auto client = vault_.Client();
  const std::string sec_token = vault_.Login(secretary);
  const std::string today = Today();
  const auto patients = RealPatients(0, 200);
  // Bookings for patients of the crowded family and of the crowded birth date among others.
  std::vector<std::string> booked;
  for (size_t i = 0; i < 60 && booked.size() < 10; i += 3) {
    const RealPatient& p = patients[i];
    HttpResponse found = client->Send(
        "GET", "/fhir/Patient?family=" + p.family + "&birthdate=" + p.birth_date, "",
        Bearer(sec_token));
    ASSERT_EQ(found.status, 200) << found.body;
    const json bundle = found.Json();
    ASSERT_EQ(bundle["entry"].size(), 1u) << p.family;
    const json& resource = bundle["entry"][0]["resource"];
    ASSERT_EQ(NirOf(resource), p.nir);
    const std::string id = resource["id"];
    char start[40], end[40];
    std::snprintf(start, sizeof start, "%sT%02zu:00:00Z", today.c_str(), 8 + booked.size());
    std::snprintf(end, sizeof end, "%sT%02zu:20:00Z", today.c_str(), 8 + booked.size());
    json appt = {{"resourceType", "Appointment"},
                 {"status", "booked"},
                 {"start", start},
                 {"end", end},
                 {"participant", {{{"actor", {{"reference", "Patient/" + id}}}},
                                  {{"actor", {{"reference", "Practitioner/dr.agenda"}}}}}}};
    HttpResponse b = client->Send("POST", "/fhir/Appointment", appt.dump(),
                                  {{"Authorization", "Bearer " + sec_token},
                                   {"Content-Type", "application/json"}});
    ASSERT_EQ(b.status, 201) << b.body;
    booked.push_back(id);
  }
  ASSERT_EQ(booked.size(), 10u);
  // A search by NIR, as at the desk with the carte Vitale, finds the patient and no one else.
  HttpResponse by_nir = client->Send(
      "GET", "/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8%7C" + patients[7].nir, "",
      Bearer(sec_token));
  ASSERT_EQ(by_nir.status, 200) << by_nir.body;
  EXPECT_EQ(by_nir.Json()["entry"].size(), 1u);

  const std::string doc_token = vault_.Login(doctor);
  HttpResponse day = client->Send("GET", "/fhir/Appointment?date=" + today, "", Bearer(doc_token));
  ASSERT_EQ(day.status, 200) << day.body;
  std::vector<std::string> agenda;
  const json day_bundle = day.Json();
  for (const json& e : day_bundle["entry"]) {
    for (const json& part : e["resource"]["participant"]) {
      const std::string ref = part["actor"].value("reference", "");
      if (ref.rfind("Patient/", 0) == 0) agenda.push_back(ref.substr(8));
    }
  }
  EXPECT_EQ(agenda, booked);
  for (const std::string& id : agenda) {
    HttpResponse r = client->Send("GET", "/fhir/Patient/" + id, "", Bearer(doc_token));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(real_nirs_.contains(NirOf(r.Json())));
  }
  const std::string out = vault_.ServerOutput();
  EXPECT_EQ(out.find("guard.contain"), std::string::npos) << out;
  EXPECT_EQ(out.find("guard.step_up"), std::string::npos) << out;
}

TEST_F(CanaryE2E, CanariesHaveTheWireShapeOfRealPatientsAndTheSpacingSurvivesALaterImport) {
  Start(true);  // shadow mode: nothing refused, so the test can look at everything
  User doctor = vault_.AddUser(practice_, "dr.observe", "practitioner");
  vault_.Serve();
  auto client = vault_.Client();
  const std::string token = vault_.Login(doctor);

  Walk list = WalkAll(*client, token, "/fhir/Patient?_count=37", real_nirs_);
  ASSERT_EQ(list.status, 200);
  size_t canaries = 0;
  std::set<std::string> real_shapes, ids;
  std::vector<std::set<std::string>> canary_shapes;
  for (size_t i = 0; i < list.resources.size(); ++i) {
    const json& r = list.resources[i];
    EXPECT_TRUE(ids.insert(r.value("id", "")).second);
    EXPECT_EQ(r.value("id", "").size(), 26u);
    std::set<std::string> shape;
    Shape(r, "", &shape);
    std::string flat;
    for (const auto& s : shape) flat += s + "\n";
    if (list.canary[i]) {
      ++canaries;
      canary_shapes.push_back(shape);
    } else {
      real_shapes.insert(flat);
    }
  }
  EXPECT_EQ(list.resources.size() - canaries, 200u);
  EXPECT_GE(canaries, 200 / (kK - 1));
  EXPECT_LE(LongestRealRun(list.canary), kK - 1);
  // Each canary's structure is one that real patients have; and real patients have the
  // structures canaries have (same members, same types; e-mail present or not).
  std::set<std::string> member_paths_real, member_paths_canary;
  for (const auto& shape : canary_shapes) {
    std::string flat;
    for (const auto& s : shape) flat += s + "\n";
    for (const auto& s : shape) member_paths_canary.insert(s);
  }
  for (size_t i = 0; i < list.resources.size(); ++i) {
    if (list.canary[i]) continue;
    std::set<std::string> shape;
    Shape(list.resources[i], "", &shape);
    member_paths_real.insert(shape.begin(), shape.end());
  }
  EXPECT_EQ(member_paths_canary, member_paths_real);

  // A family-only and a birth-date-only search of at least K rows interleave canaries.
  Walk martin = WalkAll(*client, token, "/fhir/Patient?family=MARTIN&_count=7", real_nirs_);
  ASSERT_EQ(martin.status, 200);
  EXPECT_GT(martin.resources.size(), 40u);
  EXPECT_LE(LongestRealRun(martin.canary), kK - 1);
  for (const json& r : martin.resources) EXPECT_EQ(r["name"][0]["family"], "Martin");
  Walk born = WalkAll(*client, token, "/fhir/Patient?birthdate=1975-03-14", real_nirs_);
  EXPECT_GT(born.resources.size(), 40u);
  EXPECT_LE(LongestRealRun(born.canary), kK - 1);

  // More patients imported while the server runs, then more created through the API.
  ImportFile(vault_, practice_, 200, 150);
  for (const auto& p : RealPatients(200, 150)) real_nirs_.insert(p.nir);
  const auto more = RealPatients(350, 25);
  for (size_t i = 0; i < more.size(); ++i) {
    HttpResponse c = client->Send("POST", "/fhir/Patient", ToFhir(more[i], 350 + static_cast<int>(i)).dump(),
                                  {{"Authorization", "Bearer " + token},
                                   {"Content-Type", "application/json"}});
    ASSERT_EQ(c.status, 201) << c.body;
    real_nirs_.insert(more[i].nir);
  }
  list = WalkAll(*client, token, "/fhir/Patient?_count=100", real_nirs_);
  size_t reals = 0;
  for (bool c : list.canary) reals += !c;
  EXPECT_EQ(reals, 375u);
  EXPECT_LE(LongestRealRun(list.canary), kK - 1);
  martin = WalkAll(*client, token, "/fhir/Patient?family=martin&_count=100", real_nirs_);
  EXPECT_EQ(martin.resources.size() - std::count(martin.canary.begin(), martin.canary.end(), true), 75u);
  EXPECT_LE(LongestRealRun(martin.canary), kK - 1);

  // A canary booked anyway (shadow mode only logs it) stays out of the agenda.
  size_t at = 0;
  while (!list.canary[at]) ++at;
  const std::string canary_id = list.resources[at]["id"];
  const std::string today = Today();
  json appt = {{"resourceType", "Appointment"},
               {"status", "booked"},
               {"start", today + "T07:00:00Z"},
               {"end", today + "T07:20:00Z"},
               {"participant", {{{"actor", {{"reference", "Patient/" + canary_id}}}},
                                {{"actor", {{"reference", "Practitioner/dr.observe"}}}}}}};
  HttpResponse b = client->Send("POST", "/fhir/Appointment", appt.dump(),
                                {{"Authorization", "Bearer " + token},
                                 {"Content-Type", "application/json"}});
  ASSERT_EQ(b.status, 201) << b.body;
  HttpResponse day = client->Send("GET", "/fhir/Appointment?date=" + today, "", Bearer(token));
  ASSERT_EQ(day.status, 200);
  EXPECT_EQ(day.body.find(canary_id), std::string::npos);
}

}  // namespace
}  // namespace medvault::e2e
