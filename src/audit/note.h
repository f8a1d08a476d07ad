#pragma once
// C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and Ed25519
// witness cosignatures (c2sp.org/tlog-cosignature). docs/formats/checkpoint.md shows examples.
//
//   note      = text (ends with "\n") || "\n" || one or more signature lines
//   signature = "— " key-name " " base64(key id (4 bytes, big-endian) || signature) "\n"
//   key id    = SHA-256(key-name || "\n" || type || public key)[:4], type 0x01 for Ed25519
//               note signatures, 0x04 for timestamped Ed25519 cosignatures
//   checkpoint text = origin "\n" tree size "\n" base64(root) "\n"
//
// Errors: IntegrityError for a note that is malformed or whose signature does not verify
// (verification failures are never downgraded); InvalidArgument for bad keys or names.
// Thread-safety: thread-safe; NoteSigner is immutable.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "core/bytes.h"
#include "core/status.h"
#include "crypto/sign.h"

namespace medvault::audit {

inline constexpr uint8_t kSignatureTypeEd25519 = 0x01;
inline constexpr uint8_t kSignatureTypeCosignature = 0x04;

uint32_t NoteKeyId(std::string_view name, uint8_t type, const crypto::PublicKey& key);

// A note verifier key: name, key id and public key. Its text form (served at /log/key) is
// "name+" 8 lower-case hex digits of the key id "+" base64(0x01 || public key).
struct NoteVerifier {
  std::string name;
  uint32_t key_id = 0;
  crypto::PublicKey key{};
};
NoteVerifier MakeNoteVerifier(std::string name, const crypto::PublicKey& key);
std::string FormatVerifierKey(const NoteVerifier& verifier);
Result<NoteVerifier> ParseVerifierKey(std::string_view text);

// A key name is valid when non-empty, without spaces, '+' or control characters.
bool ValidKeyName(std::string_view name);

// Signs note texts with an Ed25519 key under `name`. REQUIRES: ValidKeyName(name); `key`
// outlives the signer.
class NoteSigner {
 public:
  NoteSigner(std::string name, const crypto::SigningKey& key);
  // The signed note for `text`. REQUIRES: text ends with "\n".
  std::string Sign(std::string_view text) const;
  const NoteVerifier& verifier() const { return verifier_; }

 private:
  const crypto::SigningKey& key_;
  NoteVerifier verifier_;
};

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  Bytes signature;  // without the key id
};
struct ParsedNote {
  std::string text;  // including its final newline
  std::vector<NoteSignature> signatures;
};
Result<ParsedNote> ParseNote(std::string_view note);

// The text of `note` if it carries a valid signature of `verifier` (signatures of other keys
// are ignored). IntegrityError if none is present or it does not verify.
Result<std::string> VerifyNote(std::string_view note, const NoteVerifier& verifier);

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};
std::string FormatCheckpointText(const Checkpoint& checkpoint);
Result<Checkpoint> ParseCheckpointText(std::string_view text);
// VerifyNote + ParseCheckpointText, and the origin must equal the verifier's name.
Result<Checkpoint> OpenCheckpoint(std::string_view note, const NoteVerifier& verifier);

// A timestamped Ed25519 cosignature line of `checkpoint_text` by a witness named `name`.
std::string CosignatureLine(std::string_view name, const crypto::SigningKey& key,
                            uint64_t timestamp_seconds, std::string_view checkpoint_text);
// A witness's cosignature key, text form "name+" 8 hex digits of the key id (type 0x04) "+"
// base64(0x04 || public key) (WitnessHandler::VerifierKey). InvalidArgument if malformed.
struct WitnessKey {
  std::string name;
  crypto::PublicKey key{};
};
Result<WitnessKey> ParseWitnessKey(std::string_view text);
// The key name of a signature line "— name base64...". InvalidArgument if malformed.
Result<std::string> SignatureLineName(std::string_view line);

// Checks a cosignature line against the witness key; returns its timestamp.
Result<uint64_t> VerifyCosignatureLine(std::string_view line, std::string_view name,
                                       const crypto::PublicKey& key,
                                       std::string_view checkpoint_text);

}  // namespace medvault::audit
