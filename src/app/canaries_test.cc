#include "app/canaries.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "app/generator.h"
#include "app/vault_context.h"
#include "core/ids.h"
#include "core/testing/temp_dir.h"
#include "core/text_fold.h"
#include "vault/nir.h"

namespace medvault::app {
namespace {

constexpr FieldGroupMask kAll = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                                MaskOf(FieldGroup::kInsurance);
constexpr size_t kK = 10;  // the default spacing

class Canaries : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitVault(vault_dir_, {}).ok());
    auto ctx = VaultContext::Open(vault_dir_);
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    ctx_ = std::move(*ctx);
    auto practice = ctx_->AddPractice("Cabinet des Tilleuls");
    ASSERT_TRUE(practice.ok());
    practice_ = *practice;
  }

  vault::Patients& patients() { return ctx_->patients(); }

  int64_t Import(Generator& gen, int n, VaultContext* ctx = nullptr) {
    int remaining = n;
    auto imported = (ctx ? ctx : ctx_.get())
                        ->patients()
                        .Import(practice_, [&]() -> Result<std::optional<vault::Patient>> {
                          if (remaining-- <= 0) return std::optional<vault::Patient>();
                          return std::optional<vault::Patient>(gen.NextPatient());
                        });
    EXPECT_TRUE(imported.ok()) << imported.status().ToString();
    return imported.ok() ? *imported : -1;
  }

  CanarySpacing Measure() {
    auto m = MeasureCanarySpacing(ctx_->data(), patients(), practice_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : CanarySpacing{};
  }

  // The whole list, in order, with every group.
  vault::PatientPage All() {
    auto page = patients().List(practice_, 0, 1'000'000, kAll);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? *page : vault::PatientPage{};
  }

  // Every page of a search, concatenated.
  vault::PatientPage SearchAll(const vault::PatientQuery& q, size_t page_size = 7) {
    vault::PatientPage all;
    int64_t after = 0;
    for (;;) {
      auto page = patients().Search(practice_, q, after, page_size, kAll);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) return all;
      for (size_t i = 0; i < page->patients.size(); ++i) {
        all.patients.push_back(page->patients[i]);
        all.canary.push_back(page->canary[i]);
      }
      if (!page->next_cursor) return all;
      after = *page->next_cursor;
    }
  }

  // The longest run of non-canaries in `canary` flags.
  static size_t LongestRun(const std::vector<bool>& canary) {
    size_t run = 0, longest = 0;
    for (bool c : canary) {
      run = c ? 0 : run + 1;
      longest = std::max(longest, run);
    }
    return longest;
  }

  testing::TempDir dir_;
  std::string vault_dir_ = dir_.Sub("vault");
  std::unique_ptr<VaultContext> ctx_;
  std::string practice_;
};

TEST_F(Canaries, AnImportPutsOneCanaryInEveryKRowsOfTheList) {
  Generator gen(11);
  EXPECT_EQ(Import(gen, 500), 500);  // the count is of real patients only
  const vault::PatientPage all = All();
  size_t canaries = 0;
  for (bool c : all.canary) canaries += c;
  EXPECT_EQ(all.patients.size(), 500 + canaries);
  EXPECT_GE(canaries, 500 / (kK - 1));
  // Any K consecutive rows of the list hold a canary: every page past the first does.
  EXPECT_LE(LongestRun(all.canary), kK - 1);
  for (size_t start = 0; start + kK <= all.canary.size(); ++start) {
    bool found = false;
    for (size_t i = start; i < start + kK; ++i) found = found || all.canary[i];
    ASSERT_TRUE(found) << "no canary in rows " << start << ".." << start + kK - 1;
  }
  const CanarySpacing m = Measure();
  EXPECT_TRUE(m.Holds(kK)) << m.longest_list_run << " " << m.longest_family_run << " "
                           << m.longest_date_run << " " << m.colliding_canaries;
}

TEST_F(Canaries, PatientsCreatedOneByOneKeepTheSpacingInTheListAndEachFamilyAndDate) {
  Generator gen(12);
  for (int i = 0; i < 60; ++i) {
    vault::Patient p = gen.NextPatient();
    if (i % 2 == 0) p.identity.family = "Martin";      // one large family
    if (i % 3 == 0) p.identity.birth_date = Date{1980, 5, 17};  // one crowded birth date
    // (Martin, 1980-05-17) repeats: real patients may share a pair; canaries never do.
    auto created = patients().Create(practice_, std::move(p));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  const CanarySpacing m = Measure();
  EXPECT_EQ(m.rows - m.canaries, 60);
  EXPECT_TRUE(m.Holds(kK)) << m.longest_list_run << " " << m.longest_family_run << " "
                           << m.longest_date_run << " " << m.colliding_canaries;

  // A family-only search of at least K rows shows canaries, at spacing K, on every page size.
  vault::PatientQuery family;
  family.family = "MARTIN";  // folded like any search
  for (size_t page_size : {3, 7, 10, 50}) {
    vault::PatientPage found = SearchAll(family, page_size);
    ASSERT_GE(found.patients.size(), kK);
    EXPECT_LE(LongestRun(found.canary), kK - 1) << page_size;
    for (const auto& p : found.patients) EXPECT_EQ(p.identity.family, "Martin");
  }
  vault::PatientQuery date;
  date.birth_date = Date{1980, 5, 17};
  vault::PatientPage by_date = SearchAll(date);
  ASSERT_GE(by_date.patients.size(), kK);
  EXPECT_LE(LongestRun(by_date.canary), kK - 1);
  size_t date_canaries = 0;
  for (size_t i = 0; i < by_date.patients.size(); ++i) {
    EXPECT_EQ(by_date.patients[i].identity.birth_date, (Date{1980, 5, 17}));
    date_canaries += by_date.canary[i];
  }
  EXPECT_GE(date_canaries, 1u);
}

TEST_F(Canaries, NarrowSearchesAndSmallResultsNeverShowACanary) {
  Generator gen(13);
  Import(gen, 300);
  const vault::PatientPage all = All();
  size_t checked = 0;
  for (size_t i = 0; i < all.patients.size(); ++i) {
    if (!all.canary[i]) continue;
    const vault::Patient& c = all.patients[i];
    // Its (family, birth date), (family, given, birth date) and NIR are searched: nothing.
    vault::PatientQuery q;
    q.family = c.identity.family;
    q.birth_date = c.identity.birth_date;
    EXPECT_TRUE(SearchAll(q).patients.empty());
    q.given = c.identity.given[0];
    EXPECT_TRUE(SearchAll(q).patients.empty());
    vault::PatientQuery by_nir;
    by_nir.nir = c.insurance.nir;
    EXPECT_TRUE(SearchAll(by_nir).patients.empty());
    // A family-only or date-only search shows it only within a result of at least K rows.
    vault::PatientQuery fam;
    fam.family = c.identity.family;
    vault::PatientPage f = SearchAll(fam);
    bool shown = false;
    for (size_t k = 0; k < f.patients.size(); ++k) shown = shown || f.patients[k].id == c.id;
    EXPECT_EQ(shown, f.patients.size() >= kK);
    if (f.patients.size() < kK) {
      for (bool flag : f.canary) EXPECT_FALSE(flag);
    }
    vault::PatientQuery day;
    day.birth_date = c.identity.birth_date;
    for (bool flag : SearchAll(day).canary) EXPECT_FALSE(flag);  // 300 patients: no date has K
    ++checked;
  }
  EXPECT_GE(checked, 300 / (kK - 1));
}

TEST_F(Canaries, CanariesCarryTheSameFieldsAsRealPatientsAndValidNirs) {
  Generator gen(14);
  Import(gen, 200);
  const vault::PatientPage all = All();
  std::set<std::string> phones, nirs, ids;
  for (size_t i = 0; i < all.patients.size(); ++i) {
    const vault::Patient& p = all.patients[i];
    EXPECT_TRUE(ids.insert(p.id).second);
    EXPECT_TRUE(IsWellFormedId(p.id));
    EXPECT_TRUE(vault::ValidatePatient(p).ok());
    EXPECT_TRUE(vault::ValidateNir(p.insurance.nir).ok());
    EXPECT_TRUE(nirs.insert(vault::CanonicalNir(p.insurance.nir)).second) << "NIR shared";
    ASSERT_FALSE(p.contact.telecom.empty());
    EXPECT_TRUE(phones.insert(p.contact.telecom[0].value).second || !all.canary[i]);
    ASSERT_TRUE(p.identity.birth_date.has_value());
    EXPECT_FALSE(p.identity.given.empty());
    EXPECT_EQ(p.identity.birthplace.size(), 5u);
    EXPECT_EQ(p.contact.addresses.size(), 1u);
    EXPECT_EQ(p.insurance.regime.size(), 2u);
    // Sex digit and birth year/month of the NIR agree with the identity, as for real ones.
    EXPECT_EQ(p.insurance.nir[0], p.identity.gender == "female" ? '2' : '1');
    char yymm[16];
    std::snprintf(yymm, sizeof yymm, "%02d%02d", p.identity.birth_date->year % 100,
                  p.identity.birth_date->month);
    EXPECT_EQ(p.insurance.nir.substr(1, 4), yymm);
    EXPECT_GT(p.created, 0);
    EXPECT_EQ(p.created, all.patients[0].created);  // written in the import's transaction
  }
}

TEST_F(Canaries, ARealPatientTakingACanarysValuesGetsThemAndTheCanaryIsRedrawnInPlace) {
  Generator gen(15);
  Import(gen, 40);
  vault::PatientPage all = All();
  size_t at = 0;
  while (!all.canary[at]) ++at;
  const vault::Patient canary = all.patients[at];
  // A new real patient with the canary's family, birth date and NIR is accepted.
  vault::Patient twin = gen.NextPatient();
  twin.identity.family = canary.identity.family;
  twin.identity.birth_date = canary.identity.birth_date;
  twin.identity.gender = canary.identity.gender;
  twin.insurance.nir = canary.insurance.nir;
  auto created = patients().Create(practice_, twin);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  all = All();
  ASSERT_EQ(all.patients[at].id, canary.id);  // same row, same place in the list
  EXPECT_TRUE(all.canary[at]);
  const vault::Patient& redrawn = all.patients[at];
  EXPECT_NE(vault::CanonicalNir(redrawn.insurance.nir), vault::CanonicalNir(twin.insurance.nir));
  EXPECT_FALSE(FoldForSearch(redrawn.identity.family) == FoldForSearch(twin.identity.family) &&
               redrawn.identity.birth_date == twin.identity.birth_date);
  EXPECT_EQ(Measure().colliding_canaries, 0);
  // The NIR search finds the real patient only.
  vault::PatientQuery q;
  q.nir = twin.insurance.nir;
  vault::PatientPage found = SearchAll(q);
  ASSERT_EQ(found.patients.size(), 1u);
  EXPECT_EQ(found.patients[0].id, created->id);
}

TEST_F(Canaries, SpacingHoldsWhenAnotherProcessAppendsBetweenCreations) {
  Generator gen(16);
  Import(gen, 25);
  auto other = VaultContext::Open(vault_dir_);
  ASSERT_TRUE(other.ok());
  for (int round = 0; round < 3; ++round) {
    Import(gen, 13, other->get());  // the other context appends; this one's view is stale
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(patients().Create(practice_, gen.NextPatient()).ok());
    }
  }
  const CanarySpacing m = Measure();
  EXPECT_EQ(m.rows - m.canaries, 25 + 3 * (13 + 4));
  EXPECT_TRUE(m.Holds(kK)) << m.longest_list_run << " " << m.longest_family_run << " "
                           << m.longest_date_run;
}

TEST_F(Canaries, UpkeepClosesRunsLeftByRowsWrittenWithoutPlacement) {
  // Rows written by a Patients without a placer (as before canaries existed).
  vault::Patients bare(ctx_->data(), ctx_->keys(), ctx_->keyring(), ctx_->clock(),
                       ctx_->random());
  Generator gen(17);
  for (int i = 0; i < 12; ++i) {
    vault::Patient p = gen.NextPatient();
    p.identity.family = "Petit";
    ASSERT_TRUE(bare.Create(practice_, p).ok());
  }
  EXPECT_EQ(Measure().canaries, 0);
  auto written = ctx_->KeepCanaries();
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(*written, 1);  // one canary of family Petit, which also ends the list's run
  const vault::PatientPage all = All();
  EXPECT_TRUE(all.canary.back());
  vault::PatientQuery q;
  q.family = "Petit";
  vault::PatientPage petit = SearchAll(q);
  ASSERT_EQ(petit.patients.size(), 13u);
  EXPECT_TRUE(petit.canary.back());
  // Nothing more to do the second time.
  EXPECT_EQ(*ctx_->KeepCanaries(), 0);
}

}  // namespace
}  // namespace medvault::app
