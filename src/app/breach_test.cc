#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "app/audit_wiring.h"
#include "app/breach.h"
#include "app/breach_evidence.h"
#include "app/vault_context.h"
#include "audit/access_log.h"
#include "core/file.h"
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
    other_practice_ = *(*ctx)->AddPractice("Centre");
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
                         Code outcome = Code::kOk, std::string practice = "") {
    api::AccessRecord r;
    r.time = time;
    r.practice_id = practice.empty() ? practice_ : practice;
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
      if (extra[i] == "until") q.until = extra[i + 1];
      if (extra[i] == "practice") q.practices.push_back(extra[i + 1]);
      if (extra[i] == "evidence") q.evidence_dir = extra[i + 1];
    }
    std::ostringstream out, err;
    *code = RunBreachScope(q, out, err);
    if (*code != 0) return nlohmann::json{{"error", err.str()}, {"out", out.str()}};
    return nlohmann::json::parse(out.str());
  }

  std::set<std::string> Ids(std::vector<std::string> extra) {
    int code = 0;
    nlohmann::json scope = Scope(std::move(extra), &code);
    EXPECT_EQ(code, 0) << scope.dump();
    std::set<std::string> ids;
    for (const auto& p : scope["patients"]) ids.insert(p["id"].get<std::string>());
    return ids;
  }

  std::string Text(const std::string& format, int* code) {
    ScopeQuery q;
    q.data_dir = dir_.Sub("v");
    q.format = format;
    std::ostringstream out, err;
    *code = RunBreachScope(q, out, err);
    return *code == 0 ? out.str() : err.str();
  }

  testing::TempDir dir_;
  std::string practice_;
  std::string other_practice_;
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

using IdSet = std::set<std::string>;

// Overwrites one byte in place: truncating and rewriting a file thousands of times makes some
// file systems flush it each time.
void PutByte(const std::string& path, size_t offset, char byte) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(byte);
}

// A scripted sequence of accesses by three accounts from two sources over two practices; every
// filter, alone and combined, gives exactly the patients released to the requests it selects.
TEST_F(BreachScope, EveryFilterGivesExactlyThePatientsOfTheSelectedRequests) {
  const UnixMicros t0 = 1'800'000'000'000'000;  // 2027-01-15T08:00:00Z
  const UnixMicros hour = 3'600'000'000;
  Record({Read("dr.a", "10.0.0.1", {"p1", "p2"}, t0),
          Read("dr.a", "10.0.0.9", {"p3"}, t0 + hour),
          Read("dr.b", "10.0.0.1", {"p4"}, t0 + 2 * hour),
          Read("dr.b", "10.0.0.1", {"p5"}, t0 + 3 * hour, Code::kPermissionDenied),
          Read("dr.c", "10.0.0.2", {"q1", "q2"}, t0 + 4 * hour, Code::kOk, other_practice_),
          Read("dr.a", "10.0.0.1", {"p2", "p6"}, t0 + 5 * hour)});
  EXPECT_EQ(Ids({}), (IdSet{"p1", "p2", "p3", "p4", "p6", "q1", "q2"}));
  EXPECT_EQ(Ids({"login", "dr.a"}), (IdSet{"p1", "p2", "p3", "p6"}));
  EXPECT_EQ(Ids({"login", "dr.b"}), (IdSet{"p4"}));
  EXPECT_EQ(Ids({"login", "dr.a", "login", "dr.c"}), (IdSet{"p1", "p2", "p3", "p6", "q1", "q2"}));
  EXPECT_EQ(Ids({"ip", "10.0.0.1"}), (IdSet{"p1", "p2", "p4", "p6"}));
  EXPECT_EQ(Ids({"ip", "10.0.0.9", "ip", "10.0.0.2"}), (IdSet{"p3", "q1", "q2"}));
  EXPECT_EQ(Ids({"practice", other_practice_}), (IdSet{"q1", "q2"}));
  EXPECT_EQ(Ids({"practice", practice_}), (IdSet{"p1", "p2", "p3", "p4", "p6"}));
  // The window is [since, until).
  EXPECT_EQ(Ids({"since", "2027-01-15T09:00:00Z", "until", "2027-01-15T12:00:00Z"}),
            (IdSet{"p3", "p4"}));
  EXPECT_EQ(Ids({"until", "2027-01-15T09:00:00Z"}), (IdSet{"p1", "p2"}));
  EXPECT_EQ(Ids({"since", "2027-01-15T13:00:00Z"}), (IdSet{"p2", "p6"}));
  EXPECT_EQ(Ids({"login", "dr.a", "ip", "10.0.0.1", "since", "2027-01-15T08:00:01Z"}),
            (IdSet{"p2", "p6"}));
  EXPECT_EQ(Ids({"login", "dr.c", "practice", practice_}), IdSet{});

  int code = 0;
  nlohmann::json scope = Scope({"login", "dr.a"}, &code);
  ASSERT_EQ(code, 0);
  for (const auto& p : scope["patients"]) {
    if (p["id"] == "p2") {
      EXPECT_EQ(p["accesses"].get<int>(), 2);
      EXPECT_EQ(p["first_access"], "2027-01-15T08:00:00Z");
      EXPECT_EQ(p["last_access"], "2027-01-15T13:00:00Z");
      EXPECT_EQ(p["field_groups"], nlohmann::json({"identity", "contact"}));
      EXPECT_EQ(p["practice"], practice_);
    }
  }
  scope = Scope({"practice", "no-such-practice"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(scope["error"].get<std::string>().find("--practice"), std::string::npos);
  scope = Scope({"since", "yesterday"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(scope["error"].get<std::string>().find("--since"), std::string::npos);
}

TEST_F(BreachScope, NoteCategoriesAndGroupsAreUnitedPerPatientAndCounted) {
  const UnixMicros t0 = 1'800'000'000'000'000;
  api::AccessRecord note = Read("dr.a", "10.0.0.1", {"p1"}, t0 + 5);
  note.action = "note.read";
  note.field_groups = MaskOf(FieldGroup::kNotes);
  note.note_categories = (1u << 1) | (1u << 12);  // mental_health, subjective
  Record({Read("dr.a", "10.0.0.1", {"p1", "p2"}, t0), note});
  int code = 0;
  nlohmann::json scope = Scope({}, &code);
  ASSERT_EQ(code, 0);
  ASSERT_EQ(scope["patients"].size(), 2u);
  EXPECT_EQ(scope["patients"][0]["field_groups"],
            nlohmann::json({"identity", "contact", "notes"}));
  EXPECT_EQ(scope["patients"][0]["note_categories"],
            nlohmann::json({"mental_health", "subjective"}));
  EXPECT_EQ(scope["totals"]["by_field_group"]["identity"].get<int>(), 2);
  EXPECT_EQ(scope["totals"]["by_field_group"]["notes"].get<int>(), 1);
  EXPECT_EQ(scope["totals"]["by_note_category"]["mental_health"].get<int>(), 1);
}

TEST_F(BreachScope, CsvHasOneQuotedRowPerPatientAndSummaryHasTheTotals) {
  const UnixMicros t0 = 1'800'000'000'000'000;
  Record({Read("dr.a", "10.0.0.1", {"p1", "odd,\"id\""}, t0),
          Read("dr.b", "10.0.0.2", {"p1"}, t0 + 60'000'000)});
  int code = 0;
  const std::string csv = Text("csv", &code);
  ASSERT_EQ(code, 0) << csv;
  EXPECT_EQ(csv,
            "id,practice,field_groups,note_categories,first_access,last_access,accesses,canary\r\n"
            "\"odd,\"\"id\"\"\"," + practice_ + ",identity contact,,2027-01-15T08:00:00Z,"
            "2027-01-15T08:00:00Z,1,false\r\n"
            "p1," + practice_ + ",identity contact,,2027-01-15T08:00:00Z,2027-01-15T08:01:00Z,2,"
            "false\r\n");
  const std::string summary = Text("summary", &code);
  ASSERT_EQ(code, 0);
  EXPECT_NE(summary.find("Patients exposed: 2 (3 accesses)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("time span: 2027-01-15T08:00:00Z to 2027-01-15T08:01:00Z"),
            std::string::npos);
  EXPECT_NE(summary.find("dr.a  practice " + practice_ + "  requests 1  patients 2"),
            std::string::npos);
  EXPECT_NE(summary.find("Accounts (2)"), std::string::npos);
  EXPECT_NE(Text("xml", &code).find("--format"), std::string::npos);
  EXPECT_EQ(code, 1);
}

TEST_F(BreachScope, EvidenceChecksOfflineAndAnyFlippedByteFails) {
  const UnixMicros t0 = 1'800'000'000'000'000;
  Record({Read("dr.a", "10.0.0.1", {"p1", "p2"}, t0), Read("dr.b", "10.0.0.2", {"p3"}, t0 + 10),
          Read("dr.a", "10.0.0.1", {"p4"}, t0 + 20, Code::kPermissionDenied),
          Read("dr.b", "10.0.0.2", {"p5"}, t0 + 30)});
  const std::string dir = dir_.Sub("evidence");
  int code = 0;
  nlohmann::json scope = Scope({"login", "dr.a", "evidence", dir}, &code);
  ASSERT_EQ(code, 0) << scope.dump();
  EXPECT_EQ(*FileMode(dir), 0700u);
  EXPECT_EQ(*FileMode(dir + "/leaves.jsonl"), 0600u);
  Result<EvidenceReport> report = CheckEvidence(dir, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->leaves, 2u);  // both of dr.a's requests, the refused one too
  EXPECT_EQ(report->patients, 2u);
  EXPECT_EQ(report->checkpoint_size, 4u);
  // Pinning the right log key passes, another fails.
  const std::string key = *ReadFile(dir + "/log.key");
  EXPECT_TRUE(CheckEvidence(dir, {key.substr(0, key.size() - 1), {}}).ok());
  EXPECT_FALSE(CheckEvidence(dir, {"other+01020304+AQ==", {}}).ok());
  // The evidence of someone else's scope cannot stand for this one: leaves must match the query.
  scope = Scope({"login", "dr.a", "evidence", dir}, &code);
  EXPECT_EQ(code, 1) << "an existing evidence directory is never overwritten";

  for (const char* name : {"manifest", "log.key", "scope.json", "leaves.jsonl", "checkpoint",
                           "latest-checkpoint", "consistency"}) {
    const std::string path = dir + "/" + name;
    const std::string original = *ReadFile(path);
    for (size_t i = 0; i < original.size(); ++i) {
      for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x20}}) {
        PutByte(path, i, static_cast<char>(original[i] ^ bit));
        Result<EvidenceReport> r = CheckEvidence(dir, {});
        ASSERT_FALSE(r.ok()) << name << " byte " << i;
        EXPECT_EQ(r.status().code(), Code::kIntegrity);
      }
      PutByte(path, i, original[i]);
    }
  }
  // Removing a leaf, even with the manifest's count kept, fails.
  const std::string leaves = *ReadFile(dir + "/leaves.jsonl");
  ASSERT_TRUE(WriteFileAtomic(dir + "/leaves.jsonl", leaves.substr(leaves.find('\n') + 1)).ok());
  EXPECT_FALSE(CheckEvidence(dir, {}).ok());
}

TEST_F(BreachScope, ATamperedLogWritesNoEvidence) {
  Record({Read("dr.a", "10.0.0.1", {"p1"}, 1'800'000'000'000'000)});
  const std::string cmd = "sqlite3 " + dir_.Sub("v") +
                          "/log.db \"UPDATE log_entries SET entry = zeroblob(length(entry))\" 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  int code = 0;
  nlohmann::json scope = Scope({"evidence", dir_.Sub("evidence")}, &code);
  EXPECT_EQ(code, 3);
  EXPECT_TRUE(scope["out"].get<std::string>().empty());
  EXPECT_FALSE(PathExists(dir_.Sub("evidence")));
}

TEST(ScopeJson, RoundTripsWhatNotifyReads) {
  Scope scope;
  scope.logins = {"dr.a"};
  scope.since = "2027-01-15T08:00:00Z";
  scope.tree_size = 7;
  scope.accounts = {{"dr.a", "prac", 3, 2}};
  PatientExposure p;
  p.id = "p1";
  p.practice = "prac";
  p.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kNotes);
  p.note_categories = 1;
  p.first_access = 1'800'000'000'000'000;
  p.last_access = 1'800'000'000'000'000;
  p.accesses = 2;
  scope.patients = {p};
  p.id = "c1";
  p.canary = true;
  scope.canaries = {p};
  Result<Scope> back = ScopeFromJson(ScopeToJson(scope));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ScopeToJson(*back), ScopeToJson(scope));
  EXPECT_TRUE(back->canaries[0].canary);
  EXPECT_EQ(ScopeFromJson("{}").status().message(), "query: expected an object");
  nlohmann::json j = nlohmann::json::parse(ScopeToJson(scope));
  j["patients"][0]["field_groups"] = {"dna"};
  EXPECT_EQ(ScopeFromJson(j.dump()).status().message(),
            "patients[0].field_groups: unknown group dna");
}

}  // namespace
}  // namespace medvault::app
