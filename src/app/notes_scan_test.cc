#include "app/notes_scan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/log_writer_lock.h"
#include "app/vault_context.h"
#include "cli/commands.h"
#include "core/testing/temp_dir.h"
#include "notes/lexicon.h"

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

uint32_t Bit(notes::Category category) { return 1U << notes::Index(category); }

const std::string kHivText = "Sérologie VIH positive, débuter un traitement.";
const std::string kTarotText = "Consulte pour du tarot divinatoire.";
const std::string kCleanText = "Entorse de cheville, strapping.";

class NotesScan : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCli({"init", "--data", vault_}).code, 0);
    CliResult r = RunCli({"practice", "add", "--data", vault_, "--name", "Cabinet du Lac"});
    ASSERT_EQ(r.code, 0) << r.err;
    practice_ = r.out.substr(0, r.out.find('\n'));
    const std::string ndjson = dir_.Sub("p.ndjson");
    ASSERT_EQ(RunCli({"gen", "--patients", "2", "--out", ndjson}).code, 0);
    ASSERT_EQ(RunCli({"import", "--data", vault_, "--practice", practice_, ndjson}).code, 0);
    // A small lexicon set, quick to compile: the shipped files, nearly empty, plus one new term.
    std::filesystem::create_directories(lexicons_);
    for (const std::string& file : notes::RequiredLexiconFiles()) {
      std::ofstream(lexicons_ + "/" + file) << "";
    }
    std::ofstream(lexicons_ + "/hiv_sti.txt") << "VIH\n";
    std::ofstream(lexicons_ + "/religion.txt") << "tarot divinatoire\n";

    auto ctx = VaultContext::Open(vault_);
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    const auto page = (*ctx)->patients().List(practice_, 0, 2, 0);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->patients.size(), 2u);
    patient_ = page->patients[0].id;
    other_patient_ = page->patients[1].id;
    // As written before the lexicon change: the HIV note was labelled, the tarot note was not,
    // and the clean note carries a label the new lexicons no longer give.
    hiv_ = AddNote(**ctx, patient_, kHivText, Bit(notes::Category::kHivSti));
    tarot_ = AddNote(**ctx, patient_, kTarotText, 0);
    clean_ = AddNote(**ctx, other_patient_, kCleanText, Bit(notes::Category::kMentalHealth));
  }

  std::string AddNote(VaultContext& ctx, const std::string& patient, const std::string& text,
                      uint32_t categories) {
    vault::Note note;
    note.patient_id = patient;
    note.author_login = "dr.lac";
    note.text = text;
    note.category_mask = categories;
    auto created = ctx.notes().Create(practice_, note);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->id : "";
  }

  uint32_t StoredCategories(const std::string& note_id) {
    auto ctx = VaultContext::Open(vault_);
    auto note = (*ctx)->notes().Get(practice_, note_id);
    EXPECT_TRUE(note.ok()) << note.status().ToString();
    return note.ok() ? note->category_mask : 0xFFFFFFFFU;
  }

  testing::TempDir dir_;
  std::string vault_ = dir_.Sub("vault");
  std::string lexicons_ = dir_.Sub("lexicons");
  std::string practice_, patient_, other_patient_;
  std::string hiv_, tarot_, clean_;
};

TEST_F(NotesScan, RelabelsEveryNoteWhoseCategoriesChangedAndPrintsTheCounts) {
  CliResult r = RunCli({"notes", "scan", "--data", vault_, "--lexicons", lexicons_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("scanned 3 notes, 2 changed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("restricted notes: 2 before, 2 after"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("religion               1       1       0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mental_health          0       0       1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("tarot"), std::string::npos);  // counts only, never text
  EXPECT_EQ(StoredCategories(hiv_), Bit(notes::Category::kHivSti));
  EXPECT_EQ(StoredCategories(tarot_), Bit(notes::Category::kReligion));
  EXPECT_EQ(StoredCategories(clean_), 0u);
  // A second scan with the same lexicons finds nothing to change.
  r = RunCli({"notes", "scan", "--data", vault_, "--lexicons", lexicons_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("scanned 3 notes, 0 changed"), std::string::npos) << r.out;
}

TEST_F(NotesScan, ADryRunCountsButWritesNothing) {
  const CliResult r =
      RunCli({"notes", "scan", "--data", vault_, "--lexicons", lexicons_, "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("scanned 3 notes, 2 changed (dry run: nothing written)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(StoredCategories(tarot_), 0u);
  EXPECT_EQ(StoredCategories(clean_), Bit(notes::Category::kMentalHealth));
}

TEST_F(NotesScan, TheAccessLogRecordsWhoseNotesWereOpened) {
  ASSERT_EQ(RunCli({"notes", "scan", "--data", vault_, "--lexicons", lexicons_}).code, 0);
  const CliResult r =
      RunCli({"breach", "scope", "--data", vault_, "--login", "cli:notes-scan"});
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json scope = nlohmann::json::parse(r.out);
  ASSERT_EQ(scope["patients"].size(), 2u) << scope;
  for (const auto& p : scope["patients"]) {
    EXPECT_EQ(p["field_groups"], nlohmann::json::array({"notes"})) << p;
    EXPECT_TRUE(p["id"] == patient_ || p["id"] == other_patient_) << p;
  }
}

TEST_F(NotesScan, RefusesToRunWhileTheServerHoldsTheLog) {
  auto ctx = VaultContext::Open(vault_);
  ASSERT_TRUE(ctx.ok());
  auto lock = LogWriterLock::Acquire(**ctx);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  const CliResult r = RunCli({"notes", "scan", "--data", vault_, "--lexicons", lexicons_});
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(r.err.empty());
  EXPECT_EQ(StoredCategories(tarot_), 0u);
}

TEST_F(NotesScan, AMissingLexiconDirectoryIsNamed) {
  const CliResult r =
      RunCli({"notes", "scan", "--data", vault_, "--lexicons", dir_.Sub("nowhere")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--lexicons"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace medvault::app
