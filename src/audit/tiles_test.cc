#include "audit/tiles.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/random.h"

namespace medvault::audit {
namespace {

TEST(TilePath, IndexesAreThreeDigitGroupsWithXPrefixes) {
  EXPECT_EQ(FormatTileIndex(0), "000");
  EXPECT_EQ(FormatTileIndex(7), "007");
  EXPECT_EQ(FormatTileIndex(1000), "x001/000");
  EXPECT_EQ(FormatTileIndex(1234067), "x001/x234/067");
  EXPECT_EQ(FormatTilePath({false, 0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(FormatTilePath({false, 2, 1, 17}), "tile/2/001.p/17");
  EXPECT_EQ(FormatTilePath({true, 0, 273, 112}), "tile/entries/273.p/112");
}

TEST(TilePath, ParsingInvertsFormatting) {
  for (const TileAddress& a : {TileAddress{false, 0, 0, 256}, TileAddress{false, 1, 1234067, 5},
                               TileAddress{true, 0, 999999, 256}, TileAddress{true, 0, 1000, 255},
                               TileAddress{false, 63, 18446744073709551615u, 1}}) {
    Result<TileAddress> back = ParseTilePath(FormatTilePath(a));
    ASSERT_TRUE(back.ok()) << FormatTilePath(a);
    EXPECT_EQ(back->entries, a.entries);
    EXPECT_EQ(back->level, a.level);
    EXPECT_EQ(back->index, a.index);
    EXPECT_EQ(back->width, a.width);
  }
}

TEST(TilePath, NonCanonicalOrMalformedPathsAreNotFound) {
  for (const char* bad :
       {"tile/0/1", "tile/0/0001", "tile/00/000", "tile/64/000", "tile/0/x000/001",
        "tile/0/x001", "tile/0/001/002", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/05",
        "tile/0/000.p", "tile/entries/", "tiles/0/000", "tile/0/x019/x000/x000/x000/x000/x000/000",
        "tile/-1/000", "tile/0/00a"}) {
    Result<TileAddress> r = ParseTilePath(bad);
    EXPECT_EQ(r.status().code(), Code::kNotFound) << bad;
  }
}

TEST(EntryBundle, IsBigEndianLengthPrefixed) {
  std::vector<Bytes> entries = {ToBytes("ab"), Bytes(), Bytes(300, 7)};
  Bytes bundle = EncodeEntryBundle(entries);
  EXPECT_EQ(HexEncode(ByteView(bundle).first(6)), "000261620000");
  EXPECT_EQ(bundle[6], 0x01);
  EXPECT_EQ(bundle[7], 0x2c);
  EXPECT_EQ(DecodeEntryBundle(bundle).value(), entries);
  bundle.pop_back();
  EXPECT_EQ(DecodeEntryBundle(bundle).status().message(), "entry bundle: truncated entry");
}

TEST(TreeBuilder, RootEqualsTheMemoryTreeAtEverySize) {
  SeededRandom random(11);
  TreeBuilder builder;
  MemoryTree tree;
  std::vector<store::LogTileRow> tiles;
  for (uint64_t n = 1; n <= 70000; ++n) {
    Bytes entry(8);
    random.Fill(entry);
    builder.Append(HashLeaf(entry), &tiles);
    tree.AppendEntry(entry);
    if (n < 600 || n % 997 == 0 || n == 65536 || n == 65537) {
      ASSERT_EQ(builder.Root(), tree.Root()) << n;
    }
  }
  // 70,000 leaves: 273 full level-0 tiles and 1 full level-1 tile (the example of tlog-tiles).
  size_t level0 = 0, level1 = 0;
  for (const store::LogTileRow& t : tiles) (t.level == 0 ? level0 : level1)++;
  EXPECT_EQ(level0, 273u);
  EXPECT_EQ(level1, 1u);
  EXPECT_EQ(builder.Pending(0).size(), 112u);
  EXPECT_EQ(builder.Pending(1).size(), 17u);
  EXPECT_EQ(builder.Pending(2).size(), 1u);
  // Level-1 tile hash i is the MTH of leaves [256 i, 256 (i + 1)).
  const auto level1_row = std::find_if(tiles.begin(), tiles.end(),
                                       [](const store::LogTileRow& t) { return t.level == 1; });
  std::vector<Hash> level1_tile = TileHashes(level1_row->hashes).value();
  EXPECT_EQ(level1_tile[3], tree.PerfectNode(8, 3).value());
  EXPECT_EQ(FullTileRoot(level1_tile), tree.PerfectNode(16, 0).value());
}

}  // namespace
}  // namespace medvault::audit
