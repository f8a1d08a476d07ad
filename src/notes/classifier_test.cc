#include "notes/classifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/testing/temp_dir.h"
#include "notes/database_cache.h"
#include "notes/normalize.h"
#include "notes/notes_testing.h"

namespace medvault::notes {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<Category> Categories(std::string_view text) {
  return SharedClassifier().Classify(text).categories;
}
std::vector<Qualifier> Qualifiers(std::string_view text) {
  return SharedClassifier().Classify(text).qualifiers;
}

TEST(Classifier, OrdinaryHealthDataGetsNoCategory) {
  EXPECT_THAT(Categories("Diabète de type 2, HbA1c 7,4 %, Metformine 850 x2/j"), IsEmpty());
  EXPECT_THAT(Categories("Fracture du radius G, plâtre 6 semaines"), IsEmpty());
  EXPECT_THAT(Categories("Allergie aux sulfamides, asthme d'effort"), IsEmpty());
  EXPECT_THAT(Categories(""), IsEmpty());
}

TEST(Classifier, EachCategoryIsRecognisedOnGeneralExamples) {
  EXPECT_THAT(Categories("suivi au CeGIDD, sous Biktarvy, charge virale indétectable"),
              ElementsAre(Category::kHivSti));
  EXPECT_THAT(Categories("schizophrénie paranoïde, injection mensuelle d'Abilify Maintena"),
              ElementsAre(Category::kMentalHealth));
  EXPECT_THAT(Categories("héroïnomane sevré, relais buprénorphine"),
              ElementsAre(Category::kAddiction));
  EXPECT_THAT(Categories("vit avec son compagnon depuis 10 ans, homosexuel assumé"),
              ElementsAre(Category::kSexualLife));
  EXPECT_THAT(Categories("2e tentative d'ICSI prévue en avril"),
              ElementsAre(Category::kReproductive));
  EXPECT_THAT(Categories("syndrome de Lynch confirmé, coloscopie annuelle"),
              ElementsAre(Category::kGenetic));
  EXPECT_THAT(Categories("battue par son ex-compagnon, certificat remis"),
              ElementsAre(Category::kViolence));
  EXPECT_THAT(Categories("bouddhiste, souhaite un accompagnement spirituel"),
              ElementsAre(Category::kReligion));
  EXPECT_THAT(Categories("d'origine comorienne, arrivée en France en 2010"),
              ElementsAre(Category::kEthnicOrigin));
  EXPECT_THAT(Categories("conseillère municipale d'opposition"), ElementsAre(Category::kPolitical));
  EXPECT_THAT(Categories("élue CFDT, réunions tardives"), ElementsAre(Category::kUnion));
  EXPECT_THAT(Categories("sortant de maison d'arrêt, suivi SPIP"), ElementsAre(Category::kOffence));
  EXPECT_THAT(Categories("patiente geignarde, exaspérante"), ElementsAre(Category::kSubjective));
}

TEST(Classifier, AbbreviationsNeedCapitalsWhereLowerCaseIsAWord) {
  EXPECT_THAT(Categories("ATCD de TS en 2015"), ElementsAre(Category::kMentalHealth));
  EXPECT_THAT(Categories("ts les jours"), IsEmpty());
  EXPECT_THAT(Categories("OH ++ le week-end"), ElementsAre(Category::kAddiction));
  EXPECT_THAT(Categories("oh, il a oublié son ordonnance"), IsEmpty());
}

TEST(Classifier, NegatedHivTestKeepsCategory) {
  const Classification result = SharedClassifier().Classify("dépistage VIH négatif ce jour");
  EXPECT_THAT(result.categories, ElementsAre(Category::kHivSti));
  EXPECT_THAT(result.qualifiers, ElementsAre(Qualifier::kNegated));
}

TEST(Classifier, NegationCuesBeforeTheMentionApplyWithinTheClause) {
  EXPECT_THAT(Qualifiers("aucune idée suicidaire"), ElementsAre(Qualifier::kNegated));
  EXPECT_THAT(Qualifiers("pas de cannabis, tabac 10 cig/j"), ElementsAre(Qualifier::kNegated));
  EXPECT_THAT(Qualifiers("pas de fièvre, cannabis quotidien"), IsEmpty());
}

TEST(Classifier, ConditionalAndQuestionMarkMakeAMentionHypothetical) {
  EXPECT_THAT(Qualifiers("consommerait de la cocaïne le week-end"),
              ElementsAre(Qualifier::kHypothetical));
  EXPECT_THAT(Qualifiers("gonococcie ? prélèvement fait"), ElementsAre(Qualifier::kHypothetical));
  EXPECT_THAT(Qualifiers("syndrome bipolaire à confirmer"), ElementsAre(Qualifier::kHypothetical));
}

TEST(Classifier, ReportedMentionsAreHearsay) {
  EXPECT_THAT(Qualifiers("selon son employeur, alcoolisé au travail"),
              ElementsAre(Qualifier::kHearsay));
  EXPECT_THAT(Qualifiers("l'infirmière rapporte des propos racistes et un délire de persécution"),
              ElementsAre(Qualifier::kHearsay));
}

TEST(Classifier, MentionsOpenedByARelationAreAboutARelative) {
  EXPECT_THAT(Qualifiers("sa soeur schizophrène vit chez elle"),
              ElementsAre(Qualifier::kAboutRelative));
  EXPECT_THAT(Qualifiers("mucoviscidose chez le frère aîné"),
              ElementsAre(Qualifier::kAboutRelative));
}

TEST(Classifier, RelationNamedAsTheSourceIsNotAboutARelative) {
  EXPECT_THAT(Qualifiers("d'après son père, fume du cannabis"), ElementsAre(Qualifier::kHearsay));
}

TEST(Classifier, PartnerAsTheOtherPartyOfViolenceIsNotAboutARelative) {
  const Classification result = SharedClassifier().Classify("conjoint violent, elle a peur");
  EXPECT_THAT(result.categories, ElementsAre(Category::kViolence));
  EXPECT_THAT(result.qualifiers, IsEmpty());
  EXPECT_THAT(Qualifiers("conjoint alcoolique"), ElementsAre(Qualifier::kAboutRelative));
}

TEST(Classifier, QualifiersCombine) {
  EXPECT_THAT(Qualifiers("d'après la voisine, le fils serait dealer"),
              UnorderedElementsAre(Qualifier::kHypothetical, Qualifier::kHearsay,
                                   Qualifier::kAboutRelative));
}

TEST(Classifier, GuardsDropKnownFalsePositives) {
  EXPECT_THAT(Categories("RDV à l'Hôpital Saint-Antoine, service de cardiologie"), IsEmpty());
  EXPECT_THAT(Categories("habite 4 place de l'Église, sonner fort"), IsEmpty());
  EXPECT_THAT(Categories("fente du voile du palais opérée enfant"), IsEmpty());
  EXPECT_THAT(Categories("CMV séropositif, toxoplasmose séropositive"), IsEmpty());
  EXPECT_THAT(Categories("vaccination hépatite B à jour"), IsEmpty());
  EXPECT_THAT(Categories("douleur abdominale violente depuis ce matin"), IsEmpty());
  EXPECT_THAT(Categories("prurit pénible la nuit"), IsEmpty());
  EXPECT_THAT(Categories("militaire de carrière, pas de plainte"), IsEmpty());
  EXPECT_THAT(Categories("FO normal, pas de rétinopathie diabétique"), IsEmpty());
  EXPECT_THAT(Categories("piqûre de moustique tigre asiatique"), IsEmpty());
  EXPECT_THAT(Categories("courrier ci-joint pour le cardiologue"), IsEmpty());
  EXPECT_THAT(Categories("vitamine D 25-OH à 18 ng/mL, Uvedose"), IsEmpty());
  EXPECT_THAT(Categories("CMP dilatée, FEVG 35 %"), IsEmpty());
  EXPECT_THAT(Categories("psoriasis vulgaire des coudes"), IsEmpty());
}

TEST(Classifier, SpansAreByteOffsetsOfTheOriginalText) {
  const std::string text = "Mère très croyante, séropositive depuis 2001";
  const Classification result = SharedClassifier().Classify(text);
  ASSERT_EQ(result.spans.size(), 2u);
  EXPECT_EQ(text.substr(result.spans[0].start, result.spans[0].end - result.spans[0].start),
            "croyante");
  EXPECT_EQ(result.spans[0].category, Category::kReligion);
  EXPECT_EQ(text.substr(result.spans[1].start, result.spans[1].end - result.spans[1].start),
            "séropositive");
  EXPECT_EQ(result.spans[1].category, Category::kHivSti);
}

TEST(Classifier, CueInAnotherSentenceDoesNotQualifyATerm) {
  // Qualifier cues reach no further than their sentence (docs/notes-classifier.md, "Qualifier
  // scope"), however many of them a long note holds around its mentions.
  std::string text;
  for (int i = 0; i < 20; ++i) {
    text += "Pas de fièvre.\nSérologie VIH positive.\nD'après sa mère, dort mal ?\n";
    text += "Dépression, suivi CMP.\nSerait fatigué.\n";
  }
  const Classification result = SharedClassifier().Classify(text);
  EXPECT_THAT(result.categories, ElementsAre(Category::kHivSti, Category::kMentalHealth));
  EXPECT_THAT(result.qualifiers, IsEmpty());
  EXPECT_EQ(result.spans.size(), 60u);

  // The same cues inside the sentence of a mention do qualify it.
  text += "D'après sa mère, sérologie VIH positive ?\n";
  EXPECT_THAT(SharedClassifier().Classify(text).qualifiers,
              ElementsAre(Qualifier::kHypothetical, Qualifier::kHearsay));
}

TEST(Classifier, SpansOfMultiWordAndPrefixTermsRunFromTheirFirstWord) {
  const std::string text = "victime de violences \t- conjugales; mutation BRCA2 retrouvée";
  const Classification result = SharedClassifier().Classify(text);
  std::vector<std::string> spans;
  for (const Span& span : result.spans)
    spans.push_back(text.substr(span.start, span.end - span.start));
  EXPECT_THAT(spans,
              ElementsAre("victime de violences", "violences \t- conjugales", "mutation BRCA2"));
  EXPECT_THAT(result.categories, ElementsAre(Category::kGenetic, Category::kViolence));
}

TEST(Classifier, SpansOfNfdTextCoverTheCombiningAccents) {
  const std::string text = "e\xCC\x81thylisme chronique";  // "éthylisme" in NFD
  const Classification result = SharedClassifier().Classify(text);
  ASSERT_EQ(result.spans.size(), 1u);
  EXPECT_EQ(result.spans[0].start, 0u);
  EXPECT_EQ(result.spans[0].end, 11u);
}

TEST(Classifier, TypographicApostrophesMatchLikeAscii) {
  const std::string text = "pas d\xE2\x80\x99IVG ant\xC3\xA9rieure";  // pas d’IVG antérieure
  const Classification result = SharedClassifier().Classify(text);
  EXPECT_THAT(result.categories, ElementsAre(Category::kReproductive));
  EXPECT_THAT(result.qualifiers, ElementsAre(Qualifier::kNegated));
  ASSERT_EQ(result.spans.size(), 1u);
  EXPECT_EQ(text.substr(result.spans[0].start, result.spans[0].end - result.spans[0].start), "IVG");
}

TEST(Classifier, InvalidUtf8IsClassifiedWithoutCrashing) {
  const std::string text = "\xFF\xFE toxicomane\xC3 \x80VIH+";
  const Classification result = SharedClassifier().Classify(text);
  EXPECT_THAT(result.categories, ElementsAre(Category::kHivSti, Category::kAddiction));
  for (const Span& span : result.spans) {
    EXPECT_LT(span.start, span.end);
    EXPECT_LE(span.end, text.size());
  }
}

TEST(Classifier, ConcurrentCallsAgree) {
  const std::string text = "père incarcéré, mère alcoolique, ATCD de TS";
  const Classification expected = SharedClassifier().Classify(text);
  std::vector<std::thread> threads;
  std::vector<int> agreed(4, 0);
  for (std::size_t t = 0; t < agreed.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) agreed[t] += SharedClassifier().Classify(text) == expected ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const int count : agreed) EXPECT_EQ(count, 50);
}

TEST(Classifier, EmbeddedLexiconsMatchTheDataDirectory) {
  auto from_directory = ReadLexiconDirectory(testing::SourceDir() + "/data/lexicons");
  ASSERT_TRUE(from_directory.ok()) << from_directory.status().ToString();
  for (const auto& [name, text] : *from_directory) {
    const auto embedded = EmbeddedLexicons().find(name);
    ASSERT_NE(embedded, EmbeddedLexicons().end()) << name;
    EXPECT_EQ(embedded->second, text) << name;
  }
}

TEST(Classifier, LoadsFromTheEmbeddedCopy) {
  // The embedded copy equals data/lexicons, so this reads the databases SharedClassifier() cached.
  auto classifier =
      Classifier::FromTexts(EmbeddedLexicons(), "embedded", DefaultDatabaseCacheDirectory());
  ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
  EXPECT_THAT((*classifier)->Classify("sous méthadone").categories,
              ElementsAre(Category::kAddiction));
}

TEST(Classifier, MissingLexiconDirectoryIsNotFound) {
  testing::TempDir dir;
  auto classifier = Classifier::Load(dir.Sub("absent"));
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().code(), Code::kNotFound);
  EXPECT_THAT(classifier.status().message(), ::testing::HasSubstr("hiv_sti.txt"));
}

TEST(Classifier, MalformedLexiconLineNamesFileAndLine) {
  LexiconTexts texts = EmbeddedLexicons();
  texts["negated.txt"] += "\n?? pas de\n";
  auto classifier = Classifier::FromTexts(texts, "test");
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(classifier.status().message(), ::testing::HasSubstr("negated.txt:"));
  EXPECT_THAT(classifier.status().message(), ::testing::HasSubstr("unknown scope"));
}

TEST(Classifier, RegexRejectedByHyperscanNamesFileAndLine) {
  LexiconTexts texts = EmbeddedLexicons();
  texts["union.txt"] += "re:(unbalanced\n";
  auto classifier = Classifier::FromTexts(texts, "test");
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(classifier.status().message(), ::testing::HasSubstr("union.txt:"));
}

TEST(Classifier, RegexWithAccentsIsRejected) {
  auto pattern = ParseLexiconLine("religion.txt", "re:\\bpriere\\b|\\bprière\\b", "religion.txt:9");
  ASSERT_FALSE(pattern.ok());
  EXPECT_THAT(pattern.status().message(), ::testing::HasSubstr("religion.txt:9"));
}

TEST(Lexicon, PlainTermsMatchWholeWordsWithFlexibleSpacesAndHyphens) {
  EXPECT_EQ(TermToRegex("ex-detenu"), "\\bex[\\s\\-]?detenu\\b");
  EXPECT_EQ(TermToRegex("pas d'"), "\\bpas[\\s\\-]+d'\\s*");
  EXPECT_EQ(TermToRegex("brca*"), "\\bbrca\\w*\\b");
  EXPECT_EQ(TermToRegex("?"), "\\x3f");
}

}  // namespace
}  // namespace medvault::notes
