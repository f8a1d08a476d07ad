#include "app/breach_evidence.h"

#include <dirent.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "app/audit_wiring.h"
#include "app/vault_context.h"
#include "app/witness.h"
#include "audit/note.h"
#include "audit/tiles.h"
#include "audit/verify.h"
#include "core/file.h"
#include "crypto/hash.h"

namespace medvault::app {
namespace {

constexpr std::string_view kManifestTitle = "medvault breach evidence v1";
// The files the manifest binds, in this order. log.key is the trust root and is not listed.
constexpr const char* kBoundFiles[] = {"scope.json", "leaves.jsonl", "checkpoint",
                                       "latest-checkpoint", "consistency", "witness-keys"};

std::string Sha256Hex(std::string_view data) { return HexEncode(crypto::Sha256(AsBytes(data))); }

Status Bad(const std::string& what) { return IntegrityError("evidence: " + what); }

// The checkpoint note with the stored cosignature lines appended after its own signature.
Result<std::string> WithCosignatures(store::LogStore& log, const store::LogCheckpointRow& row) {
  MV_ASSIGN_OR_RETURN(std::vector<store::LogCosignatureRow> cosignatures,
                      log.ListCosignatures(row.tree_size));
  std::string note = row.note;
  for (const store::LogCosignatureRow& c : cosignatures) {
    note += c.line;
    if (note.back() != '\n') note += '\n';
  }
  return note;
}

std::string HashLines(const std::vector<audit::Hash>& hashes) {
  std::string out;
  for (const audit::Hash& h : hashes) out += Base64Encode(h) + "\n";
  return out;
}

Result<std::vector<audit::Hash>> ParseHashes(const std::vector<std::string>& items,
                                             const std::string& what) {
  std::vector<audit::Hash> out;
  for (const std::string& item : items) {
    Result<Bytes> raw = Base64Decode(item);
    if (!raw.ok() || raw->size() != audit::kHashSize) return Bad(what + ": not a hash");
    audit::Hash h{};
    std::copy(raw->begin(), raw->end(), h.begin());
    out.push_back(h);
  }
  return out;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

bool DirectoryEmptyOrAbsent(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return !PathExists(dir);
  bool empty = true;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") empty = false;
  }
  closedir(d);
  return empty;
}

// The note as its signer writes it. Base64 decoding tolerates non-zero padding bits, so two
// spellings of one signature exist; evidence admits only this one, so that no byte of it can
// change unnoticed.
bool IsCanonicalNote(std::string_view note) {
  Result<audit::ParsedNote> parsed = audit::ParseNote(note);
  if (!parsed.ok()) return false;
  std::string canonical = parsed->text + "\n";
  for (const audit::NoteSignature& sig : parsed->signatures) {
    Bytes raw = {static_cast<uint8_t>(sig.key_id >> 24), static_cast<uint8_t>(sig.key_id >> 16),
                 static_cast<uint8_t>(sig.key_id >> 8), static_cast<uint8_t>(sig.key_id)};
    raw.insert(raw.end(), sig.signature.begin(), sig.signature.end());
    canonical += "\xE2\x80\x94 " + sig.name + " " + Base64Encode(raw) + "\n";
  }
  return canonical == note;
}

struct OpenedCheckpoint {
  audit::Checkpoint checkpoint;
  std::string text;
  std::vector<std::string> witnesses;  // names whose cosignature verified
};

// Opens a checkpoint note under `verifier`; every cosignature line by a known witness must
// verify. Lines by unknown names are refused: evidence carries only what it can prove.
Result<OpenedCheckpoint> OpenCosignedCheckpoint(const std::string& note,
                                                const audit::NoteVerifier& verifier,
                                                const std::vector<audit::WitnessKey>& witnesses,
                                                const std::string& file) {
  if (!IsCanonicalNote(note)) return Bad(file + ": not a canonical signed note");
  Result<audit::Checkpoint> checkpoint = audit::OpenCheckpoint(note, verifier);
  if (!checkpoint.ok()) return Bad(file + ": " + checkpoint.status().message());
  OpenedCheckpoint out;
  out.checkpoint = *checkpoint;
  out.text = audit::FormatCheckpointText(*checkpoint);
  const size_t body = note.find("\n\n");
  if (body == std::string::npos || note.compare(0, body + 1, out.text) != 0) {
    return Bad(file + ": malformed note");
  }
  bool first = true;
  for (const std::string& line : Lines(std::string_view(note).substr(body + 2))) {
    if (first) {  // the log's own signature, checked by OpenCheckpoint
      first = false;
      continue;
    }
    Result<std::string> name = audit::SignatureLineName(line);
    if (!name.ok()) return Bad(file + ": malformed signature line");
    const audit::WitnessKey* key = nullptr;
    for (const audit::WitnessKey& w : witnesses) key = w.name == *name ? &w : key;
    if (key == nullptr) return Bad(file + ": cosignature by unknown witness " + *name);
    if (!audit::VerifyCosignatureLine(line, key->name, key->key, out.text).ok()) {
      return Bad(file + ": cosignature by " + *name + " does not verify");
    }
    out.witnesses.push_back(*name);
  }
  if (first) return Bad(file + ": no signature");
  return out;
}

std::string PatientKey(const PatientExposure& p) {
  return p.id + "|" + p.practice + "|" + std::to_string(p.field_groups) + "|" +
         std::to_string(p.note_categories) + "|" + FormatIsoTime(p.first_access) + "|" +
         FormatIsoTime(p.last_access) + "|" + std::to_string(p.accesses);
}

}  // namespace

Status WriteEvidence(VaultContext& vault, store::LogStore& log, const Scope& scope,
                     const std::string& dir) {
  if (!DirectoryEmptyOrAbsent(dir)) return InvalidArgument(dir + " exists and is not empty");
  MV_ASSIGN_OR_RETURN(std::vector<store::LogCheckpointRow> rows, log.ListCheckpoints());
  if (rows.empty()) return InvalidArgument("the log has no signed checkpoint yet");
  const uint64_t needed = scope.matching_leaves.empty() ? 0 : scope.matching_leaves.back() + 1;
  // The checkpoint: one that covers every matching leaf within the verified tree, the most
  // cosigned first, then the smallest (shortest proofs).
  const store::LogCheckpointRow* chosen = nullptr;
  size_t chosen_cosignatures = 0;
  for (const store::LogCheckpointRow& row : rows) {
    if (row.tree_size < needed || row.tree_size > scope.tree_size || row.tree_size == 0) continue;
    MV_ASSIGN_OR_RETURN(std::vector<store::LogCosignatureRow> cosignatures,
                        log.ListCosignatures(row.tree_size));
    const size_t n = cosignatures.size();
    if (chosen == nullptr || n > chosen_cosignatures ||
        (n == chosen_cosignatures && row.tree_size < chosen->tree_size)) {
      chosen = &row;
      chosen_cosignatures = n;
    }
  }
  if (chosen == nullptr) {
    return InvalidArgument("no signed checkpoint covers the matching leaves yet (the log signs one "
                           "within about a second while it is served, and one when it stops)");
  }
  const store::LogCheckpointRow& latest = rows.back();
  MV_ASSIGN_OR_RETURN(std::string checkpoint_note, WithCosignatures(log, *chosen));
  MV_ASSIGN_OR_RETURN(std::string latest_note, WithCosignatures(log, latest));
  MV_ASSIGN_OR_RETURN(audit::ParsedNote parsed, audit::ParseNote(chosen->note));
  MV_ASSIGN_OR_RETURN(audit::Checkpoint checkpoint, audit::ParseCheckpointText(parsed.text));
  MV_ASSIGN_OR_RETURN(audit::ParsedNote latest_parsed, audit::ParseNote(latest.note));
  MV_ASSIGN_OR_RETURN(audit::Checkpoint latest_checkpoint,
                      audit::ParseCheckpointText(latest_parsed.text));
  if (latest_checkpoint.size < checkpoint.size) {
    return IntegrityError("the latest checkpoint is smaller than an earlier one");
  }

  audit::StoredTree tree(log);
  MV_ASSIGN_OR_RETURN(std::vector<audit::Hash> consistency,
                      audit::ConsistencyProof(tree, checkpoint.size, latest_checkpoint.size));
  KeyringAuditKeys keys(vault.keyring());
  std::string leaves;
  for (uint64_t index : scope.matching_leaves) {
    MV_ASSIGN_OR_RETURN(std::vector<Bytes> entry, log.ReadEntries(index, 1));
    if (entry.size() != 1) return IntegrityError("log entry " + std::to_string(index) + " is missing");
    MV_ASSIGN_OR_RETURN(audit::EntryHeader header, audit::ParseEntryHeader(entry[0]));
    MV_ASSIGN_OR_RETURN(crypto::SecretKey audit_key, keys.AuditKey(header.key_id));
    MV_ASSIGN_OR_RETURN(crypto::SecretKey opening, audit::LeafOpeningKey(entry[0], audit_key));
    MV_ASSIGN_OR_RETURN(std::vector<audit::Hash> proof,
                        audit::InclusionProof(tree, index, checkpoint.size));
    nlohmann::json inclusion = nlohmann::json::array();
    for (const audit::Hash& h : proof) inclusion.push_back(Base64Encode(h));
    leaves += nlohmann::json{{"index", index},
                             {"entry", Base64Encode(entry[0])},
                             {"opening_key", Base64Encode(opening.UnsafeBytes())},
                             {"inclusion", std::move(inclusion)}}
                  .dump() +
              "\n";
  }
  std::string witness_keys;
  for (const std::string& k : vault.config().log_witness_keys) witness_keys += k + "\n";

  MV_ASSIGN_OR_RETURN(crypto::SecretKey seed, vault.keyring().LogSigningSeed());
  const crypto::SigningKey log_key = crypto::SigningKey::FromSeed(seed);
  const audit::NoteSigner signer(checkpoint.origin, log_key);

  std::vector<std::pair<std::string, std::string>> files = {
      {"scope.json", ScopeToJson(scope)},
      {"leaves.jsonl", leaves},
      {"checkpoint", checkpoint_note},
      {"latest-checkpoint", latest_note},
      {"consistency", HashLines(consistency)},
      {"witness-keys", witness_keys}};
  std::string manifest = std::string(kManifestTitle) + "\norigin " + checkpoint.origin +
                         "\ncheckpoint " + std::to_string(checkpoint.size) + " " +
                         Base64Encode(checkpoint.root) + "\nlatest " +
                         std::to_string(latest_checkpoint.size) + " " +
                         Base64Encode(latest_checkpoint.root) + "\nleaves " +
                         std::to_string(scope.matching_leaves.size()) + "\n";
  for (const auto& [name, content] : files) {
    manifest += "file " + name + " " + Sha256Hex(content) + "\n";
  }
  files.emplace_back("manifest", signer.Sign(manifest));
  files.emplace_back("log.key", audit::FormatVerifierKey(signer.verifier()) + "\n");

  MV_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  for (const auto& [name, content] : files) {
    MV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + name, content, 0600));
  }
  Result<EvidenceReport> check = CheckEvidence(dir, {});
  if (!check.ok()) return Internal("the evidence written does not check: " + check.status().message());
  return Status::Ok();
}

Result<EvidenceReport> CheckEvidence(const std::string& dir, const EvidenceCheckOptions& options) {
  auto read = [&](const std::string& name) -> Result<std::string> {
    Result<std::string> content = ReadFile(dir + "/" + name);
    if (!content.ok()) return Bad(name + " is missing or unreadable");
    return content;
  };
  EvidenceReport report;

  // The trust root: the log's verifier key, pinned by the reader or taken from DIR.
  MV_ASSIGN_OR_RETURN(std::string key_text, read("log.key"));
  while (!key_text.empty() && key_text.back() == '\n') key_text.pop_back();
  if (!options.log_key.empty() && options.log_key != key_text) {
    return Bad("log.key is not the expected log key");
  }
  Result<audit::NoteVerifier> verifier = audit::ParseVerifierKey(key_text);
  if (!verifier.ok() || audit::FormatVerifierKey(*verifier) != key_text) {
    return Bad("log.key: malformed");
  }
  report.log_key = key_text;
  report.origin = verifier->name;

  // The manifest, signed by the log key, binds every other file by its SHA-256.
  MV_ASSIGN_OR_RETURN(std::string manifest_note, read("manifest"));
  Result<std::string> manifest = audit::VerifyNote(manifest_note, *verifier);
  if (!manifest.ok()) return Bad("manifest: " + manifest.status().message());
  if (!IsCanonicalNote(manifest_note) ||
      audit::ParseNote(manifest_note)->signatures.size() != 1) {
    return Bad("manifest: exactly one signature expected");
  }
  const std::vector<std::string> lines = Lines(*manifest);
  const size_t bound = std::size(kBoundFiles);
  if (lines.size() != 5 + bound || lines[0] != kManifestTitle ||
      lines[1] != "origin " + verifier->name) {
    return Bad("manifest: unexpected content");
  }
  std::map<std::string, std::string> contents;
  for (size_t i = 0; i < bound; ++i) {
    const std::string prefix = std::string("file ") + kBoundFiles[i] + " ";
    if (lines[5 + i].rfind(prefix, 0) != 0) return Bad("manifest: unexpected file line");
    MV_ASSIGN_OR_RETURN(std::string content, read(kBoundFiles[i]));
    if (Sha256Hex(content) != lines[5 + i].substr(prefix.size())) {
      return Bad(std::string(kBoundFiles[i]) + " does not match its digest in the manifest");
    }
    contents[kBoundFiles[i]] = std::move(content);
  }

  // Witness keys: pinned by the reader or those of the evidence.
  std::vector<std::string> witness_texts = options.witness_keys;
  if (witness_texts.empty()) {
    for (const std::string& line : Lines(contents["witness-keys"])) {
      if (!line.empty()) witness_texts.push_back(line);
    }
  }
  Result<std::vector<audit::WitnessKey>> witnesses = ParseWitnessKeys(witness_texts);
  if (!witnesses.ok()) return Bad("witness-keys: " + witnesses.status().message());

  MV_ASSIGN_OR_RETURN(OpenedCheckpoint checkpoint,
                      OpenCosignedCheckpoint(contents["checkpoint"], *verifier, *witnesses,
                                             "checkpoint"));
  MV_ASSIGN_OR_RETURN(OpenedCheckpoint latest,
                      OpenCosignedCheckpoint(contents["latest-checkpoint"], *verifier,
                                             *witnesses, "latest-checkpoint"));
  const uint64_t size = checkpoint.checkpoint.size;
  if (lines[2] != "checkpoint " + std::to_string(size) + " " +
                      Base64Encode(checkpoint.checkpoint.root) ||
      lines[3] != "latest " + std::to_string(latest.checkpoint.size) + " " +
                      Base64Encode(latest.checkpoint.root)) {
    return Bad("manifest: the checkpoints differ from the checkpoint files");
  }
  std::vector<std::string> consistency_lines;
  for (const std::string& l : Lines(contents["consistency"])) consistency_lines.push_back(l);
  MV_ASSIGN_OR_RETURN(std::vector<audit::Hash> consistency,
                      ParseHashes(consistency_lines, "consistency"));
  if (latest.checkpoint.size < size ||
      !audit::VerifyConsistency(size, latest.checkpoint.size, checkpoint.checkpoint.root,
                                latest.checkpoint.root, consistency)
           .ok()) {
    return Bad("consistency: the latest checkpoint does not extend the checkpoint");
  }

  // The scope, recomputed from the opened leaves.
  Result<Scope> claimed = ScopeFromJson(contents["scope.json"]);
  if (!claimed.ok()) return Bad("scope.json: " + claimed.status().message());
  ScopeQuery query;
  query.logins = claimed->logins;
  query.source_ips = claimed->source_ips;
  query.practices = claimed->practices;
  query.since = claimed->since;
  query.until = claimed->until;
  Result<ScopeFilter> filter = ScopeFilter::FromQuery(query);
  if (!filter.ok()) return Bad("scope.json: " + filter.status().message());
  if (claimed->tree_size < size) return Bad("scope.json: the scope's tree is below the checkpoint");

  ScopeAggregator aggregator;
  size_t line_number = 0;
  int64_t previous = -1;
  for (const std::string& line : Lines(contents["leaves.jsonl"])) {
    ++line_number;
    const std::string where = "leaves.jsonl line " + std::to_string(line_number);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("index") ||
        !j["index"].is_number_unsigned() || !j.contains("entry") || !j["entry"].is_string() ||
        !j.contains("opening_key") || !j["opening_key"].is_string() ||
        !j.contains("inclusion") || !j["inclusion"].is_array()) {
      return Bad(where + ": malformed");
    }
    const uint64_t index = j["index"].get<uint64_t>();
    if (static_cast<int64_t>(index) <= previous) return Bad(where + ": indexes must ascend");
    previous = static_cast<int64_t>(index);
    Result<Bytes> entry = Base64Decode(j["entry"].get<std::string>());
    Result<Bytes> opening = Base64Decode(j["opening_key"].get<std::string>());
    if (!entry.ok() || !opening.ok() || opening->size() != crypto::kKeySize) {
      return Bad(where + ": malformed");
    }
    std::vector<std::string> proof_items;
    for (const auto& h : j["inclusion"]) {
      if (!h.is_string()) return Bad(where + ": malformed");
      proof_items.push_back(h.get<std::string>());
    }
    MV_ASSIGN_OR_RETURN(std::vector<audit::Hash> proof, ParseHashes(proof_items, where));
    if (index >= size || !audit::VerifyInclusion(index, size, audit::HashLeaf(*entry), proof,
                                                 checkpoint.checkpoint.root)
                              .ok()) {
      return Bad(where + ": entry " + std::to_string(index) + " is not in the checkpoint's tree");
    }
    Result<audit::Leaf> leaf =
        audit::OpenLeafWithOpeningKey(*entry, crypto::SecretKey::FromBytes(*opening));
    if (!leaf.ok()) return Bad(where + ": entry " + std::to_string(index) + " does not open");
    if (!filter->Matches(*leaf)) return Bad(where + ": the leaf does not match the query");
    aggregator.Add(*leaf);
    ++report.leaves;
  }
  if (lines[4] != "leaves " + std::to_string(report.leaves)) {
    return Bad("manifest: the number of leaves differs");
  }

  // Every account and every patient the leaves give, and nothing else.
  const std::vector<AccountExposure> accounts = aggregator.Accounts();
  bool accounts_equal = accounts.size() == claimed->accounts.size();
  for (size_t i = 0; accounts_equal && i < accounts.size(); ++i) {
    const AccountExposure& a = accounts[i];
    const AccountExposure& b = claimed->accounts[i];
    accounts_equal = a.login == b.login && a.practice == b.practice && a.requests == b.requests &&
                     a.patients == b.patients;
  }
  if (!accounts_equal) return Bad("scope.json: the accounts differ from the leaves");
  std::vector<std::string> derived, stated;
  for (const PatientExposure& p : aggregator.Patients()) derived.push_back(PatientKey(p));
  for (const auto* list : {&claimed->patients, &claimed->canaries}) {
    for (const PatientExposure& p : *list) stated.push_back(PatientKey(p));
  }
  std::sort(stated.begin(), stated.end());
  if (derived != stated) return Bad("scope.json: the patients differ from the leaves");

  report.checkpoint_size = size;
  report.latest_size = latest.checkpoint.size;
  report.patients = claimed->patients.size();
  report.canaries = claimed->canaries.size();
  report.witnesses = checkpoint.witnesses;
  return report;
}

int RunCheckEvidence(const std::string& dir, const EvidenceCheckOptions& options,
                     std::ostream& out, std::ostream& err) {
  Result<EvidenceReport> report = CheckEvidence(dir, options);
  if (!report.ok()) {
    err << "audit check-evidence: " << report.status().message() << "\n";
    return audit::ExitCodeFor(report.status());
  }
  out << "ok checkpoint tree_size=" << report->checkpoint_size
      << " latest tree_size=" << report->latest_size << " leaves=" << report->leaves
      << " patients=" << report->patients << " canaries=" << report->canaries << "\n";
  out << "log key " << report->log_key
      << (options.log_key.empty() ? " (from the evidence: compare it with the log's published key)"
                                  : " (as expected)")
      << "\n";
  out << "cosigned by " << report->witnesses.size() << " witness(es)";
  for (const std::string& w : report->witnesses) out << " " << w;
  out << "\n";
  return 0;
}

}  // namespace medvault::app
