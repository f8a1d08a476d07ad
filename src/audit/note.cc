#include "audit/note.h"

#include <charconv>
#include <cstdio>

#include "crypto/hash.h"

namespace medvault::audit {
namespace {

constexpr std::string_view kDash = "\xE2\x80\x94";  // U+2014 EM DASH
constexpr size_t kKeyIdSize = 4;
constexpr size_t kMaxSignatures = 64;

void PutBigEndian32(Bytes* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}
uint32_t ReadBigEndian32(ByteView b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}
void PutBigEndian64(Bytes* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

std::string SignatureLine(std::string_view name, uint32_t key_id, ByteView signature) {
  Bytes blob;
  PutBigEndian32(&blob, key_id);
  blob.insert(blob.end(), signature.begin(), signature.end());
  std::string line(kDash);
  line += ' ';
  line += name;
  line += ' ';
  line += Base64Encode(blob);
  line += '\n';
  return line;
}

Result<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return IntegrityError("bad decimal number");
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return IntegrityError("bad decimal number");
  return v;
}

Result<NoteSignature> ParseSignatureLine(std::string_view line) {
  if (line.substr(0, kDash.size()) != kDash || line.size() <= kDash.size() + 1 ||
      line[kDash.size()] != ' ') {
    return IntegrityError("note: malformed signature line");
  }
  line.remove_prefix(kDash.size() + 1);
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return IntegrityError("note: malformed signature line");
  NoteSignature sig;
  sig.name = std::string(line.substr(0, space));
  if (!ValidKeyName(sig.name)) return IntegrityError("note: bad key name");
  Result<Bytes> blob = Base64Decode(line.substr(space + 1));
  if (!blob.ok() || blob->size() < kKeyIdSize + 1) {
    return IntegrityError("note: malformed signature");
  }
  sig.key_id = ReadBigEndian32(*blob);
  sig.signature.assign(blob->begin() + kKeyIdSize, blob->end());
  return sig;
}

bool ToSignature(ByteView bytes, crypto::Signature* out) {
  if (bytes.size() != out->size()) return false;
  std::copy(bytes.begin(), bytes.end(), out->begin());
  return true;
}

std::string CosignedMessage(uint64_t timestamp, std::string_view text) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(text);
}

}  // namespace

uint32_t NoteKeyId(std::string_view name, uint8_t type, const crypto::PublicKey& key) {
  crypto::Sha256Hasher hasher;
  hasher.Update(AsBytes(name));
  const uint8_t sep[2] = {'\n', type};
  hasher.Update(ByteView(sep, 2));
  hasher.Update(key);
  const crypto::Digest32 digest = hasher.Finish();
  return ReadBigEndian32(digest);
}

NoteVerifier MakeNoteVerifier(std::string name, const crypto::PublicKey& key) {
  NoteVerifier v;
  v.key_id = NoteKeyId(name, kSignatureTypeEd25519, key);
  v.name = std::move(name);
  v.key = key;
  return v;
}

std::string FormatVerifierKey(const NoteVerifier& verifier) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", verifier.key_id);
  Bytes material;
  material.push_back(kSignatureTypeEd25519);
  material.insert(material.end(), verifier.key.begin(), verifier.key.end());
  return verifier.name + "+" + hex + "+" + Base64Encode(material);
}

Result<NoteVerifier> ParseVerifierKey(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const size_t first = text.find('+');
  const size_t second = first == std::string_view::npos ? first : text.find('+', first + 1);
  if (second == std::string_view::npos) return InvalidArgument("verifier key: malformed");
  const std::string_view name = text.substr(0, first);
  const std::string_view hex = text.substr(first + 1, second - first - 1);
  Result<Bytes> material = Base64Decode(text.substr(second + 1));
  Result<Bytes> id = HexDecode(hex);
  if (!ValidKeyName(name) || !material.ok() || !id.ok() || id->size() != kKeyIdSize ||
      material->size() != 33 || (*material)[0] != kSignatureTypeEd25519) {
    return InvalidArgument("verifier key: malformed");
  }
  crypto::PublicKey key{};
  std::copy(material->begin() + 1, material->end(), key.begin());
  NoteVerifier v = MakeNoteVerifier(std::string(name), key);
  if (v.key_id != ReadBigEndian32(*id)) return InvalidArgument("verifier key: key id mismatch");
  return v;
}

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '+' || u == 0x7f) return false;
  }
  return true;
}

NoteSigner::NoteSigner(std::string name, const crypto::SigningKey& key)
    : key_(key), verifier_(MakeNoteVerifier(std::move(name), key.public_key())) {}

std::string NoteSigner::Sign(std::string_view text) const {
  const crypto::Signature sig = key_.Sign(AsBytes(text));
  std::string note(text);
  note += '\n';
  note += SignatureLine(verifier_.name, verifier_.key_id, sig);
  return note;
}

Result<ParsedNote> ParseNote(std::string_view note) {
  for (char c : note) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n') return IntegrityError("note: control character");
  }
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.empty() || note.back() != '\n') {
    return IntegrityError("note: no signature block");
  }
  ParsedNote parsed;
  parsed.text = std::string(note.substr(0, split + 1));
  std::string_view rest = note.substr(split + 2);
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    MV_ASSIGN_OR_RETURN(NoteSignature sig, ParseSignatureLine(rest.substr(0, end)));
    parsed.signatures.push_back(std::move(sig));
    if (parsed.signatures.size() > kMaxSignatures) return IntegrityError("note: too many signatures");
    rest.remove_prefix(end + 1);
  }
  if (parsed.signatures.empty()) return IntegrityError("note: no signature");
  return parsed;
}

Result<std::string> VerifyNote(std::string_view note, const NoteVerifier& verifier) {
  MV_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  bool verified = false;
  for (const NoteSignature& sig : parsed.signatures) {
    if (sig.name != verifier.name || sig.key_id != verifier.key_id) continue;
    crypto::Signature raw{};
    if (!ToSignature(sig.signature, &raw) ||
        !crypto::VerifySignature(verifier.key, AsBytes(parsed.text), raw)) {
      return IntegrityError("note: signature of " + verifier.name + " does not verify");
    }
    verified = true;
  }
  if (!verified) return IntegrityError("note: no signature by " + verifier.name);
  return parsed.text;
}

std::string FormatCheckpointText(const Checkpoint& checkpoint) {
  return checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
         Base64Encode(checkpoint.root) + "\n";
}

Result<Checkpoint> ParseCheckpointText(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) return IntegrityError("checkpoint: unterminated line");
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  if (lines.size() < 3) return IntegrityError("checkpoint: fewer than three lines");
  for (std::string_view line : lines) {
    if (line.empty()) return IntegrityError("checkpoint: empty line");
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  MV_ASSIGN_OR_RETURN(c.size, ParseDecimal(lines[1]));
  Result<Bytes> root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != kHashSize) return IntegrityError("checkpoint: bad root hash");
  std::copy(root->begin(), root->end(), c.root.begin());
  return c;
}

Result<Checkpoint> OpenCheckpoint(std::string_view note, const NoteVerifier& verifier) {
  MV_ASSIGN_OR_RETURN(std::string text, VerifyNote(note, verifier));
  MV_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpointText(text));
  if (c.origin != verifier.name) return IntegrityError("checkpoint: origin is not the key name");
  return c;
}

std::string CosignatureLine(std::string_view name, const crypto::SigningKey& key,
                            uint64_t timestamp_seconds, std::string_view checkpoint_text) {
  const std::string message = CosignedMessage(timestamp_seconds, checkpoint_text);
  const crypto::Signature sig = key.Sign(AsBytes(message));
  Bytes body;
  PutBigEndian64(&body, timestamp_seconds);
  body.insert(body.end(), sig.begin(), sig.end());
  return SignatureLine(name, NoteKeyId(name, kSignatureTypeCosignature, key.public_key()), body);
}

Result<uint64_t> VerifyCosignatureLine(std::string_view line, std::string_view name,
                                       const crypto::PublicKey& key,
                                       std::string_view checkpoint_text) {
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  MV_ASSIGN_OR_RETURN(NoteSignature sig, ParseSignatureLine(line));
  if (sig.name != name || sig.key_id != NoteKeyId(name, kSignatureTypeCosignature, key) ||
      sig.signature.size() != 8 + 64) {
    return IntegrityError("cosignature: not by this witness");
  }
  uint64_t timestamp = 0;
  for (size_t i = 0; i < 8; ++i) timestamp = (timestamp << 8) | sig.signature[i];
  crypto::Signature raw{};
  std::copy(sig.signature.begin() + 8, sig.signature.end(), raw.begin());
  if (!crypto::VerifySignature(key, AsBytes(CosignedMessage(timestamp, checkpoint_text)), raw)) {
    return IntegrityError("cosignature: does not verify");
  }
  return timestamp;
}

Result<WitnessKey> ParseWitnessKey(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const size_t first = text.find('+');
  const size_t second = first == std::string_view::npos ? first : text.find('+', first + 1);
  if (second == std::string_view::npos) return InvalidArgument("witness key: malformed");
  const std::string_view name = text.substr(0, first);
  Result<Bytes> id = HexDecode(text.substr(first + 1, second - first - 1));
  Result<Bytes> material = Base64Decode(text.substr(second + 1));
  if (!ValidKeyName(name) || !material.ok() || !id.ok() || id->size() != kKeyIdSize ||
      material->size() != 33 || (*material)[0] != kSignatureTypeCosignature) {
    return InvalidArgument("witness key: malformed");
  }
  WitnessKey out;
  out.name = std::string(name);
  std::copy(material->begin() + 1, material->end(), out.key.begin());
  if (NoteKeyId(out.name, kSignatureTypeCosignature, out.key) != ReadBigEndian32(*id)) {
    return InvalidArgument("witness key: key id mismatch");
  }
  return out;
}

Result<std::string> SignatureLineName(std::string_view line) {
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  Result<NoteSignature> sig = ParseSignatureLine(line);
  if (!sig.ok()) return InvalidArgument("signature line: malformed");
  return sig->name;
}

}  // namespace medvault::audit
