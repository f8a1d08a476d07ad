#pragma once
// `medvault breach scope`: which patients' data reached the matching requests, and which data.
// The log is verified first; if it does not verify, no scope is produced (exit 3). Then every leaf
// is opened with its practice's audit key and the matching ones aggregated (CONTRACT.md
// "breach scope"). A request counts as exposing a patient when its leaf names the patient, carries
// field groups and has a 2xx outcome (the response was released). Canary patients are listed
// apart: they prove an extraction but expose nobody.
#include <iosfwd>
#include <string>
#include <vector>

#include "core/clock.h"

namespace medvault::app {

struct ScopeQuery {
  std::string data_dir;
  std::vector<std::string> logins;      // empty: every account
  std::vector<std::string> source_ips;  // empty: every source
  std::string since;                    // ISO 8601, inclusive; empty: from the beginning
  std::string until;                    // ISO 8601, exclusive; empty: up to now
};

// Prints the scope JSON on `out`. Returns the exit code: 0, 1 (bad query), 2, 3 (log tampered).
int RunBreachScope(const ScopeQuery& query, std::ostream& out, std::ostream& err);

}  // namespace medvault::app
