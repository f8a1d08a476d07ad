#pragma once
// Breach evidence (docs/formats/evidence.md): a directory that proves a scope offline, with no
// vault and no key but the log's public key.
//
//   WriteEvidence   `medvault breach scope --evidence DIR`: the signed checkpoint that covers
//                   every matching leaf (with the witnesses' cosignatures), each matching leaf's
//                   entry bytes, opening key and inclusion proof, a consistency proof to the
//                   latest checkpoint, the scope, the keys, and a manifest signed by the log key.
//   CheckEvidence   `medvault audit check-evidence DIR`: re-verifies all of it and recomputes the
//                   scope from the opened leaves.
//
// Errors: InvalidArgument when DIR exists and is not empty, or when a matching leaf is not yet
// covered by a signed checkpoint; IntegrityError for evidence that does not verify (naming the
// file and the check); Internal for I/O.
// Thread-safety: thread-safe (no shared state).
#include <iosfwd>
#include <string>
#include <vector>

#include "app/breach.h"
#include "store/log_store.h"

namespace medvault::app {

class VaultContext;

// Writes the evidence of `scope` (computed by ComputeScope over `log`) into `dir`, created 0700,
// files 0600, then checks it with CheckEvidence before returning.
Status WriteEvidence(VaultContext& vault, store::LogStore& log, const Scope& scope,
                     const std::string& dir);

struct EvidenceCheckOptions {
  std::string log_key;                   // expected log verifier key; empty: the one in DIR
  std::vector<std::string> witness_keys;  // expected witnesses; empty: the ones in DIR
};

struct EvidenceReport {
  std::string origin;
  std::string log_key;
  uint64_t checkpoint_size = 0;
  uint64_t latest_size = 0;
  size_t leaves = 0;
  size_t patients = 0;
  size_t canaries = 0;
  std::vector<std::string> witnesses;  // names whose cosignature of the checkpoint verified
};

Result<EvidenceReport> CheckEvidence(const std::string& dir, const EvidenceCheckOptions& options);

// `medvault audit check-evidence DIR`: prints "ok ..." lines, or exit 3 with the reason.
int RunCheckEvidence(const std::string& dir, const EvidenceCheckOptions& options,
                     std::ostream& out, std::ostream& err);

}  // namespace medvault::app
