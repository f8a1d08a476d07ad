#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "guard/codec.h"
#include "guard/state.h"

namespace medvault::guard {
namespace {
constexpr std::string_view kAccountKind = "guard.account";
constexpr std::string_view kSessionKind = "guard.session";
constexpr std::string_view kPracticeKind = "guard.practice";
constexpr std::string_view kSourceKind = "guard.source";
}  // namespace

SharedStateStore::SharedStateStore(store::SharedRecordStore& records,
                                   std::function<void(const std::string&)> log_line)
    : records_(records), log_line_(std::move(log_line)) {}

template <typename Record>
bool SharedStateStore::With(std::string_view kind, std::string_view key, RecordFn<Record> fn) {
  bool undecodable = false;
  Status s = records_.Update(kind, key, [&](store::SharedRecord& stored) {
    Record record;
    if (!stored.data.empty() && !Decode(stored.data, &record)) undecodable = true;
    fn(record);
    stored.data = Encode(record);
    stored.last_seen = record.last_seen;
  });
  if (undecodable) {
    undecodable_.fetch_add(1, std::memory_order_relaxed);
    if (log_line_) {
      log_line_("guard.state undecodable kind=" + std::string(kind) + " (replaced by a fresh one)");
    }
  }
  if (!s.ok()) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    if (log_line_) log_line_("guard.state unavailable kind=" + std::string(kind) + ": " + s.ToString());
    return false;
  }
  return true;
}

bool SharedStateStore::WithAccount(std::string_view user_id, RecordFn<AccountRecord> fn) {
  return With(kAccountKind, user_id, fn);
}
bool SharedStateStore::WithSession(std::string_view session_id, RecordFn<SessionRecord> fn) {
  return With(kSessionKind, session_id, fn);
}
bool SharedStateStore::WithPractice(std::string_view practice_id, RecordFn<PracticeRecord> fn) {
  return With(kPracticeKind, practice_id, fn);
}
bool SharedStateStore::WithSource(std::string_view block, RecordFn<SourceRecord> fn) {
  return With(kSourceKind, block, fn);
}

void SharedStateStore::Evict(uint32_t cutoff, size_t max_accounts) {
  constexpr int64_t kAll = std::numeric_limits<int64_t>::max();
  const auto keep = static_cast<int64_t>(
      std::min<size_t>(max_accounts, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
  for (std::string_view kind : {kAccountKind, kSessionKind, kPracticeKind, kSourceKind}) {
    Result<int64_t> n = records_.Evict(kind, cutoff, kind == kAccountKind ? keep : kAll);
    if (!n.ok() && log_line_) {
      log_line_("guard.state evict kind=" + std::string(kind) + ": " + n.status().ToString());
    }
  }
}

size_t SharedStateStore::TrackedAccounts() const {
  Result<int64_t> n = records_.Count(kAccountKind);
  return n.ok() && *n > 0 ? static_cast<size_t>(*n) : 0;
}

}  // namespace medvault::guard
