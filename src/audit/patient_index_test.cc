#include "audit/patient_index.h"

#include <gtest/gtest.h>

#include "audit/testing_log.h"

namespace medvault::audit {
namespace {

using testing::LogFixture;
using testing::SampleLeaf;

// Leaf n of practice prac-1 or prac-2 names one to three of ten patients.
Leaf MixedLeaf(int n) {
  Leaf leaf = SampleLeaf(n);
  leaf.practice_id = n % 3 == 0 ? "prac-2" : "prac-1";
  leaf.patient_ids = {"pat-" + std::to_string(n % 10)};
  if (n % 4 == 0) leaf.patient_ids.push_back("pat-" + std::to_string((n + 3) % 10));
  if (n % 7 == 0) leaf.patient_ids.clear();  // a login or a list with no rows
  return leaf;
}

void AppendMixed(AccessLog& log, int from, int to) {
  for (int n = from; n < to; ++n) ASSERT_TRUE(log.Append(MixedLeaf(n)).ok());
}

TEST(PatientIndex, AnswersExactlyAsTheLinearScanForEveryPatientAndPractice) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  AppendMixed(f.log(), 0, 300);
  Leaf vault_leaf = SampleLeaf(999);
  vault_leaf.practice_id.clear();  // sealed under the vault key: not a practice's history
  ASSERT_TRUE(f.log().Append(vault_leaf).ok());
  PatientIndex index(f.store(), f.keys());
  for (const std::string practice : {"", "prac-1", "prac-2"}) {
    for (int p = 0; p < 11; ++p) {
      const std::string id = "pat-" + std::to_string(p);
      auto indexed = index.ForPatient(practice, id);
      auto scanned = ScanLogForPatient(f.store(), f.keys(), practice, id);
      ASSERT_TRUE(indexed.ok()) << indexed.status().ToString();
      ASSERT_TRUE(scanned.ok());
      EXPECT_EQ(*indexed, *scanned) << practice << " " << id;
      if (p < 10) {
        EXPECT_FALSE(indexed->empty());
      }
    }
  }
  EXPECT_TRUE(index.ForPatient("", "pat-999").value().empty());
}

TEST(PatientIndex, OpensEachEntryOnceAcrossQueries) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  AppendMixed(f.log(), 0, 100);
  PatientIndex index(f.store(), f.keys());
  ASSERT_TRUE(index.ForPatient("prac-1", "pat-1").ok());
  ASSERT_TRUE(index.ForPatient("prac-1", "pat-2").ok());
  EXPECT_EQ(index.opened_for_indexing(), 100u);
  AppendMixed(f.log(), 100, 110);
  ASSERT_TRUE(index.ForPatient("prac-1", "pat-2").ok());
  EXPECT_EQ(index.opened_for_indexing(), 110u);
}

TEST(PatientIndex, CatchesUpAfterRestartFromWhereItStopped) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  AppendMixed(f.log(), 0, 50);
  {
    PatientIndex index(f.store(), f.keys());
    EXPECT_EQ(index.CatchUp().value(), 50u);
  }
  f.Close();
  ASSERT_TRUE(f.Open().ok());
  AppendMixed(f.log(), 50, 80);
  PatientIndex index(f.store(), f.keys());
  auto indexed = index.ForPatient("", "pat-5");
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(*indexed, ScanLogForPatient(f.store(), f.keys(), "", "pat-5").value());
  EXPECT_EQ(index.opened_for_indexing(), 30u);  // only the leaves appended after the restart
  EXPECT_EQ(f.store().PatientIndexSize().value(), 80u);
}

TEST(PatientIndex, TwoIndexersOverOneStoreNeverDoubleIndex) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  AppendMixed(f.log(), 0, 40);
  PatientIndex a(f.store(), f.keys());
  PatientIndex b(f.store(), f.keys());
  ASSERT_TRUE(a.CatchUp().ok());
  AppendMixed(f.log(), 40, 60);
  EXPECT_EQ(b.CatchUp().value(), 60u);
  EXPECT_EQ(a.ForPatient("", "pat-3").value(),
            ScanLogForPatient(f.store(), f.keys(), "", "pat-3").value());
}

TEST(PatientIndex, StoreRefusesAnAppendThatDoesNotContinueTheIndex) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  std::vector<store::PatientLeafRow> rows = {{"pat-1", 0}};
  ASSERT_TRUE(f.store().AppendPatientIndex(0, 2, rows).ok());
  EXPECT_EQ(f.store().AppendPatientIndex(0, 2, rows).code(), Code::kFailedPrecondition);
  std::vector<store::PatientLeafRow> outside = {{"pat-1", 7}};
  EXPECT_EQ(f.store().AppendPatientIndex(2, 4, outside).code(), Code::kInvalidArgument);
  EXPECT_EQ(f.store().PatientLeaves("pat-1").value(), std::vector<uint64_t>{0});
  EXPECT_EQ(f.store().PatientIndexSize().value(), 2u);
}

}  // namespace
}  // namespace medvault::audit
