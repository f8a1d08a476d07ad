#pragma once
// Randomness, injected. Only random_real.cc reads the system's entropy (getrandom(2)).
#include <cstdint>
#include <memory>
#include <span>

namespace medvault {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. Thread-safe.
  virtual void Fill(std::span<uint8_t> out) = 0;
  uint64_t Next64();
  // Uniform in [0, bound). REQUIRES: bound > 0.
  uint64_t Uniform(uint64_t bound);
};

// Cryptographically secure bytes from the kernel. Thread-safe.
std::unique_ptr<Random> NewSystemRandom();

// Deterministic generator (xoshiro256**) for tests, the data generator and the simulator; never for
// keys. Not thread-safe.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;

 private:
  uint64_t NextRaw();
  uint64_t s_[4];
};

}  // namespace medvault
