// Several nodes: two `medvault serve` processes on one PostgreSQL vault (docs/postgres.md
// "Several nodes"). Sessions are valid on both, a logout on one holds on the other at once, both
// append to one access log, one of them integrates it, and when that one is killed the other takes
// over and the log verifies. PostgreSQL only: on SQLite a vault has one server (log.lock).
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

std::string LoginOn(HttpClient& client, User& user) {
  const json body = {{"login", user.login}, {"password", user.password}, {"totp", user.NextCode()}};
  HttpResponse r =
      client.Send("POST", "/auth/login", body.dump(), {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
  return r.Json().value("token", "");
}

bool SaysLeading(const ServerProcess& node) {
  // The last integrator line the node printed.
  const std::string out = node.Output();
  const size_t leading = out.rfind("log.integrator leading");
  const size_t not_leading = out.rfind("log.integrator not leading");
  return leading != std::string::npos &&
         (not_leading == std::string::npos || not_leading < leading);
}

// The size of the checkpoint a node serves, or -1.
int64_t ServedCheckpointSize(HttpClient& client) {
  HttpResponse r = client.Send("GET", "/log/checkpoint");
  if (r.status != 200) return -1;
  std::istringstream lines(r.body);
  std::string origin, size;
  if (!std::getline(lines, origin) || !std::getline(lines, size)) return -1;
  try {
    return std::stoll(size);
  } catch (...) {
    return -1;
  }
}

// The tree size `medvault audit verify` reports, or -1 (with a test failure) if it fails.
int64_t VerifiedTreeSize(const std::string& dir) {
  CommandResult r = RunMedvault({"audit", "verify", "--data", dir});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string prefix = "ok tree_size=";
  const size_t at = r.out.find(prefix);
  if (r.exit_code != 0 || at == std::string::npos) return -1;
  return std::stoll(r.out.substr(at + prefix.size()));
}

class NodesE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresBackend()) GTEST_SKIP() << "several nodes share a PostgreSQL vault";
    practice_ = vault_.AddPractice("Centre de santé des Lilas");
    doctor_ = vault_.AddUser(practice_, "dr.lilas", "practitioner");
    ASSERT_GT(a_.Start(), 0) << a_.Output();
    ASSERT_GT(b_.Start(), 0) << b_.Output();
    // One of the two integrates the log, and only one.
    ASSERT_TRUE(WaitFor([&] { return SaysLeading(a_) || SaysLeading(b_); }, 30'000))
        << a_.Output() << b_.Output();
    EXPECT_NE(SaysLeading(a_), SaysLeading(b_)) << a_.Output() << b_.Output();
  }

  // Creates `n` patients through `client`; their ids.
  std::vector<std::string> CreatePatients(HttpClient& client, const std::string& token, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      char nir13[14];
      std::snprintf(nir13, sizeof nir13, "1841275056%03d", next_patient_++);
      HttpResponse r = client.Send(
          "POST", "/fhir/Patient",
          SamplePatient("Lefebvre", "Jeanne" + std::to_string(i), nir13).dump(), Bearer(token));
      EXPECT_EQ(r.status, 201) << r.body;
      ids.push_back(r.Json().value("id", ""));
    }
    return ids;
  }

  Vault vault_;
  int next_patient_ = 0;
  std::string practice_;
  User doctor_;
  ServerProcess a_{vault_.dir(), "node-a"};
  ServerProcess b_{vault_.dir(), "node-b"};
};

TEST_F(NodesE2E, ASessionOpenedOnOneNodeIsValidOnTheOtherAndItsLogoutHoldsOnBothAtOnce) {
  auto on_a = a_.Client();
  auto on_b = b_.Client();
  const std::string token = LoginOn(*on_a, doctor_);
  ASSERT_FALSE(token.empty());
  const std::vector<std::string> ids = CreatePatients(*on_a, token, 1);
  HttpResponse read = on_b->Send("GET", "/fhir/Patient/" + ids[0], "", Bearer(token));
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.Json().value("id", ""), ids[0]);
  // Node A has just validated the session: a cache would still trust it.
  ASSERT_EQ(on_a->Send("GET", "/fhir/Patient/" + ids[0], "", Bearer(token)).status, 200);

  ASSERT_EQ(on_b->Send("POST", "/auth/logout", "", Bearer(token)).status / 100, 2);
  EXPECT_EQ(on_a->Send("GET", "/fhir/Patient/" + ids[0], "", Bearer(token)).status, 401);
  EXPECT_EQ(on_b->Send("GET", "/fhir/Patient/" + ids[0], "", Bearer(token)).status, 401);
}

TEST_F(NodesE2E, BothNodesAppendToOneAccessLogThatVerifiesWithALeafForEveryResponse) {
  auto on_a = a_.Client();
  auto on_b = b_.Client();
  int64_t responded = 0;
  const std::string token = LoginOn(*on_a, doctor_);
  ASSERT_FALSE(token.empty());
  ++responded;
  const std::vector<std::string> ids = CreatePatients(*on_b, token, 6);
  responded += 6;
  for (int round = 0; round < 3; ++round) {
    for (const std::string& id : ids) {
      HttpClient& client = (round + responded) % 2 == 0 ? *on_a : *on_b;
      ASSERT_EQ(client.Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).status, 200);
      ++responded;
    }
  }
  // The follower serves the leader's checkpoints: both reach every leaf.
  for (HttpClient* client : {on_a.get(), on_b.get()}) {
    EXPECT_TRUE(WaitFor([&] { return ServedCheckpointSize(*client) >= responded; }, 30'000))
        << ServedCheckpointSize(*client) << " < " << responded;
  }
  EXPECT_EQ(a_.Stop(), 0) << a_.Output();
  EXPECT_EQ(b_.Stop(), 0) << b_.Output();
  EXPECT_GE(VerifiedTreeSize(vault_.dir()), responded);
}

TEST_F(NodesE2E, WhenTheIntegratorIsKilledTheOtherNodeTakesOverAndTheLogVerifies) {
  ServerProcess& leader = SaysLeading(a_) ? a_ : b_;
  ServerProcess& other = SaysLeading(a_) ? b_ : a_;
  auto on_leader = leader.Client();
  auto on_other = other.Client();
  int64_t responded = 0;
  const std::string token = LoginOn(*on_other, doctor_);
  ASSERT_FALSE(token.empty());
  ++responded;
  const std::vector<std::string> ids = CreatePatients(*on_leader, token, 4);
  responded += 4;
  for (const std::string& id : ids) {
    ASSERT_EQ(on_leader->Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).status, 200);
    ASSERT_EQ(on_other->Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).status, 200);
    responded += 2;
  }

  leader.Kill();  // no drain, no final checkpoint, its session's advisory lock dies with it
  ASSERT_TRUE(WaitFor([&] { return SaysLeading(other); }, 30'000)) << other.Output();
  for (const std::string& id : ids) {
    ASSERT_EQ(on_other->Send("GET", "/fhir/Patient/" + id, "", Bearer(token)).status, 200);
    ++responded;
  }
  // The new integrator signs what both nodes appended, the dead one's included.
  EXPECT_TRUE(WaitFor([&] { return ServedCheckpointSize(*on_other) >= responded; }, 30'000))
      << ServedCheckpointSize(*on_other) << " < " << responded;
  EXPECT_EQ(other.Stop(), 0) << other.Output();
  EXPECT_GE(VerifiedTreeSize(vault_.dir()), responded);
}

}  // namespace
}  // namespace medvault::e2e
