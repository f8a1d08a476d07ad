#pragma once
// Small opaque records shared by every node of one deployment, each held exclusively while it is
// changed. The guard keeps its counters and containment here when several medvault processes
// serve one vault (docs/guard.md "Several nodes"), so that what one node learns about an account
// the next request on another node sees at once.
//
// A record is (kind, key) → bytes plus a last-seen time in seconds. The store does not interpret
// the bytes; kinds are short names chosen by the caller ("account", "session", ...).
//
// Errors: Unavailable when the backend cannot be reached, a row lock is not obtained within the
// backend's lock timeout, or the pool is exhausted; Internal otherwise. Messages never contain a
// key or a record. A failed Update changes nothing.
// Thread-safety: implementations are thread-safe, also across processes sharing one backend:
// Update on one (kind, key) is serialised everywhere.
#include <cstdint>
#include <functional>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"

namespace medvault::store {

struct SharedRecord {
  Bytes data;             // empty when the record did not exist
  int64_t last_seen = 0;  // seconds; 0 when the record did not exist
};

class SharedRecordStore {
 public:
  virtual ~SharedRecordStore() = default;

  // Runs `fn` on the record (kind, key), created empty if absent, while holding it exclusively
  // (no other Update of that record anywhere runs meanwhile), then stores what `fn` left in it.
  // `fn` runs at most once per call (not at all when the record could not be obtained) and must
  // not call the store.
  virtual Status Update(std::string_view kind, std::string_view key,
                        const std::function<void(SharedRecord&)>& fn) = 0;

  // Deletes the records of `kind` last seen before `last_seen_before`, then, beyond `keep_at_most`
  // records of that kind, the least recently seen (INT64_MAX: no bound). Returns how many were
  // deleted.
  virtual Result<int64_t> Evict(std::string_view kind, int64_t last_seen_before,
                                int64_t keep_at_most) = 0;

  // How many records of `kind` exist.
  virtual Result<int64_t> Count(std::string_view kind) = 0;
};

}  // namespace medvault::store
