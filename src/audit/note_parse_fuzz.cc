// Fuzz target for the parsers of signed notes, checkpoints and keys that come from outside (a
// witness, a mirror, a monitor). Properties: no crash (nor sanitizer report); a parsed checkpoint
// re-renders as the text it came from (its three lines; extension lines follow them); whatever
// OpenCheckpoint accepts under the fixed verifier is signed by it and parses to the same
// checkpoint; the input's text signed with the fixed key opens iff it is a checkpoint of that
// origin; parsed keys re-render identically.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/note.h"
#include "crypto/secret.h"
#include "crypto/sign.h"

namespace {

using namespace medvault;

const crypto::SigningKey& LogKey() {
  static const crypto::SigningKey key =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(crypto::kKeySize, 0x5a)));
  return key;
}

const char kOrigin[] = "example.org/fuzz/log";

void Require(bool condition) {
  if (!condition) std::abort();
}

bool SameCheckpoint(const audit::Checkpoint& a, const audit::Checkpoint& b) {
  return a.origin == b.origin && a.size == b.size && a.root == b.root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const audit::NoteSigner signer(kOrigin, LogKey());

  Result<audit::Checkpoint> text_checkpoint = audit::ParseCheckpointText(input);
  if (text_checkpoint.ok()) {
    Require(input.starts_with(audit::FormatCheckpointText(*text_checkpoint)));
    // Signing the text with the log's key: opens iff the origin is the key's name.
    const std::string signed_note = signer.Sign(input);
    Result<audit::Checkpoint> opened = audit::OpenCheckpoint(signed_note, signer.verifier());
    Require(opened.ok() == (text_checkpoint->origin == kOrigin));
    if (opened.ok()) Require(SameCheckpoint(*opened, *text_checkpoint));
  }

  Result<audit::ParsedNote> note = audit::ParseNote(input);
  if (note.ok()) {
    Require(!note->signatures.empty());
    Require(input.starts_with(note->text + "\n"));
  }
  Result<audit::Checkpoint> opened = audit::OpenCheckpoint(input, signer.verifier());
  if (opened.ok()) {
    Require(note.ok());
    Result<std::string> text = audit::VerifyNote(input, signer.verifier());
    Require(text.ok() && *text == note->text);
    Result<audit::Checkpoint> again = audit::ParseCheckpointText(*text);
    Require(again.ok() && SameCheckpoint(*again, *opened) && opened->origin == kOrigin);
  }

  Result<audit::NoteVerifier> verifier = audit::ParseVerifierKey(input);
  if (verifier.ok()) {
    std::string_view trimmed = input;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) {
      trimmed.remove_suffix(1);
    }
    Require(audit::FormatVerifierKey(*verifier) == trimmed);
  }
  (void)audit::ParseWitnessKey(input);
  (void)audit::SignatureLineName(input);
  return 0;
}
