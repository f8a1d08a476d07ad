// Restricted notes against the real server: a note with a category is read only by the practice's
// practitioners, never by secretaries, never with its text in a list; its text comes only from an
// individual GET /fhir/DocumentReference/{id}, and each such read is one access-log leaf carrying
// the note's categories (checked with `medvault breach scope` once the server has stopped).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using json = nlohmann::json;

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

json Note(const std::string& patient_id, const std::string& text) {
  return {{"resourceType", "DocumentReference"},
          {"subject", {{"reference", "Patient/" + patient_id}}},
          {"content", {{{"attachment", {{"contentType", "text/plain; charset=utf-8"},
                                        {"data", Base64(text)}}}}}}};
}

const std::string kSensitiveText = "Sérologie VIH positive, débuter un traitement.";
const std::string kCleanText = "Entorse de cheville, strapping 10 jours.";

struct Env {
  Vault vault;
  std::string practice_a, practice_b;
  User writer, reader, single, secretary, outsider;
  std::string writer_token, reader_token, single_token, secretary_token, outsider_token;
  std::unique_ptr<HttpClient> client;
  std::string patient;
  std::string sensitive_id, clean_id;
  int reader_reads = 0;  // successful individual reads of the sensitive note by the reader
};

Env* env = nullptr;

class NotesE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env;
    Vault& v = env->vault;
    env->practice_a = v.AddPractice("Cabinet A");
    env->practice_b = v.AddPractice("Cabinet B");
    env->writer = v.AddUser(env->practice_a, "dr.writer", "practitioner");
    env->reader = v.AddUser(env->practice_a, "dr.reader", "practitioner");
    env->single = v.AddUser(env->practice_a, "dr.single", "practitioner");
    env->secretary = v.AddUser(env->practice_a, "sec.notes", "secretary");
    env->outsider = v.AddUser(env->practice_b, "dr.outsider", "practitioner");
    v.Serve();
    env->client = v.Client();
    env->writer_token = v.Login(env->writer);
    env->reader_token = v.Login(env->reader);
    env->single_token = v.Login(env->single);
    env->secretary_token = v.Login(env->secretary);
    env->outsider_token = v.Login(env->outsider);
    HttpResponse r = Send("POST", "/fhir/Patient",
                          SamplePatient("Zabulonet", "Orzabal").dump(), Bearer(env->writer_token));
    ASSERT_EQ(r.status, 201) << r.body;
    env->patient = r.Json().value("id", "");
    // The first note waits for the classifier, which the server loads in the background.
    const bool answered = WaitFor(
        [&] {
          r = Send("POST", "/fhir/DocumentReference", Note(env->patient, kSensitiveText).dump(),
                   Bearer(env->writer_token));
          return r.status != 0;
        },
        120'000, 100);
    ASSERT_TRUE(answered);
    ASSERT_EQ(r.status, 201) << r.body;
    env->sensitive_id = r.Json().value("id", "");
    r = Send("POST", "/fhir/DocumentReference", Note(env->patient, kCleanText).dump(),
             Bearer(env->writer_token));
    ASSERT_EQ(r.status, 201) << r.body;
    env->clean_id = r.Json().value("id", "");
  }

  static void TearDownTestSuite() {
    delete env;
    env = nullptr;
  }

  static HttpResponse Send(const std::string& method, const std::string& target,
                           const std::string& body = "", const Headers& headers = {}) {
    return env->client->Send(method, target, body, headers);
  }

  static json List(const std::string& token) {
    const HttpResponse r =
        Send("GET", "/fhir/DocumentReference?patient=Patient/" + env->patient, "", Bearer(token));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  static const json* Entry(const json& bundle, const std::string& id) {
    if (!bundle.is_object() || !bundle.contains("entry")) return nullptr;
    for (const json& e : bundle["entry"]) {
      if (e["resource"].value("id", "") == id) return &e["resource"];
    }
    return nullptr;
  }

  static std::set<std::string> Labels(const json& resource) {
    std::set<std::string> labels;
    if (!resource.contains("meta")) return labels;
    for (const json& c : resource["meta"]["security"]) labels.insert(c["code"].get<std::string>());
    return labels;
  }
};

TEST_F(NotesE2E, ARestrictedNoteIsListedWithItsLabelsButWithoutItsText) {
  const json bundle = List(env->reader_token);
  const json* sensitive = Entry(bundle, env->sensitive_id);
  ASSERT_NE(sensitive, nullptr) << bundle;
  EXPECT_EQ(Labels(*sensitive), std::set<std::string>{"hiv_sti"});
  EXPECT_FALSE((*sensitive)["content"][0]["attachment"].contains("data")) << *sensitive;
  EXPECT_EQ((*sensitive)["content"][0]["attachment"]["contentType"], "text/plain; charset=utf-8");
  EXPECT_EQ(bundle.dump().find(Base64(kSensitiveText)), std::string::npos);
  EXPECT_EQ(bundle.dump().find("VIH"), std::string::npos);
  // A note without a category keeps its text in the list.
  const json* clean = Entry(bundle, env->clean_id);
  ASSERT_NE(clean, nullptr) << bundle;
  EXPECT_TRUE(Labels(*clean).empty());
  EXPECT_EQ((*clean)["content"][0]["attachment"]["data"], Base64(kCleanText));
}

TEST_F(NotesE2E, APractitionerOfThePracticeReadsTheRestrictedTextIndividually) {
  for (int i = 0; i < 2; ++i) {
    const HttpResponse r =
        Send("GET", "/fhir/DocumentReference/" + env->sensitive_id, "", Bearer(env->reader_token));
    ASSERT_EQ(r.status, 200) << r.body;
    ++env->reader_reads;
    const json doc = r.Json();
    EXPECT_EQ(doc["resourceType"], "DocumentReference");
    EXPECT_EQ(doc["id"], env->sensitive_id);
    EXPECT_EQ(doc["subject"]["reference"], "Patient/" + env->patient);
    EXPECT_EQ(Labels(doc), std::set<std::string>{"hiv_sti"});
    EXPECT_EQ(doc["content"][0]["attachment"]["data"], Base64(kSensitiveText));
    EXPECT_FALSE(doc.contains("contained"));  // the span warnings are for the author, at write
  }
}

TEST_F(NotesE2E, AnotherPractitionerOfThePracticeReadsItToo) {
  const HttpResponse r =
      Send("GET", "/fhir/DocumentReference/" + env->sensitive_id, "", Bearer(env->single_token));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["content"][0]["attachment"]["data"], Base64(kSensitiveText));
}

TEST_F(NotesE2E, ASecretaryGetsNeitherTheListNorTheNote) {
  HttpResponse r = Send("GET", "/fhir/DocumentReference?patient=Patient/" + env->patient, "",
                        Bearer(env->secretary_token));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body.find("VIH"), std::string::npos);
  for (const std::string* id : {&env->sensitive_id, &env->clean_id}) {
    r = Send("GET", "/fhir/DocumentReference/" + *id, "", Bearer(env->secretary_token));
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.Json()["resourceType"], "OperationOutcome");
    EXPECT_EQ(r.body.find("VIH"), std::string::npos);
  }
}

TEST_F(NotesE2E, AnotherPracticeOrAnUnknownIdGetsNotFound) {
  HttpResponse r =
      Send("GET", "/fhir/DocumentReference/" + env->sensitive_id, "", Bearer(env->outsider_token));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.Json()["resourceType"], "OperationOutcome");
  EXPECT_EQ(r.body.find("VIH"), std::string::npos);
  r = Send("GET", "/fhir/DocumentReference/AAAAAAAAAAAAAAAAAAAAAA", "", Bearer(env->reader_token));
  EXPECT_EQ(r.status, 404) << r.body;
  r = Send("GET", "/fhir/DocumentReference/..%2Fx", "", Bearer(env->reader_token));
  EXPECT_EQ(r.status, 404) << r.body;
  r = Send("GET", "/fhir/DocumentReference/" + env->sensitive_id, "");
  EXPECT_EQ(r.status, 401) << r.body;
}

// Runs last in the suite: stops the server, then reads the access log.
TEST_F(NotesE2E, EachIndividualReadIsALogLeafWithTheNoteCategories) {
  ASSERT_EQ(env->vault.StopServer(), 0) << env->vault.ServerOutput();
  const std::string output = env->vault.ServerOutput();
  EXPECT_EQ(output.find("VIH"), std::string::npos);
  EXPECT_EQ(output.find("Zabulonet"), std::string::npos);
  // dr.reader released this patient's data once in a list and once per individual read.
  const CommandResult scope =
      RunMedvault({"breach", "scope", "--data", env->vault.dir(), "--login", "dr.reader"});
  ASSERT_EQ(scope.exit_code, 0) << scope.err;
  const json report = json::parse(scope.out);
  ASSERT_EQ(report["accounts"].size(), 1u) << report;
  ASSERT_EQ(report["patients"].size(), 1u) << report;
  EXPECT_EQ(report["patients"][0]["id"], env->patient);
  EXPECT_EQ(report["patients"][0]["accesses"], 1 + env->reader_reads) << report;
  EXPECT_EQ(report["patients"][0]["note_categories"], json::array({"hiv_sti"})) << report;
  // dr.single read the note once and did nothing else with patient data: that read's leaf
  // carries the note's categories and the notes field group.
  const CommandResult single =
      RunMedvault({"breach", "scope", "--data", env->vault.dir(), "--login", "dr.single"});
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const json one = json::parse(single.out);
  ASSERT_EQ(one["accounts"].size(), 1u) << one;
  ASSERT_EQ(one["patients"].size(), 1u) << one;
  EXPECT_EQ(one["patients"][0]["accesses"], 1) << one;
  EXPECT_EQ(one["patients"][0]["note_categories"], json::array({"hiv_sti"})) << one;
  EXPECT_EQ(one["patients"][0]["field_groups"], json::array({"notes"})) << one;
}

}  // namespace
}  // namespace medvault::e2e
