#pragma once
// The HTTPS API server: Boost.Beast over Asio, N io threads, TLS 1.2+ (OpenSSL) or plain HTTP.
// Routes, authentication and authorization live in api/handler.h; this is the transport.
//
// Lifecycle: construct, Start() (binds, listens, returns the bound endpoint, e.g. for port 0),
// then Wait() until Stop() is called or, with `handle_signals`, SIGTERM/SIGINT arrives. Stopping
// closes the listener, lets in-flight requests finish (up to `shutdown_grace_seconds`) and closes
// idle connections.
// Thread-safety: Start() once, then Stop() from any thread (also from a signal); Wait() once.
#include <cstdint>
#include <memory>
#include <string>

#include "api/hooks.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/status.h"
#include "crypto/password.h"
#include "store/store.h"
#include "vault/notes.h"
#include "vault/patients.h"
#include "vault/users.h"

namespace medvault::api {

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see Start())
  bool plain_http = false;
  std::string tls_cert_path;  // PEM certificate chain; REQUIRED unless plain_http
  std::string tls_key_path;   // PEM private key
  int threads = 0;            // io threads; 0: one per hardware thread
  int worker_threads = 2;     // password verification (Argon2id) pool
  size_t header_limit = 16 * 1024;   // larger: 431
  size_t body_limit = 1024 * 1024;   // larger: 413
  int io_timeout_seconds = 30;       // per read (also between keep-alive requests) and per write
  int shutdown_grace_seconds = 10;
  int session_idle_seconds = 15 * 60;
  int session_absolute_seconds = 8 * 3600;
  int login_failures_per_account = 5;   // within login_failure_window_seconds, then 429
  int login_failures_per_source = 20;
  int login_failure_window_seconds = 15 * 60;
  // Patient access codes (api/access_code.h): lifetime, and failed attempts per
  // login_failure_window_seconds from one source / from all sources before 429.
  int access_code_ttl_seconds = 7 * 86400;
  int access_code_failures_per_source = 10;
  int access_code_failures_global = 100;
  // How long a validated session is trusted without the store; 0 (several nodes): never.
  int session_cache_seconds = 5;
  // The vault's Argon2id cost: unknown logins are checked against a dummy hash of this cost so
  // that they take as long as a wrong password.
  crypto::PasswordCost password_cost;
  bool handle_signals = false;    // Stop() on SIGTERM/SIGINT
  // Simulated time (`medvault serve --simulated-clock`): the clock of Services, which
  // `POST /debug/clock` sets or advances, from loopback clients only (docs/api.md "Simulated
  // clock"). Null, the default: the route does not exist (404).
  FakeClock* debug_clock = nullptr;
};

// Everything the API works with. All references must outlive the Server.
struct Services {
  store::DataStore& data;
  vault::Patients& patients;
  vault::Users& users;
  vault::Notes& notes;
  const Clock& clock;
  Random& random;  // thread-safe (session tokens)
  AuditSink& audit;
  Guard& guard;
  NoteClassifier& classifier;
  AuditQuery& audit_query;
  LogHandler log;     // empty: /log/... answers 404
  LogLine log_line;   // empty: lines go to stderr
};

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;  // "HOST:PORT" ("[::1]:PORT" for IPv6)
};

class Server {
 public:
  Server(Services services, ServerConfig config);
  ~Server();  // stops and joins if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS material, binds and starts the io threads. InvalidArgument for a bad host,
  // Unavailable if the address cannot be bound, Internal for unreadable TLS files.
  Result<Endpoint> Start();
  // Blocks until the server has stopped and every thread is joined.
  void Wait();
  // Begins a graceful stop; returns at once. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace medvault::api
