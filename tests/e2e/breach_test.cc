// Breach scope against the real server: accounts drive real HTTP (lists, pages, searches, reads,
// a read outside their practice), the client records which patient ids each account received in
// 2xx responses, and `medvault breach scope` must give exactly those sets; its evidence must
// check offline.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using json = nlohmann::json;
using IdSet = std::set<std::string>;

// The patient ids a 2xx response carried: a Bundle's entries or a single Patient.
void Collect(const HttpResponse& r, IdSet* ids) {
  if (r.status < 200 || r.status >= 300) return;
  const json j = r.Json();
  if (!j.is_object()) return;
  if (j.value("resourceType", "") == "Patient" && j.contains("id")) {
    ids->insert(j["id"].get<std::string>());
  }
  if (j.value("resourceType", "") == "Bundle" && j.contains("entry")) {
    for (const json& e : j["entry"]) {
      if (e.contains("resource") && e["resource"].contains("id")) {
        ids->insert(e["resource"]["id"].get<std::string>());
      }
    }
  }
}

std::string UrlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string NextLink(const json& bundle) {
  if (!bundle.is_object() || !bundle.contains("link")) return "";
  for (const json& l : bundle["link"]) {
    if (l.value("relation", "") == "next") return l.value("url", "");
  }
  return "";
}

// Everything `breach scope` lists for a query: exposed patients and canaries together.
IdSet ScopeIds(const std::vector<std::string>& args, json* scope_out = nullptr) {
  CommandResult r = RunMedvault(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json scope = json::parse(r.out, nullptr, false);
  IdSet ids;
  if (!scope.is_object()) return ids;
  for (const char* list : {"patients", "canaries"}) {
    for (const json& p : scope.value(list, json::array())) ids.insert(p["id"].get<std::string>());
  }
  if (scope_out != nullptr) *scope_out = scope;
  return ids;
}

TEST(BreachE2e, ScopeOfEachAccountEqualsWhatItReceivedOverHttp) {
  Vault v;
  const std::string practice_a = v.AddPractice("Cabinet A");
  const std::string practice_b = v.AddPractice("Cabinet B");
  User dr_a = v.AddUser(practice_a, "dr.a", "practitioner");
  User sec_a = v.AddUser(practice_a, "sec.a", "secretary");
  User dr_b = v.AddUser(practice_b, "dr.b", "practitioner");
  for (const auto& [practice, count, seed] :
       {std::tuple{practice_a, "40", "3"}, std::tuple{practice_b, "12", "4"}}) {
    const std::string file = v.dir() + "/patients-" + seed + ".ndjson";
    ASSERT_EQ(RunMedvault({"gen", "--patients", count, "--seed", seed, "--out", file}).exit_code, 0);
    CommandResult imported = RunMedvault({"import", "--data", v.dir(), "--practice", practice, file});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }
  v.Serve();
  auto client = v.Client();
  std::map<std::string, IdSet> received;
  auto send = [&](const std::string& login, const std::string& token, const std::string& target) {
    HttpResponse r = client->Send("GET", target, "", Bearer(token));
    Collect(r, &received[login]);
    return r;
  };

  // dr.a: the first page, three reads, a search by a name it saw.
  const std::string dr_a_token = v.Login(dr_a);
  HttpResponse page = send("dr.a", dr_a_token, "/fhir/Patient?_count=10");
  ASSERT_EQ(page.status, 200) << page.body;
  const json bundle = page.Json();
  ASSERT_GE(bundle["entry"].size(), 5u);
  for (int i : {1, 3, 4}) {
    send("dr.a", dr_a_token, "/fhir/Patient/" + bundle["entry"][i]["resource"]["id"].get<std::string>());
  }
  const json& someone = bundle["entry"][2]["resource"];
  send("dr.a", dr_a_token,
       "/fhir/Patient?family=" + UrlEncode(someone["name"][0]["family"].get<std::string>()) +
           "&birthdate=" + someone["birthDate"].get<std::string>());

  // sec.a: two small pages (following the next link).
  const std::string sec_a_token = v.Login(sec_a);
  HttpResponse first = send("sec.a", sec_a_token, "/fhir/Patient?_count=5");
  ASSERT_EQ(first.status, 200);
  const std::string next = NextLink(first.Json());
  ASSERT_FALSE(next.empty());
  send("sec.a", sec_a_token, next);

  // dr.b: its own practice's list, and a read of a practice A patient: 404, nothing released.
  const std::string dr_b_token = v.Login(dr_b);
  send("dr.b", dr_b_token, "/fhir/Patient?_count=4");
  HttpResponse outside =
      send("dr.b", dr_b_token, "/fhir/Patient/" + bundle["entry"][0]["resource"]["id"].get<std::string>());
  EXPECT_EQ(outside.status, 404);
  ASSERT_EQ(v.StopServer(), 0) << v.ServerOutput();

  ASSERT_FALSE(received["dr.a"].empty());
  ASSERT_FALSE(received["sec.a"].empty());
  ASSERT_FALSE(received["dr.b"].empty());
  for (const char* login : {"dr.a", "sec.a", "dr.b"}) {
    EXPECT_EQ(ScopeIds({"breach", "scope", "--data", v.dir(), "--login", login}), received[login])
        << login;
  }
  IdSet practice_a_ids = received["dr.a"];
  practice_a_ids.insert(received["sec.a"].begin(), received["sec.a"].end());
  EXPECT_EQ(ScopeIds({"breach", "scope", "--data", v.dir(), "--practice", practice_a}),
            practice_a_ids);
  EXPECT_EQ(ScopeIds({"breach", "scope", "--data", v.dir(), "--login", "dr.a", "--login", "dr.b"}),
            [&] {
              IdSet both = received["dr.a"];
              both.insert(received["dr.b"].begin(), received["dr.b"].end());
              return both;
            }());
  // Everything sent came from 127.0.0.1.
  EXPECT_EQ(ScopeIds({"breach", "scope", "--data", v.dir(), "--source-ip", "192.0.2.1"}), IdSet{});

  // The evidence for dr.a checks offline, with the log key pinned.
  const std::string evidence = v.dir() + "/evidence-dr.a";
  json scope;
  ScopeIds({"breach", "scope", "--data", v.dir(), "--login", "dr.a", "--evidence", evidence},
           &scope);
  std::ifstream key_file(evidence + "/log.key");
  std::string key;
  std::getline(key_file, key);
  CommandResult checked = RunMedvault({"audit", "check-evidence", evidence, "--log-key", key});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_NE(checked.out.find("patients=" + std::to_string(scope["patients"].size())),
            std::string::npos)
      << checked.out;
  CommandResult csv = RunMedvault({"breach", "scope", "--data", v.dir(), "--login", "sec.a",
                                   "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0);
  size_t rows = 0;
  for (char c : csv.out) rows += c == '\n' ? 1 : 0;
  EXPECT_EQ(rows, received["sec.a"].size() + 1) << csv.out;
}

}  // namespace
}  // namespace medvault::e2e
