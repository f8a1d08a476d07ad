#include "app/command_status.h"
#include "app/witness.h"

#include <algorithm>
#include <charconv>
#include <iostream>
#include <mutex>

#include "api/witness_client.h"
#include "api/witness_server.h"
#include "app/vault_context.h"
#include "audit/tiles.h"
#include "audit/verify.h"
#include "audit/witness.h"
#include "core/clock.h"
#include "core/file.h"
#include "crypto/sign.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault::app {
namespace {

constexpr const char* kKeyFile = "/witness.key";

struct WitnessIdentity {
  std::string name;
  crypto::SigningKey key;
};

Result<WitnessIdentity> LoadIdentity(const std::string& state_dir) {
  const std::string path = state_dir + kKeyFile;
  if (!PathExists(path)) {
    return InvalidArgument("--state: no witness key in " + state_dir + " (medvault witness init)");
  }
  MV_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const size_t newline = text.find('\n');
  if (newline == std::string::npos) return InvalidArgument(path + ": malformed");
  std::string name = text.substr(0, newline);
  std::string seed_b64 = text.substr(newline + 1);
  while (!seed_b64.empty() && seed_b64.back() == '\n') seed_b64.pop_back();
  Result<Bytes> seed = Base64Decode(seed_b64);
  if (!audit::ValidKeyName(name) || !seed.ok() || seed->size() != crypto::kKeySize) {
    return InvalidArgument(path + ": malformed");
  }
  crypto::SigningKey key = crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(*seed));
  std::fill(seed->begin(), seed->end(), uint8_t{0});
  return WitnessIdentity{std::move(name), std::move(key)};
}

Result<uint64_t> ParseSizeBody(std::string_view body) {
  while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
  uint64_t size = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), size);
  if (ec != std::errc() || ptr != body.data() + body.size() || body.empty()) {
    return InvalidArgument("malformed size");
  }
  return size;
}

std::string FirstLine(std::string_view body) {
  return std::string(body.substr(0, std::min(body.find('\n'), body.size())));
}

}  // namespace

int RunWitnessInit(const std::string& state_dir, const std::string& name, std::ostream& out,
                   std::ostream& err) {
  if (!audit::ValidKeyName(name)) {
    return ReportFailure(err, InvalidArgument("--name: no spaces, '+' or control characters"));
  }
  const std::string path = state_dir + kKeyFile;
  if (PathExists(path)) return ReportFailure(err, InvalidArgument(state_dir + " already holds a witness"));
  if (Status s = MakeDirs(state_dir); !s.ok()) return ReportFailure(err, s);
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  const std::string text = name + "\n" + Base64Encode(key.seed().UnsafeBytes()) + "\n";
  if (Status s = WriteFileAtomic(path, text, 0600); !s.ok()) return ReportFailure(err, s);
  const std::unique_ptr<Clock> clock = NewRealClock();
  const audit::WitnessHandler handler(name, key, {}, state_dir, *clock);
  out << handler.VerifierKey() << "\n";
  return 0;
}

int RunWitnessServe(const WitnessServeOptions& options, std::ostream& out, std::ostream& err) {
  api::WitnessServerConfig config;
  if (Status s = ParseListen(options.listen, &config.host, &config.port); !s.ok()) {
    return ReportFailure(err, s);
  }
  if (options.log_keys.empty()) return ReportFailure(err, InvalidArgument("--log-key: at least one"));
  std::vector<audit::NoteVerifier> logs;
  for (const std::string& text : options.log_keys) {
    Result<audit::NoteVerifier> v = audit::ParseVerifierKey(text);
    if (!v.ok()) return ReportFailure(err, InvalidArgument("--log-key " + text + ": malformed"));
    logs.push_back(*v);
  }
  Result<WitnessIdentity> identity = LoadIdentity(options.state_dir);
  if (!identity.ok()) return ReportFailure(err, identity.status());
  const std::unique_ptr<Clock> clock = NewRealClock();
  audit::WitnessHandler handler(identity->name, identity->key, std::move(logs), options.state_dir,
                                *clock);
  std::mutex err_mu;
  config.handle_signals = true;
  config.log_line = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(err_mu);
    err << line << std::endl;
  };
  api::WitnessServer server(
      [&](std::string_view body) {
        audit::WitnessResponse r = handler.AddCheckpoint(body);
        return api::WitnessReply{r.status, std::move(r.content_type), std::move(r.body)};
      },
      config);
  Result<api::Endpoint> endpoint = server.Start();
  if (!endpoint.ok()) return ReportFailure(err, endpoint.status());
  out << "listening on " << endpoint->ToString() << std::endl;
  server.Wait();
  return 0;
}

Result<std::vector<audit::WitnessKey>> ParseWitnessKeys(const std::vector<std::string>& keys) {
  std::vector<audit::WitnessKey> out;
  for (const std::string& text : keys) {
    Result<audit::WitnessKey> k = audit::ParseWitnessKey(text);
    if (!k.ok()) return InvalidArgument("log.witness_keys: " + text + ": malformed");
    out.push_back(*k);
  }
  return out;
}

int RunAuditVerifyWithWitnesses(const std::string& data_dir, std::ostream& out, std::ostream& err) {
  auto ctx = VaultContext::Open(data_dir);
  if (!ctx.ok()) return ReportFailure(err, ctx.status());
  Result<std::vector<audit::WitnessKey>> witnesses =
      ParseWitnessKeys((*ctx)->config().log_witness_keys);
  if (!witnesses.ok()) return ReportFailure(err, witnesses.status());
  auto seed = (*ctx)->keyring().LogSigningSeed();
  if (!seed.ok()) return ReportFailure(err, seed.status());
  const crypto::SigningKey key = crypto::SigningKey::FromSeed(*seed);
  auto log = (*ctx)->OpenLogStore();
  if (!log.ok()) return ReportFailure(err, log.status());
  return audit::RunAuditVerify(**log, key.public_key(), *witnesses, out, err);
}

WitnessPusher::WitnessPusher(store::LogStore& store, WitnessPushOptions options,
                             std::function<void(std::string_view)> report)
    : store_(store), options_(std::move(options)), report_(std::move(report)) {
  for (const std::string& url : options_.urls) {
    Witness w;
    w.url = url;
    witnesses_.push_back(std::move(w));
  }
}

WitnessPusher::~WitnessPusher() { Stop(); }

void WitnessPusher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void WitnessPusher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WitnessPusher::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    if (!options_.active || options_.active()) Round();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_millis),
                 [this] { return stop_; });
  }
}

void WitnessPusher::Round() {
  Result<std::optional<store::LogCheckpointRow>> latest = store_.LatestCheckpoint();
  if (!latest.ok()) {
    report_("witness push: " + latest.status().message());
    return;
  }
  if (!latest->has_value()) return;
  const store::LogCheckpointRow& row = **latest;
  Result<audit::ParsedNote> note = audit::ParseNote(row.note);
  if (!note.ok()) {
    report_("witness push: latest checkpoint unreadable: " + note.status().message());
    return;
  }
  for (Witness& w : witnesses_) {
    if (w.cosigned && w.cosigned_size == row.tree_size) continue;
    if (w.wait_rounds > 0) {
      --w.wait_rounds;
      continue;
    }
    if (Push(w, row.tree_size, row.note, note->text)) {
      w.backoff_rounds = 0;
      w.wait_rounds = 0;
    }
  }
}

void WitnessPusher::Failed(Witness& witness, const std::string& why) {
  report_("witness " + witness.url + ": " + why);
  witness.backoff_rounds = witness.backoff_rounds == 0
                               ? 1
                               : std::min(witness.backoff_rounds * 2, options_.max_backoff_rounds);
  witness.wait_rounds = witness.backoff_rounds;
}

bool WitnessPusher::Push(Witness& w, uint64_t size, const std::string& note,
                         const std::string& text) {
  // Two attempts: the second after a 409 that told us the witness's size.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (w.size > size) {
      Failed(w, "holds tree_size=" + std::to_string(w.size) + ", larger than this log's " +
                    std::to_string(size) + " (rolled-back log?)");
      return false;
    }
    std::string body = "old " + std::to_string(w.size) + "\n";
    if (w.size > 0 && w.size < size) {
      audit::StoredTree tree(store_);
      Result<std::vector<audit::Hash>> proof = audit::ConsistencyProof(tree, w.size, size);
      if (!proof.ok()) {
        Failed(w, "consistency proof: " + proof.status().message());
        return false;
      }
      for (const audit::Hash& h : *proof) body += Base64Encode(h) + "\n";
    }
    body += "\n" + note;
    Result<api::WitnessHttpAnswer> answer =
        api::PostAddCheckpoint(w.url, body, options_.timeout_seconds);
    if (!answer.ok()) {
      Failed(w, answer.status().message());
      return false;
    }
    if (answer->status == 409 && answer->content_type.starts_with("text/x.tlog.size")) {
      Result<uint64_t> theirs = ParseSizeBody(answer->body);
      if (!theirs.ok()) {
        Failed(w, "409 with a malformed size");
        return false;
      }
      if (*theirs == w.size) {
        Failed(w, "refused tree_size=" + std::to_string(size) +
                      ": it holds a different root for tree_size=" + std::to_string(*theirs) +
                      " (split view)");
        return false;
      }
      w.size = *theirs;
      continue;
    }
    if (answer->status == 422) {
      Failed(w, "refused the consistency proof from tree_size=" + std::to_string(w.size) +
                    ": it holds a different tree (split view)");
      return false;
    }
    if (answer->status != 200) {
      Failed(w, "answered " + std::to_string(answer->status) + ": " + FirstLine(answer->body));
      return false;
    }
    size_t stored = 0;
    std::string_view lines = answer->body;
    while (!lines.empty()) {
      const size_t end = std::min(lines.find('\n'), lines.size());
      const std::string line(lines.substr(0, end));
      lines.remove_prefix(std::min(end + 1, lines.size()));
      if (line.empty()) continue;
      Result<std::string> name = audit::SignatureLineName(line);
      if (!name.ok()) {
        Failed(w, "malformed cosignature line");
        return false;
      }
      for (const audit::WitnessKey& k : options_.keys) {
        if (k.name == *name && !audit::VerifyCosignatureLine(line, k.name, k.key, text).ok()) {
          Failed(w, "cosignature by " + *name + " does not verify; not stored");
          return false;
        }
      }
      if (Status s = store_.AddCosignature({size, *name, line + "\n"}); !s.ok()) {
        Failed(w, "storing its cosignature: " + s.message());
        return false;
      }
      ++stored;
    }
    if (stored == 0) {
      Failed(w, "answered 200 without a cosignature");
      return false;
    }
    w.size = size;
    w.cosigned_size = size;
    w.cosigned = true;
    return true;
  }
  Failed(w, "kept answering 409");
  return false;
}

}  // namespace medvault::app
