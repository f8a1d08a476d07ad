#pragma once
// Test-only: an AccessLog over a real SQLite log store in a temp dir, with fake keys and clock.
// Header-only so that it is never compiled into mv_audit.
#include <gtest/gtest.h>

#include <memory>

#include "audit/access_log.h"
#include "audit/testing_keys.h"
#include "core/testing/temp_dir.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault::audit::testing {

inline constexpr char kOrigin[] = "medvault.local/test-vault/log";

inline crypto::SigningKey TestSigningKey(uint8_t seed = 7) {
  return crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(crypto::kKeySize, seed)));
}

// Owns the store, keys, clock and the log; Open() (re)creates the store and the log.
class LogFixture {
 public:
  LogFixture() : log_key_(TestSigningKey()), nonces_(NewSystemRandom()) {}

  std::string path() const { return dir_.Sub("log.db"); }
  const medvault::testing::TempDir& dir() const { return dir_; }

  // Opens the store at path() and starts a log over it.
  Status Open(AccessLogOptions options = {}) {
    log_.reset();
    store_.reset();
    Result<std::unique_ptr<store::LogStore>> store = store::OpenSqliteLogStore(path());
    if (!store.ok()) return store.status();
    store_ = std::move(store).value();
    if (options.origin.empty()) options.origin = kOrigin;
    log_ = std::make_unique<AccessLog>(*store_, keys_, log_key_, clock_, *nonces_, options);
    return log_->Start();
  }
  void Close() {
    log_.reset();
    store_.reset();
  }

  AccessLog& log() { return *log_; }
  store::LogStore& store() { return *store_; }
  FakeClock& clock() { return clock_; }
  const crypto::SigningKey& log_key() const { return log_key_; }
  FakeKeyProvider& keys() { return keys_; }

 private:
  medvault::testing::TempDir dir_;
  FakeKeyProvider keys_{"prac-1", "prac-2", "vault"};
  FakeClock clock_{1767225600000000};
  crypto::SigningKey log_key_;
  std::unique_ptr<Random> nonces_;
  std::unique_ptr<store::LogStore> store_;
  std::unique_ptr<AccessLog> log_;
};

// Appends SampleLeaf(from) .. SampleLeaf(to - 1) and waits until all are durable.
inline void AppendMany(AccessLog& log, int from, int to) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  for (int i = from; i < to; ++i) {
    log.AppendAsync(SampleLeaf(i), [&](Result<uint64_t> r) {
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done == to - from; }));
}

}  // namespace medvault::audit::testing
