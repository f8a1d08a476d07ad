#include "audit/access_log.h"

#include <algorithm>

namespace medvault::audit {
namespace {

constexpr uint64_t kIntegrateChunk = 4096;
constexpr std::chrono::microseconds kMinimumWait{1000};

}  // namespace

AccessLog::AccessLog(store::LogStore& store, AuditKeyProvider& keys,
                     const crypto::SigningKey& log_key, const Clock& clock, Random& nonces,
                     AccessLogOptions options)
    : store_(store),
      keys_(keys),
      clock_(clock),
      nonces_(nonces),
      options_(std::move(options)),
      signer_(options_.origin, log_key) {}

AccessLog::~AccessLog() { Stop(); }

Status AccessLog::Start() {
  {
    std::lock_guard<std::mutex> integrate_lock(integrate_mu_);
    if (store_.SharedAppends()) {
      MV_RETURN_IF_ERROR(FollowOrLeadLocked(/*force_try=*/true));
    } else {
      MV_ASSIGN_OR_RETURN(lease_, store_.TryAcquireIntegratorLease());
      if (!lease_) return FailedPrecondition("another process integrates the access log");
      if (Status s = LeadLocked(); !s.ok()) {
        lease_.reset();
        return s;
      }
      SetLeading(true);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = true;
    stop_writer_ = false;
    stop_integrator_ = false;
  }
  writer_ = std::thread([this] { WriterLoop(); });
  integrator_ = std::thread([this] { IntegratorLoop(); });
  running_ = true;
  return Status::Ok();
}

Status AccessLog::LeadLocked() {
  MV_ASSIGN_OR_RETURN(uint64_t count, store_.EntryCount());
  StoredTree stored(store_);
  MV_ASSIGN_OR_RETURN(TreeBuilder builder, stored.Restore(count));
  MV_RETURN_IF_ERROR(store_.PutTiles(stored.rebuilt()));
  MV_ASSIGN_OR_RETURN(std::optional<store::LogCheckpointRow> latest, store_.LatestCheckpoint());

  builder_ = std::move(builder);
  unstored_tiles_.clear();
  signed_size_ = 0;
  signed_any_ = false;
  last_signed_at_ = 0;
  if (latest) {
    MV_ASSIGN_OR_RETURN(Checkpoint checkpoint, OpenCheckpoint(latest->note, verifier()));
    if (checkpoint.size > count) {
      return IntegrityError("log holds " + std::to_string(count) +
                            " entries but a checkpoint of size " +
                            std::to_string(checkpoint.size) + " was signed: first bad index " +
                            std::to_string(count));
    }
    MV_ASSIGN_OR_RETURN(Hash root, RootAt(stored, checkpoint.size));
    if (root != checkpoint.root) {
      return IntegrityError("log differs from its latest checkpoint (tree_size=" +
                            std::to_string(checkpoint.size) + ")");
    }
    signed_size_ = checkpoint.size;
    signed_any_ = true;
    last_signed_at_ = latest->signed_at;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    durable_size_ = std::max(durable_size_, count);
    integrated_size_ = count;
    checkpoint_size_ = std::max(checkpoint_size_, signed_size_);
    // Batches written before this point are in `count` already (or are read back later).
    durable_batches_.clear();
  }
  if (!signed_any_ || builder_.size() > signed_size_) MV_RETURN_IF_ERROR(SignLocked());
  return Status::Ok();
}

Status AccessLog::FollowOrLeadLocked(bool force_try) {
  const auto now = std::chrono::steady_clock::now();
  const bool due = force_try || now - lease_checked_ >= options_.lease_poll;
  if (lease_ && due) {
    lease_checked_ = now;
    if (!lease_->StillHeld()) {
      lease_.reset();
      SetLeading(false);
    }
  } else if (!lease_ && due) {
    lease_checked_ = now;
    MV_ASSIGN_OR_RETURN(lease_, store_.TryAcquireIntegratorLease());
    if (lease_) {
      if (Status s = LeadLocked(); !s.ok()) {
        lease_.reset();  // let another process try; this one tries again later
        return s;
      }
      SetLeading(true);
    }
  }
  if (lease_) {
    // The leader integrates what every process appended.
    MV_ASSIGN_OR_RETURN(uint64_t count, store_.EntryCount());
    std::lock_guard<std::mutex> lock(mu_);
    durable_size_ = std::max(durable_size_, count);
    return Status::Ok();
  }
  if (!due) return Status::Ok();
  // A follower serves the leader's latest checkpoint.
  MV_ASSIGN_OR_RETURN(std::optional<store::LogCheckpointRow> latest, store_.LatestCheckpoint());
  if (latest) {
    std::lock_guard<std::mutex> lock(mu_);
    if (latest->tree_size > checkpoint_size_) {
      checkpoint_size_ = latest->tree_size;
      checkpoint_cv_.notify_all();
    }
  }
  return Status::Ok();
}

void AccessLog::SetLeading(bool leading) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leading_ == leading) return;
    leading_ = leading;
  }
  if (options_.on_leadership) options_.on_leadership(leading);
}

bool AccessLog::leading() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leading_;
}

void AccessLog::Stop() {
  if (!running_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    stop_writer_ = true;
  }
  queue_cv_.notify_all();
  writer_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_integrator_ = true;
  }
  integrate_cv_.notify_all();
  integrator_.join();
  Status s;
  {
    std::lock_guard<std::mutex> integrate_lock(integrate_mu_);
    if (store_.SharedAppends()) s = FollowOrLeadLocked(/*force_try=*/true);
    if (s.ok() && lease_) s = IntegrateLocked(/*force_sign=*/true);
    // Released at once, so that another process need not wait for this session to time out.
    lease_.reset();
    SetLeading(false);
  }
  std::lock_guard<std::mutex> lock(mu_);
  integrator_status_ = s;
  running_ = false;
}

void AccessLog::AppendAsync(const Leaf& leaf, Callback on_durable) {
  Result<Bytes> entry = SealLeaf(leaf, keys_, nonces_);
  if (!entry.ok()) {
    on_durable(entry.status());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (accepting_) {
      // The writer waits only on an empty queue, so only the first push needs to wake it.
      const bool was_empty = queue_.empty();
      queue_.push_back({std::move(entry).value(), std::move(on_durable)});
      if (was_empty) queue_cv_.notify_one();
      return;
    }
  }
  on_durable(Unavailable("access log stopped"));
}

Result<uint64_t> AccessLog::Append(const Leaf& leaf) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<uint64_t>> result;
  AppendAsync(leaf, [&](Result<uint64_t> r) {
    std::lock_guard<std::mutex> lock(mu);
    result.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

void AccessLog::WriterLoop() {
  std::vector<Bytes> entries;
  std::vector<Callback> callbacks;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_cv_.wait(lock, [&] { return !queue_.empty() || stop_writer_; });
      if (queue_.empty()) return;  // stopping, and drained
      const size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        entries.push_back(std::move(queue_.front().entry));
        callbacks.push_back(std::move(queue_.front().callback));
        queue_.pop_front();
      }
    }
    Result<uint64_t> first = store_.AppendEntries(entries);
    if (first.ok()) {
      const uint64_t end = *first + entries.size();
      {
        std::lock_guard<std::mutex> lock(mu_);
        durable_size_ = std::max(durable_size_, end);
        // Handed to the integrator only if this process integrates; a follower's are read back
        // by the leader from the store.
        if (leading_) durable_batches_.emplace_back(*first, std::move(entries));
      }
      integrate_cv_.notify_one();
      for (size_t i = 0; i < callbacks.size(); ++i) callbacks[i](*first + i);
    } else {
      for (Callback& callback : callbacks) callback(first.status());
    }
    entries = std::vector<Bytes>();
    callbacks.clear();
  }
}

void AccessLog::IntegratorLoop() {
  const bool shared = store_.SharedAppends();
  const auto poll = std::chrono::duration_cast<std::chrono::microseconds>(options_.lease_poll);
  std::chrono::microseconds wait{0};  // 0: wait for new leaves only (shared: for lease_poll)
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // A follower integrates nothing: only the poll (or stopping) wakes it.
      auto ready = [&] {
        return stop_integrator_ || (leading_ && durable_size_ > integrated_size_);
      };
      if (shared) {
        integrate_cv_.wait_for(lock, wait.count() > 0 ? std::min(wait, poll) : poll, ready);
      } else if (wait.count() > 0) {
        integrate_cv_.wait_for(lock, wait, ready);
      } else {
        integrate_cv_.wait(lock, ready);
      }
      if (stop_integrator_) return;
    }
    Status s;
    {
      std::lock_guard<std::mutex> integrate_lock(integrate_mu_);
      if (shared) s = FollowOrLeadLocked(/*force_try=*/false);
      wait = std::chrono::microseconds(0);
      if (s.ok() && lease_) {
        s = IntegrateLocked(/*force_sign=*/false);
        if (builder_.size() > signed_size_ || !unstored_tiles_.empty()) {
          const int64_t remaining =
              last_signed_at_ + options_.checkpoint_interval_micros - clock_.Now();
          wait = std::max(kMinimumWait, std::chrono::microseconds(remaining));
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    integrator_status_ = s;
  }
}

Status AccessLog::IntegrateAndSign() {
  std::lock_guard<std::mutex> integrate_lock(integrate_mu_);
  if (store_.SharedAppends()) MV_RETURN_IF_ERROR(FollowOrLeadLocked(/*force_try=*/true));
  if (!lease_) return FailedPrecondition("another process integrates the access log");
  return IntegrateLocked(/*force_sign=*/true);
}

Status AccessLog::IntegrateLocked(bool force_sign) {
  uint64_t target = 0;
  std::deque<std::pair<uint64_t, std::vector<Bytes>>> batches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = durable_size_;
    batches.swap(durable_batches_);
  }
  // Batches handed over by the writer, in order; anything else is read back from the store.
  for (const auto& [first, entries] : batches) {
    if (first != builder_.size()) break;
    for (const Bytes& e : entries) builder_.Append(HashLeaf(e), &unstored_tiles_);
  }
  while (builder_.size() < target) {
    const uint64_t start = builder_.size();
    const uint64_t n = std::min(target - start, kIntegrateChunk);
    MV_ASSIGN_OR_RETURN(std::vector<Bytes> entries, store_.ReadEntries(start, n));
    if (entries.size() != n) {
      return Internal("access log: entries " + std::to_string(start) + ".." +
                      std::to_string(start + n) + " not readable");
    }
    for (const Bytes& e : entries) builder_.Append(HashLeaf(e), &unstored_tiles_);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    integrated_size_ = builder_.size();
  }
  // Tiles go to the store before any checkpoint that covers them.
  if (!unstored_tiles_.empty()) {
    MV_RETURN_IF_ERROR(store_.PutTiles(unstored_tiles_));
    unstored_tiles_.clear();
  }
  if (builder_.size() == signed_size_ && signed_any_) return Status::Ok();
  if (!force_sign && clock_.Now() - last_signed_at_ < options_.checkpoint_interval_micros) {
    return Status::Ok();
  }
  // Another process may have taken over since the last check: never sign without the lease.
  if (store_.SharedAppends() && !lease_->StillHeld()) {
    lease_.reset();
    SetLeading(false);
    return Unavailable("access log: the integrator lease was lost");
  }
  return SignLocked();
}

Status AccessLog::SignLocked() {
  const Checkpoint checkpoint{options_.origin, builder_.size(), builder_.Root()};
  const UnixMicros now = clock_.Now();
  const std::string note = signer_.Sign(FormatCheckpointText(checkpoint));
  MV_RETURN_IF_ERROR(store_.AddCheckpoint({checkpoint.size, now, note}));
  signed_size_ = checkpoint.size;
  signed_any_ = true;
  last_signed_at_ = now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checkpoint_size_ = checkpoint.size;
  }
  checkpoint_cv_.notify_all();
  return Status::Ok();
}

bool AccessLog::WaitForCheckpoint(uint64_t size, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return checkpoint_cv_.wait_for(lock, timeout, [&] { return checkpoint_size_ >= size; });
}

uint64_t AccessLog::durable_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_size_;
}

uint64_t AccessLog::checkpoint_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return checkpoint_size_;
}

Status AccessLog::integrator_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return integrator_status_;
}

}  // namespace medvault::audit
