#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guard/engine.h"

namespace medvault::guard {
namespace {

constexpr UnixMicros kSecond = 1'000'000;
constexpr UnixMicros kStart = 1'780'000'000LL * kSecond;  // a weekday in 2026, 00:00 + change

std::string PatientId(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032x", 0x1000 + i);
  return buf;
}

class GuardTest : public ::testing::Test {
 protected:
  explicit GuardTest(Policy policy = Policy{}) : engine_(policy, state_, explainer_) {}

  Request Req(Op op, std::string_view login = "dr.house", Role role = Role::kPractitioner) {
    Request r;
    r.time = now_;
    r.practice_id = "practice-1";
    r.user_id = login == "dr.house" ? "u-house" : login;
    r.login = login;
    r.role = role;
    r.session_id = session_;
    r.source_ip = source_;
    r.user_agent = "Mozilla/5.0 test";
    r.op = op;
    return r;
  }

  // One request: Admit, then Charge with the given patients; the stronger verdict.
  Verdict Do(Request r, const std::vector<std::string>& ids, std::vector<bool> canary = {}) {
    if (canary.empty()) canary.assign(ids.size(), false);
    Verdict a = engine_.Admit(r);
    if (a.level >= Level::kStepUp) return a;
    Verdict c = engine_.Charge(r, ids, canary, true);
    return c.level >= a.level ? c : a;
  }
  Verdict Read(int patient, std::string_view login = "dr.house") {
    return Do(Req(Op::kRead, login), {PatientId(patient)});
  }
  void Book(int patient, std::string_view practitioner, std::string_view by, UnixMicros start) {
    explainer_.LearnAppointment("practice-1", PatientId(patient),
                                {LoginHash(practitioner), LoginHash(by), start, now_ - 3 * 86400 * kSecond});
  }

  // Advances the clock by `seconds` ± 50 %, so that gaps are as irregular as a person's.
  void Pass(int seconds) {
    rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto jitter = static_cast<int64_t>((rng_ >> 33) % 1000);  // 0..999
    now_ += seconds * kSecond / 2 + seconds * kSecond * jitter / 1000;
  }

  uint64_t rng_ = 12345;
  UnixMicros now_ = kStart;
  std::string session_ = "session-a";
  std::string source_ = "192.0.2.10";
  MemoryStateStore state_;
  MemoryExplainer explainer_;
  Engine engine_;
};

TEST_F(GuardTest, CanaryReadContainsAtOnce) {
  Verdict v = Do(Req(Op::kRead), {PatientId(1)}, {true});
  EXPECT_EQ(v.level, Level::kContainAccount);
  EXPECT_TRUE(v.alert);
  EXPECT_NE(v.reason.find("canary"), std::string::npos);
}

TEST_F(GuardTest, CanaryBookingOrNoteContains) {
  for (Op op : {Op::kAppointmentCreate, Op::kNoteCreate, Op::kNoteRead, Op::kUpdate, Op::kDelete}) {
    MemoryStateStore state;
    Engine engine(Policy{}, state, explainer_);
    Request r = Req(op);
    EXPECT_EQ(engine.Charge(r, std::vector<std::string>{PatientId(1)}, {true}, false).level,
              Level::kContainAccount);
  }
}

TEST_F(GuardTest, CanaryOnFirstListPageOfTwentyRowsIsAGlance) {
  std::vector<std::string> ids;
  std::vector<bool> canary;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(PatientId(i));
    canary.push_back(i % 10 == 9);
  }
  EXPECT_LT(Do(Req(Op::kList), ids, canary).level, Level::kStepUp);
}

TEST_F(GuardTest, CanaryOnSecondListPageContains) {
  Request r = Req(Op::kList);
  r.page_depth = 1;
  std::vector<std::string> ids{PatientId(1), PatientId(2)};
  EXPECT_EQ(Do(r, ids, {false, true}).level, Level::kContainAccount);
}

TEST_F(GuardTest, CanaryOnFirstListPageOfMoreThanTwentyRowsContains) {
  std::vector<std::string> ids;
  std::vector<bool> canary;
  for (int i = 0; i < 21; ++i) {
    ids.push_back(PatientId(i));
    canary.push_back(i == 9);
  }
  EXPECT_EQ(Do(Req(Op::kList), ids, canary).level, Level::kContainAccount);
}

TEST_F(GuardTest, CanaryInSearchResultContains) {
  Request r = Req(Op::kSearch);
  r.search_params = kFamily;
  r.query_hash = 42;
  std::vector<std::string> ids{PatientId(1), PatientId(2)};
  EXPECT_EQ(Do(r, ids, {false, true}).level, Level::kContainAccount);
}

TEST_F(GuardTest, ContainedAccountStaysContainedInItsSessions) {
  ASSERT_EQ(Do(Req(Op::kRead), {PatientId(1)}, {true}).level, Level::kContainAccount);
  Verdict again = engine_.Admit(Req(Op::kRead));
  EXPECT_EQ(again.level, Level::kContainAccount);
  EXPECT_FALSE(again.alert);
}

TEST_F(GuardTest, UnlockedAccountIsReleasedOnItsNextSession) {
  ASSERT_EQ(Do(Req(Op::kRead), {PatientId(1)}, {true}).level, Level::kContainAccount);
  session_ = "session-after-unlock";
  Verdict v = engine_.Admit(Req(Op::kRead));
  EXPECT_EQ(v.level, Level::kAllow);
  EXPECT_TRUE(v.released);
  EXPECT_TRUE(v.alert);
  EXPECT_EQ(Read(5).level, Level::kAllow);
}

TEST_F(GuardTest, UnexplainedReadsAreContainedWithinTwentyFivePatients) {
  int leaked = 0;
  Level last = Level::kAllow;
  for (int i = 0; i < 100; ++i) {
    Pass(30);
    const Verdict v = Read(i);
    if (v.level == Level::kStepUp) {
      // The attacker has the TOTP device too.
      engine_.StepUpPassed(Req(Op::kRead));
      continue;
    }
    last = v.level;
    if (v.level >= Level::kContainAccount) break;
    ++leaked;
  }
  EXPECT_EQ(last, Level::kContainAccount);
  EXPECT_LE(leaked, 25);
  EXPECT_GE(leaked, 10);  // not refused for the first few
}

TEST_F(GuardTest, StepUpComesBeforeContainment) {
  Level first = Level::kAllow;
  for (int i = 0; i < 100 && first < Level::kStepUp; ++i) {
    now_ += 30 * kSecond;
    first = Read(i).level;
  }
  EXPECT_EQ(first, Level::kStepUp);
  // Until the step-up, every request is refused with step-up, even for a known patient.
  EXPECT_EQ(engine_.Admit(Req(Op::kRead)).level, Level::kStepUp);
  engine_.StepUpPassed(Req(Op::kRead));
  EXPECT_EQ(engine_.Admit(Req(Op::kRead)).level, Level::kAllow);
}

TEST_F(GuardTest, ThreeFailedStepUpsContain) {
  EXPECT_EQ(engine_.StepUpFailed(Req(Op::kRead)).level, Level::kStepUp);
  EXPECT_EQ(engine_.StepUpFailed(Req(Op::kRead)).level, Level::kStepUp);
  EXPECT_EQ(engine_.StepUpFailed(Req(Op::kRead)).level, Level::kContainAccount);
}

TEST_F(GuardTest, ExplainedAccessesCostATenth) {
  // A full day of 60 patients, each with an appointment with this practitioner today.
  for (int i = 0; i < 60; ++i) Book(i, "dr.house", "secretary", now_ + 3600 * kSecond);
  for (int i = 0; i < 60; ++i) {
    now_ += 60 * kSecond;
    EXPECT_LT(Read(i).level, Level::kStepUp) << i;
  }
}

TEST_F(GuardTest, AnotherPractitionersAppointmentDoesNotExplain) {
  for (int i = 0; i < 40; ++i) Book(i, "dr.wilson", "secretary", now_ + 3600 * kSecond);
  Level worst = Level::kAllow;
  for (int i = 0; i < 40; ++i) {
    now_ += 60 * kSecond;
    worst = std::max(worst, Read(i).level);
  }
  EXPECT_GE(worst, Level::kStepUp);
}

TEST_F(GuardTest, OldAppointmentsDoNotExplain) {
  for (int i = 0; i < 40; ++i) Book(i, "dr.house", "secretary", now_ - 60LL * 86400 * kSecond);
  Level worst = Level::kAllow;
  for (int i = 0; i < 40; ++i) {
    now_ += 60 * kSecond;
    worst = std::max(worst, Read(i).level);
  }
  EXPECT_GE(worst, Level::kStepUp);
}

TEST_F(GuardTest, SelfBookedAppointmentsDoNotLaunderReads) {
  int leaked = 0;
  for (int i = 0; i < 100; ++i) {
    now_ += 20 * kSecond;
    Request book = Req(Op::kAppointmentCreate);
    book.appointment_practitioner = "dr.house";
    book.appointment_start = now_ + 3600 * kSecond;
    Verdict v = Do(book, {PatientId(i)});
    if (v.level >= Level::kStepUp) break;
    now_ += 20 * kSecond;
    v = Read(i);
    if (v.level >= Level::kStepUp) break;
    ++leaked;
  }
  EXPECT_LE(leaked, 20);
}

TEST_F(GuardTest, NotesByThisPractitionerExplainAtHalfWeight) {
  for (int i = 0; i < 40; ++i) {
    explainer_.LearnNote("practice-1", PatientId(i), {LoginHash("dr.house"), now_ - 30LL * 86400 * kSecond});
  }
  // Twenty earlier patients in an hour (results to review) stay below the step-up...
  for (int i = 0; i < 20; ++i) {
    now_ += 60 * kSecond;
    EXPECT_LT(Read(i).level, Level::kStepUp) << i;
  }
  // ...but a thief reading the doctor's past patients pays half price, not a tenth.
  Level level = Level::kAllow;
  for (int i = 20; i < 40 && level < Level::kStepUp; ++i) {
    now_ += 60 * kSecond;
    level = Read(i).level;
  }
  EXPECT_GE(level, Level::kStepUp);
}

TEST_F(GuardTest, PatientsThisAccountCreatedAreExplained) {
  for (int i = 0; i < 15; ++i) {
    now_ += 60 * kSecond;
    ASSERT_EQ(Do(Req(Op::kCreate), {PatientId(i)}).level, Level::kAllow);
  }
  now_ += 25 * 3600 * kSecond;  // the next day: the 24 h charge has expired, authorship has not
  for (int i = 0; i < 15; ++i) {
    now_ += 60 * kSecond;
    EXPECT_LT(Read(i).level, Level::kStepUp) << i;
  }
}

TEST_F(GuardTest, RepeatedAccessesToFewPatientsAtHundredPerSecondAreNeverRefused) {
  for (int i = 0; i < 3000; ++i) {
    now_ += 10'000;  // 100 requests per second
    const Verdict v = Read(i % 4);
    ASSERT_LT(v.level, Level::kStepUp) << i;
  }
}

TEST_F(GuardTest, BroadRowsCostMoreThanNarrowOnes) {
  // Narrow (name + birth date): 30 patients stay below containment.
  Level worst = Level::kAllow;
  for (int i = 0; i < 30; ++i) {
    Pass(30);
    Request r = Req(Op::kSearch);
    r.search_params = kFamily | kBirthDate;
    r.query_hash = 1000 + static_cast<uint64_t>(i);
    worst = std::max(worst, Do(r, {PatientId(i)}).level);
    if (worst == Level::kStepUp) engine_.StepUpPassed(Req(Op::kRead));
  }
  EXPECT_LT(worst, Level::kContainAccount);
  // Broad (family only) searches of 3 rows each: contained within 25 patients.
  session_ = "session-b";
  int leaked = 0;
  for (int i = 0; i < 30; ++i) {
    Pass(30);
    Request r = Req(Op::kSearch, "dr.cuddy");
    r.search_params = kFamily;
    r.query_hash = 5000 + static_cast<uint64_t>(i);
    const Verdict v = Do(r, {PatientId(100 + 3 * i), PatientId(101 + 3 * i), PatientId(102 + 3 * i)});
    if (v.level == Level::kStepUp) {
      engine_.StepUpPassed(Req(Op::kRead, "dr.cuddy"));
      continue;
    }
    if (v.level >= Level::kContainAccount) break;
    leaked += 3;
  }
  EXPECT_LE(leaked, 25);
}

TEST_F(GuardTest, DeepPagingStepsUp) {
  Level worst = Level::kAllow;
  for (int page = 0; page < 10 && worst < Level::kStepUp; ++page) {
    Request r = Req(Op::kSearch);
    r.search_params = kFamily | kBirthDate;
    r.query_hash = 7;
    r.page_depth = page;
    worst = engine_.Admit(r).level;
  }
  EXPECT_EQ(worst, Level::kStepUp);
}

TEST_F(GuardTest, BirthDateSweepIsContained) {
  Level worst = Level::kAllow;
  int searches = 0;
  for (int d = 0; d < 200 && worst < Level::kContainAccount; ++d, ++searches) {
    now_ += 5 * kSecond;
    Request r = Req(Op::kSearch);
    r.search_params = kBirthDate;
    r.query_hash = 9000 + static_cast<uint64_t>(d);
    const Verdict v = Do(r, {});
    worst = v.level;
    if (v.level == Level::kStepUp) {
      engine_.StepUpPassed(Req(Op::kRead));
      worst = Level::kAllow;
    }
  }
  EXPECT_EQ(worst, Level::kContainAccount);
  EXPECT_LE(searches, 60);
}

TEST_F(GuardTest, NameAndBirthDateSweepFindingNobodyIsContained) {
  Level worst = Level::kAllow;
  for (int d = 0; d < 200 && worst < Level::kContainAccount; ++d) {
    now_ += 5 * kSecond;
    Request r = Req(Op::kSearch);
    r.search_params = kFamily | kBirthDate;
    r.query_hash = 9000 + static_cast<uint64_t>(d);
    const Verdict v = Do(r, {});
    worst = v.level;
    if (v.level == Level::kStepUp) {
      engine_.StepUpPassed(Req(Op::kRead));
      worst = Level::kAllow;
    }
  }
  EXPECT_EQ(worst, Level::kContainAccount);
}

TEST_F(GuardTest, IdWalkOfMissingIdsStepsUpThenContains) {
  std::vector<Level> levels;
  for (int i = 0; i < 10; ++i) {
    now_ += kSecond;
    Request r = Req(Op::kRead);
    r.id_not_found = true;
    Verdict v = Do(r, {PatientId(500 + i)});
    levels.push_back(v.level);
    if (v.level == Level::kStepUp) engine_.StepUpPassed(Req(Op::kRead));
    if (v.level == Level::kContainAccount) break;
  }
  EXPECT_EQ(levels[4], Level::kStepUp);
  EXPECT_EQ(levels.back(), Level::kContainAccount);
  EXPECT_LE(levels.size(), 10u);
}

TEST_F(GuardTest, RegularCadenceDoublesTheCost) {
  // A bot reading one unexplained patient every 3 minutes, all day: without the cadence signal
  // the 1 h window would allow 20 per hour; the cadence signal contains it earlier.
  int leaked = 0;
  for (int i = 0; i < 200; ++i) {
    now_ += 180 * kSecond;
    const Verdict v = Read(i);
    if (v.level == Level::kStepUp) {
      engine_.StepUpPassed(Req(Op::kRead));
      continue;
    }
    if (v.level >= Level::kContainAccount) {
      EXPECT_NE(v.reason.find("cadence"), std::string::npos) << v.reason;
      break;
    }
    ++leaked;
  }
  EXPECT_LE(leaked, 16);
}

TEST_F(GuardTest, NewDeviceOfAnEstablishedAccountCostsMore) {
  Read(1);
  now_ += 10LL * 86400 * kSecond;
  Read(2);
  const auto cost_of_ten = [&](std::string source, std::string session, int from) {
    source_ = source;
    session_ = session;
    Level worst = Level::kAllow;
    for (int i = from; i < from + 7; ++i) {
      Pass(60);
      worst = std::max(worst, Read(i).level);
    }
    return worst;
  };
  EXPECT_LT(cost_of_ten("192.0.2.10", "session-a", 100), Level::kStepUp);
  now_ += 2LL * 86400 * kSecond;
  EXPECT_GE(cost_of_ten("203.0.113.5", "session-b", 200), Level::kStepUp);
}

TEST_F(GuardTest, SecretaryBooksAHundredPatientsADay) {
  for (int i = 0; i < 100; ++i) {
    Pass(4 * 60);  // one every 4 minutes, ~7 hours
    Request s = Req(Op::kSearch, "secretary", Role::kSecretary);
    s.search_params = kFamily | kBirthDate;
    s.query_hash = 300 + static_cast<uint64_t>(i);
    ASSERT_LT(Do(s, {PatientId(i)}).level, Level::kStepUp) << i;
    Request b = Req(Op::kAppointmentCreate, "secretary", Role::kSecretary);
    b.appointment_practitioner = "dr.house";
    b.appointment_start = now_ + 2LL * 86400 * kSecond;
    ASSERT_LT(Do(b, {PatientId(i)}).level, Level::kStepUp) << i;
  }
}

TEST_F(GuardTest, SourceDrivingManyPracticesIsContainedWithItsAccounts) {
  source_ = "198.51.100.7";
  Verdict last;
  int accounts = 0;
  for (int a = 0; a < 20 && last.level != Level::kContainSource; ++a, ++accounts) {
    const std::string login = "victim" + std::to_string(a);
    const std::string practice = "practice-" + std::to_string(a);
    for (int i = 0; i < 8 && last.level != Level::kContainSource; ++i) {
      now_ += 10 * kSecond;
      Request r = Req(Op::kRead, login);
      r.practice_id = practice;
      session_ = "s-" + login;
      r.session_id = session_;
      last = Do(r, {PatientId(1000 * a + i)});
    }
  }
  EXPECT_EQ(last.level, Level::kContainSource);
  EXPECT_GE(last.also_contain.size(), 2u);
  // Any account now used from the block is refused.
  Request other = Req(Op::kRead, "newcomer");
  other.source_ip = "198.51.100.99";
  EXPECT_EQ(engine_.Admit(other).level, Level::kContainSource);
}

TEST_F(GuardTest, TwoPracticesContainedFromOneSourceContainTheSource) {
  source_ = "198.51.100.7";
  Request a = Req(Op::kRead, "victim-a");
  a.practice_id = "pa";
  EXPECT_EQ(Do(a, {PatientId(1)}, {true}).level, Level::kContainAccount);
  Request b = Req(Op::kRead, "victim-b");
  b.practice_id = "pb";
  b.session_id = "s-b";
  EXPECT_EQ(Do(b, {PatientId(2)}, {true}).level, Level::kContainSource);
}

TEST_F(GuardTest, PracticeSumIsBounded) {
  // Eight accounts of one practice, each staying below its own step-up limit.
  Policy p;
  int leaked = 0;
  bool stopped = false;
  for (int round = 0; round < 40 && !stopped; ++round) {
    for (int a = 0; a < 8 && !stopped; ++a) {
      now_ += 60 * kSecond;
      const std::string login = "acct" + std::to_string(a);
      Request r = Req(Op::kRead, login);
      session_ = "s" + login;
      r.session_id = session_;
      source_ = "10.0." + std::to_string(a) + ".1";
      r.source_ip = source_;
      const Verdict v = Do(r, {PatientId(10000 + round * 8 + a)});
      if (v.level == Level::kStepUp) {
        engine_.StepUpPassed(r);
        continue;
      }
      if (v.level >= Level::kContainAccount) {
        stopped = true;
        break;
      }
      ++leaked;
    }
  }
  EXPECT_TRUE(stopped);
  EXPECT_LE(leaked, 100);
}

TEST(GuardShadow, ShadowModeReportsButNeverKeepsContainment) {
  Policy policy;
  policy.shadow = true;
  MemoryStateStore state;
  MemoryExplainer explainer;
  Engine engine(policy, state, explainer);
  Request r;
  r.time = kStart;
  r.practice_id = "p";
  r.user_id = "u";
  r.login = "l";
  r.session_id = "s";
  r.source_ip = "192.0.2.1";
  r.op = Op::kRead;
  std::vector<std::string> ids{PatientId(1)};
  Verdict v = engine.Charge(r, ids, {true}, true);
  EXPECT_EQ(v.level, Level::kContainAccount);
  EXPECT_TRUE(v.shadow);
  EXPECT_TRUE(v.alert);
  EXPECT_EQ(v.Name(), "shadow_contain_account");
  // Not kept: the next request is allowed, and the same level is not alerted twice in a day.
  EXPECT_EQ(engine.Admit(r).level, Level::kAllow);
  Verdict again = engine.Charge(r, ids, {true}, true);
  EXPECT_FALSE(again.alert);
}

TEST(GuardAddress, BlocksAreSlash24AndSlash64) {
  EXPECT_EQ(AddressBlock("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(AddressBlock("::ffff:192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(AddressBlock("2001:db8:1:2:3:4:5:6"), "2001:0db8:0001:0002::/64");
}

TEST(GuardWindow, SlidesAndForgets) {
  Window<float, 10, 60> w;
  w.Add(1000, 1);
  w.Add(1100, 2);
  EXPECT_FLOAT_EQ(w.Sum(1100), 3);
  EXPECT_FLOAT_EQ(w.Sum(1000 + 10 * 60), 2);  // the first bucket has left the window
  EXPECT_FLOAT_EQ(w.Sum(1100 + 20 * 60), 0);
  w.Add(5000, 4);
  EXPECT_FLOAT_EQ(w.Sum(5000), 4);
}

TEST(GuardMemory, AnAccountRecordStaysUnderTwoKilobytes) {
  // The record itself plus its two id strings and the map node (key + pointer + hash links).
  const size_t per_account = sizeof(AccountRecord) + 2 * 40 + 40 + 64;
  EXPECT_LE(per_account, 2048u) << "sizeof(AccountRecord)=" << sizeof(AccountRecord);
}

TEST(GuardMemory, IdleAccountsAreEvicted) {
  MemoryStateStore state;
  for (int i = 0; i < 100; ++i) {
    auto touch = [&](AccountRecord& a) { a.last_seen = static_cast<uint32_t>(1000 + i); };
    ASSERT_TRUE(state.WithAccount("user" + std::to_string(i), touch));
  }
  EXPECT_EQ(state.TrackedAccounts(), 100u);
  state.Evict(1050, 1'000'000);
  EXPECT_EQ(state.TrackedAccounts(), 50u);
}

}  // namespace
}  // namespace medvault::guard
