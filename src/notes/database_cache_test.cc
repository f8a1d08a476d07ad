#include "notes/database_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/testing/temp_dir.h"
#include "notes/classifier.h"
#include "notes/lexicon.h"

namespace medvault::notes {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Small lexicons (a term, a cue, a guard) that compile in milliseconds even under sanitizers.
LexiconTexts SmallLexicons(const std::string& hiv_term) {
  LexiconTexts texts;
  for (const std::string& name : RequiredLexiconFiles()) texts[name] = "";
  texts["hiv_sti.txt"] = hiv_term + "\n=IST\n";
  texts["addiction.txt"] = "cannabis\n";
  texts["negated.txt"] = "> pas de\n";
  texts["about_relative.txt"] = "^ sa mère\n";
  texts["guards.txt"] = "cannabis thérapeutique\n";
  return texts;
}

const std::vector<std::string>& Probes() {
  static const std::vector<std::string> probes = {
      "sérologie VIH négative", "pas de cannabis", "sa mère : VIH+, IST", "cannabis thérapeutique",
      "ist les jours",          "SIDA déclaré",    "rien à signaler",     ""};
  return probes;
}

std::vector<Classification> ClassifyProbes(const Classifier& classifier) {
  std::vector<Classification> results;
  for (const std::string& probe : Probes()) results.push_back(classifier.Classify(probe));
  return results;
}

std::vector<std::filesystem::path> CacheFiles(const std::string& directory) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    files.push_back(entry.path());
  }
  return files;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::unique_ptr<Classifier> MustBuild(const LexiconTexts& texts, const std::string& cache_dir) {
  auto built = Classifier::FromTexts(texts, "test", cache_dir);
  EXPECT_TRUE(built.ok()) << built.status().ToString();
  return built.ok() ? std::move(built).value() : nullptr;
}

TEST(DatabaseCache, CacheHitGivesIdenticalClassifications) {
  testing::TempDir dir;
  const std::string cache_dir = dir.Sub("cache");
  const auto uncached = MustBuild(SmallLexicons("vih"), "");
  const auto cold = MustBuild(SmallLexicons("vih"), cache_dir);
  const auto warm = MustBuild(SmallLexicons("vih"), cache_dir);
  ASSERT_TRUE(uncached && cold && warm);
  EXPECT_FALSE(uncached->database_from_cache());
  EXPECT_FALSE(cold->database_from_cache());
  EXPECT_TRUE(warm->database_from_cache());
  EXPECT_EQ(CacheFiles(cache_dir).size(), 1U);
  const std::vector<Classification> expected = ClassifyProbes(*uncached);
  EXPECT_EQ(ClassifyProbes(*cold), expected);
  EXPECT_EQ(ClassifyProbes(*warm), expected);
  EXPECT_THAT(warm->Classify("pas de VIH").categories, ElementsAre(Category::kHivSti));
  EXPECT_THAT(warm->Classify("pas de VIH").qualifiers, ElementsAre(Qualifier::kNegated));
  EXPECT_THAT(warm->Classify("cannabis thérapeutique").categories, IsEmpty());
}

TEST(DatabaseCache, DirectoryIsCreatedPrivate) {
  testing::TempDir dir;
  const std::string cache_dir = dir.Sub("a/b/medvault");
  ASSERT_TRUE(MustBuild(SmallLexicons("vih"), cache_dir));
  struct stat info {};
  ASSERT_EQ(::stat(cache_dir.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777U, 0700U);
  for (const auto& file : CacheFiles(cache_dir)) {
    ASSERT_EQ(::stat(file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777U, 0600U) << file;
  }
}

TEST(DatabaseCache, CorruptedFileIsIgnoredAndRewritten) {
  testing::TempDir dir;
  const std::string cache_dir = dir.Sub("cache");
  const auto cold = MustBuild(SmallLexicons("vih"), cache_dir);
  ASSERT_TRUE(cold);
  const std::vector<std::filesystem::path> files = CacheFiles(cache_dir);
  ASSERT_EQ(files.size(), 1U);
  const std::string good = ReadFile(files[0]);
  ASSERT_GT(good.size(), 200U);

  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  const std::vector<std::string> damaged = {flipped, good.substr(0, good.size() / 2),
                                            good.substr(0, good.size() - 1), "", "mvhsdb\r\n"};
  for (const std::string& bytes : damaged) {
    WriteFile(files[0], bytes);
    const auto rebuilt = MustBuild(SmallLexicons("vih"), cache_dir);
    ASSERT_TRUE(rebuilt);
    EXPECT_FALSE(rebuilt->database_from_cache()) << bytes.size();
    EXPECT_EQ(ClassifyProbes(*rebuilt), ClassifyProbes(*cold));
    EXPECT_EQ(ReadFile(files[0]), good) << "the damaged file is replaced";
  }
  EXPECT_TRUE(MustBuild(SmallLexicons("vih"), cache_dir)->database_from_cache());
}

TEST(DatabaseCache, CacheForOtherLexiconsIsNotUsed) {
  testing::TempDir dir;
  const std::string cache_dir = dir.Sub("cache");
  ASSERT_TRUE(MustBuild(SmallLexicons("vih"), cache_dir));
  const std::string vih_file = CacheFiles(cache_dir).at(0);
  const std::string vih_bytes = ReadFile(vih_file);
  ASSERT_TRUE(MustBuild(SmallLexicons("sida"), cache_dir));
  ASSERT_EQ(CacheFiles(cache_dir).size(), 2U) << "each lexicon set has its own entry";
  std::filesystem::path sida_file;
  for (const auto& file : CacheFiles(cache_dir)) {
    if (file != vih_file) sida_file = file;
  }

  // Another set's file in place of this set's entry: its key does not match, so it is rebuilt.
  WriteFile(sida_file, vih_bytes);
  const auto sida = MustBuild(SmallLexicons("sida"), cache_dir);
  ASSERT_TRUE(sida);
  EXPECT_FALSE(sida->database_from_cache());
  EXPECT_THAT(sida->Classify("SIDA déclaré").categories, ElementsAre(Category::kHivSti));
  EXPECT_THAT(sida->Classify("sérologie VIH").categories, IsEmpty());
  EXPECT_NE(ReadFile(sida_file), vih_bytes);
}

TEST(DatabaseCache, UnwritableDirectoryStillCompiles) {
  testing::TempDir dir;
  WriteFile(dir.Sub("file"), "not a directory");
  const auto classifier = MustBuild(SmallLexicons("vih"), dir.Sub("file") + "/cache");
  ASSERT_TRUE(classifier);
  EXPECT_FALSE(classifier->database_from_cache());
  EXPECT_THAT(classifier->Classify("VIH").categories, ElementsAre(Category::kHivSti));
  const Status written = DatabaseCache(dir.Sub("file") + "/cache").Write({}, {"x"});
  EXPECT_EQ(written.code(), Code::kUnavailable);
  EXPECT_THAT(written.message(), ::testing::HasSubstr("cannot create the cache directory"));
}

TEST(DatabaseCache, BlobsRoundTripUnderTheirKeyOnly) {
  testing::TempDir dir;
  const DatabaseCache cache(dir.Sub("cache"));
  const DatabaseCacheKey key = MakeDatabaseCacheKey({"lexicons", "v1"});
  const DatabaseCacheKey other = MakeDatabaseCacheKey({"lexicons", "v2"});
  EXPECT_FALSE(cache.Read(key).has_value());
  const std::vector<std::string> blobs = {"first", std::string(1000, '\0'), ""};
  ASSERT_TRUE(cache.Write(key, blobs).ok());
  EXPECT_EQ(cache.Read(key), blobs);
  EXPECT_FALSE(cache.Read(other).has_value());
  std::filesystem::copy_file(cache.PathFor(key), cache.PathFor(other));
  EXPECT_FALSE(cache.Read(other).has_value()) << "the header names the key it was written for";
}

TEST(DatabaseCache, KeysSeparateTheirParts) {
  EXPECT_NE(MakeDatabaseCacheKey({"ab", "c"}), MakeDatabaseCacheKey({"a", "bc"}));
  EXPECT_EQ(MakeDatabaseCacheKey({"ab", "c"}), MakeDatabaseCacheKey({"ab", "c"}));
}

}  // namespace
}  // namespace medvault::notes
