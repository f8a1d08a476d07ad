#include <algorithm>

#include "guard/state.h"

namespace medvault::guard {

MemoryStateStore::MemoryStateStore() = default;
MemoryStateStore::~MemoryStateStore() = default;

template <typename Record>
bool MemoryStateStore::With(std::array<Shard<Record>, kShards>& shards, std::string_view key,
                            RecordFn<Record> fn) {
  const uint64_t h = std::hash<std::string_view>{}(key);
  Shard<Record>& shard = shards[(h >> 32 ^ h) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  fn(shard.map.try_emplace(h).first->second);
  return true;
}

bool MemoryStateStore::WithAccount(std::string_view user_id, RecordFn<AccountRecord> fn) {
  return With(accounts_, user_id, fn);
}
bool MemoryStateStore::WithSession(std::string_view session_id, RecordFn<SessionRecord> fn) {
  return With(sessions_, session_id, fn);
}
bool MemoryStateStore::WithPractice(std::string_view practice_id, RecordFn<PracticeRecord> fn) {
  return With(practices_, practice_id, fn);
}
bool MemoryStateStore::WithSource(std::string_view block, RecordFn<SourceRecord> fn) {
  return With(sources_, block, fn);
}

namespace {
template <typename Shards>
void EvictIdle(Shards& shards, uint32_t cutoff) {
  for (auto& shard : shards) {
    std::lock_guard<std::mutex> lock(shard.mu);
    std::erase_if(shard.map, [&](const auto& kv) { return kv.second.last_seen < cutoff; });
  }
}
}  // namespace

void MemoryStateStore::Evict(uint32_t cutoff, size_t max_accounts) {
  EvictIdle(accounts_, cutoff);
  EvictIdle(sessions_, cutoff);
  EvictIdle(practices_, cutoff);
  EvictIdle(sources_, cutoff);
  // Over capacity: drop the least recently seen accounts, shard by shard, to an equal share.
  const size_t per_shard = std::max<size_t>(1, max_accounts / kShards);
  for (auto& shard : accounts_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.map.size() <= per_shard) continue;
    std::vector<uint32_t> seen;
    seen.reserve(shard.map.size());
    for (const auto& kv : shard.map) seen.push_back(kv.second.last_seen);
    std::nth_element(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(seen.size() - per_shard),
                     seen.end());
    const uint32_t keep_from = seen[seen.size() - per_shard];
    std::erase_if(shard.map, [&](const auto& kv) { return kv.second.last_seen < keep_from; });
  }
}

size_t MemoryStateStore::TrackedAccounts() const {
  size_t n = 0;
  for (const auto& shard : accounts_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace medvault::guard
