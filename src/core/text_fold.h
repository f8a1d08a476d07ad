#pragma once
// Folding for exact search: lower case, accents removed (French and other Latin letters), spaces,
// hyphens, apostrophes and dots dropped, ligatures expanded (œ→oe, æ→ae, ß→ss). "Dupont-Léger",
// "DUPONT LEGER" and "dupontleger" fold alike. Other characters pass through unchanged, so the
// folding never merges values that differ in letters. Invalid UTF-8 bytes pass through as is.
// Thread-safety: pure function.
#include <string>
#include <string_view>

namespace medvault {

std::string FoldForSearch(std::string_view utf8);

}  // namespace medvault
