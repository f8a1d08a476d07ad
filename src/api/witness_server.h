#pragma once
// The HTTP face of a witness (c2sp.org/tlog-witness): `POST /add-checkpoint` over plain HTTP/1.1,
// answered by a function (audit::WitnessHandler::AddCheckpoint in `medvault witness serve`).
// Plain HTTP is enough: the witness signs only what it has checked, and a client checks the
// cosignature it gets back. Every other route is 404, another method on the route 405.
//
// Lifecycle: construct, Start() (binds; returns the bound endpoint, e.g. for port 0), then Wait()
// until Stop() or, with `handle_signals`, SIGTERM/SIGINT. Stopping closes the listener and drops
// open connections (a witness's state is written atomically before it answers, so a dropped
// answer only makes the client retry).
// Thread-safety: Start() once, then Stop() from any thread; Wait() once. `add_checkpoint` is
// called from the io threads, possibly concurrently, and must be thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/server.h"
#include "core/status.h"

namespace medvault::api {

struct WitnessReply {
  int status = 200;
  std::string content_type;
  std::string body;
};

struct WitnessServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;              // 0: any free port
  int threads = 2;                // io threads
  size_t body_limit = 64 * 1024;  // a checkpoint and 63 proof lines fit easily; larger: 413
  int io_timeout_seconds = 30;    // per read and per write
  bool handle_signals = false;    // Stop() on SIGTERM/SIGINT
  // Called with every answered request: "POST /add-checkpoint 409 <first body line>".
  std::function<void(std::string_view line)> log_line;
};

class WitnessServer {
 public:
  using AddCheckpoint = std::function<WitnessReply(std::string_view body)>;

  WitnessServer(AddCheckpoint add_checkpoint, WitnessServerConfig config);
  ~WitnessServer();  // stops and joins if still running
  WitnessServer(const WitnessServer&) = delete;
  WitnessServer& operator=(const WitnessServer&) = delete;

  // Binds and starts the io threads. InvalidArgument for a bad host, Unavailable if the address
  // cannot be bound.
  Result<Endpoint> Start();
  // Blocks until the server has stopped and every thread is joined.
  void Wait();
  // Begins stopping; returns at once. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace medvault::api
