// The guard against the real server: a list dump is contained (403 suspended, then 401 on the
// token, 423 on login) until `medvault account unlock`; a doctor's burst of 100 requests/s on a
// few patients is never refused; step-up asks for a fresh TOTP code on the same session; shadow
// mode never refuses but logs; every decision reaches the webhook, with no patient field.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

const Headers kJson = {{"Content-Type", "application/json"}};

// A webhook endpoint: accepts POSTs on 127.0.0.1, answers 200 and keeps the bodies.
class WebhookListener {
 public:
  WebhookListener() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { Run(); });
  }
  ~WebhookListener() {
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  void Run() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) continue;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(req.body());
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.keep_alive(false);
      res.prepare_payload();
      http::write(socket, res, ec);
    }
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

// Names of the imported patients: none may appear in an alert.
std::string Family(int i) { return "Enumerable" + std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i); }

struct Env {
  Vault vault;
  std::unique_ptr<WebhookListener> webhook;
  std::string practice;
  std::vector<std::string> ids;  // created through the API by the registrar
};

void Populate(Env& env, int imported) {
  env.practice = env.vault.AddPractice("Cabinet du Guet");
  const std::string file = env.vault.dir() + "/patients.ndjson";
  {
    std::ofstream out(file);
    for (int i = 0; i < imported; ++i) {
      char nir13[32];
      std::snprintf(nir13, sizeof nir13, "1841275056%03d", i + 1);
      out << SamplePatient(Family(i), "Prenom", nir13).dump() << "\n";
    }
  }
  CommandResult r = RunMedvault({"import", "--data", env.vault.dir(), "--practice", env.practice, file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::remove(file.c_str());
}

class GuardE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env;
    env->webhook = std::make_unique<WebhookListener>();
    Populate(*env, 150);
    env->vault.SetConfig("webhook", "\"http://127.0.0.1:" + std::to_string(env->webhook->port()) + "/alerts\"");
    User registrar = env->vault.AddUser(env->practice, "registrar", "secretary");
    env->vault.Serve();
    auto client = env->vault.Client();
    const std::string token = env->vault.Login(registrar);
    for (int i = 0; i < 40; ++i) {
      char nir13[32];
      std::snprintf(nir13, sizeof nir13, "2900599123%03d", i + 1);
      HttpResponse c = client->Send("POST", "/fhir/Patient",
                                    SamplePatient("Registered" + std::to_string(i), "Paula", nir13).dump(),
                                    Bearer(token));
      ASSERT_EQ(c.status, 201) << c.body;
      env->ids.push_back(c.Json()["id"].get<std::string>());
    }
  }
  static void TearDownTestSuite() {
    delete env;
    env = nullptr;
  }
  static Env* env;
};
Env* GuardE2E::env = nullptr;

TEST_F(GuardE2E, ListDumpIsContainedUntilUnlockAndAlertsCarryNoPatientField) {
  User thief = env->vault.AddUser(env->practice, "dr.dump", "practitioner");
  auto client = env->vault.Client();
  const std::string token = env->vault.Login(thief);
  HttpResponse first = client->Send("GET", "/fhir/Patient?_count=20", "", Bearer(token));
  ASSERT_EQ(first.status, 200) << first.body;
  std::string next;
  const json page = first.Json();
  for (const json& link : page["link"]) {
    if (link.value("relation", "") == "next") next = link.value("url", "");
  }
  ASSERT_FALSE(next.empty());
  HttpResponse second = client->Send("GET", next, "", Bearer(token));
  EXPECT_EQ(second.status, 403);
  EXPECT_EQ(IssueCode(second), "suspended");
  EXPECT_EQ(second.body.find("Enumerable"), std::string::npos);
  // Every token of the account is dead, and its login is locked.
  EXPECT_EQ(client->Send("GET", "/fhir/Patient/" + env->ids[0], "", Bearer(token)).status, 401);
  json login = {{"login", thief.login}, {"password", thief.password}, {"totp", thief.NextCode()}};
  EXPECT_EQ(client->Send("POST", "/auth/login", login.dump(), kJson).status, 423);
  EXPECT_NE(env->vault.ServerOutput().find("ALERT guard.contain login=dr.dump"), std::string::npos);

  // The webhook hears of it, from the background thread, with no patient field.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const std::string& b : env->webhook->Bodies()) {
          if (b.find("\"dr.dump\"") != std::string::npos &&
              b.find("contain_account") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      10'000));
  for (const std::string& body : env->webhook->Bodies()) {
    const json j = json::parse(body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << body;
    EXPECT_EQ(j.value("event", ""), "guard.decision");
    EXPECT_EQ(body.find("Enumerable"), std::string::npos) << body;
    EXPECT_EQ(body.find("Registered"), std::string::npos) << body;
    EXPECT_EQ(body.find("1841275056"), std::string::npos) << body;
  }

  // `medvault account unlock` releases; the release is logged by the server.
  CommandResult unlock = RunMedvault({"account", "unlock", "--data", env->vault.dir(), "--login", "dr.dump"});
  ASSERT_EQ(unlock.exit_code, 0) << unlock.err;
  const std::string fresh = env->vault.Login(thief);
  EXPECT_EQ(client->Send("GET", "/fhir/Patient/" + env->ids[0], "", Bearer(fresh)).status, 200);
  EXPECT_TRUE(WaitFor(
      [&] { return env->vault.ServerOutput().find("guard.release login=dr.dump") != std::string::npos; },
      5'000));
}

TEST_F(GuardE2E, DoctorsBurstOfHundredRequestsPerSecondOnFewPatientsIsNeverRefused) {
  User doctor = env->vault.AddUser(env->practice, "dr.burst", "practitioner");
  auto client = env->vault.Client();
  const std::string token = env->vault.Login(doctor);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(10 * i));  // 100/s pacing
    const std::string& id = env->ids[static_cast<size_t>(i % 4)];
    const std::string target = i % 3 == 0 ? "/fhir/DocumentReference?patient=Patient/" + id
                                          : "/fhir/Patient/" + id;
    HttpResponse r = client->Send("GET", target, "", Bearer(token));
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
  }
}

TEST_F(GuardE2E, StepUpAsksForAFreshCodeOnTheSameSession) {
  User doctor = env->vault.AddUser(env->practice, "dr.stepup", "practitioner");
  auto client = env->vault.Client();
  const std::string token = env->vault.Login(doctor);
  HttpResponse refused;
  size_t read = 0;
  for (; read < env->ids.size(); ++read) {
    refused = client->Send("GET", "/fhir/Patient/" + env->ids[read], "", Bearer(token));
    if (refused.status != 200) break;
  }
  ASSERT_EQ(refused.status, 401) << refused.body;
  EXPECT_GE(read, 5u);
  const json outcome = refused.Json();
  EXPECT_EQ(outcome["issue"][0]["details"]["coding"][0]["code"], "step-up-required");
  EXPECT_NE(refused.Header("www-authenticate").find("insufficient_user_authentication"),
            std::string::npos);
  // A wrong code is refused; a fresh one lets the same session go on.
  EXPECT_EQ(client->Send("POST", "/auth/step-up", R"({"totp":"000000"})",
                         {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}})
                .status,
            401);
  const json code = {{"totp", doctor.NextCode()}};
  EXPECT_EQ(client->Send("POST", "/auth/step-up", code.dump(),
                         {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}})
                .status,
            204);
  EXPECT_EQ(client->Send("GET", "/fhir/Patient/" + env->ids[read], "", Bearer(token)).status, 200);
  EXPECT_NE(env->vault.ServerOutput().find("ALERT guard.step_up login=dr.stepup"), std::string::npos);
}

TEST_F(GuardE2E, StepUpWithoutACodeNamesTheField) {
  User doctor = env->vault.AddUser(env->practice, "dr.nocode", "practitioner");
  auto client = env->vault.Client();
  const std::string token = env->vault.Login(doctor);
  HttpResponse r = client->Send("POST", "/auth/step-up", "{}",
                                {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("totp"), std::string::npos);
}

class GuardShadowE2E : public ::testing::Test {};

TEST_F(GuardShadowE2E, ShadowModeNeverRefusesButLogs) {
  Env env;
  Populate(env, 150);
  env.vault.SetConfig("shadow", "true");
  User thief = env.vault.AddUser(env.practice, "dr.shadow", "practitioner");
  env.vault.Serve();
  auto client = env.vault.Client();
  const std::string token = env.vault.Login(thief);
  std::string target = "/fhir/Patient?_count=50";
  int pages = 0;
  while (!target.empty()) {
    HttpResponse r = client->Send("GET", target, "", Bearer(token));
    ASSERT_EQ(r.status, 200) << r.body;
    ++pages;
    target.clear();
    const json page = r.Json();
    for (const json& link : page["link"]) {
      if (link.value("relation", "") == "next") target = link.value("url", "");
    }
  }
  EXPECT_EQ(pages, 4);  // 150 patients and their canaries, 50 a page
  const std::string out = env.vault.ServerOutput();
  EXPECT_NE(out.find("ALERT guard.shadow_contain_account login=dr.shadow"), std::string::npos) << out;
  EXPECT_EQ(out.find("guard.contain login=dr.shadow"), std::string::npos);
  EXPECT_EQ(out.find("Enumerable"), std::string::npos);
}

}  // namespace
}  // namespace medvault::e2e
