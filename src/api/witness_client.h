#pragma once
// A minimal HTTP/1.1 client for c2sp.org/tlog-witness: POSTs an add-checkpoint request body to
// `<url>/add-checkpoint` and returns the witness's answer, whatever its status. Plain `http://`
// URLs only (a witness's answer is a signature the caller checks, so transport security adds
// nothing to its integrity).
//
// Errors: InvalidArgument for a URL that is not `http://HOST:PORT[/PREFIX]`; Unavailable when the
// witness cannot be reached or does not answer within `timeout_seconds`.
// Thread-safety: thread-safe (each call uses its own connection).
#include <string>
#include <string_view>

#include "core/status.h"

namespace medvault::api {

struct WitnessHttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

Result<WitnessHttpAnswer> PostAddCheckpoint(const std::string& url, std::string_view body,
                                            int timeout_seconds);

}  // namespace medvault::api
