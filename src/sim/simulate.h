#pragma once
// `medvault simulate` (docs/simulate.md): creates a simulation vault of synthetic practices,
// starts the real `medvault serve --simulated-clock` on it, and drives it over HTTP through
// realistic practice days in simulated time — secretaries booking, doctors opening their agenda
// and writing notes, walk-ins, a replacement doctor, a doctor back from holidays, a centre de santé
// of 20 practitioners — then through attacks on stolen accounts. It reports, per attack strategy,
// the real patients each account received before it was contained (canaries excluded), and per
// normal scenario every refusal and step-up; as a table and as JSON (which also lists, per
// attacking account, every patient id it received and since when, for `breach scope`).
//
// Errors: the exit code is 1 for bad options or a directory that already holds a vault, 2 when the
// server cannot be started or stops answering; with `check`, 1 also when the acceptance of
// docs/guard.md fails. Nothing the simulator prints holds a patient field (ids only).
// Thread-safety: one simulation per process.
#include <cstdint>
#include <iosfwd>
#include <string>

namespace medvault::sim {

struct SimulateOptions {
  std::string data_dir;         // a new directory; the simulation vault is created there
  std::string server_binary;    // the medvault binary to serve with; empty: this executable
  int practitioner_days = 1000; // normal practice days to simulate, summed over practitioners
  int practices = 24;           // ordinary practices, besides the centre de santé (at least 20)
  int patients = 1500;          // per ordinary practice; the centre has four times as many
  uint64_t seed = 1;
  std::string json_out;         // the JSON report: a file, "-" for stdout, empty for none
  bool attacks = true;          // false: normal days only
  bool check = false;           // exit 1 unless the acceptance holds
};

// Returns the process exit code.
int RunSimulate(const SimulateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace medvault::sim
