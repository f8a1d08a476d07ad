// The guard simulator at reduced scale against the real binary: `medvault simulate` creates a
// simulation vault, serves it with --simulated-clock and drives normal practice days and attacks
// over HTTP. The acceptance of docs/guard.md is asserted on its JSON report, and `breach scope`
// of every attacking account must list exactly the patients the attacker received. Also: the
// simulated clock's safety rules.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "core/testing/temp_dir.h"
#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using json = nlohmann::json;
using IdSet = std::set<std::string>;

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

TEST(SimulatorE2E, ReducedScaleMeetsTheAcceptanceAndEveryAttackersScopeIsExact) {
  testing::TempDir dir;
  const std::string vault = dir.path() + "/vault";
  const std::string report_path = dir.path() + "/report.json";
  CommandResult run = RunMedvault({"simulate", "--data", vault, "--practitioner-days", "40",
                                   "--practices", "20", "--patients", "100", "--seed", "7",
                                   "--json", report_path});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json report = ReadJson(report_path);
  ASSERT_TRUE(report.is_object()) << run.out;
  EXPECT_GE(report["practitioner_days"].get<int>(), 40);

  // Normal scenarios: nobody stepped up, nobody contained.
  std::set<std::string> scenarios;
  for (const json& s : report["normal"]) {
    const std::string name = s["scenario"].get<std::string>();
    scenarios.insert(name);
    EXPECT_GT(s["requests"].get<int>(), 0) << name;
    EXPECT_EQ(s["step_ups"].get<int>(), 0) << name << ": " << s["events"].dump();
    EXPECT_EQ(s["containments"].get<int>(), 0) << name << ": " << s["events"].dump();
  }
  for (const char* expected : {"doctor_day", "secretary_booking", "walk_in", "replacement_doctor",
                               "back_from_holidays", "centre_de_sante"}) {
    EXPECT_TRUE(scenarios.count(expected)) << expected;
  }

  // Attacks: at most 25 real patients per stolen account, 100 for the four accounts together,
  // the 20-account source contained as a source; every account contained in the end.
  ASSERT_GE(report["attacks"].size(), 10u);
  for (const json& a : report["attacks"]) {
    const std::string name = a["strategy"].get<std::string>();
    if (a["bound_is_total"].get<bool>()) {
      EXPECT_LE(a["real_leaked_total"].get<int>(), 100) << name;
    } else {
      EXPECT_LE(a["real_leaked_max_per_account"].get<int>(), 25) << name;
    }
    if (name == "one_source_20_accounts") {
      EXPECT_TRUE(a["source_contained"].get<bool>());
      EXPECT_EQ(a["accounts"].size(), 20u);
    }
    for (const json& acc : a["accounts"]) {
      EXPECT_TRUE(acc["contained"].get<bool>()) << name << " " << acc["login"];
    }
  }

  // Issue 6: after the attacks, the scope of each attacking account (from its first request on)
  // equals the set of patients it received — none missing, none extra.
  int compared = 0;
  for (const json& a : report["attacks"]) {
    for (const json& acc : a["accounts"]) {
      const IdSet received = acc["received_ids"].get<IdSet>();
      CommandResult scope = RunMedvault({"breach", "scope", "--data", vault, "--login",
                                         acc["login"].get<std::string>(), "--since",
                                         acc["since"].get<std::string>()});
      ASSERT_EQ(scope.exit_code, 0) << scope.err;
      const json j = json::parse(scope.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << scope.out.substr(0, 200);
      IdSet listed;
      for (const char* list : {"patients", "canaries"}) {
        for (const json& p : j.value(list, json::array())) listed.insert(p["id"].get<std::string>());
      }
      EXPECT_EQ(listed, received) << a["strategy"] << " " << acc["login"];
      if (!received.empty()) ++compared;
    }
  }
  EXPECT_GE(compared, 10);
}

TEST(SimulatorE2E, SimulatedClockIsRefusedOnAnOrdinaryVaultAndAbsentWithoutTheFlag) {
  Vault v;
  CommandResult refused = RunMedvault({"serve", "--data", v.dir(), "--http", "--listen",
                                       "127.0.0.1:0", "--simulated-clock"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("not a simulation vault"), std::string::npos) << refused.err;

  // A simulation vault: refused on a non-loopback address and without the flag.
  {
    std::ofstream marker(v.dir() + "/SIMULATION");
    marker << "test\n";
  }
  CommandResult wide = RunMedvault({"serve", "--data", v.dir(), "--http", "--listen",
                                    "0.0.0.0:0", "--simulated-clock"});
  EXPECT_EQ(wide.exit_code, 1);
  EXPECT_NE(wide.err.find("loopback"), std::string::npos) << wide.err;
  CommandResult real_clock = RunMedvault({"serve", "--data", v.dir(), "--http", "--listen",
                                          "127.0.0.1:0"});
  EXPECT_EQ(real_clock.exit_code, 1);
  EXPECT_NE(real_clock.err.find("--simulated-clock"), std::string::npos) << real_clock.err;
  std::remove((v.dir() + "/SIMULATION").c_str());

  // Served normally, the route does not exist.
  v.Serve();
  auto client = v.Client();
  HttpResponse r = client->Send("POST", "/debug/clock", R"({"advance_seconds": 60})",
                                {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 404);
}

}  // namespace
}  // namespace medvault::e2e
