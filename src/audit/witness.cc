#include "audit/witness.h"

#include <charconv>
#include <cstdio>

#include "core/file.h"
#include "crypto/hash.h"

namespace medvault::audit {
namespace {

constexpr size_t kMaxProofLines = 63;
constexpr int64_t kMicrosPerSecond = 1'000'000;

WitnessResponse Reply(int status, std::string body, std::string type = "text/plain; charset=utf-8") {
  return {status, std::move(type), std::move(body)};
}

bool ParseSize(std::string_view s, uint64_t* v) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseHash(std::string_view b64, Hash* out) {
  Result<Bytes> b = Base64Decode(b64);
  if (!b.ok() || b->size() != kHashSize) return false;
  std::copy(b->begin(), b->end(), out->begin());
  return true;
}

}  // namespace

WitnessHandler::WitnessHandler(std::string name, const crypto::SigningKey& key,
                               std::vector<NoteVerifier> logs, std::string state_dir,
                               const Clock& clock)
    : name_(std::move(name)),
      key_(key),
      logs_(std::move(logs)),
      state_dir_(std::move(state_dir)),
      clock_(clock) {}

std::string WitnessHandler::VerifierKey() const {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x",
                NoteKeyId(name_, kSignatureTypeCosignature, key_.public_key()));
  Bytes material;
  material.push_back(kSignatureTypeCosignature);
  material.insert(material.end(), key_.public_key().begin(), key_.public_key().end());
  return name_ + "+" + hex + "+" + Base64Encode(material);
}

std::string WitnessHandler::StatePath(const std::string& origin) const {
  const crypto::Digest32 digest = crypto::Sha256(AsBytes(origin));
  return state_dir_ + "/" + HexEncode(ByteView(digest).first(16)) + ".state";
}

Result<WitnessHandler::State> WitnessHandler::Load(const std::string& origin) const {
  State state;
  const std::string path = StatePath(origin);
  if (!PathExists(path)) return state;
  MV_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  MV_ASSIGN_OR_RETURN(Checkpoint recorded, ParseCheckpointText(text));
  if (recorded.origin != origin) return Internal("witness: state file of another origin");
  state.size = recorded.size;
  state.root = recorded.root;
  state.known = true;
  return state;
}

Status WitnessHandler::Save(const std::string& origin, const Checkpoint& checkpoint) const {
  MV_RETURN_IF_ERROR(MakeDirs(state_dir_));
  return WriteFileAtomic(StatePath(origin),
                         FormatCheckpointText({origin, checkpoint.size, checkpoint.root}));
}

WitnessResponse WitnessHandler::AddCheckpoint(std::string_view body) {
  // old line
  const size_t first_end = body.find('\n');
  if (first_end == std::string_view::npos || !body.starts_with("old ")) {
    return Reply(400, "malformed request: no old size line\n");
  }
  uint64_t old_size = 0;
  if (!ParseSize(body.substr(4, first_end - 4), &old_size)) {
    return Reply(400, "malformed request: bad old size\n");
  }
  body.remove_prefix(first_end + 1);
  // proof lines up to the empty line
  std::vector<Hash> proof;
  while (true) {
    const size_t end = body.find('\n');
    if (end == std::string_view::npos) return Reply(400, "malformed request: no empty line\n");
    const std::string_view line = body.substr(0, end);
    body.remove_prefix(end + 1);
    if (line.empty()) break;
    Hash h{};
    if (proof.size() == kMaxProofLines || !ParseHash(line, &h)) {
      return Reply(400, "malformed request: bad consistency proof line\n");
    }
    proof.push_back(h);
  }
  // checkpoint
  Result<ParsedNote> note = ParseNote(body);
  if (!note.ok()) return Reply(400, "malformed checkpoint\n");
  Result<Checkpoint> unverified = ParseCheckpointText(note->text);
  if (!unverified.ok()) return Reply(400, "malformed checkpoint\n");
  const NoteVerifier* log = nullptr;
  for (const NoteVerifier& v : logs_) {
    if (v.name == unverified->origin) log = &v;
  }
  if (log == nullptr) return Reply(404, "unknown log\n");
  Result<Checkpoint> checkpoint = OpenCheckpoint(body, *log);
  if (!checkpoint.ok()) return Reply(403, "no valid signature of the log\n");
  if (old_size > checkpoint->size) return Reply(400, "old size exceeds the checkpoint size\n");

  std::lock_guard<std::mutex> lock(mu_);
  Result<State> state = Load(checkpoint->origin);
  if (!state.ok()) return Reply(500, "witness state unreadable\n");
  if (old_size != state->size) {
    return Reply(409, std::to_string(state->size) + "\n", "text/x.tlog.size");
  }
  if (old_size == checkpoint->size) {
    if (state->known && state->root != checkpoint->root) {
      return Reply(409, std::to_string(state->size) + "\n", "text/x.tlog.size");
    }
  } else if (!VerifyConsistency(old_size, checkpoint->size, state->root, checkpoint->root, proof)
                  .ok()) {
    return Reply(422, "consistency proof does not verify\n");
  }
  if (!Save(checkpoint->origin, *checkpoint).ok()) return Reply(500, "witness state not saved\n");
  const uint64_t now = static_cast<uint64_t>(clock_.Now() / kMicrosPerSecond);
  return Reply(200, CosignatureLine(name_, key_, now, note->text));
}

}  // namespace medvault::audit
