#pragma once
// Guard alerts to an operator's endpoint: each alert is one HTTP POST of a JSON object to a
// configured `http://HOST:PORT[/PATH]` URL, sent from a background thread (never on a request
// path), retried with exponential backoff (1 s, 2 s, 4 s ... up to `max_attempts`) until the
// endpoint answers 2xx. The queue is bounded: when it is full the oldest alert is dropped and a
// log line says so. Alerts never carry a patient field (the caller builds them from ids, logins,
// addresses and numbers only).
//
// Thread-safety: Post() is thread-safe and never blocks on the network; Stop() once.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/status.h"

namespace medvault::api {

// One POST of `json` to `url`; the answer's status. InvalidArgument for a URL that is not
// `http://HOST:PORT[/PATH]`, Unavailable when the endpoint cannot be reached in time.
Result<int> PostJson(const std::string& url, std::string_view json, int timeout_seconds);

struct WebhookOptions {
  std::string url;
  int max_attempts = 8;
  int64_t first_backoff_ms = 1000;
  int timeout_seconds = 5;
  size_t max_queue = 10000;
};

class WebhookSender {
 public:
  // `log_line` receives one line per alert given up on or dropped; it must be thread-safe.
  WebhookSender(WebhookOptions options, std::function<void(std::string_view)> log_line);
  ~WebhookSender();  // Stop()
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Validates the URL and starts the thread.
  Status Start();
  void Post(std::string json);
  // Stops the thread: alerts still queued get one last attempt each, without backoff.
  void Stop();
  uint64_t delivered() const;

 private:
  struct Item {
    std::string json;
    int attempts = 0;
    std::chrono::steady_clock::time_point due;
  };
  void Loop();

  const WebhookOptions options_;
  std::function<void(std::string_view)> log_line_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;       // GUARDED_BY(mu_)
  uint64_t delivered_ = 0;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace medvault::api
