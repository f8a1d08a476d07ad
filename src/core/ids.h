#pragma once
// Identifiers. Practice, patient, note and appointment ids are 128 random bits in lower-case base32
// (26 characters), so ids carry no order and cannot be walked. They fit FHIR's id syntax.
#include <string>
#include <string_view>

#include "core/random.h"

namespace medvault {

std::string NewId(Random& random);
// True for a well-formed id as produced by NewId (exactly 26 characters of [a-z2-7]).
bool IsWellFormedId(std::string_view id);

}  // namespace medvault
