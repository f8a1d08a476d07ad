#pragma once
// Helpers shared by the notes module's tests (header only, so that nothing of it reaches the
// library): the classifier over the shipped lexicons, and random notes made of the lexicons' own
// words, the inputs where two matching paths that should agree would show a difference.
// Thread-safety: SharedClassifier is safe to call from any thread; the rest is plain functions.
#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/testing/temp_dir.h"
#include "notes/classifier.h"
#include "notes/lexicon.h"

namespace medvault::notes {

// The classifier over data/lexicons, loaded once per test process (a test failure if it fails).
inline const Classifier& SharedClassifier() {
  static const std::unique_ptr<Classifier> classifier = [] {
    auto loaded = Classifier::Load(testing::SourceDir() + "/data/lexicons");
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }();
  return *classifier;
}

// Every run of lower-case letters and digits in the embedded lexicons' regular expressions (their
// words and word pieces) at least `min_length` long; empty if the lexicons do not parse.
inline std::vector<std::string> LexiconWords(std::size_t min_length) {
  std::vector<std::string> words;
  auto patterns = ParseLexicons(EmbeddedLexicons());
  if (!patterns.ok()) return words;
  for (const Pattern& pattern : *patterns) {
    std::string word;
    for (const char c : pattern.regex + ' ') {
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        word += c;
        continue;
      }
      if (word.size() >= min_length) words.push_back(word);
      word.clear();
    }
  }
  return words;
}

// A note of 1 to `max_words` of `words`, each followed by one of `separators`: a word is
// capitalised one time in 4, gets an "é" in place of one of its bytes one time in `accent_one_in`,
// and is cut short one time in 10.
inline std::string RandomNote(std::mt19937& random, const std::vector<std::string>& words,
                              const std::vector<std::string>& separators, std::size_t max_words,
                              unsigned accent_one_in) {
  std::string text;
  const std::size_t count = 1 + random() % max_words;
  for (std::size_t i = 0; i < count; ++i) {
    std::string word = words[random() % words.size()];
    if (random() % 4 == 0 && word[0] >= 'a' && word[0] <= 'z') {
      word[0] = static_cast<char>(word[0] - 'a' + 'A');
    }
    if (random() % accent_one_in == 0) word.replace(random() % word.size(), 1, "\xc3\xa9");
    if (random() % 10 == 0) word.resize(1 + random() % word.size());
    text += word;
    text += separators[random() % separators.size()];
  }
  return text;
}

}  // namespace medvault::notes
