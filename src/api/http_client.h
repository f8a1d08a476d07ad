#pragma once
// A small synchronous HTTP/1.1 client over one keep-alive plain-HTTP connection, for tools that
// drive a medvault server as its clients would (`medvault simulate`). It may bind its socket to a
// chosen local address first, so that one process can appear as many client addresses (on Linux
// every 127.0.0.0/8 address is a loopback address).
//
// Errors: Unavailable when the server cannot be reached or the exchange fails (after one retry on
// a fresh connection, since a keep-alive connection may have been closed by the server).
// Thread-safety: not thread-safe; one client per thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace medvault::api {

struct HttpAnswer {
  int status = 0;
  std::string www_authenticate;
  std::string body;
};

class HttpClient {
 public:
  // `local_address`: the address the socket binds before connecting; empty: any.
  HttpClient(std::string host, uint16_t port, std::string local_address = "",
             int timeout_seconds = 120);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request; a non-empty body goes as application/fhir+json unless `headers` says
  // otherwise.
  Result<HttpAnswer> Send(std::string_view method, std::string_view target, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The RFC 6238 code (SHA-1, 6 digits, 30 s) for time step `step` of the secret in an otpauth://
// provisioning URI (as `medvault user add` prints it). InvalidArgument for a URI without a valid
// base32 `secret` parameter.
Result<std::string> TotpCodeFromUri(std::string_view uri, int64_t step);

}  // namespace medvault::api
