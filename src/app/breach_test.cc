#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "app/audit_wiring.h"
#include "app/breach.h"
#include "app/vault_context.h"
#include "audit/access_log.h"
#include "core/testing/temp_dir.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault::app {
namespace {

class BreachScope : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitVault(dir_.Sub("v"), {}).ok());
    auto ctx = VaultContext::Open(dir_.Sub("v"));
    ASSERT_TRUE(ctx.ok());
    practice_ = *(*ctx)->AddPractice("Cabinet");
  }

  // Appends access records through the real access log of the vault.
  void Record(const std::vector<api::AccessRecord>& records) {
    auto ctx = VaultContext::Open(dir_.Sub("v"));
    auto log_store = store::OpenSqliteLogStore((*ctx)->LogPath());
    ASSERT_TRUE(log_store.ok());
    const crypto::SigningKey key = crypto::SigningKey::FromSeed(*(*ctx)->keyring().LogSigningSeed());
    KeyringAuditKeys keys((*ctx)->keyring());
    FakeClock clock(1'800'000'000'000'000);
    audit::AccessLog log(**log_store, keys, key, clock, (*ctx)->random(),
                         {"medvault.local/test/log"});
    ASSERT_TRUE(log.Start().ok());
    for (const auto& rec : records) ASSERT_TRUE(log.Append(LeafFromRecord(rec)).ok());
    log.Stop();
  }

  api::AccessRecord Read(const std::string& login, const std::string& source,
                         std::vector<std::string> patients, UnixMicros time,
                         Code outcome = Code::kOk) {
    api::AccessRecord r;
    r.time = time;
    r.practice_id = practice_;
    r.login = login;
    r.source_ip = source;
    r.action = "patient.search";
    r.resource_type = "Patient";
    r.patient_ids = std::move(patients);
    r.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact);
    r.outcome = outcome;
    return r;
  }

  nlohmann::json Scope(std::vector<std::string> extra, int* code) {
    ScopeQuery q;
    q.data_dir = dir_.Sub("v");
    for (size_t i = 0; i + 1 < extra.size(); i += 2) {
      if (extra[i] == "login") q.logins.push_back(extra[i + 1]);
      if (extra[i] == "ip") q.source_ips.push_back(extra[i + 1]);
      if (extra[i] == "since") q.since = extra[i + 1];
    }
    std::ostringstream out, err;
    *code = RunBreachScope(q, out, err);
    if (*code != 0) return nlohmann::json{{"error", err.str()}};
    return nlohmann::json::parse(out.str());
  }

  testing::TempDir dir_;
  std::string practice_;
};

TEST_F(BreachScope, ListsExactlyThePatientsReleasedToTheMatchingAccounts) {
  const UnixMicros t0 = 1'800'000'000'000'000;
  Record({Read("dr.a", "10.0.0.1", {"p1", "p2"}, t0), Read("dr.a", "10.0.0.1", {"p2"}, t0 + 10),
          Read("dr.b", "10.0.0.2", {"p3"}, t0 + 20),
          Read("dr.a", "10.0.0.1", {"p9"}, t0 + 30, Code::kSuspended)});  // refused: not released
  int code = 0;
  nlohmann::json scope = Scope({"login", "dr.a"}, &code);
  ASSERT_EQ(code, 0) << scope.dump();
  EXPECT_TRUE(scope["log"]["verified"].get<bool>());
  EXPECT_EQ(scope["log"]["tree_size"].get<int>(), 4 + 0) << "every record is a leaf";
  std::set<std::string> ids;
  for (const auto& p : scope["patients"]) ids.insert(p["id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"p1", "p2"}));
  EXPECT_EQ(scope["totals"]["patients"].get<int>(), 2);
  EXPECT_EQ(scope["totals"]["by_field_group"]["contact"].get<int>(), 2);
  ASSERT_EQ(scope["accounts"].size(), 1u);
  EXPECT_EQ(scope["accounts"][0]["requests"].get<int>(), 3);
  EXPECT_EQ(scope["accounts"][0]["patients"].get<int>(), 2);
  for (const auto& p : scope["patients"]) {
    if (p["id"] == "p2") {
      EXPECT_EQ(p["accesses"].get<int>(), 2);
    }
  }
  scope = Scope({"ip", "10.0.0.2"}, &code);
  ASSERT_EQ(scope["patients"].size(), 1u);
  EXPECT_EQ(scope["patients"][0]["id"], "p3");
  scope = Scope({"login", "dr.a", "since", "2027-01-15T08:00:01Z"}, &code);  // after them all
  EXPECT_TRUE(scope["patients"].empty());
}

TEST_F(BreachScope, ATamperedLogGivesNoScope) {
  Record({Read("dr.a", "10.0.0.1", {"p1"}, 1'800'000'000'000'000)});
  // Rewrite the leaf through SQLite itself, as an intruder with file access would.
  const std::string cmd = "sqlite3 " + dir_.Sub("v") +
                          "/log.db \"UPDATE log_entries SET entry = zeroblob(length(entry))\" 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  int code = 0;
  nlohmann::json scope = Scope({}, &code);
  EXPECT_EQ(code, 3);
  EXPECT_NE(scope["error"].get<std::string>().find("does not verify"), std::string::npos);
}

}  // namespace
}  // namespace medvault::app
