#include "notes/normalize.h"

#include <gtest/gtest.h>

#include <string>

namespace medvault::notes {
namespace {

std::string Folded(std::string_view text) {
  FoldedText folded;
  Fold(text, true, &folded);
  return folded.text();
}

TEST(Fold, AsciiIsLowerCasedAndMapsToItself) {
  FoldedText folded;
  Fold("VIH + VHC, OH", false, &folded);
  EXPECT_EQ(folded.text(), "vih + vhc, oh");
  ASSERT_TRUE(folded.has_offsets());
  EXPECT_EQ(folded.OriginalBegin(6), 6u);
  EXPECT_EQ(folded.OriginalEnd(9), 9u);
}

TEST(Fold, AccentsAndCaseAreFolded) {
  EXPECT_EQ(Folded("Séropositive, ÉTHYLISME, Hôpital, naïf, Noël, ça"),
            "seropositive, ethylisme, hopital, naif, noel, ca");
}

TEST(Fold, NfdInputFoldsLikeNfc) {
  const std::string nfc = "d\xC3\xA9pression";   // "dépression", é precomposed
  const std::string nfd = "de\xCC\x81pression";  // "dépression", e + combining acute
  EXPECT_EQ(Folded(nfc), "depression");
  EXPECT_EQ(Folded(nfd), "depression");
}

TEST(Fold, LigaturesExpand) {
  EXPECT_EQ(Folded("s\xC5\x93ur, C\xC5\x92UR, \xC3\xA6"), "soeur, coeur, ae");
}

TEST(Fold, TypographicQuotesDashesAndSpacesBecomeAscii) {
  // d’après « VIH » – 12 € with a narrow no-break space before the colon
  const std::string text =
      "d\xE2\x80\x99"
      "apr\xC3\xA8s \xC2\xAB"
      "VIH\xC2\xBB \xE2\x80\x93 x\xE2\x80\xAF:";
  EXPECT_EQ(Folded(text), "d'apres \"vih\" - x :");
}

TEST(Fold, InvalidBytesBecomeSeparatorsAndMapBack) {
  const std::string text =
      "VIH\xFF"
      "OH\xC3";  // a stray byte and a truncated sequence
  FoldedText folded;
  Fold(text, true, &folded);
  EXPECT_EQ(folded.text(), "vih oh ");
  EXPECT_EQ(folded.OriginalBegin(4), 4u);
  EXPECT_EQ(folded.OriginalEnd(6), 6u);
  EXPECT_EQ(folded.OriginalEnd(7), 7u);
}

TEST(Fold, OverlongAndSurrogateEncodingsAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80 caf\xC3\xA9"));
  EXPECT_EQ(Folded("\xC0\xAF"), "  ");
}

TEST(Fold, OffsetsOfMultiByteTextMapToCharacterBoundaries) {
  const std::string text = "m\xC3\xA8re s\xC3\xA9ropo";  // "mère séropo"
  FoldedText folded;
  Fold(text, true, &folded);
  ASSERT_EQ(folded.text(), "mere seropo");
  // "seropo" is folded bytes [5, 11); in the original it is [6, 13).
  EXPECT_EQ(folded.OriginalBegin(5), 6u);
  EXPECT_EQ(folded.OriginalEnd(11), 13u);
  // "mere" ends after the two-byte è.
  EXPECT_EQ(folded.OriginalEnd(4), 5u);
}

TEST(Fold, SpanEndCoversTrailingCombiningMark) {
  const std::string text = "ivge\xCC\x81 x";  // "ivgé" in NFD: the accent folds to nothing
  FoldedText folded;
  Fold(text, true, &folded);
  ASSERT_EQ(folded.text(), "ivge x");
  EXPECT_EQ(folded.OriginalEnd(4), 6u);
}

TEST(Fold, LigatureHalvesMapToTheWholeCharacter) {
  const std::string text = "s\xC5\x93ur";  // "sœur"
  FoldedText folded;
  Fold(text, true, &folded);
  ASSERT_EQ(folded.text(), "soeur");
  EXPECT_EQ(folded.OriginalBegin(2), 1u);  // the "e" of "oe" starts where "œ" starts
  EXPECT_EQ(folded.OriginalEnd(2), 3u);    // and an end after its "o" covers the whole "œ"
}

TEST(Fold, CharBoundaryRecognisesContinuationBytes) {
  const std::string text = "\xC3\xA9t\xC3\xA9";
  EXPECT_TRUE(IsCharBoundary(text, 0));
  EXPECT_FALSE(IsCharBoundary(text, 1));
  EXPECT_TRUE(IsCharBoundary(text, 2));
  EXPECT_TRUE(IsCharBoundary(text, text.size()));
}

}  // namespace
}  // namespace medvault::notes
