#pragma once
#include <string_view>

namespace medvault {
// True when `s` is well-formed UTF-8 (no truncated or stray continuation bytes).
bool IsValidUtf8(std::string_view s);
}  // namespace medvault
