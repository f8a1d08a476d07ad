#include "api/note_labels.h"

#include <array>

#include "notes/category.h"

namespace medvault::api {
namespace {

// In notes::Category order (CONTRACT.md "Field groups and categories").
constexpr std::array<std::string_view, notes::kCategoryCount> kCategoryIds = {
    "hiv_sti",  "mental_health", "addiction", "sexual_life",   "reproductive",
    "genetic",  "violence",      "religion",  "ethnic_origin", "political",
    "union",    "offence",       "subjective"};
constexpr std::array<std::string_view, notes::kQualifierCount> kQualifierIds = {
    "negated", "hypothetical", "hearsay", "about_relative"};

static_assert(notes::Index(notes::Category::kHivSti) == 0);
static_assert(notes::Index(notes::Category::kSubjective) == 12);
static_assert(notes::Index(notes::Qualifier::kAboutRelative) == 3);

}  // namespace

uint32_t CategoryBit(std::string_view id) {
  for (size_t i = 0; i < kCategoryIds.size(); ++i) {
    if (kCategoryIds[i] == id) return 1u << i;
  }
  return 0;
}

uint32_t QualifierBit(std::string_view id) {
  for (size_t i = 0; i < kQualifierIds.size(); ++i) {
    if (kQualifierIds[i] == id) return 1u << i;
  }
  return 0;
}

std::vector<std::string_view> CategoryIds(uint32_t mask) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < kCategoryIds.size(); ++i) {
    if ((mask & (1u << i)) != 0) out.push_back(kCategoryIds[i]);
  }
  return out;
}

}  // namespace medvault::api
