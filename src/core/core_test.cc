#include <gtest/gtest.h>

#include <random>
#include <unordered_set>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/flat_u64_set.h"
#include "core/in_flight.h"
#include "core/ids.h"
#include "core/status.h"

namespace medvault {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  MV_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().WithContext("entry 3").message(), "entry 3: odd");
}

TEST(Date, RejectsImpossibleDates) {
  EXPECT_TRUE(ParseDate("2024-02-29").ok());
  EXPECT_FALSE(ParseDate("2023-02-29").ok());
  EXPECT_FALSE(ParseDate("2023-13-01").ok());
  EXPECT_FALSE(ParseDate("2023-04-31").ok());
  EXPECT_FALSE(ParseDate("1900-02-29").ok());
  EXPECT_TRUE(ParseDate("2000-02-29").ok());
  EXPECT_FALSE(ParseDate("2023-1-01").ok());
  EXPECT_EQ(ParseDate("2023-02-30").status().message(), "impossible date");
}

TEST(Date, CivilDaysRoundTrip) {
  for (int64_t d = -800000; d < 800000; d += 37) {
    EXPECT_EQ(DaysFromCivil(CivilFromDays(d)), d);
  }
  EXPECT_EQ(DaysFromCivil(Date{1970, 1, 1}), 0);
}

TEST(Time, FormatsAndParsesIso) {
  EXPECT_EQ(FormatIsoTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(*ParseIsoTime("2026-11-28T10:00:00Z"), *ParseIsoTime("2026-11-28T11:00:00+01:00"));
  EXPECT_EQ(FormatIsoTime(*ParseIsoTime("2026-11-28T10:11:12.5Z")), "2026-11-28T10:11:12Z");
  EXPECT_FALSE(ParseIsoTime("2026-11-28T25:00:00Z").ok());
  EXPECT_FALSE(ParseIsoTime("2026-11-28T10:00:00").ok());
}

TEST(Bytes, EncodingsRoundTripAndMatchRfc4648) {
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base32Encode(AsBytes("foobar")), "MZXW6YTBOI");
  EXPECT_EQ(AsChars(*Base64Decode("Zm9vYg==")), "foob");
  EXPECT_EQ(AsChars(*Base32Decode("MZXW6YQ")), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v!g==").ok());
  EXPECT_EQ(HexEncode(*HexDecode("00ff10")), "00ff10");
  Bytes buf;
  PutVarint(&buf, 300);
  PutU32(&buf, 0xdeadbeef);
  ByteReader r(buf);
  uint64_t v = 0;
  uint32_t w = 0;
  ASSERT_TRUE(r.ReadVarint(&v));
  ASSERT_TRUE(r.ReadU32(&w));
  EXPECT_EQ(v, 300u);
  EXPECT_EQ(w, 0xdeadbeefu);
  EXPECT_FALSE(r.ReadU8(nullptr));
}

TEST(Ids, AreRandomAndWellFormed) {
  SeededRandom random(1);
  const std::string a = NewId(random);
  const std::string b = NewId(random);
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsWellFormedId(a));
  EXPECT_FALSE(IsWellFormedId("../etc/passwd"));
}

}  // namespace
}  // namespace medvault

#include "core/text_fold.h"

namespace medvault {
namespace {

TEST(TextFold, FoldsCaseAccentsSpacesAndHyphens) {
  EXPECT_EQ(FoldForSearch("Dupont-Léger"), "dupontleger");
  EXPECT_EQ(FoldForSearch("DUPONT LEGER"), "dupontleger");
  EXPECT_EQ(FoldForSearch("Cœur d’Alène"), "coeurdalene");
  EXPECT_EQ(FoldForSearch("Éloïse"), "eloise");
  EXPECT_EQ(FoldForSearch("E\xcc\x81loi\xcc\x88se"), "eloise");  // decomposed input
  EXPECT_EQ(FoldForSearch("Łukasz Ørsted"), "lukaszorsted");
  EXPECT_EQ(FoldForSearch("\xff\xfe"), "\xff\xfe");
}

TEST(FlatU64Set, HoldsWhatAHashSetHoldsThroughGrowthZeroIncluded) {
  FlatU64Set set;
  std::unordered_set<uint64_t> reference;
  std::mt19937_64 random(20261205);
  for (int i = 0; i < 20'000; ++i) {
    // Small values repeat often (and 0 among them); large ones are mostly new.
    const uint64_t v = i % 3 == 0 ? random() % 64 : random();
    EXPECT_EQ(set.Insert(v), reference.insert(v).second) << v;
  }
  EXPECT_EQ(set.size(), reference.size());
  for (uint64_t v : reference) EXPECT_TRUE(set.Contains(v)) << v;
  int absent = 0;
  for (int i = 0; i < 1'000; ++i) {
    const uint64_t v = random();
    if (reference.count(v) == 0) {
      ++absent;
      EXPECT_FALSE(set.Contains(v)) << v;
    }
  }
  EXPECT_GT(absent, 900);
  EXPECT_TRUE(set.Contains(0));
  EXPECT_FALSE(set.Insert(0));
}

TEST(FlatU64Set, AnEmptySetContainsNothing) {
  const FlatU64Set set;
  EXPECT_FALSE(set.Contains(0));
  EXPECT_FALSE(set.Contains(42));
  EXPECT_EQ(set.size(), 0u);
}

TEST(InFlight, WaitGivesTheStatusOfTheWorkStartedAndThenOk) {
  InFlight flight;
  EXPECT_TRUE(flight.Wait().ok());
  int runs = 0;
  flight.Start([&] {
    ++runs;
    return InvalidArgument("batch 1 refused");
  });
  const Status first = flight.Wait();
  EXPECT_EQ(first.code(), Code::kInvalidArgument);
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(flight.Wait().ok());  // nothing in flight any more
  flight.Start([&] {
    ++runs;
    return Status::Ok();
  });
  EXPECT_TRUE(flight.Wait().ok());
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace medvault
