#pragma once
// The French INS matricule: the NIR (numéro d'inscription au répertoire, "numéro de sécurité
// sociale") or the NIA (numéro d'identification d'attente, first digit 7 or 8), 13 characters and a
// 2-digit control key = 97 - (number mod 97), where Corsica's 2A and 2B count as 19 and 18.
#include <string>
#include <string_view>

#include "core/status.h"

namespace medvault::vault {

inline constexpr std::string_view kInsNirSystem = "urn:oid:1.2.250.1.213.1.4.8";
inline constexpr std::string_view kInsNiaSystem = "urn:oid:1.2.250.1.213.1.4.9";

// Validates a 15-character NIR/NIA (spaces allowed and ignored). The error names what is wrong
// (length, sex digit, month, département, control key) but never echoes the value.
Status ValidateNir(std::string_view nir);
// The number without spaces, upper case (2a → 2A).
std::string CanonicalNir(std::string_view nir);
// The control key for the first 13 characters. REQUIRES: a well-formed 13-character number.
int NirControlKey(std::string_view first13);
bool IsNia(std::string_view canonical);

}  // namespace medvault::vault
