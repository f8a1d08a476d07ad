// The matching databases of the classifier (docs/notes-classifier.md, "Matching") against the
// plain way to get every match with its start: one block-mode database of every pattern with
// start-of-match tracking, as the classifier scanned before the databases were split. Equal
// matches give equal classifications, since everything after the scans works on the matches.
#include <hs/hs.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/testing/temp_dir.h"
#include "notes/classifier.h"
#include "notes/notes_testing.h"
#include "notes/database_cache.h"
#include "notes/lexicon.h"
#include "notes/normalize.h"

namespace medvault::notes {
namespace {

using PatternMatch = Classifier::PatternMatch;

int Collect(unsigned int id, unsigned long long from, unsigned long long to,
            unsigned int /*flags*/, void* context) {
  static_cast<std::vector<PatternMatch>*>(context)->push_back(
      {id, static_cast<std::size_t>(from), static_cast<std::size_t>(to)});
  return 0;
}

// Every pattern of the shipped lexicons in one database, each with HS_FLAG_SOM_LEFTMOST. Compiling
// it takes seconds (far more under sanitizers), so it goes through the database cache too.
class Reference {
 public:
  Reference() {
    auto parsed = ParseLexicons(*ReadLexiconDirectory(testing::SourceDir() + "/data/lexicons"));
    if (!parsed.ok()) return;
    std::vector<const char*> expressions;
    std::vector<unsigned int> flags;
    std::vector<unsigned int> ids;
    std::string recipe = std::string("matching_test reference v1\n") + hs_version();
    for (std::size_t i = 0; i < parsed->size(); ++i) {
      expressions.push_back((*parsed)[i].regex.c_str());
      flags.push_back(HS_FLAG_SOM_LEFTMOST);
      ids.push_back(static_cast<unsigned int>(i));
      recipe += "\n" + (*parsed)[i].regex;
    }
    const DatabaseCacheKey key = MakeDatabaseCacheKey({recipe});
    const std::optional<std::string> directory = DefaultDatabaseCacheDirectory();
    if (directory) {
      const auto blobs = DatabaseCache(*directory).Read(key);
      if (blobs && blobs->size() == 1 &&
          hs_deserialize_database((*blobs)[0].data(), (*blobs)[0].size(), &database_) !=
              HS_SUCCESS) {
        database_ = nullptr;
      }
    }
    if (database_ == nullptr) {
      hs_compile_error_t* error = nullptr;
      if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                           static_cast<unsigned int>(expressions.size()), HS_MODE_BLOCK, nullptr,
                           &database_, &error) != HS_SUCCESS) {
        hs_free_compile_error(error);
        database_ = nullptr;
        return;
      }
      char* bytes = nullptr;
      std::size_t length = 0;
      if (directory && hs_serialize_database(database_, &bytes, &length) == HS_SUCCESS) {
        DatabaseCache(*directory).Write(key, {std::string(bytes, length)}).IgnoreError();
      }
      std::free(bytes);  // NOLINT(cppcoreguidelines-no-malloc): allocated by Hyperscan's malloc
    }
    if (hs_alloc_scratch(database_, &scratch_) != HS_SUCCESS) scratch_ = nullptr;
  }
  ~Reference() {
    hs_free_scratch(scratch_);
    hs_free_database(database_);
  }
  Reference(const Reference&) = delete;
  Reference& operator=(const Reference&) = delete;

  bool ok() const { return database_ != nullptr && scratch_ != nullptr; }

  std::vector<PatternMatch> Matches(std::string_view text) {
    FoldedText folded;
    Fold(text, false, &folded);
    std::vector<PatternMatch> matches;
    EXPECT_EQ(hs_scan(database_, folded.text().data(),
                      static_cast<unsigned int>(folded.text().size()), 0, scratch_, Collect,
                      &matches),
              HS_SUCCESS);
    std::sort(matches.begin(), matches.end(), [](const PatternMatch& a, const PatternMatch& b) {
      return std::tie(a.from, a.to, a.id) < std::tie(b.from, b.to, b.id);
    });
    matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
    return matches;
  }

 private:
  hs_database_t* database_ = nullptr;
  hs_scratch_t* scratch_ = nullptr;
};

Reference& SharedReference() {
  static Reference reference;
  return reference;
}

std::string Describe(const std::vector<PatternMatch>& matches) {
  std::string out;
  for (const PatternMatch& match : matches) {
    out += " " + std::to_string(match.id) + "@" + std::to_string(match.from) + "-" +
           std::to_string(match.to);
  }
  return out;
}

TEST(Matching, FindsWhatOneStartTrackingScanFindsOnTheDevSet) {
  ASSERT_TRUE(SharedReference().ok());
  const std::string path = testing::SourceDir() + "/../shared/notes-devset.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "dev set not found at " << path;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::size_t notes = 0;
  std::size_t matched = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::string text = nlohmann::json::parse(line).at("text").get<std::string>();
    const std::vector<PatternMatch> expected = SharedReference().Matches(text);
    ASSERT_EQ(SharedClassifier().MatchesForTesting(text), expected)
        << "note " << notes << ", expected" << Describe(expected);
    ++notes;
    matched += expected.empty() ? 0 : 1;
  }
  EXPECT_GT(notes, 100u);
  EXPECT_GT(matched, 100u);
}

// Notes assembled from the lexicons' own words, with random case and accents and, between and
// inside them, the separators the compact text and the start-tracked patterns care about: runs of
// spaces, hyphens and other whitespace, apostrophes with spaces, punctuation, invalid bytes.
TEST(Matching, FindsWhatOneStartTrackingScanFindsOnNotesMadeOfLexiconWords) {
  ASSERT_TRUE(SharedReference().ok());
  const std::vector<std::string> words = LexiconWords(1);
  ASSERT_GT(words.size(), 500u);
  const std::vector<std::string> separators = {
      " ",   "  ",  "-",  "--", " - ", "- ", "\t", "\v", "\f", "\r\n", "\n \n", "'", "' ", "'  ",
      ", ",  ". ",  "(",  ")",  " : ", "\xc2\xa0", "\xe2\x80\x99", "\xe2\x80\x94", "\xff", "_",
      "",    "/",   "?",  " ?", "+",  "++",  " 3 ", "12", " pas de ", " d'apr\xc3\xa8s sa m\xc3\xa8re "};
  std::mt19937 random(20261205);
  std::size_t matched = 0;
  for (int round = 0; round < 6000; ++round) {
    const std::string text = RandomNote(random, words, separators, 10, 8);
    const std::vector<PatternMatch> expected = SharedReference().Matches(text);
    ASSERT_EQ(SharedClassifier().MatchesForTesting(text), expected)
        << "round " << round << ", expected" << Describe(expected);
    matched += expected.empty() ? 0 : 1;
  }
  EXPECT_GT(matched, 3000u);
}

}  // namespace
}  // namespace medvault::notes
