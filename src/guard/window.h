#pragma once
// Fixed-size building blocks of the guard's per-account state: bucketed sliding windows and small
// FIFO sets of 32-bit hashes with their last time. Everything is a flat array, so a record's size
// is known at compile time (docs/guard.md "Memory") and a shared store can keep it as one row.
// Times are whole seconds since the Unix epoch (uint32_t: good until 2106).
// Thread-safety: none; the StateStore serialises access to the record that holds them.
#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

namespace medvault::guard {

// A sliding window of N buckets of kWidth seconds: the sum over the current bucket and the N - 1
// before it. A value added with a time older than the window is dropped.
template <typename T, int N, uint32_t kWidth>
class Window {
 public:
  static constexpr uint32_t kSeconds = N * kWidth;

  void Add(uint32_t now, T value) {
    const uint32_t b = now / kWidth;
    if (b > head_) {
      const uint32_t gap = b - head_;
      if (gap >= static_cast<uint32_t>(N)) {
        buckets_.fill(T{});
      } else {
        for (uint32_t k = head_ + 1; k <= b; ++k) buckets_[k % N] = T{};
      }
      head_ = b;
    } else if (head_ - b >= static_cast<uint32_t>(N)) {
      return;
    }
    T& slot = buckets_[b % N];
    if constexpr (std::numeric_limits<T>::is_integer) {
      const T room = static_cast<T>(std::numeric_limits<T>::max() - slot);
      slot = static_cast<T>(slot + (value < room ? value : room));
    } else {
      slot += value;
    }
  }

  T Sum(uint32_t now) const {
    const uint32_t b = now / kWidth;
    T total{};
    for (int i = 0; i < N; ++i) {
      if (head_ < static_cast<uint32_t>(i)) break;
      const uint32_t k = head_ - static_cast<uint32_t>(i);
      if (k > b || b - k >= static_cast<uint32_t>(N)) continue;
      total = static_cast<T>(total + buckets_[k % N]);
    }
    return total;
  }

  void Clear() {
    buckets_.fill(T{});
    head_ = 0;
  }

  // The raw state, for the codec of a shared store (guard/codec.h).
  const std::array<T, N>& buckets() const { return buckets_; }
  uint32_t head() const { return head_; }
  void Restore(const std::array<T, N>& buckets, uint32_t head) {
    buckets_ = buckets;
    head_ = head;
  }

 private:
  std::array<T, N> buckets_{};
  uint32_t head_ = 0;  // bucket number (time / kWidth) of the newest bucket
};

// The N most recently inserted 32-bit hashes with the time each was last seen; the oldest
// insertion is replaced when full. Hash 0 marks an empty slot (callers never pass 0).
template <int N>
class RecentSet {
 public:
  // Index of `hash` if present and seen within `horizon` seconds of `now`, else -1.
  int Find(uint32_t hash, uint32_t now, uint32_t horizon) const {
    for (int i = 0; i < N; ++i) {
      if (hashes_[i] == hash) return now - times_[i] <= horizon ? i : -1;
    }
    return -1;
  }
  void Touch(int index, uint32_t now) { times_[index] = now; }
  // Inserts (or refreshes) `hash`; returns whether it was absent or stale.
  bool Insert(uint32_t hash, uint32_t now, uint32_t horizon) {
    for (int i = 0; i < N; ++i) {
      if (hashes_[i] == hash) {
        const bool stale = now - times_[i] > horizon;
        times_[i] = now;
        return stale;
      }
    }
    hashes_[next_] = hash;
    times_[next_] = now;
    next_ = static_cast<uint16_t>((next_ + 1) % N);
    return true;
  }
  // Distinct hashes seen within `horizon` seconds of `now`.
  int Count(uint32_t now, uint32_t horizon) const {
    int n = 0;
    for (int i = 0; i < N; ++i) n += hashes_[i] != 0 && now - times_[i] <= horizon ? 1 : 0;
    return n;
  }
  uint32_t time_at(int index) const { return times_[index]; }
  uint32_t hash_at(int index) const { return hashes_[index]; }
  void Clear() {
    hashes_.fill(0);
    times_.fill(0);
    next_ = 0;
  }

  // The raw state, for the codec of a shared store (guard/codec.h). Restore returns false, and
  // changes nothing, when `next` is out of range.
  const std::array<uint32_t, N>& hashes() const { return hashes_; }
  const std::array<uint32_t, N>& times() const { return times_; }
  uint16_t next() const { return next_; }
  bool Restore(const std::array<uint32_t, N>& hashes, const std::array<uint32_t, N>& times,
               uint16_t next) {
    if (next >= N) return false;
    hashes_ = hashes;
    times_ = times;
    next_ = next;
    return true;
  }

 private:
  std::array<uint32_t, N> hashes_{};
  std::array<uint32_t, N> times_{};
  uint16_t next_ = 0;
};

// Hashes for the guard's sets, never 0. Patient ids and logins are not secret from the process,
// so the hash needs no key; the sets only need few collisions. std::hash of a string_view is
// the same in every process of one build (libstdc++'s seeded murmur), which is what a store
// shared by the nodes of one deployment needs.
inline uint64_t Hash64(const char* data, size_t size) {
  return std::hash<std::string_view>{}(std::string_view(data, size));
}
inline uint32_t Hash32(const char* data, size_t size) {
  const uint64_t h = Hash64(data, size);
  const auto folded = static_cast<uint32_t>(h ^ (h >> 32));
  return folded == 0 ? 1 : folded;
}

}  // namespace medvault::guard
