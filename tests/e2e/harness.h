#pragma once
// End-to-end harness: a vault made with the real `medvault` CLI in a temp dir, the real server
// started on port 0, and a small Beast HTTP(S) client. Test-only; not thread-safe.
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
  nlohmann::json Json() const;  // null if the body is not JSON
  std::string Header(const std::string& lower_name) const;
};

// One keep-alive connection; reconnects when the server closes it.
class HttpClient {
 public:
  HttpClient(std::string host, int port, bool tls, std::string ca_file = "");
  ~HttpClient();
  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {});
  // Sends raw bytes and reads whatever the server answers until it closes (plain HTTP only).
  std::string SendRaw(const std::string& bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The TOTP code of a base32 secret for the current 30-second step plus `step_offset`.
std::string TotpCode(const std::string& base32_secret, int step_offset = 0);

struct User {
  std::string login;
  std::string password;
  std::string secret;  // base32
  int next_offset = -1;  // each code is accepted once: use steps -1, 0, +1 in turn
  std::string NextCode();
};

class Vault {
 public:
  Vault();
  ~Vault();
  const std::string& dir() const { return dir_.path(); }
  std::string AddPractice(const std::string& name);
  User AddUser(const std::string& practice, const std::string& login, const std::string& role);
  // Replaces `key = ...` under [api] in medvault.toml.
  void SetApiConfig(const std::string& key, const std::string& value);

  // Starts `medvault serve` on 127.0.0.1:0 and waits for "listening on HOST:PORT".
  void Serve(bool tls = false);
  void StopServer();
  bool serving() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string ServerStderr() const;
  std::unique_ptr<HttpClient> Client() const;

  // Logs in and returns the bearer token (asserting 200).
  std::string Login(User& user);

 private:
  testing::TempDir dir_;
  int pid_ = -1;
  int port_ = 0;
  bool tls_ = false;
};

// A valid FHIR Patient with the given names and a NIR whose key is computed.
nlohmann::json SamplePatient(const std::string& family, const std::string& given,
                             const std::string& nir13 = "1841275056007");
std::string NirWithKey(const std::string& nir13);

}  // namespace medvault::e2e
