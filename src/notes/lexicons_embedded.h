#pragma once
// The lexicon files compiled into the binary. The definitions are generated at build time from
// data/lexicons/*.txt by embed_lexicons.cmake (see CMakeLists.txt); use EmbeddedLexicons() in
// lexicon.h rather than these symbols.

#include <cstddef>
#include <string_view>

namespace medvault::notes {

struct EmbeddedLexiconFile {
  std::string_view name;
  std::string_view text;
};

extern const EmbeddedLexiconFile kEmbeddedLexiconFiles[];
extern const std::size_t kEmbeddedLexiconFileCount;

}  // namespace medvault::notes
