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
  MV_ASSIGN_OR_RETURN(uint64_t count, store_.EntryCount());
  StoredTree stored(store_);
  MV_ASSIGN_OR_RETURN(TreeBuilder builder, stored.Restore(count));
  MV_RETURN_IF_ERROR(store_.PutTiles(stored.rebuilt()));
  MV_ASSIGN_OR_RETURN(std::optional<store::LogCheckpointRow> latest, store_.LatestCheckpoint());

  std::lock_guard<std::mutex> integrate_lock(integrate_mu_);
  builder_ = std::move(builder);
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
    durable_size_ = count;
    integrated_size_ = count;
    checkpoint_size_ = signed_size_;
  }
  if (!signed_any_ || builder_.size() > signed_size_) MV_RETURN_IF_ERROR(SignLocked());
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
    s = IntegrateLocked(/*force_sign=*/true);
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
        durable_batches_.emplace_back(*first, std::move(entries));
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
  std::chrono::microseconds wait{0};  // 0: wait for new leaves only
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return stop_integrator_ || durable_size_ > integrated_size_; };
      if (wait.count() > 0) {
        integrate_cv_.wait_for(lock, wait, ready);
      } else {
        integrate_cv_.wait(lock, ready);
      }
      if (stop_integrator_) return;
    }
    Status s;
    {
      std::lock_guard<std::mutex> integrate_lock(integrate_mu_);
      s = IntegrateLocked(/*force_sign=*/false);
      wait = std::chrono::microseconds(0);
      if (builder_.size() > signed_size_ || !unstored_tiles_.empty()) {
        const int64_t remaining =
            last_signed_at_ + options_.checkpoint_interval_micros - clock_.Now();
        wait = std::max(kMinimumWait, std::chrono::microseconds(remaining));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    integrator_status_ = s;
  }
}

Status AccessLog::IntegrateAndSign() {
  std::lock_guard<std::mutex> integrate_lock(integrate_mu_);
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
