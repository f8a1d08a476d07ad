// Two `medvault serve` processes on one PostgreSQL vault share the guard's state: an account
// contained through node A serves nothing on node B (its token is refused there at once, 423 on
// its login), an enumeration split across both nodes is stopped after as many patients as on one,
// a source contained on A is refused at login on B, and a node that cannot reach the guard's state
// refuses with 503. PostgreSQL only (e2e.postgres.GuardNodesE2E).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

const Headers kJson = {{"Content-Type", "application/json"}};

struct Env {
  Vault vault;
  std::string practice;
  std::string other_practice;
  std::vector<std::string> ids;  // real patients created through the API
  std::unique_ptr<ServerProcess> b;  // node B; the vault's own server is node A
};

class GuardNodesE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env;
    if (!PostgresBackend()) return;
    env->practice = env->vault.AddPractice("Cabinet du Nord");
    env->other_practice = env->vault.AddPractice("Cabinet du Sud");
    // Imported patients in both practices, with their canaries (placed by the import).
    for (const std::string& practice : {env->practice, env->other_practice}) {
      const std::string file = env->vault.dir() + "/patients.ndjson";
      {
        std::ofstream out(file);
        for (int i = 0; i < 60; ++i) {
          char nir13[32];
          std::snprintf(nir13, sizeof nir13, "1841275056%03d", i + 1);
          out << SamplePatient("Importe" + std::to_string(i), "Prenom", nir13).dump() << "\n";
        }
      }
      CommandResult r =
          RunMedvault({"import", "--data", env->vault.dir(), "--practice", practice, file});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      std::remove(file.c_str());
    }
    User registrar = env->vault.AddUser(env->practice, "registrar", "secretary");
    env->vault.Serve();
    auto client = env->vault.Client();
    const std::string token = env->vault.Login(registrar);
    for (int i = 0; i < 60; ++i) {
      char nir13[32];
      std::snprintf(nir13, sizeof nir13, "2900599123%03d", i + 1);
      HttpResponse c = client->Send("POST", "/fhir/Patient",
                                    SamplePatient("Partage" + std::to_string(i), "Paula", nir13).dump(),
                                    Bearer(token));
      ASSERT_EQ(c.status, 201) << c.body;
      env->ids.push_back(c.Json()["id"].get<std::string>());
    }
    // Node B: a second process on the same vault directory and PostgreSQL databases.
    env->b = std::make_unique<ServerProcess>(env->vault.dir(), "node-b");
    ASSERT_GT(env->b->Start(), 0) << env->b->Output();
  }
  static void TearDownTestSuite() {
    if (env != nullptr && env->b != nullptr) env->b->Stop();
    delete env;
    env = nullptr;
  }
  void SetUp() override {
    if (!PostgresBackend()) GTEST_SKIP() << "several nodes need the PostgreSQL backend";
    ASSERT_NE(env->b, nullptr);
  }

  // Reads distinct patients from `first`, alternating nodes if `split`, until a request is
  // refused; how many were served (or -1 if none was refused).
  static int ReadsUntilRefused(User& user, int first, bool split) {
    auto a = env->vault.Client();
    auto b = env->b->Client();
    const std::string token = env->vault.Login(user);
    for (int i = 0; first + i < static_cast<int>(env->ids.size()); ++i) {
      HttpClient& node = split && i % 2 == 1 ? *b : *a;
      HttpResponse r = node.Send("GET", "/fhir/Patient/" + env->ids[first + i], "", Bearer(token));
      if (r.status != 200) {
        EXPECT_TRUE(r.status == 401 || r.status == 403) << r.status << " " << r.body;
        return i;
      }
    }
    return -1;
  }

  static Env* env;
};
Env* GuardNodesE2E::env = nullptr;

TEST_F(GuardNodesE2E, AnEnumerationSplitAcrossBothNodesIsStoppedAfterAsManyPatientsAsOnOne) {
  User solo = env->vault.AddUser(env->practice, "dr.solo", "practitioner");
  User split = env->vault.AddUser(env->practice, "dr.split", "practitioner");
  const int on_one = ReadsUntilRefused(solo, 0, false);
  ASSERT_GT(on_one, 2) << env->vault.ServerOutput();
  const int on_two = ReadsUntilRefused(split, 0, true);
  std::cout << "patients served before the first refusal: one node " << on_one
            << ", split over two " << on_two << std::endl;
  // Separate counters would let the split walk about twice as far.
  EXPECT_GE(on_two, on_one - 1);
  EXPECT_LE(on_two, on_one + 1) << "one node: " << on_one << ", split over two: " << on_two;
}

TEST_F(GuardNodesE2E, AnAccountContainedThroughNodeAIsRefusedByNodeBAtOnce) {
  User thief = env->vault.AddUser(env->practice, "dr.stolen", "practitioner");
  auto a = env->vault.Client();
  auto b = env->b->Client();
  const std::string token = env->vault.Login(thief);
  // The stolen session is in use on both nodes.
  ASSERT_EQ(b->Send("GET", "/fhir/Patient/" + env->ids[0], "", Bearer(token)).status, 200);
  // A list dump through node A: the second page shows canaries, and the account is contained.
  HttpResponse first = a->Send("GET", "/fhir/Patient?_count=20", "", Bearer(token));
  ASSERT_EQ(first.status, 200) << first.body;
  std::string next;
  const json page = first.Json();
  for (const json& link : page["link"]) {
    if (link.value("relation", "") == "next") next = link.value("url", "");
  }
  ASSERT_FALSE(next.empty());
  HttpResponse second = a->Send("GET", next, "", Bearer(token));
  ASSERT_EQ(second.status, 403) << second.body;
  EXPECT_EQ(IssueCode(second), "suspended");
  // Immediately on node B: the token serves nothing. Node B refuses it from the guard's shared
  // state (403 suspended) while it still trusts its cached session, or from the store (401).
  HttpResponse on_b = b->Send("GET", "/fhir/Patient/" + env->ids[1], "", Bearer(token));
  EXPECT_TRUE((on_b.status == 403 && IssueCode(on_b) == "suspended") || on_b.status == 401)
      << on_b.status << " " << on_b.body;
  std::cout << "node B answered the contained session with " << on_b.status << std::endl;
  // And its login on node B is locked.
  json login = {{"login", thief.login}, {"password", thief.password}, {"totp", thief.NextCode()}};
  EXPECT_EQ(b->Send("POST", "/auth/login", login.dump(), kJson).status, 423);
}

// A psql session on the vault's database holding an exclusive lock on the guard's table until
// Release(): every update of the guard's state waits, then fails at its lock timeout.
class TableLock {
 public:
  explicit TableLock(const std::string& url) {
    const std::string command = "psql '" + url + "' -v ON_ERROR_STOP=1 -q >/dev/null";
    psql_ = popen(command.c_str(), "w");
    if (psql_ == nullptr) return;
    std::fputs("BEGIN; LOCK TABLE shared_records IN ACCESS EXCLUSIVE MODE;\n", psql_);
    std::fflush(psql_);
  }
  ~TableLock() { Release(); }
  bool Held(const std::string& url) const {
    const std::string command =
        "psql '" + url + "' -At -c \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
        "c.oid = l.relation WHERE c.relname = 'shared_records' AND l.mode = "
        "'AccessExclusiveLock' AND l.granted\"";
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) return false;
    char buf[32] = {0};
    const bool read = std::fgets(buf, sizeof buf, p) != nullptr;
    pclose(p);
    return read && std::atoi(buf) > 0;
  }
  void Release() {
    if (psql_ == nullptr) return;
    std::fputs("ROLLBACK;\n", psql_);
    pclose(psql_);
    psql_ = nullptr;
  }

 private:
  FILE* psql_ = nullptr;
};

TEST_F(GuardNodesE2E, WhenTheSharedStateIsUnavailableARequestIsRefusedWith503) {
  User doctor = env->vault.AddUser(env->practice, "dr.attente", "practitioner");
  auto b = env->b->Client();
  const std::string token = env->vault.Login(doctor);
  ASSERT_EQ(b->Send("GET", "/fhir/Patient/" + env->ids[0], "", Bearer(token)).status, 200);
  TableLock lock(env->vault.pg_url());
  ASSERT_TRUE(WaitFor([&] { return lock.Held(env->vault.pg_url()); }, 20'000));
  HttpResponse refused = b->Send("GET", "/fhir/Patient/" + env->ids[1], "", Bearer(token));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("guard state unavailable"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find("Partage"), std::string::npos) << refused.body;
  lock.Release();
  EXPECT_EQ(b->Send("GET", "/fhir/Patient/" + env->ids[1], "", Bearer(token)).status, 200);
  EXPECT_NE(env->b->Output().find("guard.unavailable login=dr.attente"), std::string::npos);
}

// Last: it contains the test's own source address block (127.0.0.0/24) for the rest of the suite.
TEST_F(GuardNodesE2E, ASourceContainedThroughNodeAIsRefusedAtLoginOnNodeB) {
  User north = env->vault.AddUser(env->practice, "dr.nord", "practitioner");
  User south = env->vault.AddUser(env->other_practice, "dr.sud", "practitioner");
  User bystander = env->vault.AddUser(env->other_practice, "dr.tiers", "practitioner");
  auto a = env->vault.Client();
  auto b = env->b->Client();
  // Canary reads by accounts of two practices from one source, through node A: the second
  // containment contains the source (docs/guard.md "Practice and source").
  for (User* user : {&north, &south}) {
    const std::string token = env->vault.Login(*user);
    HttpResponse list = a->Send("GET", "/fhir/Patient?_count=100", "", Bearer(token));
    ASSERT_EQ(list.status, 403) << list.body;
  }
  EXPECT_NE(env->vault.ServerOutput().find("decision=contain_source"), std::string::npos)
      << env->vault.ServerOutput();
  // Node B has seen none of it but refuses a login from the block at once.
  json login = {{"login", bystander.login}, {"password", bystander.password},
                {"totp", bystander.NextCode()}};
  HttpResponse refused = b->Send("POST", "/auth/login", login.dump(), kJson);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(IssueCode(refused), "suspended");
}

}  // namespace
}  // namespace medvault::e2e
