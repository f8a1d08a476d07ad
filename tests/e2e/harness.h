#pragma once
// End-to-end harness: a vault made with the real `medvault` CLI in a temp dir, the real server
// started on port 0 with its stdout and stderr captured to files, and a small Beast HTTP(S)
// client. Test-only; not thread-safe.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/testing/temp_dir.h"

namespace medvault::e2e {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs MEDVAULT_BIN with `args`, feeding `input` on stdin.
CommandResult RunMedvault(const std::vector<std::string>& args, const std::string& input = "");

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json Json() const;  // discarded (is_discarded()) if the body is not JSON
  std::string Header(const std::string& lower_name) const;
};

// One keep-alive connection; reconnects when the server closes it.
class HttpClient {
 public:
  // `ca_file`: the PEM certificate the server's must chain to (TLS only).
  HttpClient(std::string host, int port, bool tls, std::string ca_file = "");
  ~HttpClient();
  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {});
  // Sends raw bytes on a new plain connection and reads until the server closes it.
  std::string SendRaw(const std::string& bytes);
  // Called with every response Send() returns (e.g. to scan it for patient fields).
  void SetObserver(std::function<void(const HttpResponse&)> observer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret for the absolute time step `step`.
std::string TotpCode(const std::string& base32_secret, int64_t step);
int64_t CurrentTotpStep();

struct User {
  std::string login;
  std::string password;
  std::string secret;  // base32
  int64_t last_step = 0;
  // A code the server has not accepted yet: each step is accepted once per account and steps
  // must increase, within ±1 of the current one. Waits (polling the clock, with a deadline) for
  // the next step when the three usable ones are spent.
  std::string NextCode();
};

// `medvault serve` on 127.0.0.1:0 over a vault's directory (plain HTTP, or HTTPS with the vault's
// certificate), as a child process that can be stopped or killed: the vault's own server, the
// crash tests, and several nodes of one PostgreSQL vault. Its stdout and stderr go to
// DIR/NAME.out and DIR/NAME.err. Killed (SIGKILL) on destruction if still running.
class ServerProcess {
 public:
  ServerProcess(std::string data_dir, std::string name, bool tls = false);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // An environment variable for the next Start (on top of this process's environment).
  void SetEnv(std::string name, std::string value) { env_[std::move(name)] = std::move(value); }
  // Starts the server and waits for its `listening on` line; its port, or 0.
  int Start();
  int port() const { return port_; }
  bool running() const { return pid_ > 0; }
  // SIGKILL: no drain, no final checkpoint, nothing flushed that was not already durable.
  void Kill();
  // SIGTERM, then waits (with a deadline) for the exit; its exit code, or -1.
  int Stop();
  // Everything the process wrote to stdout and stderr so far.
  std::string Output() const;
  std::unique_ptr<HttpClient> Client() const;

 private:
  std::string dir_;
  std::string name_;
  bool tls_ = false;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Whether this run's vaults use PostgreSQL (MEDVAULT_E2E_BACKEND=postgres, set by CTest for the
// e2e.postgres.* tests), each in a fresh database of the test cluster; else SQLite.
bool PostgresBackend();

class Vault {
 public:
  // `medvault init` in a fresh temp dir, with a low Argon2id cost (argon2_ops = 1, 8 MiB); on
  // PostgreSQL (PostgresBackend()) with its data and log in a fresh database.
  Vault();
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;
  const std::string& dir() const { return dir_.path(); }
  // The vault's database URL on PostgreSQL; empty on SQLite.
  const std::string& pg_url() const { return pg_url_; }
  std::string AddPractice(const std::string& name);
  // `display_name` empty: the default (the login).
  User AddUser(const std::string& practice, const std::string& login, const std::string& role,
               const std::string& display_name = "");
  // Replaces the line `key = ...` of medvault.toml (keys are unique across its sections).
  void SetConfig(const std::string& key, const std::string& value);
  // Locks the account in the vault's store, as the guard's containment leaves it.
  void LockAccount(const std::string& login);

  // Starts `medvault serve` on 127.0.0.1:0 (HTTPS with DIR/tls/cert.pem, or plain HTTP) and
  // waits for its `listening on HOST:PORT` line (a ServerProcess named "server").
  void Serve(bool tls = false);
  // SIGTERM, then waits (with a deadline) for the process to exit; its exit code, or -1.
  int StopServer();
  bool serving() const;
  int port() const;
  // Everything the server wrote to stdout and stderr so far.
  std::string ServerOutput() const;
  std::unique_ptr<HttpClient> Client() const;

  // Logs in and returns the bearer token (expecting 200).
  std::string Login(User& user);

 private:
  testing::TempDir dir_;
  std::string pg_url_;
  std::unique_ptr<ServerProcess> server_;
};

// A valid FHIR Patient with the given names and a NIR (13 digits + computed key).
nlohmann::json SamplePatient(const std::string& family, const std::string& given,
                             const std::string& nir13 = "1841275056007");
std::string NirWithKey(const std::string& nir13);

// Request headers, and the Authorization header of a bearer token.
using Headers = std::map<std::string, std::string>;
Headers Bearer(const std::string& token);
// The first issue code of an OperationOutcome response ("login", "forbidden"...), or "" when the
// body is not one.
std::string IssueCode(const HttpResponse& r);

// Polls `condition` until it holds or `timeout_ms` passes; whether it held.
bool WaitFor(const std::function<bool()>& condition, int timeout_ms, int poll_ms = 50);

}  // namespace medvault::e2e
