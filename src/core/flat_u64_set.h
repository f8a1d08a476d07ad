#pragma once
// A set of 64-bit values in one flat array: open addressing with linear probing, 8-byte slots, at
// most half full, instead of a node per value. For the large sets of one import (a million NIRs,
// the canary keeper's hashes of every row), where a node per value costs an allocation per insert,
// ~5x the memory and as many frees at the end.
// Values may be anything, 0 included (kept apart, since 0 marks a free slot). Slots are picked by
// splitmix64's finaliser of the value, so values that differ only in a few bits spread.
// Thread-safety: none; one owner.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace medvault {

class FlatU64Set {
 public:
  // Adds `v`; false if it was already there.
  bool Insert(uint64_t v) {
    if (v == 0) {
      const bool added = !has_zero_;
      has_zero_ = true;
      return added;
    }
    if (2 * (size_ + 1) > slots_.size()) Grow();
    if (!Place(v)) return false;
    ++size_;
    return true;
  }

  bool Contains(uint64_t v) const {
    if (v == 0) return has_zero_;
    if (slots_.empty()) return false;
    const size_t mask = slots_.size() - 1;
    for (size_t i = Mix(v) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == v) return true;
      if (slots_[i] == 0) return false;
    }
  }

  size_t size() const { return size_ + (has_zero_ ? 1 : 0); }

 private:
  static constexpr size_t kInitialSlots = 1024;

  static size_t Mix(uint64_t v) {
    v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
    v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<size_t>(v ^ (v >> 31));
  }
  // Puts `v` (non-zero) in its slot; false if it is already there. REQUIRES a free slot.
  bool Place(uint64_t v) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = Mix(v) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == v) return false;
      if (slots_[i] == 0) {
        slots_[i] = v;
        return true;
      }
    }
  }
  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? kInitialSlots : 2 * old.size(), 0);
    for (uint64_t v : old) {
      if (v != 0) Place(v);
    }
  }

  std::vector<uint64_t> slots_;  // a power of two in size; 0 is a free slot
  size_t size_ = 0;              // non-zero values in slots_
  bool has_zero_ = false;
};

}  // namespace medvault
