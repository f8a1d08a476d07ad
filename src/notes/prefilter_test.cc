#include "notes/prefilter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/testing/temp_dir.h"
#include "notes/classifier.h"
#include "notes/notes_testing.h"
#include "notes/lexicon.h"
#include "notes/normalize.h"

namespace medvault::notes {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

std::string Skeleton(std::string_view folded) {
  std::string out;
  WordSkeleton(folded, &out);
  return out;
}

std::string OnePass(std::string_view original) {
  std::string out;
  FoldSkeleton(original, &out);
  return out;
}

std::string TwoPass(std::string_view original) {
  FoldedText folded;
  Fold(original, false, &folded);
  return Skeleton(folded.text());
}

TEST(WordSkeleton, CollapsesEveryNonWordRunToOneSpaceAndPadsBothEnds) {
  EXPECT_EQ(Skeleton(""), " ");
  EXPECT_EQ(Skeleton("ts"), " ts ");
  EXPECT_EQ(Skeleton("atcd: ts (2019)..."), " atcd ts 2019 ");
  EXPECT_EQ(Skeleton("l'ivg\n\t--x_y"), " l ivg x_y ");
  EXPECT_EQ(Skeleton("a\xc3\xa9z"), " a z ");  // bytes past ASCII are not word bytes
}

TEST(FoldSkeleton, EqualsTheSkeletonOfTheFoldedText) {
  for (const std::string_view text :
       {"", "Sérologie VIH négative", "ATCD de TS — « sous Lithium »", "Œdème, cœur",
        "e\xcc\x81t\xc3\xa9", "\xff\xfe invalid \xc3", "½ ﬁn ﬀ ︙", "\xe2\x80\xaf:\xc2\xa0!"}) {
    EXPECT_EQ(OnePass(text), TwoPass(text)) << text;
  }
}

TEST(FoldSkeleton, EqualsTheSkeletonOfTheFoldedTextOnRandomBytes) {
  std::mt19937 random(7);
  const std::string alphabet = "aZ9_ '-.\n\xc3\xa9\xa8\xe2\x80\x99\xf0\x9f\x98\x80\xc5\x93\xff";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const std::size_t size = random() % 40;
    for (std::size_t i = 0; i < size; ++i) text += alphabet[random() % alphabet.size()];
    ASSERT_EQ(OnePass(text), TwoPass(text)) << round;
  }
}

TEST(RequiredLiterals, AWordBoundaryNextToAWordBecomesASpace) {
  EXPECT_THAT(RequiredLiterals(R"(\bts\b)"), Optional(ElementsAre(" ts ")));
  EXPECT_THAT(RequiredLiterals(R"(\bbrca\w*\b)"), Optional(ElementsAre(" brca")));
  EXPECT_THAT(RequiredLiterals(R"(\((ps|lr)\))"), Optional(ElementsAre(" lr ", " ps ")));
}

TEST(RequiredLiterals, NonWordRunsCollapseLikeTheSkeleton) {
  EXPECT_THAT(RequiredLiterals(R"(\bde[\s\-]+race[\s\-]+noire\b)"),
              Optional(ElementsAre(" de race noire ")));
  EXPECT_THAT(RequiredLiterals(R"(\bex[\s\-]?detenu\b)"),
              Optional(ElementsAre(" ex detenu ", " exdetenu ")));
  EXPECT_THAT(RequiredLiterals(R"(\bl'\s*ivg\b)"), Optional(ElementsAre(" l ivg ")));
}

TEST(RequiredLiterals, KeepsTheLongestExactPieceAroundUnboundedParts) {
  EXPECT_THAT(RequiredLiterals(R"(\b\d+\s*joints?\b)"),
              Optional(ElementsAre(" joint ", " joints ", "joint ", "joints ")));
  EXPECT_THAT(RequiredLiterals(R"(\bvictime\s+de\s+(\w+\s+){0,2}coups)"),
              Optional(ElementsAre(" victime de ")));
  EXPECT_THAT(RequiredLiterals(R"(\b(serait|est)\s+bi([^\w\-]|$))"),
              Optional(ElementsAre(" est bi ", " serait bi ")));
}

TEST(RequiredLiterals, AlternativesWithoutARequirementGiveNone) {
  EXPECT_EQ(RequiredLiterals(R"(\w+)"), std::nullopt);
  EXPECT_EQ(RequiredLiterals(R"(abc|\w+)"), std::nullopt);
  EXPECT_EQ(RequiredLiterals(R"((abc)?)"), std::nullopt);
}

TEST(RequiredLiterals, UnsupportedSyntaxGivesNone) {
  EXPECT_EQ(RequiredLiterals(R"((?i)abc)"), std::nullopt);
  EXPECT_EQ(RequiredLiterals(R"(abc\p{L})"), std::nullopt);
  EXPECT_EQ(RequiredLiterals(R"([[:alpha:]]abc)"), std::nullopt);
  EXPECT_EQ(RequiredLiterals(R"((abc)"), std::nullopt);
  EXPECT_EQ(RequiredLiterals(R"(a{2,1})"), std::nullopt);
}

TEST(Prefilter, EveryShippedCategoryTermHasRequiredLiterals) {
  auto patterns = ParseLexicons(EmbeddedLexicons());
  ASSERT_TRUE(patterns.ok());
  for (const Pattern& pattern : *patterns) {
    if (pattern.kind != PatternKind::kTerm) continue;
    const auto literals = RequiredLiterals(pattern.regex);
    ASSERT_TRUE(literals.has_value()) << pattern.origin;
    for (const std::string& literal : *literals) {
      EXPECT_GE(literal.size(), kMinPrefilterLiteral) << pattern.origin;
    }
  }
  EXPECT_TRUE(SharedClassifier().has_prefilter());
}

// A small lexicon set: every required file, empty but for the addiction terms given.
LexiconTexts SmallLexicons(const std::string& addiction_terms) {
  LexiconTexts texts;
  for (const std::string& file : RequiredLexiconFiles()) texts[file] = "";
  texts["addiction.txt"] = addiction_terms;
  return texts;
}

TEST(Prefilter, ALexiconTermWithoutRequiredLiteralsTurnsThePrefilterOff) {
  auto with = Classifier::FromTexts(SmallLexicons("cocaine\n"), "test");
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_TRUE((*with)->has_prefilter());
  // " x" is too short a literal to be worth a prefilter.
  auto without = Classifier::FromTexts(SmallLexicons("cocaine\nre:\\bx\\w*\n"), "test");
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_FALSE((*without)->has_prefilter());
  EXPECT_THAT((*without)->Classify("sous cocaine").categories, ElementsAre(Category::kAddiction));
  EXPECT_THAT((*without)->Classify("xylo").categories, ElementsAre(Category::kAddiction));
  EXPECT_THAT((*with)->Classify("xylo").categories, ::testing::IsEmpty());
}

TEST(Prefilter, ChangesNoResultOnTheDevSet) {
  const std::string path = testing::SourceDir() + "/../shared/notes-devset.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "dev set not found at " << path;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::size_t notes = 0;
  std::size_t sensitive = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::string text = nlohmann::json::parse(line).at("text").get<std::string>();
    const Classification fast = SharedClassifier().Classify(text);
    ASSERT_EQ(fast, SharedClassifier().ClassifyWithoutPrefilter(text)) << "note " << notes;
    ++notes;
    sensitive += fast.sensitive() ? 1 : 0;
  }
  EXPECT_GT(notes, 100u);
  EXPECT_GT(sensitive, 10u);
}

// Notes assembled from the lexicons' own words and word pieces, with random case, accents,
// punctuation and invalid bytes between and inside them: the inputs where a prefilter that is
// too strict would show.
TEST(Prefilter, ChangesNoResultOnNotesMadeOfLexiconWords) {
  const std::vector<std::string> words = LexiconWords(2);
  ASSERT_GT(words.size(), 500u);
  const std::vector<std::string> separators = {
      " ", "  ", "-", "'", ", ", ". ", "\n", "(", ")", " : ", "\xc2\xa0", "\xe2\x80\x99",
      "\xff", "_", "", "/", "?", " pas de ", " d'apr\xc3\xa8s sa m\xc3\xa8re "};
  std::mt19937 random(20240611);
  std::size_t sensitive = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string text = RandomNote(random, words, separators, 8, 6);
    const Classification fast = SharedClassifier().Classify(text);
    ASSERT_EQ(fast, SharedClassifier().ClassifyWithoutPrefilter(text)) << round;
    sensitive += fast.sensitive() ? 1 : 0;
  }
  EXPECT_GT(sensitive, 300u);
}

}  // namespace
}  // namespace medvault::notes
