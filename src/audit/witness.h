#pragma once
// A witness (c2sp.org/tlog-witness): cosigns a log's checkpoint only after checking that it is
// consistent with the last checkpoint it cosigned for that log, and records the new size and
// root atomically before answering. The protocol logic only; serving POST /add-checkpoint over
// HTTP belongs to the api module.
//
// Responses (status, body) per the spec: 200 with the cosignature line(s); 400 for a malformed
// body or old size above the checkpoint size; 403 if no signature of the log's key verifies;
// 404 for an unknown origin; 409 "text/x.tlog.size" with the recorded size when `old` is not it,
// or a different root at the recorded size (a fork); 422 when the consistency proof fails;
// 500 if the state cannot be persisted (nothing is cosigned then).
// State: one file per log under `state_dir` (origin, size, base64 root), replaced with
// WriteFileAtomic, so a crash leaves the old or the new state.
// Thread-safety: AddCheckpoint is thread-safe; requests are serialised, so the check against the
// recorded size and the update are atomic (no rollback race between concurrent requests).
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "audit/note.h"
#include "core/clock.h"
#include "crypto/sign.h"

namespace medvault::audit {

struct WitnessResponse {
  int status = 200;
  std::string content_type;
  std::string body;
};

class WitnessHandler {
 public:
  // `logs`: the logs this witness follows; each origin is its verifier's key name. Borrows `key`
  // and `clock`, which must outlive the handler. REQUIRES: ValidKeyName(name).
  WitnessHandler(std::string name, const crypto::SigningKey& key, std::vector<NoteVerifier> logs,
                 std::string state_dir, const Clock& clock);

  WitnessResponse AddCheckpoint(std::string_view body);

  // The witness's cosignature verifier key: name+keyid+base64(0x04 || public key).
  std::string VerifierKey() const;

 private:
  struct State {
    uint64_t size = 0;
    Hash root{};
    bool known = false;
  };
  Result<State> Load(const std::string& origin) const;
  Status Save(const std::string& origin, const Checkpoint& checkpoint) const;
  std::string StatePath(const std::string& origin) const;

  const std::string name_;
  const crypto::SigningKey& key_;
  const std::vector<NoteVerifier> logs_;
  const std::string state_dir_;
  const Clock& clock_;
  std::mutex mu_;  // serialises AddCheckpoint
};

}  // namespace medvault::audit
