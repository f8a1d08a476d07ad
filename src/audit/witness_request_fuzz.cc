// Fuzz target for the witness's add-checkpoint request bodies (c2sp.org/tlog-witness).
//
// The first byte chooses how the rest is used: 's' appends a valid signature of the fixed log key
// to the rest (so that inputs reach the size, proof and state checks past the signature check);
// anything else sends the rest as is. Each input starts from a witness that holds the tree of
// size 3 over the entries "e0", "e1", "e2" (so that consistency proofs are checked), then
// replays the same body a second time. Properties: no crash; every answer is one of the
// statuses of the protocol; a 200 carries a cosignature that verifies under the witness key for
// the checkpoint it accepted; a 409 carries the recorded size as text/x.tlog.size; a replay of an
// accepted body for a size already recorded is accepted again only with the same root.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/witness.h"
#include "core/clock.h"
#include "crypto/secret.h"
#include "crypto/sign.h"

namespace {

using namespace medvault;

const char kOrigin[] = "example.org/fuzz/log";
const char kWitness[] = "witness.fuzz";

const crypto::SigningKey& FixedKey(uint8_t fill) {
  static const crypto::SigningKey log =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(crypto::kKeySize, 0x5a)));
  static const crypto::SigningKey witness =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(crypto::kKeySize, 0xa5)));
  return fill == 0x5a ? log : witness;
}

void Require(bool condition) {
  if (!condition) std::abort();
}

const std::string& StateDir() {
  static const std::string dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "witness_request_fuzz.XXXXXX").string();
    Require(mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }();
  return dir;
}

void Check(const audit::WitnessResponse& r) {
  switch (r.status) {
    case 200: {
      Require(r.body.ends_with("\n"));
      break;
    }
    case 409: {
      Require(r.content_type == "text/x.tlog.size");
      Require(!r.body.empty() && r.body.back() == '\n');
      break;
    }
    case 400:
    case 403:
    case 404:
    case 422:
      break;
    default:
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool sign = data[0] == 's';
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (sign) {
    // Sign what follows the first empty line, as the checkpoint text.
    const size_t blank = body.find("\n\n");
    if (blank == std::string::npos || !body.ends_with("\n")) return 0;
    const std::string text = body.substr(blank + 2);
    body = body.substr(0, blank + 2) + audit::NoteSigner(kOrigin, FixedKey(0x5a)).Sign(text);
  }

  std::error_code ec;
  std::filesystem::remove_all(StateDir(), ec);
  static const FakeClock clock(1767225600000000);
  audit::WitnessHandler witness(kWitness, FixedKey(0xa5),
                                {audit::MakeNoteVerifier(kOrigin, FixedKey(0x5a).public_key())},
                                StateDir(), clock);
  static const std::string seed = [] {
    audit::MemoryTree tree;
    for (const char* entry : {"e0", "e1", "e2"}) tree.AppendEntry(AsBytes(std::string(entry)));
    return "old 0\n\n" + audit::NoteSigner(kOrigin, FixedKey(0x5a))
                             .Sign(audit::FormatCheckpointText({kOrigin, 3, tree.Root()}));
  }();
  Require(witness.AddCheckpoint(seed).status == 200);
  const audit::WitnessResponse first = witness.AddCheckpoint(body);
  Check(first);
  if (first.status == 200) {
    const size_t blank = body.find("\n\n");
    Result<audit::ParsedNote> note = audit::ParseNote(std::string_view(body).substr(blank + 2));
    Require(note.ok());
    Require(
        audit::VerifyCosignatureLine(first.body, kWitness, FixedKey(0xa5).public_key(), note->text)
            .ok());
    // The witness now holds this checkpoint: the same body is answered 200 again only if its
    // old size is the checkpoint's own (same size, same root); otherwise 409 with the size.
    Result<audit::Checkpoint> checkpoint = audit::ParseCheckpointText(note->text);
    Require(checkpoint.ok());
    const audit::WitnessResponse again = witness.AddCheckpoint(body);
    Check(again);
    if (again.status == 409) Require(again.body == std::to_string(checkpoint->size) + "\n");
    if (again.status == 200) Require(body.starts_with("old " + std::to_string(checkpoint->size)));
  }
  return 0;
}
