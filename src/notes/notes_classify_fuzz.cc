// Fuzz target: classifies arbitrary bytes (invalid UTF-8 included) and checks the properties the
// callers rely on, not only the absence of crashes:
//  - every span lies within the text, with start < end, and names a reported category;
//  - categories are reported iff spans are, and qualifiers only with categories;
//  - for valid UTF-8 input, span offsets fall on character boundaries of the original text;
//  - classifying the same bytes twice gives the same result;
//  - the prefilter changes nothing: Classify equals ClassifyWithoutPrefilter;
//  - the one-pass skeleton equals the skeleton of the folded text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "notes/classifier.h"
#include "notes/database_cache.h"
#include "notes/normalize.h"
#include "notes/prefilter.h"

namespace {

using medvault::notes::Classification;
using medvault::notes::Classifier;

void Require(bool condition, const char* property) {
  if (condition) return;
  std::fprintf(stderr, "notes_classify_fuzz: property violated: %s\n", property);
  std::abort();
}

const Classifier& SharedClassifier() {
  static const std::unique_ptr<Classifier> classifier = [] {
    auto loaded = Classifier::FromTexts(medvault::notes::EmbeddedLexicons(), "embedded",
                                        medvault::notes::DefaultDatabaseCacheDirectory());
    Require(loaded.ok(), "embedded lexicons load");
    return std::move(loaded).value();
  }();
  return *classifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Classifier& classifier = SharedClassifier();
  const Classification result = classifier.Classify(text);
  const bool valid_utf8 = medvault::notes::IsValidUtf8(text);

  Require(result.categories.empty() == result.spans.empty(), "categories iff spans");
  Require(!result.categories.empty() || result.qualifiers.empty(), "qualifiers need a category");
  for (const auto& span : result.spans) {
    Require(span.start < span.end, "span start < end");
    Require(span.end <= text.size(), "span within text");
    bool reported = false;
    for (const auto category : result.categories) reported = reported || category == span.category;
    Require(reported, "span category reported");
    if (valid_utf8) {
      Require(medvault::notes::IsCharBoundary(text, span.start), "span start on a char boundary");
      Require(medvault::notes::IsCharBoundary(text, span.end), "span end on a char boundary");
    }
  }
  Require(classifier.Classify(text) == result, "deterministic");
  Require(classifier.ClassifyWithoutPrefilter(text) == result, "prefilter changes nothing");
  std::string one_pass;
  medvault::notes::FoldSkeleton(text, &one_pass);
  medvault::notes::FoldedText folded;
  medvault::notes::Fold(text, false, &folded);
  std::string two_pass;
  medvault::notes::WordSkeleton(folded.text(), &two_pass);
  Require(one_pass == two_pass, "FoldSkeleton equals WordSkeleton of Fold");
  return 0;
}
