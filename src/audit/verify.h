#pragma once
// Verification of the access log (docs/audit.md "Verification").
//
// Verify recomputes everything from a LogStore: every entry is re-hashed (and its header
// parsed), the tree rebuilt, every stored tile compared with the rebuilt one, and every
// checkpoint ever signed checked (the log key's signature verifies, and its root equals the
// recomputed root at its size). Checkpoints obtained elsewhere (from a witness, a monitor, an
// earlier export) can be added: a rolled-back or rewritten log.db fails against them.
// VerifyTileDirectory does the same from a directory of served files only (ExportTileDirectory,
// or a mirror fetched over HTTP), given a checkpoint and the log's verifier key.
//
// Errors: IntegrityError naming the first bad index ("first bad index N: ..."); a checkpoint
// whose root differs can only bound the bad leaf, so the message names the first index it does
// not vouch for. Internal or Unavailable for store or file errors.
// Thread-safety: thread-safe if the store is; the functions only read.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <ostream>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "audit/note.h"
#include "core/status.h"
#include "crypto/sign.h"
#include "store/log_store.h"

namespace medvault::audit {

struct VerifyOptions {
  // Signed checkpoint notes from outside the store, checked like the stored ones.
  std::vector<std::string> extra_checkpoints = {};
  // Called on the verifying thread with each chunk of entries read, in log order (the index of
  // the first, the entries), so that a caller that reads every entry anyway (breach scope) needs
  // no second pass. What it computes is worth nothing unless Verify then returns OK. An error it
  // returns stops the verification and is returned as is.
  std::function<Status(uint64_t first_index, const std::vector<Bytes>& entries)> on_entries =
      nullptr;
};

struct VerifyReport {
  uint64_t tree_size = 0;
  Hash root{};
  size_t checkpoints = 0;   // checkpoints checked
  size_t tiles = 0;         // stored tiles checked
  // "ok tree_size=N root=BASE64"
  std::string Summary() const;
};

Result<VerifyReport> Verify(store::LogStore& store, const crypto::PublicKey& log_key,
                            const VerifyOptions& options = {});

// Verifies the files under `dir` (layout of docs/formats/tiles.md) against the signed
// `checkpoint_note`. Every entry bundle and level-0 tile is read and re-hashed, every tile
// present at a higher level compared with the recomputed one, and the root checked.
Result<VerifyReport> VerifyTileDirectory(const std::string& dir, std::string_view checkpoint_note,
                                         const NoteVerifier& verifier);

// Command-line drivers (`medvault audit ...`). Output goes to `out`, diagnostics to `err`.
// Exit codes: 0 ok, 1 usage, 2 internal, 3 integrity.
//   audit verify                     → "ok tree_size=N root=BASE64"
//   audit proof --index N [--size M] → inclusion proof of entry N in the tree of size M
//                                       (default: the latest checkpoint)
//   audit proof --from A --to B      → consistency proof between tree sizes A and B
// Proofs are printed as "key value" lines then one base64 hash per line; they are verified
// before being printed.
int RunAuditVerify(store::LogStore& store, const crypto::PublicKey& log_key, std::ostream& out,
                   std::ostream& err);
// The same, then the witnesses' cosignatures. Every stored cosignature by a witness in
// `witnesses` is checked against the checkpoint it cosigns (one that does not verify: exit 3,
// "audit verify: cosignature by NAME of tree_size=N does not verify"). When any cosignature is
// stored or any witness listed, the lines after the summary are
//   cosigned tree_size=N witnesses=K   (the latest checkpoint that holds cosignatures; N=0, K=0
//                                       if none does)
//   cosignature witness=NAME tree_size=N time=T verified|unchecked   (one per cosignature of it;
//                                       unchecked: NAME is not in `witnesses`)
//   cosignatures checked=C              (across every checkpoint)
int RunAuditVerify(store::LogStore& store, const crypto::PublicKey& log_key,
                   std::span<const WitnessKey> witnesses, std::ostream& out, std::ostream& err);

struct ProofRequest {
  std::optional<uint64_t> index = {};
  std::optional<uint64_t> size = {};
  std::optional<uint64_t> from = {};
  std::optional<uint64_t> to = {};
};
int RunAuditProof(store::LogStore& store, const crypto::PublicKey& log_key,
                  const ProofRequest& request, std::ostream& out, std::ostream& err);

// Maps a status to the exit code above.
int ExitCodeFor(const Status& status);

}  // namespace medvault::audit
