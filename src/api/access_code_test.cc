#include "api/access_code.h"

#include <gtest/gtest.h>

#include <set>

#include "core/testing/temp_dir.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::api {
namespace {

constexpr UnixMicros kStart = 1'760'000'000'000'000;
constexpr int64_t kSecond = 1'000'000;

class AccessCodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto data = store::OpenSqliteDataStore(dir_.Sub("medvault.db"), {});
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    data_ = std::move(data).value();
    ASSERT_TRUE(data_->CreatePractice({"pa", "Cabinet A", 1}).ok());
    auto batch = data_->BeginPatientBatch();
    ASSERT_TRUE(batch.ok());
    for (const char* id : {"p1", "p2"}) {
      store::PatientRow row;
      row.id = id;
      row.practice_id = "pa";
      row.identity = row.contact = row.insurance = Bytes(16, 1);
      ASSERT_TRUE((*batch)->Add(row, {}).ok());
    }
    ASSERT_TRUE((*batch)->Commit().ok());
    config_.access_code_ttl_seconds = 3600;
    config_.access_code_failures_per_source = 3;
    config_.access_code_failures_global = 5;
    config_.login_failure_window_seconds = 900;
    codes_ = std::make_unique<AccessCodes>(*data_, *random_, config_);
  }

  IssuedAccessCode Issue(const std::string& patient) {
    Result<IssuedAccessCode> c = codes_->Issue("pa", patient, "secretaire", clock_.Now());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : IssuedAccessCode{};
  }

  testing::TempDir dir_;
  std::unique_ptr<store::DataStore> data_;
  std::unique_ptr<Random> random_ = NewSystemRandom();
  FakeClock clock_{kStart};
  ServerConfig config_;
  std::unique_ptr<AccessCodes> codes_;
};

TEST(NormaliseAccessCode, AcceptsDashesSpacesLowerCaseAndLookalikesOnly20Characters) {
  EXPECT_EQ(NormaliseAccessCode("7k3m-q9tx-abcd-efgh-jk01"), "7K3MQ9TXABCDEFGHJK01");
  EXPECT_EQ(NormaliseAccessCode("7K3M Q9TX ABCD EFGH JKOI"), "7K3MQ9TXABCDEFGHJK01");
  EXPECT_EQ(NormaliseAccessCode("7K3M-Q9TX-ABCD-EFGH-JKL"), "");     // 19
  EXPECT_EQ(NormaliseAccessCode("7K3M-Q9TX-ABCD-EFGH-JK011"), "");   // 21
  EXPECT_EQ(NormaliseAccessCode("7K3M-Q9TX-ABCD-EFGH-JKU1"), "");    // U is not in the alphabet
  EXPECT_EQ(NormaliseAccessCode(""), "");
}

TEST_F(AccessCodesTest, IssuedCodesAreFormattedDistinctAndExpireAfterTheTtl) {
  const IssuedAccessCode a = Issue("p1");
  EXPECT_EQ(a.code.size(), 24u);
  EXPECT_EQ(a.code[4], '-');
  EXPECT_EQ(NormaliseAccessCode(a.code).size(), 20u);
  EXPECT_EQ(a.expires, kStart + 3600 * kSecond);
  std::set<std::string> seen{a.code};
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(seen.insert(Issue("p1").code).second);
}

TEST_F(AccessCodesTest, ACodeIsRedeemedOnceForItsPatient) {
  const IssuedAccessCode a = Issue("p2");
  auto row = codes_->Redeem(a.code, "192.0.2.1", clock_.Now());
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->practice_id, "pa");
  EXPECT_EQ(row->patient_id, "p2");
  auto again = codes_->Redeem(a.code, "192.0.2.1", clock_.Now());
  EXPECT_EQ(again.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(again.status().message(), kBadAccessCode);
}

TEST_F(AccessCodesTest, AnExpiredCodeIsRefusedWithTheSameMessageAsAWrongOne) {
  const IssuedAccessCode a = Issue("p1");
  const IssuedAccessCode b = Issue("p1");
  clock_.Advance(3600 * kSecond - 1);
  EXPECT_TRUE(codes_->Redeem(a.code, "192.0.2.1", clock_.Now()).ok());
  clock_.Advance(1);
  auto expired = codes_->Redeem(b.code, "192.0.2.1", clock_.Now());
  auto wrong = codes_->Redeem("0000-0000-0000-0000-0000", "192.0.2.1", clock_.Now());
  auto malformed = codes_->Redeem("hello", "192.0.2.1", clock_.Now());
  for (const auto* r : {&expired, &wrong, &malformed}) {
    EXPECT_EQ(r->status().code(), Code::kUnauthenticated);
    EXPECT_EQ(r->status().message(), kBadAccessCode);
  }
}

TEST_F(AccessCodesTest, FailuresFromOneSourceThrottleItEvenWithAValidCode) {
  const IssuedAccessCode a = Issue("p1");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(codes_->Redeem("wrong", "192.0.2.1", clock_.Now()).status().code(),
              Code::kUnauthenticated);
  }
  EXPECT_EQ(codes_->Redeem(a.code, "192.0.2.1", clock_.Now()).status().code(),
            Code::kResourceExhausted);
  // Another source is not throttled, and the throttled attempt did not spend the code.
  EXPECT_TRUE(codes_->Redeem(a.code, "192.0.2.2", clock_.Now()).ok());
  // The window slides past the failures.
  const IssuedAccessCode b = Issue("p1");
  clock_.Advance(901 * kSecond);
  EXPECT_TRUE(codes_->Redeem(b.code, "192.0.2.1", clock_.Now()).ok());
}

TEST_F(AccessCodesTest, FailuresFromManySourcesThrottleEverySource) {
  for (int i = 0; i < 5; ++i) {
    const std::string source = "198.51.100." + std::to_string(i);
    EXPECT_EQ(codes_->Redeem("wrong", source, clock_.Now()).status().code(),
              Code::kUnauthenticated);
  }
  const IssuedAccessCode a = Issue("p1");
  EXPECT_EQ(codes_->Redeem(a.code, "203.0.113.9", clock_.Now()).status().code(),
            Code::kResourceExhausted);
  clock_.Advance(901 * kSecond);
  EXPECT_TRUE(codes_->Redeem(a.code, "203.0.113.9", clock_.Now()).ok());
}

TEST_F(AccessCodesTest, NoCodeForAPatientOutsideThePractice) {
  EXPECT_EQ(codes_->Issue("pa", "p9", "secretaire", clock_.Now()).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace medvault::api
