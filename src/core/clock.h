#pragma once
// Time, injected. Only clock_real.cc reads the system clock; tests and the simulator use FakeClock.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace medvault {

// Microseconds since the Unix epoch, UTC.
using UnixMicros = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time. Thread-safe.
  virtual UnixMicros Now() const = 0;
};

// The system clock. Thread-safe.
std::unique_ptr<Clock> NewRealClock();

// A clock that only moves when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixMicros start) : now_(start) {}
  UnixMicros Now() const override { return now_.load(); }
  void Advance(int64_t micros) { now_.fetch_add(micros); }
  void Set(UnixMicros t) { now_.store(t); }

 private:
  std::atomic<UnixMicros> now_;
};

// A clock offset from another by a fixed amount (the simulator's "days later"). Thread-safe.
class OffsetClock final : public Clock {
 public:
  OffsetClock(const Clock& base, int64_t offset_micros) : base_(base), offset_(offset_micros) {}
  UnixMicros Now() const override { return base_.Now() + offset_.load(); }
  void AddOffset(int64_t micros) { offset_.fetch_add(micros); }

 private:
  const Clock& base_;
  std::atomic<int64_t> offset_;
};

// ISO 8601 UTC with seconds: 2026-01-02T03:04:05Z.
std::string FormatIsoTime(UnixMicros t);
// Accepts YYYY-MM-DD (midnight UTC), YYYY-MM-DDThh:mm:ssZ, with optional fraction and ±hh:mm offset.
Result<UnixMicros> ParseIsoTime(std::string_view text);

}  // namespace medvault
