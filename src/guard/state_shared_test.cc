// The shared state: the codec gives every record back as it was, a record that does not decode is
// a fresh one (counted), two engines over one shared store see each other's counts and
// containments at once, and a failing store refuses the request instead of letting it through.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "guard/codec.h"
#include "guard/engine.h"

namespace medvault::guard {
namespace {

constexpr UnixMicros kSecond = 1'000'000;
constexpr UnixMicros kStart = 1'780'000'000LL * kSecond;

std::string PatientId(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032x", 0x2000 + i);
  return buf;
}

// A SharedRecordStore in memory, one mutex for all: what two nodes on one PostgreSQL share.
// `fail` makes every call Unavailable.
class FakeRecords final : public store::SharedRecordStore {
 public:
  Status Update(std::string_view kind, std::string_view key,
                const std::function<void(store::SharedRecord&)>& fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail) return Unavailable("fake: down");
    store::SharedRecord& r = records_[{std::string(kind), std::string(key)}];
    fn(r);
    ++updates;
    return Status::Ok();
  }
  Result<int64_t> Evict(std::string_view kind, int64_t before, int64_t keep) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail) return Unavailable("fake: down");
    (void)keep;
    int64_t n = 0;
    for (auto it = records_.begin(); it != records_.end();) {
      if (it->first.first == kind && it->second.last_seen < before) {
        it = records_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  Result<int64_t> Count(std::string_view kind) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail) return Unavailable("fake: down");
    int64_t n = 0;
    for (const auto& kv : records_) n += kv.first.first == kind ? 1 : 0;
    return n;
  }
  void Put(std::string_view kind, std::string_view key, Bytes data) {
    std::lock_guard<std::mutex> lock(mu_);
    records_[{std::string(kind), std::string(key)}].data = std::move(data);
  }

  bool fail = false;
  int updates = 0;

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, store::SharedRecord> records_;
};

TEST(GuardCodec, EveryRecordComesBackAsItWas) {
  AccountRecord a;
  a.known = true;
  a.practice = 77;
  a.role = Role::kSecretary;
  a.first_seen = 1000;
  a.last_seen = 5000;
  for (uint32_t i = 1; i <= 120; ++i) a.patients.Insert(i * 7, 4000 + i, kDay);
  a.authored.Insert(9, 4001, kDay);
  a.queries.Insert(11, 4002, kHour);
  a.sessions.Insert(13, 4003, kDay);
  a.dead_sessions = {1, 2, 3, 4};
  a.cost_10m.Add(4990, 2.5f);
  a.cost_1h.Add(4800, 1.25f);
  a.cost_24h.Add(4000, 3.0f);
  a.cost_7d.Add(4000, 4.0f);
  a.broad_10m.Add(4990, 3);
  a.deep_1h.Add(4990, 2);
  a.step_up_passes.Add(4990, 1);
  a.cadence = {4990, 12.5f, 3.25f, 7};
  a.devices.hash = {5, 6, 0, 0};
  a.devices.first_seen = {100, 200, 0, 0};
  a.blocks.last_seen = {300, 0, 0, 0};
  a.baseline = 17.5f;
  a.day_cost = 2.0f;
  a.day = 12;
  a.contained = true;
  a.step_up_required = true;
  a.step_up_failures = 2;
  a.alerted_level = 3;
  a.alerted_day = 12;
  a.contained_at = 4999;
  AccountRecord back;
  ASSERT_TRUE(Decode(Encode(a), &back));
  EXPECT_EQ(Encode(back), Encode(a));
  EXPECT_EQ(back.patients.Count(5000, kDay), 96);
  EXPECT_FLOAT_EQ(back.cost_10m.Sum(4995), 2.5f);
  EXPECT_EQ(back.broad_10m.Sum(4995), 3);
  EXPECT_TRUE(back.contained);
  EXPECT_EQ(back.role, Role::kSecretary);
  EXPECT_FLOAT_EQ(back.cadence.spread, 3.25f);

  SessionRecord s;
  s.last_seen = 9;
  s.cost_1h.Add(9, 1.5f);
  SessionRecord s2;
  ASSERT_TRUE(Decode(Encode(s), &s2));
  EXPECT_EQ(Encode(s2), Encode(s));
  EXPECT_FLOAT_EQ(s2.cost_1h.Sum(9), 1.5f);

  PracticeRecord p;
  p.last_seen = 10;
  p.accounts.Insert(3, 10, kDay);
  p.cost_24h.Add(10, 8.0f);
  p.alerted_level = 2;
  PracticeRecord p2;
  ASSERT_TRUE(Decode(Encode(p), &p2));
  EXPECT_EQ(Encode(p2), Encode(p));
  EXPECT_EQ(p2.accounts.Count(10, kDay), 1);

  SourceRecord src;
  src.last_seen = 11;
  src.practices.Insert(4, 11, kDay);
  for (int i = 0; i < 3; ++i) {
    src.accounts.push_back({static_cast<uint32_t>(i + 1), "user-" + std::to_string(i),
                            "login." + std::to_string(i), 4, 11});
  }
  src.containments.Add(11, 2);
  src.contained_practices.Insert(4, 11, kDay);
  src.contained = true;
  src.contained_at = 11;
  SourceRecord src2;
  ASSERT_TRUE(Decode(Encode(src), &src2));
  EXPECT_EQ(Encode(src2), Encode(src));
  ASSERT_EQ(src2.accounts.size(), 3u);
  EXPECT_EQ(src2.accounts[2].login, "login.2");
  EXPECT_TRUE(src2.contained);
}

TEST(GuardCodec, DamagedOrForeignBytesDecodeToAFreshRecord) {
  SourceRecord src;
  src.last_seen = 11;
  src.contained = true;
  src.accounts.push_back({1, "user", "login", 4, 11});
  const Bytes good = Encode(src);
  SourceRecord out;
  // Every truncation fails, and leaves a fresh record.
  for (size_t n = 0; n < good.size(); ++n) {
    out.contained = true;
    EXPECT_FALSE(Decode(ByteView(good.data(), n), &out)) << n;
    EXPECT_FALSE(out.contained);
  }
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(Decode(longer, &out));
  // Another kind's bytes, another version.
  EXPECT_FALSE(Decode(Encode(SessionRecord{}), &out));
  Bytes newer = good;
  newer[1] = kCodecVersion + 1;
  EXPECT_FALSE(Decode(newer, &out));
  // A boolean that is neither 0 nor 1.
  Bytes bad_bool = good;
  bad_bool[good.size() - 5] = 7;
  EXPECT_FALSE(Decode(bad_bool, &out));
  // A float that is not finite.
  SessionRecord s;
  s.cost_10m.Add(9, 1.0f);
  Bytes nan = Encode(s);
  nan[6] = 0;
  nan[7] = 0;
  nan[8] = 0xc0;
  nan[9] = 0x7f;
  SessionRecord s2;
  EXPECT_FALSE(Decode(nan, &s2));
}

class SharedGuardTest : public ::testing::Test {
 protected:
  SharedGuardTest()
      : state_a_(records_, [this](const std::string& l) { lines_.push_back(l); }),
        state_b_(records_),
        node_a_(Policy{}, state_a_, explainer_),
        node_b_(Policy{}, state_b_, explainer_) {}

  Request Req(Op op, std::string_view user = "u-thief") {
    Request r;
    r.time = now_;
    r.practice_id = "practice-1";
    r.user_id = user;
    r.login = user;
    r.role = Role::kPractitioner;
    r.session_id = "session-1";
    r.source_ip = "198.51.100.7";
    r.user_agent = "agent";
    r.op = op;
    return r;
  }
  // One list page of 20 patients from `first`, through `node`: the stronger verdict.
  Verdict Page(Engine& node, int first, int page_depth) {
    Request r = Req(Op::kList);
    r.page_depth = page_depth;
    now_ += 2 * kSecond;
    r.time = now_;
    Verdict a = node.Admit(r);
    if (a.unavailable || a.level >= Level::kStepUp) return a;
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(PatientId(first + i));
    Verdict c = node.Charge(r, ids, std::vector<bool>(ids.size(), false), true);
    return c.unavailable || c.level >= a.level ? c : a;
  }
  // How many pages of distinct patients node A serves until containment.
  int PagesUntilContained() {
    for (int page = 0; page < 100; ++page) {
      Engine& node = node_a_;
      Verdict v = Page(node, page * 20, page);
      EXPECT_FALSE(v.unavailable);
      if (v.level >= Level::kContainAccount) return page + 1;
    }
    return -1;
  }

  FakeRecords records_;
  std::vector<std::string> lines_;
  SharedStateStore state_a_;
  SharedStateStore state_b_;
  MemoryExplainer explainer_;
  Engine node_a_;
  Engine node_b_;
  UnixMicros now_ = kStart;
};

TEST_F(SharedGuardTest, AnAccountContainedThroughOneNodeIsRefusedByTheOtherAtOnce) {
  Request r = Req(Op::kRead);
  ASSERT_EQ(node_a_.Admit(r).level, Level::kAllow);
  Verdict contained =
      node_a_.Charge(r, std::vector<std::string>{PatientId(1)}, {true}, true);  // a canary
  ASSERT_EQ(contained.level, Level::kContainAccount);
  Verdict on_b = node_b_.Admit(Req(Op::kRead));
  EXPECT_EQ(on_b.level, Level::kContainAccount);
  EXPECT_EQ(on_b.reason, "account contained");
}

TEST_F(SharedGuardTest, AContainedSourceIsSeenByTheOtherNode) {
  EXPECT_FALSE(node_b_.SourceContained("198.51.100.200", now_).value());
  auto contain = [&](SourceRecord& s) {
    s.contained = true;
    s.contained_at = static_cast<uint32_t>(now_ / kSecond);
  };
  ASSERT_TRUE(state_a_.WithSource(AddressBlock("198.51.100.7"), contain));
  // Any address of the block, through the other node.
  EXPECT_TRUE(node_b_.SourceContained("198.51.100.200", now_).value());
  EXPECT_FALSE(node_b_.SourceContained("203.0.113.1", now_).value());
  EXPECT_EQ(node_b_.Admit(Req(Op::kRead)).level, Level::kContainSource);
  // Containment of a source lasts source_contain_hours.
  EXPECT_FALSE(node_b_.SourceContained("198.51.100.200", now_ + 25 * 3600 * kSecond).value());
}

TEST_F(SharedGuardTest, AnEnumerationSplitAcrossTwoNodesIsContainedAsSoonAsOnOne) {
  const int one_node = PagesUntilContained();
  ASSERT_GT(one_node, 1);
  FakeRecords records;
  SharedStateStore a(records);
  SharedStateStore b(records);
  Engine node_a(Policy{}, a, explainer_);
  Engine node_b(Policy{}, b, explainer_);
  int pages = -1;
  for (int page = 0; page < 100 && pages < 0; ++page) {
    Engine& node = page % 2 == 0 ? node_a : node_b;
    Verdict v = Page(node, 10'000 + page * 20, page);
    ASSERT_FALSE(v.unavailable);
    if (v.level >= Level::kContainAccount) pages = page + 1;
  }
  EXPECT_EQ(pages, one_node);
}

TEST_F(SharedGuardTest, AFailingStoreRefusesTheRequestAsUnavailable) {
  records_.fail = true;
  Verdict admit = node_a_.Admit(Req(Op::kRead));
  EXPECT_TRUE(admit.unavailable);
  EXPECT_EQ(admit.reason, "guard state unavailable");
  Verdict charge = node_a_.Charge(Req(Op::kRead), std::vector<std::string>{PatientId(1)}, {false},
                                  true);
  EXPECT_TRUE(charge.unavailable);
  EXPECT_EQ(node_a_.SourceContained("198.51.100.7", now_).status().code(), Code::kUnavailable);
  EXPECT_GT(state_a_.failures(), 0u);
  ASSERT_FALSE(lines_.empty());
  EXPECT_NE(lines_.back().find("guard.state unavailable"), std::string::npos);
  // Shadow mode refuses too: nothing goes through uncounted.
  Policy shadow;
  shadow.shadow = true;
  Engine node(shadow, state_a_, explainer_);
  EXPECT_TRUE(node.Admit(Req(Op::kRead)).unavailable);
  // Back up: requests go on.
  records_.fail = false;
  EXPECT_FALSE(node_a_.Admit(Req(Op::kRead)).unavailable);
}

TEST_F(SharedGuardTest, AContainmentStandsWhenItsStateCannotBeKept) {
  // The canary's containment is decided; storing it fails: the verdict still contains.
  Request r = Req(Op::kRead);
  ASSERT_FALSE(node_a_.Admit(r).unavailable);
  records_.fail = true;
  Verdict v = node_a_.Charge(r, std::vector<std::string>{PatientId(1)}, {true}, true);
  EXPECT_EQ(v.level, Level::kContainAccount);
  EXPECT_FALSE(v.unavailable);
}

TEST_F(SharedGuardTest, AnUndecodableRecordIsAFreshOneAndIsCounted) {
  records_.Put("guard.account", "u-thief", ToBytes("not a record"));
  EXPECT_EQ(node_a_.Admit(Req(Op::kRead)).level, Level::kAllow);
  EXPECT_EQ(state_a_.undecodable(), 1u);
  ASSERT_FALSE(lines_.empty());
  EXPECT_NE(lines_[0].find("undecodable kind=guard.account"), std::string::npos);
  // Rewritten as a valid record: the next read decodes.
  EXPECT_EQ(node_a_.Admit(Req(Op::kRead)).level, Level::kAllow);
  EXPECT_EQ(state_a_.undecodable(), 1u);
}

TEST_F(SharedGuardTest, IdleRecordsAreEvictedAndAccountsCounted) {
  ASSERT_FALSE(node_a_.Admit(Req(Op::kRead, "u-1")).unavailable);
  ASSERT_FALSE(node_a_.Admit(Req(Op::kRead, "u-2")).unavailable);
  EXPECT_EQ(state_b_.TrackedAccounts(), 2u);
  state_b_.Evict(static_cast<uint32_t>(now_ / kSecond) + 1, 1000);
  EXPECT_EQ(state_b_.TrackedAccounts(), 0u);
}

}  // namespace
}  // namespace medvault::guard
