// Bulk import through the real CLI, on both backends, of files larger than what a store writes at
// once (PostgreSQL sends 2,000 patients per COPY while the next ones are prepared): every patient
// lands in file order with its canaries, and a bad entry near the end of the file, after several
// batches have reached the server, still imports nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "app/vault_context.h"
#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

using nlohmann::json;

constexpr int kPatients = 4500;

// `medvault gen` output, one line per patient.
std::vector<std::string> Generate(const Vault& vault, int count, int seed) {
  const std::string file = vault.dir() + "/gen.ndjson";
  CommandResult r = RunMedvault({"gen", "--patients", std::to_string(count), "--seed",
                                 std::to_string(seed), "--out", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::remove(file.c_str());
  return lines;
}

std::string WriteLines(const Vault& vault, const std::string& name,
                       const std::vector<std::string>& lines) {
  const std::string path = vault.dir() + "/" + name;
  std::ofstream out(path);
  for (const std::string& line : lines) out << line << "\n";
  return path;
}

std::string NirOf(const json& resource) {
  for (const json& id : resource["identifier"]) return id.value("value", "");
  return "";
}

TEST(ImportE2E, AFileOfSeveralBatchesLandsInFileOrderWithItsCanaries) {
  Vault vault;
  const std::string practice = vault.AddPractice("Cabinet des Tilleuls");
  const std::vector<std::string> lines = Generate(vault, kPatients, 11);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kPatients));
  const std::string file = WriteLines(vault, "all.ndjson", lines);
  CommandResult r = RunMedvault({"import", "--data", vault.dir(), "--practice", practice, file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(kPatients) + "\n");

  auto ctx = app::VaultContext::Open(vault.dir());
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  auto page = (*ctx)->patients().List(practice, 0, 2 * kPatients, MaskOf(FieldGroup::kInsurance));
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  std::vector<std::string> stored;
  size_t canaries = 0;
  for (size_t i = 0; i < page->patients.size(); ++i) {
    if (page->canary[i]) {
      ++canaries;
    } else {
      stored.push_back(page->patients[i].insurance.nir);
    }
  }
  std::vector<std::string> expected;
  for (const std::string& line : lines) expected.push_back(NirOf(json::parse(line)));
  EXPECT_EQ(stored, expected);  // the list keeps the file's order across batches
  EXPECT_GE(canaries, static_cast<size_t>(kPatients) / 10);
  ctx->reset();

  CommandResult check = RunMedvault({"canaries", "check", "--data", vault.dir(), "--practice",
                                     practice});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST(ImportE2E, ABadEntryNearTheEndOfALargeFileImportsNothing) {
  Vault vault;
  const std::string practice = vault.AddPractice("Cabinet des Platanes");
  std::vector<std::string> lines = Generate(vault, kPatients, 12);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kPatients));
  json bad = json::parse(lines[4399]);
  bad["birthDate"] = "2023-02-30";
  lines[4399] = bad.dump();
  const std::string family = bad["name"][0].value("family", "");
  CommandResult r = RunMedvault(
      {"import", "--data", vault.dir(), "--practice", practice, WriteLines(vault, "bad.ndjson", lines)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 4400: birthDate: impossible date"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing imported"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(family), std::string::npos) << "a patient field in the error";
  {
    auto ctx = app::VaultContext::Open(vault.dir());
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    EXPECT_EQ(*(*ctx)->data().CountPatients(practice), 0);
  }
  // The vault is usable: the first hundred entries, the bad one left out, import whole.
  lines.resize(100);
  CommandResult again = RunMedvault(
      {"import", "--data", vault.dir(), "--practice", practice, WriteLines(vault, "good.ndjson", lines)});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "100\n");
}

}  // namespace
}  // namespace medvault::e2e
