#pragma once
// Witnessing the access log (docs/audit.md "Witnesses"):
//   - `medvault witness init|serve`: a witness of its own, with an Ed25519 key in its state
//     directory, answering c2sp.org/tlog-witness add-checkpoint over HTTP (api/witness_server.h)
//     through audit::WitnessHandler;
//   - WitnessPusher: the vault's side, pushing each new checkpoint to the witnesses listed in
//     medvault.toml and keeping their cosignatures in the log store;
//   - `medvault audit verify` with the cosignatures checked against `[log] witness_keys`.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/note.h"
#include "core/status.h"
#include "store/log_store.h"

namespace medvault::app {

// `medvault witness init --state DIR --name NAME`: creates DIR (0700) and DIR/witness.key (0600:
// the name and the base64 Ed25519 seed), prints the cosignature verifier key. Exit 1 if DIR
// already holds a witness key or NAME is not a valid key name.
int RunWitnessInit(const std::string& state_dir, const std::string& name, std::ostream& out,
                   std::ostream& err);

struct WitnessServeOptions {
  std::string state_dir;
  std::string listen = "127.0.0.1:7380";
  std::vector<std::string> log_keys;  // note verifier keys of the logs followed (/log/key)
};

// `medvault witness serve`: prints "listening on HOST:PORT" once ready, then one line per request
// on stderr; runs until SIGTERM/SIGINT. Exit 1 for bad options or keys, 2 if it cannot listen.
int RunWitnessServe(const WitnessServeOptions& options, std::ostream& out, std::ostream& err);

// Parses `[log] witness_keys`. InvalidArgument naming the bad key.
Result<std::vector<audit::WitnessKey>> ParseWitnessKeys(const std::vector<std::string>& keys);

// `medvault audit verify --data DIR` (audit::RunAuditVerify with the vault's witness keys).
int RunAuditVerifyWithWitnesses(const std::string& data_dir, std::ostream& out, std::ostream& err);

struct WitnessPushOptions {
  std::vector<std::string> urls;        // "http://HOST:PORT[/PREFIX]"
  std::vector<audit::WitnessKey> keys;  // cosignatures by these are checked before storing
  int poll_interval_millis = 500;       // how often the latest checkpoint is looked at
  int max_backoff_rounds = 64;          // a failing witness is retried after 1, 2, 4... rounds
  int timeout_seconds = 10;             // per request
  // Pushes only while this returns true (several nodes: only the log's integrator pushes, so
  // the witnesses see one sequence of checkpoints). Empty: always.
  std::function<bool()> active{};
};

// Pushes the latest checkpoint of `store` to every witness, on its own thread, off the request
// path: a request never waits for a witness. For each witness it tracks the size the witness
// last cosigned and sends a consistency proof from there; a 409 names the witness's size and the
// push is retried from it. A witness that fails is retried with exponential backoff. Returned
// cosignature lines are stored with LogStore::AddCosignature (after checking them when the
// witness's key is known). Refusals are reported through `report`: a 409 for the size the vault
// sent or a 422 means the witness holds another tree than this log (a split view).
// Thread-safety: Start and Stop from one thread; `report` is called from the pusher's thread.
// Borrows `store`, which must outlive the pusher.
class WitnessPusher {
 public:
  WitnessPusher(store::LogStore& store, WitnessPushOptions options,
                std::function<void(std::string_view)> report);
  ~WitnessPusher();
  WitnessPusher(const WitnessPusher&) = delete;
  WitnessPusher& operator=(const WitnessPusher&) = delete;

  void Start();
  // Wakes the thread and joins it (a request in flight finishes or times out first). Idempotent.
  void Stop();

 private:
  struct Witness {
    std::string url;
    uint64_t size = 0;           // the witness's size as far as we know
    uint64_t cosigned_size = 0;  // the last size it cosigned for us
    bool cosigned = false;
    int backoff_rounds = 0;  // rounds to wait after the last failure
    int wait_rounds = 0;     // rounds left before the next attempt
  };
  void Loop();
  void Round();
  // Pushes the checkpoint `note` of `size`; whether the witness cosigned it.
  bool Push(Witness& witness, uint64_t size, const std::string& note, const std::string& text);
  void Failed(Witness& witness, const std::string& why);

  store::LogStore& store_;
  const WitnessPushOptions options_;
  const std::function<void(std::string_view)> report_;
  std::vector<Witness> witnesses_;  // only the pusher's thread

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace medvault::app
