#include "notes/category.h"

namespace medvault::notes {
namespace {

constexpr std::array<std::string_view, kCategoryCount> kCategoryIds = {
    "hiv_sti", "mental_health", "addiction", "sexual_life",   "reproductive",
    "genetic", "violence",      "religion",  "ethnic_origin", "political",
    "union",   "offence",       "subjective"};

constexpr std::array<std::string_view, kQualifierCount> kQualifierIds = {
    "negated", "hypothetical", "hearsay", "about_relative"};

}  // namespace

std::string_view CategoryId(Category category) { return kCategoryIds[Index(category)]; }

std::string_view QualifierId(Qualifier qualifier) { return kQualifierIds[Index(qualifier)]; }

std::optional<Category> CategoryFromId(std::string_view id) {
  for (const Category category : kAllCategories) {
    if (CategoryId(category) == id) return category;
  }
  return std::nullopt;
}

std::optional<Qualifier> QualifierFromId(std::string_view id) {
  for (const Qualifier qualifier : kAllQualifiers) {
    if (QualifierId(qualifier) == id) return qualifier;
  }
  return std::nullopt;
}

}  // namespace medvault::notes
