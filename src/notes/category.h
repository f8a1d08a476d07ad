#pragma once
// Note categories and qualifiers, with the string ids of CONTRACT.md ("Field groups and
// categories").
//
// Thread-safety: plain values and pure functions.

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace medvault::notes {

// The highly sensitive subsets a note may reveal; definitions in the shared labelling guide.
enum class Category {
  kHivSti,
  kMentalHealth,
  kAddiction,
  kSexualLife,
  kReproductive,
  kGenetic,
  kViolence,
  kReligion,
  kEthnicOrigin,
  kPolitical,
  kUnion,
  kOffence,
  kSubjective,
};
inline constexpr std::size_t kCategoryCount = 13;

// How the sensitive mentions of a note are framed. Labels, never filters.
enum class Qualifier {
  kNegated,
  kHypothetical,
  kHearsay,
  kAboutRelative,
};
inline constexpr std::size_t kQualifierCount = 4;

inline constexpr std::array<Category, kCategoryCount> kAllCategories = {
    Category::kHivSti,       Category::kMentalHealth, Category::kAddiction, Category::kSexualLife,
    Category::kReproductive, Category::kGenetic,      Category::kViolence,  Category::kReligion,
    Category::kEthnicOrigin, Category::kPolitical,    Category::kUnion,     Category::kOffence,
    Category::kSubjective};

inline constexpr std::array<Qualifier, kQualifierCount> kAllQualifiers = {
    Qualifier::kNegated, Qualifier::kHypothetical, Qualifier::kHearsay, Qualifier::kAboutRelative};

// The contract id, e.g. "hiv_sti"; also the lexicon file stem under data/lexicons/.
std::string_view CategoryId(Category category);
// The contract id, e.g. "about_relative"; also the cue file stem under data/lexicons/.
std::string_view QualifierId(Qualifier qualifier);

// Inverse of CategoryId / QualifierId; nullopt for an unknown id.
std::optional<Category> CategoryFromId(std::string_view id);
std::optional<Qualifier> QualifierFromId(std::string_view id);

constexpr std::size_t Index(Category category) { return static_cast<std::size_t>(category); }
constexpr std::size_t Index(Qualifier qualifier) { return static_cast<std::size_t>(qualifier); }

}  // namespace medvault::notes
