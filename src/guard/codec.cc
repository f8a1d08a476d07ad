#include "guard/codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

namespace medvault::guard {
namespace {

enum Kind : uint8_t { kAccountKind = 1, kSessionKind = 2, kPracticeKind = 3, kSourceKind = 4 };

class Writer {
 public:
  Writer(Kind kind, size_t reserve) {
    out_.reserve(reserve);
    out_.push_back(kind);
    out_.push_back(kCodecVersion);
  }
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    for (int i = 0; i < 2; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void F32(float v) { U32(std::bit_cast<uint32_t>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void Str(const std::string& s) {
    const size_t n = s.size() < kMaxCodecString ? s.size() : kMaxCodecString;
    U16(static_cast<uint16_t>(n));
    out_.insert(out_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
  }
  template <size_t N>
  void Array(const std::array<uint32_t, N>& a) {
    for (uint32_t v : a) U32(v);
  }
  template <typename T, int N, uint32_t W>
  void Win(const Window<T, N, W>& w) {
    for (T v : w.buckets()) {
      if constexpr (std::is_same_v<T, float>) {
        F32(v);
      } else {
        U16(v);
      }
    }
    U32(w.head());
  }
  template <int N>
  void Set(const RecentSet<N>& s) {
    Array(s.hashes());
    Array(s.times());
    U16(s.next());
  }
  void Places(const KnownPlaces& p) {
    Array(p.hash);
    Array(p.first_seen);
    Array(p.last_seen);
  }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool ok() const { return ok_; }
  bool AtEnd() const { return ok_ && pos_ == in_.size(); }
  void Fail() { ok_ = false; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return in_[pos_++];
  }
  uint16_t U16() {
    if (!Need(2)) return 0;
    const auto v = static_cast<uint16_t>(in_[pos_] | in_[pos_ + 1] << 8);
    pos_ += 2;
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | in_[pos_ + static_cast<size_t>(i)];
    pos_ += 4;
    return v;
  }
  float F32() {
    const float v = std::bit_cast<float>(U32());
    if (!std::isfinite(v)) ok_ = false;
    return v;
  }
  bool Bool() {
    const uint8_t v = U8();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  std::string Str() {
    const uint16_t n = U16();
    if (n > kMaxCodecString || !Need(n)) {
      ok_ = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  template <size_t N>
  void Array(std::array<uint32_t, N>& a) {
    for (uint32_t& v : a) v = U32();
  }
  template <typename T, int N, uint32_t W>
  void Win(Window<T, N, W>& w) {
    std::array<T, N> buckets{};
    for (T& v : buckets) {
      if constexpr (std::is_same_v<T, float>) {
        v = F32();
      } else {
        v = U16();
      }
    }
    const uint32_t head = U32();
    if (ok_) w.Restore(buckets, head);
  }
  template <int N>
  void Set(RecentSet<N>& s) {
    std::array<uint32_t, N> hashes{};
    std::array<uint32_t, N> times{};
    Array(hashes);
    Array(times);
    const uint16_t next = U16();
    if (ok_ && !s.Restore(hashes, times, next)) ok_ = false;
  }
  void Places(KnownPlaces& p) {
    Array(p.hash);
    Array(p.first_seen);
    Array(p.last_seen);
  }
  // Checks the kind and version bytes.
  void Header(Kind kind) {
    if (U8() != kind) ok_ = false;
    if (U8() != kCodecVersion) ok_ = false;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  ByteView in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

template <typename Record>
bool Finish(Reader& r, Record& decoded, Record* out) {
  if (!r.AtEnd()) {
    *out = Record{};
    return false;
  }
  *out = std::move(decoded);
  return true;
}

}  // namespace

Bytes Encode(const AccountRecord& a) {
  Writer w(kAccountKind, 1900);
  w.Bool(a.known);
  w.U32(a.practice);
  w.U8(static_cast<uint8_t>(a.role));
  w.U32(a.first_seen);
  w.U32(a.last_seen);
  w.Set(a.patients);
  w.Set(a.authored);
  w.Set(a.queries);
  w.Set(a.sessions);
  w.Array(a.dead_sessions);
  w.Win(a.cost_10m);
  w.Win(a.cost_1h);
  w.Win(a.cost_24h);
  w.Win(a.cost_7d);
  w.Win(a.broad_10m);
  w.Win(a.broad_1h);
  w.Win(a.empty_1h);
  w.Win(a.misses_1h);
  w.Win(a.deep_1h);
  w.Win(a.step_up_passes);
  w.U32(a.cadence.last);
  w.F32(a.cadence.mean);
  w.F32(a.cadence.spread);
  w.U16(a.cadence.events);
  w.Places(a.devices);
  w.Places(a.blocks);
  w.F32(a.baseline);
  w.F32(a.day_cost);
  w.U32(a.day);
  w.Bool(a.contained);
  w.Bool(a.step_up_required);
  w.U8(a.step_up_failures);
  w.U8(a.alerted_level);
  w.U32(a.alerted_day);
  w.U32(a.contained_at);
  return w.Take();
}

bool Decode(ByteView in, AccountRecord* out) {
  Reader r(in);
  AccountRecord a;
  r.Header(kAccountKind);
  a.known = r.Bool();
  a.practice = r.U32();
  const uint8_t role = r.U8();
  if (role < static_cast<uint8_t>(Role::kPractitioner) || role > static_cast<uint8_t>(Role::kSecurity)) {
    r.Fail();
  }
  a.role = static_cast<Role>(role);
  a.first_seen = r.U32();
  a.last_seen = r.U32();
  r.Set(a.patients);
  r.Set(a.authored);
  r.Set(a.queries);
  r.Set(a.sessions);
  r.Array(a.dead_sessions);
  r.Win(a.cost_10m);
  r.Win(a.cost_1h);
  r.Win(a.cost_24h);
  r.Win(a.cost_7d);
  r.Win(a.broad_10m);
  r.Win(a.broad_1h);
  r.Win(a.empty_1h);
  r.Win(a.misses_1h);
  r.Win(a.deep_1h);
  r.Win(a.step_up_passes);
  a.cadence.last = r.U32();
  a.cadence.mean = r.F32();
  a.cadence.spread = r.F32();
  a.cadence.events = r.U16();
  r.Places(a.devices);
  r.Places(a.blocks);
  a.baseline = r.F32();
  a.day_cost = r.F32();
  a.day = r.U32();
  a.contained = r.Bool();
  a.step_up_required = r.Bool();
  a.step_up_failures = r.U8();
  a.alerted_level = r.U8();
  a.alerted_day = r.U32();
  a.contained_at = r.U32();
  return Finish(r, a, out);
}

Bytes Encode(const SessionRecord& s) {
  Writer w(kSessionKind, 128);
  w.U32(s.last_seen);
  w.Win(s.cost_10m);
  w.Win(s.cost_1h);
  return w.Take();
}

bool Decode(ByteView in, SessionRecord* out) {
  Reader r(in);
  SessionRecord s;
  r.Header(kSessionKind);
  s.last_seen = r.U32();
  r.Win(s.cost_10m);
  r.Win(s.cost_1h);
  return Finish(r, s, out);
}

Bytes Encode(const PracticeRecord& p) {
  Writer w(kPracticeKind, 700);
  w.U32(p.last_seen);
  w.Set(p.accounts);
  w.Win(p.cost_1h);
  w.Win(p.cost_24h);
  w.U8(p.alerted_level);
  w.U32(p.alerted_day);
  return w.Take();
}

bool Decode(ByteView in, PracticeRecord* out) {
  Reader r(in);
  PracticeRecord p;
  r.Header(kPracticeKind);
  p.last_seen = r.U32();
  r.Set(p.accounts);
  r.Win(p.cost_1h);
  r.Win(p.cost_24h);
  p.alerted_level = r.U8();
  p.alerted_day = r.U32();
  return Finish(r, p, out);
}

Bytes Encode(const SourceRecord& s) {
  Writer w(kSourceKind, 512 + 64 * s.accounts.size());
  w.U32(s.last_seen);
  w.Set(s.practices);
  const size_t n = s.accounts.size() < kMaxSourceAccounts ? s.accounts.size() : kMaxSourceAccounts;
  w.U16(static_cast<uint16_t>(n));
  for (size_t i = 0; i < n; ++i) {
    const SourceAccount& a = s.accounts[i];
    w.U32(a.user_hash);
    w.Str(a.user_id);
    w.Str(a.login);
    w.U32(a.practice);
    w.U32(a.last_seen);
  }
  w.Win(s.cost_1h);
  w.Win(s.cost_24h);
  w.Win(s.containments);
  w.Set(s.contained_practices);
  w.Bool(s.contained);
  w.U32(s.contained_at);
  return w.Take();
}

bool Decode(ByteView in, SourceRecord* out) {
  Reader r(in);
  SourceRecord s;
  r.Header(kSourceKind);
  s.last_seen = r.U32();
  r.Set(s.practices);
  const uint16_t n = r.U16();
  if (n > kMaxSourceAccounts) r.Fail();
  for (uint16_t i = 0; i < n && r.ok(); ++i) {
    SourceAccount a;
    a.user_hash = r.U32();
    a.user_id = r.Str();
    a.login = r.Str();
    a.practice = r.U32();
    a.last_seen = r.U32();
    s.accounts.push_back(std::move(a));
  }
  r.Win(s.cost_1h);
  r.Win(s.cost_24h);
  r.Win(s.containments);
  r.Set(s.contained_practices);
  s.contained = r.Bool();
  s.contained_at = r.U32();
  return Finish(r, s, out);
}

}  // namespace medvault::guard
