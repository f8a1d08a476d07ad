#pragma once
// Note category and qualifier ids <-> the bit masks stored with notes (bit = 1 << notes::Index).
// Kept here as a table so that api/ needs only the notes/category.h header, not the classifier
// library; the static_asserts in note_labels.cc pin it to notes::Category's order.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace medvault::api {

uint32_t CategoryBit(std::string_view id);   // 0 for an unknown id
uint32_t QualifierBit(std::string_view id);  // 0 for an unknown id
std::vector<std::string_view> CategoryIds(uint32_t mask);

}  // namespace medvault::api
