// Fuzz target for the prefilter's pattern analysis (prefilter.h). Input: a regular expression on
// the first line, a text after it. Properties:
//  - RequiredLiterals never crashes, whatever the pattern (Hyperscan syntax or not);
//  - soundness: when Hyperscan accepts the pattern, RequiredLiterals gives literals, and the
//    pattern matches the text, then the text's word skeleton contains one of the literals — the
//    property that makes skipping a note without any of them change no result.
#include <hs/hs.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "notes/prefilter.h"

namespace {

void Require(bool condition, const char* property) {
  if (condition) return;
  std::fprintf(stderr, "prefilter_fuzz: property violated: %s\n", property);
  std::abort();
}

int StopAtFirstMatch(unsigned int /*id*/, unsigned long long /*from*/, unsigned long long /*to*/,
                     unsigned int /*flags*/, void* /*context*/) {
  return 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string regex(input.substr(0, newline));
  const std::string_view text =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  const auto literals = medvault::notes::RequiredLiterals(regex);
  if (!literals) return 0;
  for (const std::string& literal : *literals) Require(!literal.empty(), "no empty literal");
  if (regex.find('\0') != std::string::npos) return 0;

  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile(regex.c_str(), 0, HS_MODE_BLOCK, nullptr, &database, &error) != HS_SUCCESS) {
    hs_free_compile_error(error);
    return 0;
  }
  hs_scratch_t* scratch = nullptr;
  Require(hs_alloc_scratch(database, &scratch) == HS_SUCCESS, "scratch");
  const bool matched = hs_scan(database, text.data(), static_cast<unsigned int>(text.size()), 0,
                               scratch, StopAtFirstMatch, nullptr) == HS_SCAN_TERMINATED;
  hs_free_scratch(scratch);
  hs_free_database(database);
  if (!matched) return 0;
  std::string skeleton;
  medvault::notes::WordSkeleton(text, &skeleton);
  bool found = false;
  for (const std::string& literal : *literals) {
    found = found || skeleton.find(literal) != std::string::npos;
  }
  Require(found, "a match leaves one of the required literals in the skeleton");
  return 0;
}
