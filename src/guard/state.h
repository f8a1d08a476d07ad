#pragma once
// The guard's state: one fixed-size record per account, session, practice and source, behind a
// small interface: MemoryStateStore keeps it in one process; SharedStateStore keeps it in a
// store::SharedRecordStore (PostgreSQL rows updated under a row lock) shared by every node of a
// deployment, so that what one node counts or contains the others see at once.
//
// Records hold no patient field: patients appear only as 32-bit hashes of their random ids.
// Errors: With*() returns false when the record could not be read or written back (the shared
// store is unreachable or busy past its timeout); `fn` may then have run on a copy that was not
// kept. The engine refuses the request ("guard state unavailable"). MemoryStateStore never fails.
// Thread-safety: StateStore implementations are thread-safe. With*() runs `fn` while holding
// the record exclusively; `fn` must not call the store again (no nesting, so no lock order).
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/role.h"
#include "store/shared_record_store.h"
#include "guard/window.h"

namespace medvault::guard {

inline constexpr uint32_t kMinute = 60;
inline constexpr uint32_t kHour = 3600;
inline constexpr uint32_t kDay = 86400;

// Exponentially weighted gaps between an account's unexplained first accesses.
struct Cadence {
  uint32_t last = 0;
  float mean = 0;
  float spread = 0;  // mean absolute deviation
  uint16_t events = 0;
};

// A device (User-Agent hash) or address block the account used, and since when.
struct KnownPlaces {
  std::array<uint32_t, 4> hash{};
  std::array<uint32_t, 4> first_seen{};
  std::array<uint32_t, 4> last_seen{};
};

struct AccountRecord {
  // The account's ids are the store's key (and the source's list): the record holds no string.
  bool known = false;
  uint32_t practice = 0;  // hash of the practice id
  Role role = Role::kPractitioner;
  uint32_t first_seen = 0;
  uint32_t last_seen = 0;

  // Patients reached in the last 24 h: each is charged once per 24 h.
  RecentSet<96> patients;
  // Patients this account created (authorship explains later accesses).
  RecentSet<16> authored;
  // Distinct searches (keyed hashes of their parameters), for the sweep signals.
  RecentSet<32> queries;
  // Sessions seen lately; at containment they become the dead ones.
  RecentSet<4> sessions;
  std::array<uint32_t, 4> dead_sessions{};

  Window<float, 10, kMinute> cost_10m;
  Window<float, 12, 5 * kMinute> cost_1h;
  Window<float, 24, kHour> cost_24h;
  Window<float, 7, kDay> cost_7d;
  Window<uint16_t, 10, kMinute> broad_10m;
  Window<uint16_t, 12, 5 * kMinute> broad_1h;
  Window<uint16_t, 12, 5 * kMinute> empty_1h;
  Window<uint16_t, 12, 5 * kMinute> misses_1h;
  Window<uint16_t, 12, 5 * kMinute> deep_1h;
  Window<uint16_t, 24, kHour> step_up_passes;
  Cadence cadence;
  KnownPlaces devices;
  KnownPlaces blocks;

  // Baseline: EWMA of the daily cost over the account's active days.
  float baseline = -1;  // < 0: not started (the role's start value applies)
  float day_cost = 0;
  uint32_t day = 0;     // day number of day_cost

  bool contained = false;
  bool step_up_required = false;
  uint8_t step_up_failures = 0;
  uint8_t alerted_level = 0;  // highest level alerted for, reset daily
  uint32_t alerted_day = 0;
  uint32_t contained_at = 0;
};

struct SessionRecord {
  uint32_t last_seen = 0;
  Window<float, 10, kMinute> cost_10m;
  Window<float, 12, 5 * kMinute> cost_1h;
};

struct PracticeRecord {
  uint32_t last_seen = 0;
  RecentSet<64> accounts;  // active accounts (hash of user id)
  Window<float, 12, 5 * kMinute> cost_1h;
  Window<float, 24, kHour> cost_24h;
  uint8_t alerted_level = 0;
  uint32_t alerted_day = 0;
};

struct SourceAccount {
  uint32_t user_hash = 0;
  std::string user_id;
  std::string login;
  uint32_t practice = 0;
  uint32_t last_seen = 0;
};

struct SourceRecord {
  uint32_t last_seen = 0;
  RecentSet<16> practices;
  std::vector<SourceAccount> accounts;  // at most kMaxSourceAccounts, least recent replaced
  Window<float, 12, 5 * kMinute> cost_1h;
  Window<float, 24, kHour> cost_24h;
  Window<uint16_t, 24, kHour> containments;  // accounts contained from here
  RecentSet<8> contained_practices;
  bool contained = false;
  uint32_t contained_at = 0;
};
inline constexpr size_t kMaxSourceAccounts = 64;

// A function reference that does not allocate (the callee never stores it).
template <typename Record>
class RecordFn {
 public:
  template <typename F>
  RecordFn(F& f) : obj_(&f), call_([](void* o, Record& r) { (*static_cast<F*>(o))(r); }) {}
  void operator()(Record& r) const { call_(obj_, r); }

 private:
  void* obj_;
  void (*call_)(void*, Record&);
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  // Each calls `fn` with the record for the key, created empty if absent, held exclusively, and
  // keeps what `fn` left. False when the state is unavailable (see Errors above).
  [[nodiscard]] virtual bool WithAccount(std::string_view user_id, RecordFn<AccountRecord> fn) = 0;
  [[nodiscard]] virtual bool WithSession(std::string_view session_id,
                                         RecordFn<SessionRecord> fn) = 0;
  [[nodiscard]] virtual bool WithPractice(std::string_view practice_id,
                                          RecordFn<PracticeRecord> fn) = 0;
  [[nodiscard]] virtual bool WithSource(std::string_view block, RecordFn<SourceRecord> fn) = 0;
  // Forgets records last seen before `cutoff` (seconds), and the least recently seen accounts
  // beyond `max_accounts`. Best effort: a shared store that is unavailable forgets nothing.
  virtual void Evict(uint32_t cutoff, size_t max_accounts) = 0;
  // Accounts tracked (0 if a shared store cannot count them now).
  virtual size_t TrackedAccounts() const = 0;
};

// The single-node store: hash maps in sharded mutexes. Memory: sizeof(AccountRecord) plus the
// map node per account (measured in docs/BENCHMARKS.md "Guard").
class MemoryStateStore final : public StateStore {
 public:
  MemoryStateStore();
  ~MemoryStateStore() override;
  bool WithAccount(std::string_view user_id, RecordFn<AccountRecord> fn) override;
  bool WithSession(std::string_view session_id, RecordFn<SessionRecord> fn) override;
  bool WithPractice(std::string_view practice_id, RecordFn<PracticeRecord> fn) override;
  bool WithSource(std::string_view block, RecordFn<SourceRecord> fn) override;
  void Evict(uint32_t cutoff, size_t max_accounts) override;
  size_t TrackedAccounts() const override;

 private:
  // Records are keyed by a 64-bit hash of their id and held in the map's nodes, so a lookup
  // touches the bucket and the node only (no key string on the heap, no separate record): on the
  // request path, where every lookup of a large table is a cache miss, that is most of the cost.
  // Two ids sharing a hash would share a record; among a million ids the chance that any two do is
  // about 3e-8 (the ids are random, or address blocks), and the harm would be one account counted
  // with another's accesses, i.e. contained earlier, never later.
  struct KeyHash {
    size_t operator()(uint64_t h) const { return static_cast<size_t>(h); }
  };
  template <typename Record>
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, Record, KeyHash> map;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 64;
  template <typename Record>
  static bool With(std::array<Shard<Record>, kShards>& shards, std::string_view key,
                   RecordFn<Record> fn);

  std::array<Shard<AccountRecord>, kShards> accounts_;
  std::array<Shard<SessionRecord>, kShards> sessions_;
  std::array<Shard<PracticeRecord>, kShards> practices_;
  std::array<Shard<SourceRecord>, kShards> sources_;
};

// The store shared by several nodes: each record is encoded (guard/codec.h) into the
// SharedRecordStore under kinds "guard.account", "guard.session", "guard.practice" and
// "guard.source", keyed by the same ids as in memory, and changed in one Update (a row lock on
// PostgreSQL). A stored record that does not decode is replaced by a fresh one, counted in
// undecodable() and reported through `log_line` (if set) naming its kind only. `records` must
// outlive the store.
class SharedStateStore final : public StateStore {
 public:
  explicit SharedStateStore(store::SharedRecordStore& records,
                            std::function<void(const std::string&)> log_line = {});
  bool WithAccount(std::string_view user_id, RecordFn<AccountRecord> fn) override;
  bool WithSession(std::string_view session_id, RecordFn<SessionRecord> fn) override;
  bool WithPractice(std::string_view practice_id, RecordFn<PracticeRecord> fn) override;
  bool WithSource(std::string_view block, RecordFn<SourceRecord> fn) override;
  void Evict(uint32_t cutoff, size_t max_accounts) override;
  size_t TrackedAccounts() const override;
  uint64_t undecodable() const { return undecodable_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  template <typename Record>
  bool With(std::string_view kind, std::string_view key, RecordFn<Record> fn);

  store::SharedRecordStore& records_;
  const std::function<void(const std::string&)> log_line_;
  std::atomic<uint64_t> undecodable_{0};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace medvault::guard
