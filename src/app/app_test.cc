#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/config.h"
#include "app/generator.h"
#include "app/vault_context.h"
#include "cli/commands.h"
#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::app {
namespace {

struct CliResult {
  int code;
  std::string out;
  std::string err;
};

CliResult RunCli(std::vector<std::string> args, const std::string& stdin_text = "") {
  args.insert(args.begin(), "medvault");
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  const int code = cli::Run(args, in, out, err);
  return {code, out.str(), err.str()};
}

class VaultCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCli({"init", "--data", vault_}).code, 0);
    CliResult r = RunCli({"practice", "add", "--data", vault_, "--name", "Cabinet du Lac"});
    ASSERT_EQ(r.code, 0) << r.err;
    practice_ = r.out.substr(0, r.out.find('\n'));
  }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_.Sub(name);
    std::ofstream(path) << content;
    return path;
  }

  int64_t Count() {
    auto ctx = VaultContext::Open(vault_);
    return *(*ctx)->data().CountPatients(practice_);
  }

  testing::TempDir dir_;
  std::string vault_ = dir_.Sub("vault");
  std::string practice_;
};

TEST_F(VaultCli, InitRefusesADirectoryThatHoldsAVault) {
  CliResult r = RunCli({"init", "--data", vault_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos);
  EXPECT_EQ(*FileMode(vault_ + "/master.key"), 0600u);
}

TEST_F(VaultCli, UserAddPrintsATotpProvisioningUri) {
  CliResult r = RunCli({"user", "add", "--data", vault_, "--practice", practice_, "--login",
                        "dr.martin", "--role", "practitioner"},
                       "un mot de passe assez long\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("otpauth://totp/medvault:dr.martin?secret="));
  EXPECT_NE(r.out.find("digits=6&period=30"), std::string::npos);
  r = RunCli({"user", "add", "--data", vault_, "--practice", practice_, "--login", "dr.martin",
              "--role", "practitioner"},
             "un mot de passe assez long\n");
  EXPECT_EQ(r.code, 1);
  r = RunCli({"user", "add", "--data", vault_, "--practice", practice_, "--login", "x.y",
              "--role", "secretary"},
             "court\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("password: at least 12 characters"), std::string::npos);
}

// After an import, no vault file holds any imported name, NIR, phone or street in plaintext.
TEST_F(VaultCli, NoImportedValueAppearsInAnyVaultFile) {
  const std::string ndjson = dir_.Sub("patients.ndjson");
  ASSERT_EQ(RunCli({"gen", "--patients", "300", "--seed", "7", "--out", ndjson}).code, 0);
  CliResult r = RunCli({"import", "--data", vault_, "--practice", practice_, ndjson});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "300\n");
  std::vector<std::string> needles;
  Generator gen(7);
  for (int i = 0; i < 300; ++i) {
    vault::Patient p = gen.NextPatient();
    needles.push_back(p.identity.family);
    needles.push_back(p.insurance.nir);
    needles.push_back(p.contact.telecom[0].value);
    needles.push_back(p.contact.addresses[0].lines[0]);
    if (p.contact.telecom.size() > 1) needles.push_back(p.contact.telecom[1].value);
  }
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(vault_)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string content = *ReadFile(entry.path().string());
    for (const auto& needle : needles) {
      // A value of 3 or 4 bytes ("Roy") turns up by chance in a megabyte of ciphertext (about
      // one chance in 16 per MB for 3 bytes); from 5 bytes on a chance hit is negligible.
      if (needle.size() < 5) continue;
      ASSERT_EQ(content.find(needle), std::string::npos)
          << "a patient value appears in " << entry.path().filename();
    }
  }
  EXPECT_GE(files, 4u);  // medvault.toml, master.key, medvault.db, keys.db (+ WAL files)
}

TEST_F(VaultCli, BadImportsExitOneNamingEntryAndFieldAndImportNothing) {
  const std::string good =
      R"({"resourceType":"Patient","name":[{"family":"Martin","given":["Anne"]}],)"
      R"("identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"255081416802538"}]})";
  struct Case {
    std::string name;
    std::string content;
    std::string expected;
  } cases[] = {
      {"badkey.ndjson",
       good + "\n" +
           R"({"resourceType":"Patient","name":[{"family":"B"}],"identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"255081416802539"}]})",
       "line 2: identifier[0].value: invalid NIR control key"},
      {"baddate.ndjson",
       good + "\n" + R"({"resourceType":"Patient","name":[{"family":"B"}],"birthDate":"2023-02-30"})",
       "line 2: birthDate: impossible date"},
      {"badtype.ndjson", good + "\n" + R"({"resourceType":"Patient","name":{"family":"B"}})",
       "line 2: name: must be an array"},
      {"duplicate.ndjson", good + "\n" + good, "line 2: identifier[0].value: same NIR"},
      {"truncated.ndjson", good + "\n" + good.substr(0, 40), "line 2: not valid JSON"},
      {"truncated.json", R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":)",
       "bundle: not valid JSON"},
      {"bundle.json",
       R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":)" + good +
           R"(},{"resource":{"resourceType":"Patient","name":[{"family":"X"}],"gender":"f"}}]})",
       "entry 2: gender: must be male, female, other or unknown"},
  };
  for (const auto& c : cases) {
    CliResult r = RunCli({"import", "--data", vault_, "--practice", practice_, Write(c.name, c.content)});
    EXPECT_EQ(r.code, 1) << c.name;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find("nothing imported"), std::string::npos) << c.name;
    EXPECT_EQ(r.err.find("Martin"), std::string::npos) << "a value leaked into " << c.name;
    EXPECT_EQ(Count(), 0) << c.name;
  }
  // A second import of the same patient is refused as a duplicate of the practice's.
  ASSERT_EQ(RunCli({"import", "--data", vault_, "--practice", practice_, Write("ok.ndjson", good)}).code, 0);
  CliResult again = RunCli({"import", "--data", vault_, "--practice", practice_, Write("ok2.ndjson", good)});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("line 1: identifier[0].value: a patient with this NIR already exists"),
            std::string::npos) << again.err;
  EXPECT_EQ(Count(), 1);
}

TEST_F(VaultCli, CanariesCheckReportsTheSpacingOfAnImportedPractice) {
  const std::string ndjson = dir_.Sub("c.ndjson");
  ASSERT_EQ(RunCli({"gen", "--patients", "400", "--seed", "3", "--out", ndjson}).code, 0);
  ASSERT_EQ(RunCli({"import", "--data", vault_, "--practice", practice_, ndjson}).out, "400\n");
  CliResult r = RunCli({"canaries", "check", "--data", vault_, "--practice", practice_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("written_now=0 spacing=10"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("colliding_canaries=0 holds=yes"), std::string::npos) << r.out;
  EXPECT_EQ(Count(), 400 + std::stoll(r.out.substr(r.out.find("canaries=") + 9)));
  EXPECT_EQ(RunCli({"canaries", "check", "--data", vault_, "--practice", "nope"}).code, 1);
}

TEST_F(VaultCli, KeysRotateKeepsEveryPatientReadable) {
  const std::string ndjson = dir_.Sub("p.ndjson");
  ASSERT_EQ(RunCli({"gen", "--patients", "50", "--out", ndjson}).code, 0);
  ASSERT_EQ(RunCli({"import", "--data", vault_, "--practice", practice_, ndjson}).code, 0);
  const std::string key_before = *ReadFile(vault_ + "/master.key");
  CliResult r = RunCli({"keys", "rotate", "--data", vault_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(*ReadFile(vault_ + "/master.key"), key_before);
  auto ctx = VaultContext::Open(vault_);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  auto page = (*ctx)->patients().List(practice_, 0, 100, MaskOf(FieldGroup::kIdentity));
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(std::count(page->canary.begin(), page->canary.end(), false), 50);  // and canaries
}

TEST_F(VaultCli, ShredRemovesThePatient) {
  const std::string ndjson = dir_.Sub("p.ndjson");
  ASSERT_EQ(RunCli({"gen", "--patients", "3", "--out", ndjson}).code, 0);
  ASSERT_EQ(RunCli({"import", "--data", vault_, "--practice", practice_, ndjson}).code, 0);
  std::string id;
  {
    auto ctx = VaultContext::Open(vault_);
    id = (*ctx)->patients().List(practice_, 0, 1, 0)->patients[0].id;
  }
  EXPECT_EQ(RunCli({"patient", "shred", "--data", vault_, "--practice", practice_, "--id", id}).code, 0);
  EXPECT_EQ(Count(), 2);
  CliResult r = RunCli({"patient", "shred", "--data", vault_, "--practice", practice_, "--id", id});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--id: no such patient"), std::string::npos);
}

TEST(Config, UnknownKeysAndWrongTypesAreNamed) {
  EXPECT_EQ(ParseConfig("[api]\nthreads = \"two\"\n", "t").status().message(),
            "api.threads: expected a non-negative integer");
  EXPECT_EQ(ParseConfig("[api]\nthread = 2\n", "t").status().message(),
            "unknown key api.thread");
  EXPECT_EQ(ParseConfig("[vault]\nbackend = \"mysql\"\n", "t").status().message(),
            "vault.backend: must be sqlite or postgres");
  auto ok = ParseConfig("[vault]\nid = \"abc\"\n[api]\nthreads = 2\n", "t");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->threads, 2);
  EXPECT_EQ(ok->log_origin, "medvault.local/abc/log");
  EXPECT_TRUE(ParseConfig(RenderConfig(*ok), "rendered").ok());
}

}  // namespace
}  // namespace medvault::app
