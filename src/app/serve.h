#pragma once
// `medvault serve`: opens the vault, starts the access log (group commit, integrator) and the
// HTTP(S) server, prints "listening on HOST:PORT" once ready, and runs until SIGTERM/SIGINT; then
// in-flight requests finish and every acknowledged leaf is durable before it exits.
#include <iosfwd>
#include <string>

#include "core/clock.h"

namespace medvault::app {

struct ServeOptions {
  std::string data_dir;
  std::string listen = "127.0.0.1:8443";
  bool plain_http = false;
  const Clock* clock = nullptr;  // null: the system clock
  // Simulated time for `medvault simulate` (docs/api.md "Simulated clock"): the server's clock
  // starts at the real time and moves only through POST /debug/clock. Refused unless the vault is
  // a simulation vault (it holds kSimulationMarker), the listen address is loopback and no
  // witness is configured; a simulation vault is never served on the real clock either.
  bool simulated_clock = false;
};

// The file `medvault simulate` puts in the vaults it creates.
inline constexpr const char* kSimulationMarker = "SIMULATION";

// Returns the process exit code (0 after a clean shutdown). A stop (SIGTERM/SIGINT) never waits
// for the note classifier's compilation: if it is still running once the access log is drained
// and signed, RunServe ends the process itself (std::_Exit with that code) instead of returning.
int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace medvault::app
