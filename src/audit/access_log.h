#pragma once
// The access log: appends leaves with group commit, integrates them into the Merkle tree and
// signs checkpoints. docs/audit.md describes the threads and the durability argument.
//
//   request threads ──AppendAsync──▶ queue ──▶ writer thread: one transaction + one fsync per
//   batch, then every callback of the batch, in index order
//                                      └──▶ integrator thread: leaf hashes → tiles (stored),
//                                           a signed checkpoint at most every interval when the
//                                           tree grew (so the served checkpoint covers every leaf
//                                           durable for longer than two intervals)
//
// Sealing (the leaf's AEAD) runs on the calling thread, so request threads seal in parallel and
// the writer thread only writes.
//
// Several processes (store.SharedAppends(), PostgreSQL): every process appends, the store keeps
// the indexes dense, and only the holder of the store's integrator lease integrates and signs.
// The others follow: every `lease_poll` they try to take the lease, and read the latest
// checkpoint. The leader rechecks its lease as often, and before each signature, and reads back
// the entries the other processes appended. When the leader dies its database session ends, the
// lease is free, and the next follower to try restores the tree from the store (checking it
// against the latest checkpoint, as Start does) and takes over.
//
// Errors reported to callbacks: the sealing error (InvalidArgument, NotFound for an unknown key
// id), the store's error for the batch (Internal, Unavailable), Unavailable("access log
// stopped") after Stop(). A request whose callback gets an error must not release its data.
// Thread-safety: AppendAsync, Append, IntegrateAndSign and the accessors are thread-safe;
// Start and Stop must not race each other. Callbacks run on the writer thread (or on the caller
// for immediate errors) and must not block for long nor call Stop().
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "audit/leaf.h"
#include "audit/note.h"
#include "audit/tiles.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/status.h"
#include "crypto/sign.h"
#include "store/log_store.h"

namespace medvault::audit {

struct AccessLogOptions {
  // Checkpoint origin and note key name, e.g. "medvault.local/<vault id>/log".
  std::string origin;
  // A new checkpoint is signed at most this often (per the injected clock) when the tree grew.
  int64_t checkpoint_interval_micros = 1'000'000;
  // Most leaves written in one transaction.
  size_t max_batch = 16384;
  // With shared appends: how often a follower tries to take the integrator lease and the leader
  // checks it still holds it and looks for entries appended by other processes (real time).
  std::chrono::milliseconds lease_poll{500};
  // Called (on the integrator thread, or in Start/Stop) when this process takes or loses the
  // integrator lease. May be empty.
  std::function<void(bool leading)> on_leadership{};
};

class AccessLog {
 public:
  using Callback = std::function<void(Result<uint64_t> index)>;

  // Borrows every argument: each must outlive the AccessLog. `nonces` must be thread-safe (the
  // system CSPRNG in production). REQUIRES: ValidKeyName(options.origin).
  AccessLog(store::LogStore& store, AuditKeyProvider& keys, const crypto::SigningKey& log_key,
            const Clock& clock, Random& nonces, AccessLogOptions options);
  // Stops (draining) if still running.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Takes the integrator lease if it is free; as its holder, restores the tree from the store
  // (rebuilding tiles a crash left unstored), checks that the stored log matches its latest
  // checkpoint and signs a first checkpoint if there is none. Then starts the writer and
  // integrator threads.
  // Errors: IntegrityError if the store is shorter than, or its root differs from, the latest
  // checkpoint (a rolled-back or rewritten log.db: refusing to sign a fork); store errors.
  // Call once.
  Status Start();
  // Drains: every leaf queued before Stop is made durable and its callback called; then, if this
  // process holds the integrator lease or can take it, the tree is integrated and a final
  // checkpoint signed (otherwise the leader signs them), and the lease is released. Idempotent.
  void Stop();

  // Seals `leaf` and queues it; `on_durable` is called once, with the leaf's index when its batch
  // is durable, or with an error.
  void AppendAsync(const Leaf& leaf, Callback on_durable);
  // AppendAsync and wait for the result.
  Result<uint64_t> Append(const Leaf& leaf);

  // Integrates every durable leaf now and signs a checkpoint if the tree grew since the last
  // one, whatever the interval. For shutdown, the CLI and tests. FailedPrecondition when another
  // process holds the integrator lease.
  Status IntegrateAndSign();
  // Whether this process holds the integrator lease (always, for a store with one writer).
  bool leading() const;
  // Waits (without sleeping past the deadline) until a checkpoint of at least `size` is stored.
  bool WaitForCheckpoint(uint64_t size, std::chrono::milliseconds timeout);

  // The log's note verifier (served at /log/key).
  const NoteVerifier& verifier() const { return signer_.verifier(); }
  // Number of leaves durable so far.
  uint64_t durable_size() const;
  // Size of the latest signed checkpoint.
  uint64_t checkpoint_size() const;
  // Durable write transactions of the store (fsyncs); fewer than the leaves under load.
  uint64_t sync_count() const { return store_.SyncCount(); }
  // The last error the integrator met (OK if none); it retries on its next round.
  Status integrator_status() const;

 private:
  struct Pending {
    Bytes entry;
    Callback callback;
  };

  void WriterLoop();
  void IntegratorLoop();
  // REQUIRES: integrate_mu_ held (for all four).
  Status IntegrateLocked(bool force_sign);
  Status SignLocked();
  // Restores the tree from the store as the new lease holder, signing if it grew.
  Status LeadLocked();
  // With shared appends: keeps or takes the lease, or refreshes the follower's checkpoint size.
  Status FollowOrLeadLocked(bool force_try);
  void SetLeading(bool leading);

  store::LogStore& store_;
  AuditKeyProvider& keys_;
  const Clock& clock_;
  Random& nonces_;
  const AccessLogOptions options_;
  const NoteSigner signer_;

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;       // writer waits for leaves or stop
  std::condition_variable integrate_cv_;   // integrator waits for durable leaves or stop
  std::condition_variable checkpoint_cv_;  // WaitForCheckpoint
  std::deque<Pending> queue_;              // GUARDED_BY(mu_)
  bool accepting_ = false;                 // GUARDED_BY(mu_)
  bool stop_writer_ = false;               // GUARDED_BY(mu_)
  bool stop_integrator_ = false;           // GUARDED_BY(mu_)
  uint64_t durable_size_ = 0;              // GUARDED_BY(mu_)
  uint64_t checkpoint_size_ = 0;           // GUARDED_BY(mu_)
  uint64_t integrated_size_ = 0;           // GUARDED_BY(mu_)
  // Durable batches handed from the writer to the integrator, so that it need not read them
  // back from the store: (index of the first entry, entries).
  std::deque<std::pair<uint64_t, std::vector<Bytes>>> durable_batches_;  // GUARDED_BY(mu_)
  Status integrator_status_;               // GUARDED_BY(mu_)
  bool running_ = false;                   // only Start/Stop

  std::mutex integrate_mu_;
  TreeBuilder builder_;                    // GUARDED_BY(integrate_mu_)
  uint64_t signed_size_ = 0;               // GUARDED_BY(integrate_mu_)
  bool signed_any_ = false;                // GUARDED_BY(integrate_mu_)
  UnixMicros last_signed_at_ = 0;          // GUARDED_BY(integrate_mu_)
  std::vector<store::LogTileRow> unstored_tiles_;  // GUARDED_BY(integrate_mu_)
  std::unique_ptr<store::IntegratorLease> lease_;  // GUARDED_BY(integrate_mu_); null: follower
  std::chrono::steady_clock::time_point lease_checked_{};  // GUARDED_BY(integrate_mu_)
  bool leading_ = false;                   // GUARDED_BY(mu_): lease_ != nullptr

  std::thread writer_;
  std::thread integrator_;
};

}  // namespace medvault::audit
