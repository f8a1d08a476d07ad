// Crash safety of the access log: `medvault serve` killed with SIGKILL in the middle of audited
// load leaves a log.db that verifies, that holds a leaf for every request whose response was
// released, and that the next `serve` continues.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

constexpr int kClientThreads = 4;
constexpr int kRespondedBeforeKill = 400;

// The tree size `medvault audit verify` reports, or -1 (with a test failure) if it fails.
int64_t VerifiedTreeSize(const std::string& dir) {
  CommandResult r = RunMedvault({"audit", "verify", "--data", dir});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string prefix = "ok tree_size=";
  const size_t at = r.out.find(prefix);
  EXPECT_NE(at, std::string::npos) << r.out;
  if (r.exit_code != 0 || at == std::string::npos) return -1;
  return std::stoll(r.out.substr(at + prefix.size()));
}

TEST(Crash, KilledServerLeavesAVerifiableLogWithALeafForEveryReleasedResponse) {
  Vault vault;
  const std::string practice = vault.AddPractice("Cabinet Crash");
  std::vector<User> users;
  for (int i = 0; i < kClientThreads; ++i) {
    users.push_back(vault.AddUser(practice, "dr.crash" + std::to_string(i), "practitioner"));
  }

  ServerProcess server(vault.dir(), "crash-server");
  const int port = server.Start();
  ASSERT_GT(port, 0) << "serve did not start";

  std::atomic<int64_t> responded{0};  // requests answered 2xx, each one audited
  auto login = [&](HttpClient& client, User& user) -> std::string {
    const json body = {
        {"login", user.login}, {"password", user.password}, {"totp", user.NextCode()}};
    HttpResponse r =
        client.Send("POST", "/auth/login", body.dump(), {{"Content-Type", "application/json"}});
    if (r.status / 100 != 2) return "";
    responded.fetch_add(1);
    return r.Json().value("token", "");
  };

  std::string patient_id;
  {
    HttpClient client("127.0.0.1", port, false);
    const std::string token = login(client, users[0]);
    ASSERT_FALSE(token.empty());
    HttpResponse r = client.Send("POST", "/fhir/Patient", SamplePatient("Durand", "Alice").dump(),
                                 {{"Authorization", "Bearer " + token}});
    ASSERT_EQ(r.status, 201) << r.body;
    responded.fetch_add(1);
    patient_id = r.Json().value("id", "");
    ASSERT_FALSE(patient_id.empty());
  }

  std::atomic<bool> stop{false};
  std::atomic<int> login_failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&, t] {
      try {
        HttpClient client("127.0.0.1", port, false);
        // users[0] already used a TOTP step; NextCode hands out the next one.
        const std::string token = login(client, users[static_cast<size_t>(t)]);
        if (token.empty()) {
          login_failures.fetch_add(1);
          return;
        }
        const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + token}};
        while (!stop.load()) {
          HttpResponse r = client.Send("GET", "/fhir/Patient/" + patient_id, "", auth);
          if (r.status / 100 == 2) responded.fetch_add(1);
        }
      } catch (const std::exception&) {
        // The server died under us: the request in flight got no response and is not counted.
      }
    });
  }

  const bool loaded =
      WaitFor([&] { return responded.load() >= kRespondedBeforeKill || login_failures.load() > 0; },
              120'000, 5);
  server.Kill();
  stop.store(true);
  for (std::thread& c : clients) c.join();
  ASSERT_EQ(login_failures.load(), 0);
  ASSERT_TRUE(loaded) << "only " << responded.load() << " responses before the deadline";

  // Every response released before the kill had its leaf durable first.
  const int64_t after_crash = VerifiedTreeSize(vault.dir());
  EXPECT_GE(after_crash, responded.load());

  // The next start recovers (tiles rebuilt, latest checkpoint checked) and keeps logging.
  vault.Serve();
  std::unique_ptr<HttpClient> client = vault.Client();
  const std::string token = vault.Login(users[1]);
  ASSERT_FALSE(token.empty()) << vault.ServerOutput();
  HttpResponse read = client->Send("GET", "/fhir/Patient/" + patient_id, "",
                                   {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(vault.StopServer(), 0) << vault.ServerOutput();

  const int64_t after_restart = VerifiedTreeSize(vault.dir());
  EXPECT_GE(after_restart, after_crash + 2);  // the login and the read
}

// A stop must not wait for the note classifier: with an empty database cache its compilation
// takes seconds (minutes under sanitizers), and nothing on the way out needs it.
TEST(Stop, AServerStoppedWhileItsClassifierCompilesDrainsItsLogAndExitsAtOnce) {
  Vault vault;
  const std::string practice = vault.AddPractice("Cabinet Stop");
  User doctor = vault.AddUser(practice, "dr.stop", "practitioner");
  testing::TempDir empty_cache;
  ServerProcess server(vault.dir(), "stop-server");
  server.SetEnv("MEDVAULT_CACHE_DIR", empty_cache.path());
  const int port = server.Start();
  ASSERT_GT(port, 0) << "serve did not start";
  HttpClient client("127.0.0.1", port, false);
  const json body = {
      {"login", doctor.login}, {"password", doctor.password}, {"totp", doctor.NextCode()}};
  HttpResponse r =
      client.Send("POST", "/auth/login", body.dump(), {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  HttpResponse list = client.Send("GET", "/fhir/Patient", "", Bearer(r.Json().value("token", "")));
  ASSERT_EQ(list.status, 200) << list.body;

  EXPECT_EQ(server.Stop(), 0) << server.Output();
  EXPECT_NE(server.Output().find("note classifier: still compiling at exit"), std::string::npos)
      << server.Output();
  // The login and the list were logged and signed before the exit.
  EXPECT_GE(VerifiedTreeSize(vault.dir()), 2);
}

}  // namespace
}  // namespace medvault::e2e
