#include "app/dump_match.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "app/audit_wiring.h"
#include "app/command_status.h"
#include "app/log_writer_lock.h"
#include "audit/access_log.h"
#include "audit/patient_index.h"
#include "core/file.h"
#include "core/text_fold.h"
#include "store/sqlite/sqlite_log_store.h"
#include "vault/nir.h"

namespace medvault::app {
namespace {

using crypto::IndexColumn;
using nlohmann::json;

// Fields a row and a patient can agree on.
enum : uint8_t {
  kFamilyBit = 1,
  kGivenBit = 2,
  kBirthBit = 4,
  kNirBit = 8,
  kPhoneBit = 16,
  kEmailBit = 32,
};
constexpr uint8_t kContactBits = kPhoneBit | kEmailBit;
constexpr size_t kMaxNameWords = 4;
constexpr std::string_view kAction = "breach.match";
constexpr std::string_view kAccount = "medvault-cli";

bool Sufficient(uint8_t m) {
  if (m & kNirBit) return true;
  if ((m & kFamilyBit) && (m & kGivenBit) && (m & kBirthBit)) return true;
  if ((m & kFamilyBit) && (m & kContactBits)) return true;
  return (m & kGivenBit) && (m & kBirthBit) && (m & kContactBits);
}

// A canary's NIR, phone and e-mail exist nowhere but in its practice's data.
bool SufficientForCanary(uint8_t m) { return Sufficient(m) || (m & (kNirBit | kContactBits)); }

int Bits(uint8_t m) { return __builtin_popcount(m); }

json FieldNames(uint8_t m) {
  json out = json::array();
  const std::pair<uint8_t, const char*> names[] = {{kFamilyBit, "family"},    {kGivenBit, "given"},
                                                   {kBirthBit, "birth_date"}, {kNirBit, "nir"},
                                                   {kPhoneBit, "phone"},      {kEmailBit, "email"}};
  for (const auto& [bit, name] : names) {
    if (m & bit) out.push_back(name);
  }
  return out;
}

// A row's values, folded as the blind index folds them.
struct RowValues {
  std::set<std::string> family, given, birth, nir, phone, email;
  bool empty() const {
    return family.empty() && given.empty() && birth.empty() && nir.empty() && phone.empty() &&
           email.empty();
  }
};

// The whole value and every run of its words (a full name "Jean Le Gall" gives "jean",
// "legall", "jeanle"...): which word is the family name is not known.
void AddNameCandidates(std::string_view cell, std::set<std::string>* out) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < cell.size()) {
    while (i < cell.size() && cell[i] == ' ') ++i;
    size_t j = i;
    while (j < cell.size() && cell[j] != ' ') ++j;
    if (j > i) words.push_back(cell.substr(i, j - i));
    i = j;
  }
  if (const std::string whole = FoldForSearch(cell); !whole.empty()) out->insert(whole);
  if (words.size() < 2 || words.size() > kMaxNameWords) return;
  for (size_t from = 0; from < words.size(); ++from) {
    std::string run;
    for (size_t to = from; to < words.size(); ++to) {
      run += words[to];
      if (const std::string folded = FoldForSearch(run); !folded.empty()) out->insert(folded);
    }
  }
}

RowValues ValuesOf(const ParsedDump& dump, const std::vector<std::string>& row) {
  RowValues v;
  for (size_t c = 0; c < dump.columns.size() && c < row.size(); ++c) {
    const std::string& cell = row[c];
    if (cell.empty()) continue;
    switch (dump.columns[c].kind) {
      case DumpColumnKind::kFamily:
        AddNameCandidates(cell, &v.family);
        break;
      case DumpColumnKind::kGiven:
        AddNameCandidates(cell, &v.given);
        break;
      case DumpColumnKind::kName:
        AddNameCandidates(cell, &v.family);
        AddNameCandidates(cell, &v.given);
        break;
      case DumpColumnKind::kBirthDate:
        if (auto d = ReadLooseDate(cell)) v.birth.insert(FormatDate(*d));
        break;
      case DumpColumnKind::kNir:
        if (auto n = ReadLooseNir(cell)) v.nir.insert(*n);
        break;
      case DumpColumnKind::kPhone:
        if (auto p = ReadLoosePhone(cell)) v.phone.insert(*p);
        break;
      case DumpColumnKind::kEmail:
        if (auto e = ReadLooseEmail(cell)) v.email.insert(*e);
        break;
      case DumpColumnKind::kOther:
        break;
    }
  }
  return v;
}

// What the decrypted patient agrees on with the row.
uint8_t Confirm(const vault::Patient& p, const RowValues& v) {
  uint8_t m = 0;
  if (v.family.contains(FoldForSearch(p.identity.family))) m |= kFamilyBit;
  for (const auto& g : p.identity.given) {
    if (v.given.contains(FoldForSearch(g))) m |= kGivenBit;
  }
  if (p.identity.birth_date && v.birth.contains(FormatDate(*p.identity.birth_date))) {
    m |= kBirthBit;
  }
  if (!p.insurance.nir.empty() && v.nir.contains(vault::CanonicalNir(p.insurance.nir))) {
    m |= kNirBit;
  }
  for (const auto& t : p.contact.telecom) {
    if (t.system == "phone") {
      if (auto phone = ReadLoosePhone(t.value); phone && v.phone.contains(*phone)) m |= kPhoneBit;
    } else if (t.system == "email") {
      if (v.email.contains(FoldForSearch(t.value))) m |= kEmailBit;
    }
  }
  return m;
}

struct PatientHit {
  std::string practice;
  bool canary = false;
  int64_t rows = 0;
  uint8_t fields = 0;
};

struct FileReport {
  std::string path;
  ParsedDump dump;  // rows dropped once matched
  int64_t rows = 0;
  int64_t matched = 0;
  int64_t ambiguous = 0;
};

// Matches rows of one vault, practice by practice; remembers what it decrypted.
class Matcher {
 public:
  explicit Matcher(VaultContext& ctx) : ctx_(ctx) {}

  Status Init() {
    MV_ASSIGN_OR_RETURN(practices_, ctx_.data().ListPractices());
    for (const auto& p : practices_) {
      MV_ASSIGN_OR_RETURN(auto keys, ctx_.keyring().Practice(p.id));
      keys_.push_back(std::move(keys));
    }
    cache_.resize(practices_.size());
    return Status::Ok();
  }

  // The patients the row matches (at most one per practice). `ambiguous` set when a practice had
  // two equally good matches.
  Result<std::vector<std::pair<std::string, uint8_t>>> MatchRow(const RowValues& v,
                                                                bool* ambiguous) {
    std::vector<std::pair<std::string, uint8_t>> out;
    for (size_t p = 0; p < practices_.size(); ++p) {
      std::unordered_map<std::string, uint8_t> token_mask;
      auto lookup = [&](IndexColumn column, const std::set<std::string>& values,
                        uint8_t bit) -> Status {
        for (const std::string& value : values) {
          MV_ASSIGN_OR_RETURN(const std::vector<std::string>* ids, Lookup(p, column, value));
          for (const std::string& id : *ids) token_mask[id] |= bit;
        }
        return Status::Ok();
      };
      MV_RETURN_IF_ERROR(lookup(IndexColumn::kNir, v.nir, kNirBit));
      MV_RETURN_IF_ERROR(lookup(IndexColumn::kBirthDate, v.birth, kBirthBit));
      MV_RETURN_IF_ERROR(lookup(IndexColumn::kPhone, v.phone, kPhoneBit));
      MV_RETURN_IF_ERROR(lookup(IndexColumn::kEmail, v.email, kEmailBit));
      MV_RETURN_IF_ERROR(lookup(IndexColumn::kFamily, v.family, kFamilyBit));
      MV_RETURN_IF_ERROR(lookup(IndexColumn::kGiven, v.given, kGivenBit));
      std::string best;
      uint8_t best_mask = 0;
      bool tie = false;
      for (const auto& [id, tokens] : token_mask) {
        if (!SufficientForCanary(tokens)) continue;
        MV_ASSIGN_OR_RETURN(store::PatientRow row, ctx_.data().GetPatient(practices_[p].id, id));
        // Only candidates whose tokens already agree on enough fields are decrypted.
        if (!Sufficient(tokens) && !row.canary) continue;
        decrypted_[practices_[p].id].insert(id);
        MV_ASSIGN_OR_RETURN(vault::Patient patient, ctx_.patients().Open(row, kGroups));
        const uint8_t confirmed = Confirm(patient, v);
        if (!(row.canary ? SufficientForCanary(confirmed) : Sufficient(confirmed))) continue;
        if (row.canary) canaries_.insert(id);
        if (Bits(confirmed) > Bits(best_mask) || best.empty()) {
          tie = false;
          best = id;
          best_mask = confirmed;
        } else if (Bits(confirmed) == Bits(best_mask) && !(confirmed & kNirBit)) {
          tie = true;
        }
      }
      if (best.empty()) continue;
      if (tie) {
        *ambiguous = true;
        continue;
      }
      out.emplace_back(best, best_mask);
      practice_of_[best] = practices_[p].id;
    }
    return out;
  }

  bool IsCanary(const std::string& id) const { return canaries_.contains(id); }
  const std::string& PracticeOf(const std::string& id) const { return practice_of_.at(id); }
  const std::vector<store::PracticeRow>& practices() const { return practices_; }
  const std::map<std::string, std::set<std::string>>& decrypted() const { return decrypted_; }

 private:
  static constexpr FieldGroupMask kGroups =
      MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) | MaskOf(FieldGroup::kInsurance);

  Result<const std::vector<std::string>*> Lookup(size_t p, IndexColumn column,
                                                 const std::string& folded) {
    const uint32_t token = keys_[p]->indexer.Token(column, folded);
    const uint64_t key = (uint64_t{static_cast<uint8_t>(column)} << 32) | token;
    auto it = cache_[p].find(key);
    if (it == cache_[p].end()) {
      MV_ASSIGN_OR_RETURN(
          auto ids, ctx_.data().FindByToken(practices_[p].id, static_cast<uint8_t>(column), token));
      it = cache_[p].emplace(key, std::move(ids)).first;
    }
    return &it->second;
  }

  VaultContext& ctx_;
  std::vector<store::PracticeRow> practices_;
  std::vector<std::shared_ptr<const vault::PracticeKeys>> keys_;
  std::vector<std::unordered_map<uint64_t, std::vector<std::string>>> cache_;
  std::map<std::string, std::set<std::string>> decrypted_;  // practice → patients opened
  std::set<std::string> canaries_;
  std::map<std::string, std::string> practice_of_;
};

struct AccountSource {
  std::string practice;
  std::set<std::string> canaries;
  std::set<std::string> sources;
  int64_t accesses = 0;
  UnixMicros first = 0;
  UnixMicros last = 0;
};

bool Released(const audit::Leaf& leaf) {
  constexpr FieldGroupMask kExposing =
      MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) | MaskOf(FieldGroup::kInsurance);
  return leaf.outcome >= 200 && leaf.outcome < 300 && (leaf.field_groups & kExposing) != 0 &&
         leaf.action != kAction;
}

std::string SeparatorName(char sep) {
  switch (sep) {
    case '\t':
      return "tab";
    case ',':
      return ",";
    case ';':
      return ";";
    case '|':
      return "|";
    default:
      return "";
  }
}

}  // namespace

int RunBreachMatch(const MatchRequest& request, std::ostream& out, std::ostream& err) {
  if (request.files.empty()) return ReportFailure(err, InvalidArgument("no dump file given"));
  std::vector<FileReport> files;
  for (const std::string& path : request.files) {
    auto text = ReadFile(path);
    if (!text.ok()) return ReportFailure(err, text.status().WithContext(path));
    FileReport f;
    f.path = path;
    f.dump = ParseDump(*text);
    f.rows = static_cast<int64_t>(f.dump.rows.size());
    files.push_back(std::move(f));
  }
  auto ctx_or = VaultContext::Open(request.data_dir);
  if (!ctx_or.ok()) return ReportFailure(err, ctx_or.status());
  VaultContext& ctx = **ctx_or;
  // The patients it decrypts are logged before anything is reported: one writer of the log at a
  // time (on SQLite, not while the vault is served).
  auto writer_lock = LogWriterLock::Acquire(ctx);
  if (!writer_lock.ok()) return ReportFailure(err, writer_lock.status());
  auto log_store = ctx.OpenLogStore();
  if (!log_store.ok()) return ReportFailure(err, log_store.status());
  KeyringAuditKeys audit_keys(ctx.keyring());

  Matcher matcher(ctx);
  if (Status s = matcher.Init(); !s.ok()) return ReportFailure(err, s);
  std::map<std::string, PatientHit> hits;
  int64_t total_rows = 0, matched_rows = 0, ambiguous_rows = 0;
  for (FileReport& f : files) {
    for (const auto& row : f.dump.rows) {
      const RowValues v = ValuesOf(f.dump, row);
      if (v.empty()) continue;
      bool ambiguous = false;
      auto matched = matcher.MatchRow(v, &ambiguous);
      if (!matched.ok()) return ReportFailure(err, matched.status().WithContext(f.path));
      if (ambiguous && matched->empty()) ++f.ambiguous;
      if (!matched->empty()) ++f.matched;
      for (const auto& [id, fields] : *matched) {
        PatientHit& hit = hits[id];
        hit.practice = matcher.PracticeOf(id);
        hit.canary = matcher.IsCanary(id);
        ++hit.rows;
        hit.fields |= fields;
      }
    }
    total_rows += f.rows;
    matched_rows += f.matched;
    ambiguous_rows += f.ambiguous;
    f.dump.rows.clear();
  }

  // Which accounts received the canaries found in the dump.
  audit::PatientIndex index(**log_store, audit_keys);
  std::map<std::string, AccountSource> accounts;
  std::map<std::string, json> canary_json;
  std::map<std::string, int64_t> unreleased_canaries;  // practice → canaries no account received
  for (const auto& [id, hit] : hits) {
    if (!hit.canary) continue;
    auto leaves = index.ForPatient(hit.practice, id);
    if (!leaves.ok()) return ReportFailure(err, leaves.status().WithContext("access log"));
    std::map<std::string, AccountSource> received;
    for (const audit::Leaf& leaf : *leaves) {
      if (!Released(leaf)) continue;
      AccountSource& a = received[leaf.account];
      a.practice = leaf.practice_id;
      a.sources.insert(leaf.source);
      if (a.accesses == 0 || leaf.time < a.first) a.first = leaf.time;
      a.last = std::max(a.last, leaf.time);
      ++a.accesses;
    }
    json by = json::array();
    for (const auto& [login, a] : received) {
      by.push_back({{"login", login},
                    {"practice", a.practice},
                    {"sources", json(a.sources)},
                    {"accesses", a.accesses},
                    {"first_access", FormatIsoTime(a.first)},
                    {"last_access", FormatIsoTime(a.last)}});
      AccountSource& total = accounts[login];
      total.practice = a.practice;
      total.canaries.insert(id);
      total.sources.insert(a.sources.begin(), a.sources.end());
      total.accesses += a.accesses;
      if (total.first == 0 || a.first < total.first) total.first = a.first;
      total.last = std::max(total.last, a.last);
    }
    if (received.empty()) ++unreleased_canaries[hit.practice];
    canary_json[id] = {{"id", id},
                       {"practice", hit.practice},
                       {"rows", hit.rows},
                       {"matched_on", FieldNames(hit.fields)},
                       {"received_by", std::move(by)}};
  }

  // Nothing is reported before the access to the patients decrypted is durable in the log.
  int64_t leaves = 0;
  std::map<std::string, std::vector<std::string>> decrypted_ids;
  for (const auto& [practice, ids] : matcher.decrypted()) {
    decrypted_ids[practice].assign(ids.begin(), ids.end());
  }
  const BulkDecryption what{std::string(kAccount), std::string(kAction), "Patient",
                            MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                                MaskOf(FieldGroup::kInsurance)};
  if (Status s = RecordBulkDecryption(ctx, what, decrypted_ids, &leaves); !s.ok()) {
    return ReportFailure(err, s.WithContext("recording the access in the log"));
  }
  int64_t decrypted = 0;
  for (const auto& [practice, ids] : matcher.decrypted()) {
    decrypted += static_cast<int64_t>(ids.size());
  }

  json report;
  json files_json = json::array();
  for (const FileReport& f : files) {
    json columns = json::array();
    for (size_t c = 0; c < f.dump.columns.size(); ++c) {
      const DumpColumn& col = f.dump.columns[c];
      json j = {{"index", c}, {"kind", DumpColumnKindName(col.kind)}};
      if (col.header_kind != DumpColumnKind::kOther) j["header"] = col.header;
      columns.push_back(std::move(j));
    }
    files_json.push_back({{"file", f.path},
                          {"format", f.dump.format},
                          {"separator", SeparatorName(f.dump.separator)},
                          {"header", f.dump.header},
                          {"rows", f.rows},
                          {"unreadable_lines", f.dump.unreadable_lines},
                          {"matched_rows", f.matched},
                          {"ambiguous_rows", f.ambiguous},
                          {"columns", std::move(columns)}});
  }
  report["files"] = std::move(files_json);
  report["rows"] = total_rows;
  report["matched_rows"] = matched_rows;
  report["ambiguous_rows"] = ambiguous_rows;
  json patients = json::array();
  std::map<std::string, std::pair<int64_t, int64_t>> per_practice;  // patients, canaries
  for (const auto& [id, hit] : hits) {
    if (hit.canary) {
      ++per_practice[hit.practice].second;
      continue;
    }
    ++per_practice[hit.practice].first;
    patients.push_back({{"id", id},
                        {"practice", hit.practice},
                        {"rows", hit.rows},
                        {"matched_on", FieldNames(hit.fields)}});
  }
  report["patients"] = std::move(patients);
  json practices = json::array();
  for (const auto& p : matcher.practices()) {
    auto it = per_practice.find(p.id);
    if (it == per_practice.end()) continue;
    practices.push_back({{"id", p.id},
                         {"name", p.name},
                         {"patients", it->second.first},
                         {"canaries", it->second.second}});
  }
  report["practices"] = std::move(practices);
  json canaries = json::array();
  for (auto& [id, j] : canary_json) canaries.push_back(std::move(j));
  report["canaries"] = std::move(canaries);
  json account_sources = json::array();
  for (const auto& [login, a] : accounts) {
    account_sources.push_back({{"login", login},
                               {"practice", a.practice},
                               {"canaries", a.canaries.size()},
                               {"sources", json(a.sources)},
                               {"first_access", FormatIsoTime(a.first)},
                               {"last_access", FormatIsoTime(a.last)}});
  }
  json practice_sources = json::array();
  for (const auto& [practice, n] : unreleased_canaries) {
    practice_sources.push_back({{"practice", practice}, {"canaries", n}});
  }
  report["sources"] = {{"accounts", std::move(account_sources)},
                       {"practices_stored_data", std::move(practice_sources)}};
  report["decrypted"] = decrypted;
  report["log"] = {{"leaves", leaves}, {"action", kAction}};

  if (!request.text) {
    out << report.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const auto& f : report["files"]) {
    out << "dump " << f["file"].get<std::string>() << ": " << f["format"].get<std::string>();
    if (f["format"] == "csv") out << " separated by '" << f["separator"].get<std::string>() << "'";
    out << (f["header"].get<bool>() ? ", with header" : ", no header") << ", " << f["rows"]
        << " rows, " << f["matched_rows"] << " matched\n";
  }
  out << "matched " << matched_rows << " of " << total_rows << " rows (" << ambiguous_rows
      << " ambiguous): " << report["patients"].size() << " of our patients, "
      << report["canaries"].size() << " canaries\n";
  for (const auto& p : report["practices"]) {
    out << "  practice " << p["name"].get<std::string>() << " (" << p["id"].get<std::string>()
        << "): " << p["patients"] << " patients, " << p["canaries"] << " canaries\n";
  }
  for (const auto& a : report["sources"]["accounts"]) {
    out << "taken through account " << a["login"].get<std::string>() << " of practice "
        << a["practice"].get<std::string>() << ": it received " << a["canaries"]
        << " of the canaries found, between " << a["first_access"].get<std::string>() << " and "
        << a["last_access"].get<std::string>() << "\n";
  }
  for (const auto& p : report["sources"]["practices_stored_data"]) {
    out << "practice " << p["practice"].get<std::string>() << ": " << p["canaries"]
        << " canaries found that no account ever received (stored data copied?)\n";
  }
  out << decrypted << " patients decrypted to confirm, recorded in " << leaves
      << " access-log leaves\n";
  return 0;
}

}  // namespace medvault::app
