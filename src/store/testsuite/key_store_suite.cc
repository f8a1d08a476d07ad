// KeyStoreSuite: wrapped keys, patient keys, shredding and atomic rewraps.
#include <gmock/gmock.h>

#include <string>
#include <vector>

#include "store/testsuite/store_testsuite.h"

namespace medvault::store::testing {
namespace {

using ::testing::IsEmpty;

WrappedKeyRow Wrapped(const std::string& owner, const std::string& purpose, uint32_t version,
                      uint8_t tag) {
  return WrappedKeyRow{owner, purpose, version, "master/" + std::to_string(tag), Bytes(56, tag)};
}

// Inserts and commits the patient keys `ids` of `practice_id`, each tagged by its position.
void PutPatientKeys(KeyStore& keys, const std::string& practice_id,
                    const std::vector<std::string>& ids) {
  auto batch = keys.BeginPatientKeyBatch();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  uint8_t tag = 1;
  for (const std::string& id : ids) {
    ASSERT_TRUE((*batch)->Add(StoreFixture::PatientKey(practice_id, id, tag++)).ok());
  }
  ASSERT_TRUE((*batch)->Commit().ok());
}

TEST_P(KeyStoreSuite, WrappedKeysAreListedNewestFirst) {
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("pa", "kek", 1, 1)).ok());
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("pa", "kek", 3, 3)).ok());
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("pa", "kek", 2, 2)).ok());
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("pa", "index", 1, 4)).ok());
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("vault", "system", 1, 5)).ok());
  EXPECT_EQ(keys().PutWrappedKey(Wrapped("pa", "kek", 2, 9)).code(), Code::kAlreadyExists);

  auto keks = keys().GetWrappedKeys("pa", "kek");
  ASSERT_TRUE(keks.ok());
  ASSERT_EQ(keks->size(), 3u);
  EXPECT_EQ((*keks)[0].version, 3u);
  EXPECT_EQ((*keks)[1].version, 2u);
  EXPECT_EQ((*keks)[2].version, 1u);
  EXPECT_EQ((*keks)[1].wrapped, Bytes(56, 2));  // the failed put left version 2 alone
  EXPECT_EQ((*keks)[1].wrapped_by, "master/2");
  EXPECT_THAT(*keys().GetWrappedKeys("pb", "kek"), IsEmpty());
  EXPECT_EQ(keys().ListWrappedKeys()->size(), 5u);
}

TEST_P(KeyStoreSuite, ReplaceWrappedKeysReplacesEveryGivenRow) {
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("pa", "kek", 1, 1)).ok());
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("pb", "kek", 1, 2)).ok());
  const std::vector<WrappedKeyRow> rows = {Wrapped("pa", "kek", 1, 11),
                                           Wrapped("pb", "kek", 1, 12)};
  ASSERT_TRUE(keys().ReplaceWrappedKeys(rows).ok());
  EXPECT_EQ(keys().GetWrappedKeys("pa", "kek")->at(0).wrapped, Bytes(56, 11));
  EXPECT_EQ(keys().GetWrappedKeys("pa", "kek")->at(0).wrapped_by, "master/11");
  EXPECT_EQ(keys().GetWrappedKeys("pb", "kek")->at(0).wrapped, Bytes(56, 12));
}

TEST_P(KeyStoreSuite, ReplaceWrappedKeysWithAnAbsentRowChangesNothing) {
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("pa", "kek", 1, 1)).ok());
  const std::vector<WrappedKeyRow> rows = {Wrapped("pa", "kek", 1, 11),
                                           Wrapped("pa", "kek", 2, 12)};
  EXPECT_EQ(keys().ReplaceWrappedKeys(rows).code(), Code::kNotFound);
  EXPECT_EQ(keys().GetWrappedKeys("pa", "kek")->at(0).wrapped, Bytes(56, 1));
}

TEST_P(KeyStoreSuite, PatientKeysRoundTripWithinTheirPractice) {
  PutPatientKeys(keys(), "pa", {"p1", "p2"});
  auto got = keys().GetPatientKey("pa", "p2");
  ASSERT_TRUE(got.ok());
  const PatientKeyRow want = PatientKey("pa", "p2", 2);
  EXPECT_EQ(got->practice_id, want.practice_id);
  EXPECT_EQ(got->patient_id, want.patient_id);
  EXPECT_EQ(got->dek_version, want.dek_version);
  EXPECT_EQ(got->kek_version, want.kek_version);
  EXPECT_EQ(got->wrapped_dek, want.wrapped_dek);
  EXPECT_EQ(keys().GetPatientKey("pb", "p2").status().code(), Code::kNotFound);
  EXPECT_EQ(keys().GetPatientKey("pa", "p9").status().code(), Code::kNotFound);
}

TEST_P(KeyStoreSuite, PatientKeyBatchDestroyedWithoutCommitLeavesNothing) {
  {
    auto batch = keys().BeginPatientKeyBatch();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE((*batch)->Add(PatientKey("pa", "p1", 1)).ok());
  }
  EXPECT_EQ(keys().GetPatientKey("pa", "p1").status().code(), Code::kNotFound);
  PutPatientKeys(keys(), "pa", {"p1"});
  EXPECT_TRUE(keys().GetPatientKey("pa", "p1").ok());
}

// A taken key after several flushes (PostgreSQL sends 2,000 keys per COPY while the next are
// added): nothing of the batch is kept, earlier flushes included.
TEST_P(KeyStoreSuite, PatientKeyBatchFailingInALateFlushLeavesNothing) {
  PutPatientKeys(keys(), "pa", {"p0"});
  auto batch = keys().BeginPatientKeyBatch();
  ASSERT_TRUE(batch.ok());
  Status failed = Status::Ok();
  for (int i = 1; i <= 5000 && failed.ok(); ++i) {
    const std::string id = i == 4600 ? "p0" : "n" + std::to_string(i);
    failed = (*batch)->Add(PatientKey("pa", id, static_cast<uint8_t>(i)));
  }
  const Status committed = (*batch)->Commit();
  EXPECT_FALSE(committed.ok());
  EXPECT_EQ((failed.ok() ? committed : failed).code(), Code::kAlreadyExists)
      << failed.ToString() << " / " << committed.ToString();
  batch->reset();
  EXPECT_EQ(keys().GetPatientKey("pa", "n1").status().code(), Code::kNotFound);
  EXPECT_EQ(keys().GetPatientKey("pa", "n4599").status().code(), Code::kNotFound);
  EXPECT_TRUE(keys().GetPatientKey("pa", "p0").ok());
}

TEST_P(KeyStoreSuite, PatientKeyBatchFailingMidwayLeavesNothing) {
  PutPatientKeys(keys(), "pa", {"p0"});
  auto batch = keys().BeginPatientKeyBatch();
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE((*batch)->Add(PatientKey("pa", "p1", 1)).ok());
  // The taken key is reported by its Add, or (a backend that buffers rows) by the commit at the
  // latest; once reported, every later call fails.
  const Status taken = (*batch)->Add(PatientKey("pa", "p0", 2));
  EXPECT_TRUE(taken.ok() || taken.code() == Code::kAlreadyExists) << taken.ToString();
  const Status after = (*batch)->Add(PatientKey("pa", "p2", 3));
  if (!taken.ok()) {
    EXPECT_FALSE(after.ok());
  }
  EXPECT_EQ((*batch)->Commit().code(), Code::kAlreadyExists);
  batch->reset();
  EXPECT_EQ(keys().GetPatientKey("pa", "p1").status().code(), Code::kNotFound);
  EXPECT_EQ(keys().GetPatientKey("pa", "p0")->wrapped_dek, PatientKey("pa", "p0", 1).wrapped_dek);
}

TEST_P(KeyStoreSuite, DeletePatientKeyShredsOnlyThatKey) {
  PutPatientKeys(keys(), "pa", {"p1", "p2"});
  EXPECT_EQ(keys().DeletePatientKey("pb", "p1").code(), Code::kNotFound);
  ASSERT_TRUE(keys().DeletePatientKey("pa", "p1").ok());
  EXPECT_EQ(keys().GetPatientKey("pa", "p1").status().code(), Code::kNotFound);
  EXPECT_TRUE(keys().GetPatientKey("pa", "p2").ok());
  EXPECT_EQ(keys().DeletePatientKey("pa", "p1").code(), Code::kNotFound);
  Reopen();
  EXPECT_EQ(keys().GetPatientKey("pa", "p1").status().code(), Code::kNotFound);
}

TEST_P(KeyStoreSuite, RewrapPatientKeysRewrapsEveryKeyOfThePracticeOnly) {
  std::vector<std::string> ids;
  constexpr int kKeys = 1200;  // more than one page of any reasonable paging
  for (int i = 0; i < kKeys; ++i) ids.push_back("p" + std::to_string(i));
  PutPatientKeys(keys(), "pa", ids);
  PutPatientKeys(keys(), "pb", {"q1"});
  int calls = 0;
  Status status = keys().RewrapPatientKeys("pa", [&](const PatientKeyRow& old_row)
                                                     -> Result<PatientKeyRow> {
    ++calls;
    PatientKeyRow row = old_row;
    row.kek_version = 2;
    for (uint8_t& b : row.wrapped_dek) b = static_cast<uint8_t>(b ^ 0xFF);
    return row;
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(calls, kKeys);
  auto got = keys().GetPatientKey("pa", "p0");
  EXPECT_EQ(got->kek_version, 2u);
  EXPECT_EQ(got->wrapped_dek, Bytes(72, static_cast<uint8_t>(1 ^ 0xFF)));
  EXPECT_EQ(keys().GetPatientKey("pa", "p" + std::to_string(kKeys - 1))->kek_version, 2u);
  EXPECT_EQ(keys().GetPatientKey("pb", "q1")->kek_version, 1u);
}

TEST_P(KeyStoreSuite, FailingRewrapChangesNothing) {
  std::vector<std::string> ids;
  for (int i = 0; i < 700; ++i) ids.push_back("p" + std::to_string(i));
  PutPatientKeys(keys(), "pa", ids);
  int calls = 0;
  Status status = keys().RewrapPatientKeys("pa", [&](const PatientKeyRow& old_row)
                                                     -> Result<PatientKeyRow> {
    if (++calls == 600) return IntegrityError("unwrap failed");
    PatientKeyRow row = old_row;
    row.kek_version = 2;
    return row;
  });
  EXPECT_EQ(status.code(), Code::kIntegrity);
  EXPECT_EQ(calls, 600);
  for (const std::string& id : ids) {
    ASSERT_EQ(keys().GetPatientKey("pa", id)->kek_version, 1u) << id;
  }
}

TEST_P(KeyStoreSuite, RewrapThatMovesAKeyToAnotherPatientIsRejected) {
  PutPatientKeys(keys(), "pa", {"p1", "p2"});
  Status status = keys().RewrapPatientKeys("pa", [](const PatientKeyRow& old_row)
                                                     -> Result<PatientKeyRow> {
    PatientKeyRow row = old_row;
    row.patient_id = "p1";
    row.kek_version = 2;
    return row;
  });
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(keys().GetPatientKey("pa", "p1")->kek_version, 1u);
  EXPECT_EQ(keys().GetPatientKey("pa", "p2")->wrapped_dek, PatientKey("pa", "p2", 2).wrapped_dek);
}

TEST_P(KeyStoreSuite, RewrapOfAPracticeWithoutKeysDoesNothing) {
  int calls = 0;
  Status status = keys().RewrapPatientKeys(
      "pa", [&](const PatientKeyRow& row) -> Result<PatientKeyRow> {
        ++calls;
        return row;
      });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(calls, 0);
}

TEST_P(KeyStoreSuite, CommittedKeysSurviveReopen) {
  ASSERT_TRUE(keys().PutWrappedKey(Wrapped("vault", "system", 1, 5)).ok());
  PutPatientKeys(keys(), "pa", {"p1"});
  Reopen();
  EXPECT_EQ(keys().GetWrappedKeys("vault", "system")->size(), 1u);
  EXPECT_EQ(keys().GetPatientKey("pa", "p1")->wrapped_dek, PatientKey("pa", "p1", 1).wrapped_dek);
}

}  // namespace
}  // namespace medvault::store::testing
