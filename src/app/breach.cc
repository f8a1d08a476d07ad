#include "app/breach.h"

#include <algorithm>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "app/audit_wiring.h"
#include "app/breach_evidence.h"
#include "app/command_status.h"
#include "app/vault_context.h"
#include "audit/verify.h"
#include "notes/category.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault::app {
namespace {

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The audit keys one scanning thread has fetched so far (each thread keeps its own, so opening
// takes no lock).
class KeyCache {
 public:
  explicit KeyCache(audit::AuditKeyProvider& provider) : provider_(provider) {}
  Result<const crypto::SecretKey*> Get(const std::string& key_id) {
    auto it = keys_.find(key_id);
    if (it == keys_.end()) {
      MV_ASSIGN_OR_RETURN(crypto::SecretKey key, provider_.AuditKey(key_id));
      it = keys_.emplace(key_id, std::move(key)).first;
    }
    return &it->second;
  }

 private:
  audit::AuditKeyProvider& provider_;
  std::map<std::string, crypto::SecretKey, std::less<>> keys_;
};

// What one scanning thread reuses from chunk to chunk: its keys and its payload buffer.
struct ScanState {
  ScanState(audit::AuditKeyProvider& provider, const ScopeFilter& filter)
      : keys(provider), keep([&filter](const audit::LeafHead& h) { return filter.Matches(h); }) {}
  KeyCache keys;
  Bytes scratch;
  std::function<bool(const audit::LeafHead&)> keep;
};

// Opens entries [begin, end) of `entries` into `leaves` (reused: their strings keep their
// storage); opened[i] says whether leaves[i] holds entry i, which then matches the filter.
Status OpenRange(const std::vector<Bytes>& entries, size_t begin, size_t end,
                 const ScopeFilter& filter, ScanState& state, std::vector<audit::Leaf>& leaves,
                 std::vector<uint8_t>& opened) {
  for (size_t i = begin; i < end; ++i) {
    MV_ASSIGN_OR_RETURN(audit::EntryHeader header, audit::ParseEntryHeader(entries[i]));
    opened[i] = filter.MayMatchKeyId(header.key_id) ? 1 : 0;
    if (opened[i] == 0) continue;
    MV_ASSIGN_OR_RETURN(const crypto::SecretKey* key, state.keys.Get(header.key_id));
    MV_ASSIGN_OR_RETURN(bool kept, audit::OpenLeafIf(entries[i], header, *key, state.keep,
                                                     &state.scratch, &leaves[i]));
    opened[i] = kept ? 1 : 0;
  }
  return Status::Ok();
}

nlohmann::json TimeOrNull(const std::string& t) {
  return t.empty() ? nlohmann::json(nullptr) : nlohmann::json(t);
}

nlohmann::json PatientJson(const PatientExposure& p) {
  return {{"id", p.id},
          {"practice", p.practice},
          {"field_groups", FieldGroupNames(p.field_groups)},
          {"note_categories", NoteCategoryNames(p.note_categories)},
          {"first_access", FormatIsoTime(p.first_access)},
          {"last_access", FormatIsoTime(p.last_access)},
          {"accesses", p.accesses}};
}

// RFC 4180: a field holding a comma, a quote or a line break is quoted, quotes doubled.
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

Result<std::vector<std::string>> StringList(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) return InvalidArgument(what + ": expected an array");
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) return InvalidArgument(what + ": expected strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<PatientExposure> PatientFromJson(const nlohmann::json& j, const std::string& what,
                                        bool canary) {
  if (!j.is_object()) return InvalidArgument(what + ": expected an object");
  PatientExposure p;
  p.canary = canary;
  for (const char* key : {"id", "practice", "first_access", "last_access"}) {
    if (!j.contains(key) || !j[key].is_string()) {
      return InvalidArgument(what + "." + key + ": expected a string");
    }
  }
  p.id = j["id"].get<std::string>();
  p.practice = j["practice"].get<std::string>();
  if (p.id.empty()) return InvalidArgument(what + ".id: empty");
  for (const char* key : {"first_access", "last_access"}) {
    auto t = ParseIsoTime(j[key].get<std::string>());
    if (!t.ok()) return InvalidArgument(what + "." + key + ": not an ISO 8601 time");
    (std::string_view(key) == "first_access" ? p.first_access : p.last_access) = *t;
  }
  if (!j.contains("accesses") || !j["accesses"].is_number_integer()) {
    return InvalidArgument(what + ".accesses: expected an integer");
  }
  p.accesses = j["accesses"].get<int64_t>();
  MV_ASSIGN_OR_RETURN(auto groups, StringList(j.value("field_groups", nlohmann::json()),
                                              what + ".field_groups"));
  for (const auto& g : groups) {
    auto group = ParseFieldGroup(g);
    if (!group) return InvalidArgument(what + ".field_groups: unknown group " + g);
    p.field_groups |= MaskOf(*group);
  }
  MV_ASSIGN_OR_RETURN(auto categories, StringList(j.value("note_categories", nlohmann::json()),
                                                  what + ".note_categories"));
  for (const auto& c : categories) {
    auto category = notes::CategoryFromId(c);
    if (!category) return InvalidArgument(what + ".note_categories: unknown category " + c);
    p.note_categories |= uint64_t{1} << static_cast<unsigned>(*category);
  }
  return p;
}

}  // namespace

std::vector<std::string> FieldGroupNames(FieldGroupMask mask) {
  std::vector<std::string> out;
  for (FieldGroup g : kAllFieldGroups) {
    if (MaskHas(mask, g)) out.emplace_back(FieldGroupName(g));
  }
  return out;
}

std::vector<std::string> NoteCategoryNames(uint64_t mask) {
  std::vector<std::string> out;
  for (size_t i = 0; i < notes::kCategoryCount; ++i) {
    if ((mask >> i) & 1u) out.emplace_back(notes::CategoryId(static_cast<notes::Category>(i)));
  }
  return out;
}

Result<ScopeFilter> ScopeFilter::FromQuery(const ScopeQuery& query) {
  ScopeFilter f;
  f.logins = query.logins;
  f.source_ips = query.source_ips;
  f.practices = query.practices;
  if (!query.since.empty()) {
    auto t = ParseIsoTime(query.since);
    if (!t.ok()) return t.status().WithContext("--since");
    f.since = *t;
  }
  if (!query.until.empty()) {
    auto t = ParseIsoTime(query.until);
    if (!t.ok()) return t.status().WithContext("--until");
    f.until = *t;
  }
  for (const auto& p : f.practices) {
    if (p.empty() || p == audit::kVaultKeyId) return InvalidArgument("--practice: not a practice id");
  }
  return f;
}

bool ScopeFilter::MayMatchKeyId(std::string_view key_id) const {
  return practices.empty() || Contains(practices, key_id);
}

bool ScopeFilter::Matches(const audit::LeafHead& leaf) const {
  if (leaf.time < since || leaf.time >= until) return false;
  if (!logins.empty() && !Contains(logins, leaf.account)) return false;
  if (!source_ips.empty() && !Contains(source_ips, leaf.source)) return false;
  if (!practices.empty() && !Contains(practices, leaf.practice_id)) return false;
  return true;
}

bool ScopeFilter::Matches(const audit::Leaf& leaf) const {
  return Matches(audit::LeafHead{leaf.time, leaf.practice_id, leaf.account, leaf.source});
}

void ScopeAggregator::Add(const audit::Leaf& leaf) {
  Account& account = accounts_[leaf.account];
  if (account.practice.empty()) account.practice = leaf.practice_id;
  ++account.requests;
  const bool released = leaf.outcome >= 200 && leaf.outcome < 300;
  if (!released || leaf.field_groups == 0) return;
  for (const auto& id : leaf.patient_ids) {
    auto [it, inserted] = patient_index_.try_emplace(id, static_cast<uint32_t>(patients_.size()));
    if (inserted) {
      PatientExposure p;
      p.id = id;
      p.practice = leaf.practice_id;
      p.first_access = leaf.time;
      p.last_access = leaf.time;
      patients_.push_back(std::move(p));
    }
    PatientExposure& p = patients_[it->second];
    p.field_groups |= leaf.field_groups;
    p.note_categories |= leaf.note_categories;
    p.first_access = std::min(p.first_access, leaf.time);
    p.last_access = std::max(p.last_access, leaf.time);
    ++p.accesses;
    account.patients.push_back(it->second);
  }
  // Keep an account's list compact when one account reads the same patients again and again.
  if (account.patients.size() > 4096 && account.patients.size() % 4096 == 0) {
    std::sort(account.patients.begin(), account.patients.end());
    account.patients.erase(std::unique(account.patients.begin(), account.patients.end()),
                           account.patients.end());
  }
}

std::vector<AccountExposure> ScopeAggregator::Accounts() const {
  std::vector<AccountExposure> out;
  for (const auto& [login, a] : accounts_) {
    std::vector<uint32_t> ids = a.patients;
    std::sort(ids.begin(), ids.end());
    const auto distinct = std::unique(ids.begin(), ids.end()) - ids.begin();
    out.push_back({login, a.practice, a.requests, static_cast<int64_t>(distinct)});
  }
  std::sort(out.begin(), out.end(),
            [](const AccountExposure& x, const AccountExposure& y) { return x.login < y.login; });
  return out;
}

std::vector<PatientExposure> ScopeAggregator::Patients() const {
  std::vector<PatientExposure> out = patients_;
  std::sort(out.begin(), out.end(),
            [](const PatientExposure& x, const PatientExposure& y) { return x.id < y.id; });
  return out;
}

Result<Scope> ComputeScope(VaultContext& vault, store::LogStore& log, const ScopeQuery& query) {
  MV_ASSIGN_OR_RETURN(ScopeFilter filter, ScopeFilter::FromQuery(query));
  MV_ASSIGN_OR_RETURN(crypto::SecretKey seed, vault.keyring().LogSigningSeed());
  const crypto::SigningKey log_key = crypto::SigningKey::FromSeed(seed);

  Scope scope;
  scope.logins = query.logins;
  scope.source_ips = query.source_ips;
  scope.practices = query.practices;
  if (!query.since.empty()) scope.since = FormatIsoTime(filter.since);
  if (!query.until.empty()) scope.until = FormatIsoTime(filter.until);

  // One pass: the verifier hands over each chunk it has read and hashed; its leaves are opened
  // on two threads and aggregated in log order on this one. Nothing of it is used unless the
  // whole log then verifies.
  KeyringAuditKeys provider(vault.keyring());
  ScanState state_a(provider, filter), state_b(provider, filter);
  ScopeAggregator aggregator;
  std::vector<audit::Leaf> leaves;
  std::vector<uint8_t> opened;
  Status open_error = Status::Ok();
  audit::VerifyOptions options;
  options.on_entries = [&](uint64_t first, const std::vector<Bytes>& entries) -> Status {
    const size_t n = entries.size();
    if (leaves.size() < n) leaves.resize(n);
    opened.assign(n, 0);
    const size_t half = n / 2;
    std::future<Status> first_half = std::async(std::launch::async, [&] {
      return OpenRange(entries, 0, half, filter, state_b, leaves, opened);
    });
    Status second = OpenRange(entries, half, n, filter, state_a, leaves, opened);
    Status first_status = first_half.get();
    // A leaf that does not open is reported after the verification, which names the first bad
    // index when the log was tampered with.
    for (const Status& s : {first_status, second}) {
      if (!s.ok() && open_error.ok()) open_error = s.WithContext("a log entry cannot be opened");
    }
    if (!open_error.ok()) return Status::Ok();
    for (size_t k = 0; k < n; ++k) {
      if (opened[k] == 0) continue;
      aggregator.Add(leaves[k]);
      scope.matching_leaves.push_back(first + k);
    }
    return Status::Ok();
  };
  // No scope from a log that does not verify.
  Result<audit::VerifyReport> report = audit::Verify(log, log_key.public_key(), options);
  if (!report.ok()) return report.status().WithContext("the access log does not verify");
  if (!open_error.ok()) return open_error;
  scope.tree_size = report->tree_size;
  scope.root = report->root;

  scope.accounts = aggregator.Accounts();
  for (PatientExposure& p : aggregator.Patients()) {
    Result<store::PatientRow> row = vault.data().GetPatient(p.practice, p.id);
    p.canary = row.ok() && row->canary;
    (p.canary ? scope.canaries : scope.patients).push_back(std::move(p));
  }
  return scope;
}

std::string ScopeToJson(const Scope& scope) {
  // Written item by item (one patient a line) rather than as one document: a scope can list
  // millions of patients.
  nlohmann::json query = {{"logins", scope.logins},
                          {"source_ips", scope.source_ips},
                          {"since", TimeOrNull(scope.since)},
                          {"until", TimeOrNull(scope.until)}};
  if (!scope.practices.empty()) query["practices"] = scope.practices;
  const nlohmann::json log = {
      {"tree_size", scope.tree_size}, {"root", Base64Encode(scope.root)}, {"verified", true}};
  std::string out;
  out.reserve(256 + 256 * (scope.patients.size() + scope.canaries.size() + scope.accounts.size()));
  out += "{\n  \"query\": " + query.dump() + ",\n  \"log\": " + log.dump() +
         ",\n  \"accounts\": [";
  auto list = [&out](const auto& items, auto to_json) {
    for (size_t i = 0; i < items.size(); ++i) {
      out += i == 0 ? "\n    " : ",\n    ";
      out += to_json(items[i]).dump();
    }
    out += items.empty() ? "]" : "\n  ]";
  };
  list(scope.accounts, [](const AccountExposure& a) {
    return nlohmann::json{{"login", a.login},
                          {"practice", a.practice},
                          {"requests", a.requests},
                          {"patients", a.patients}};
  });
  out += ",\n  \"patients\": [";
  list(scope.patients, PatientJson);
  std::map<std::string, int64_t> by_group, by_category;
  for (const PatientExposure& p : scope.patients) {
    for (const auto& g : FieldGroupNames(p.field_groups)) ++by_group[g];
    for (const auto& c : NoteCategoryNames(p.note_categories)) ++by_category[c];
  }
  const nlohmann::json totals = {{"patients", scope.patients.size()},
                                 {"by_field_group", by_group},
                                 {"by_note_category", by_category}};
  out += ",\n  \"totals\": " + totals.dump() + ",\n  \"canaries\": [";
  list(scope.canaries, PatientJson);
  out += "\n}\n";
  return out;
}

Result<Scope> ScopeFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("scope: not a JSON object");
  Scope scope;
  if (!j.contains("query") || !j["query"].is_object()) {
    return InvalidArgument("query: expected an object");
  }
  const nlohmann::json& q = j["query"];
  MV_ASSIGN_OR_RETURN(scope.logins, StringList(q.value("logins", nlohmann::json::array()), "query.logins"));
  MV_ASSIGN_OR_RETURN(scope.source_ips,
                      StringList(q.value("source_ips", nlohmann::json::array()), "query.source_ips"));
  MV_ASSIGN_OR_RETURN(scope.practices,
                      StringList(q.value("practices", nlohmann::json::array()), "query.practices"));
  for (const char* key : {"since", "until"}) {
    if (q.contains(key) && q[key].is_string()) {
      (std::string_view(key) == "since" ? scope.since : scope.until) = q[key].get<std::string>();
    }
  }
  if (!j.contains("log") || !j["log"].is_object() || !j["log"].value("verified", false)) {
    return InvalidArgument("log: expected a verified log");
  }
  if (!j["log"].contains("tree_size") || !j["log"]["tree_size"].is_number_unsigned()) {
    return InvalidArgument("log.tree_size: expected an integer");
  }
  scope.tree_size = j["log"]["tree_size"].get<uint64_t>();
  auto root = Base64Decode(j["log"].value("root", ""));
  if (!root.ok() || root->size() != scope.root.size()) return InvalidArgument("log.root: not a hash");
  std::copy(root->begin(), root->end(), scope.root.begin());
  if (!j.contains("accounts") || !j["accounts"].is_array()) {
    return InvalidArgument("accounts: expected an array");
  }
  for (const auto& a : j["accounts"]) {
    if (!a.is_object() || !a.contains("login") || !a["login"].is_string()) {
      return InvalidArgument("accounts[].login: expected a string");
    }
    scope.accounts.push_back({a["login"].get<std::string>(), a.value("practice", ""),
                              a.value("requests", int64_t{0}), a.value("patients", int64_t{0})});
  }
  for (const char* list : {"patients", "canaries"}) {
    const bool canary = std::string_view(list) == "canaries";
    if (!j.contains(list)) {
      if (canary) continue;
      return InvalidArgument("patients: missing");
    }
    if (!j[list].is_array()) return InvalidArgument(std::string(list) + ": expected an array");
    size_t i = 0;
    for (const auto& item : j[list]) {
      MV_ASSIGN_OR_RETURN(PatientExposure p, PatientFromJson(item, std::string(list) + "[" + std::to_string(i++) + "]", canary));
      (canary ? scope.canaries : scope.patients).push_back(std::move(p));
    }
  }
  return scope;
}

std::string ScopeToCsv(const Scope& scope) {
  std::string out =
      "id,practice,field_groups,note_categories,first_access,last_access,accesses,canary\r\n";
  auto row = [&](const PatientExposure& p) {
    const std::vector<std::string> fields = {p.id,
                                             p.practice,
                                             Join(FieldGroupNames(p.field_groups), " "),
                                             Join(NoteCategoryNames(p.note_categories), " "),
                                             FormatIsoTime(p.first_access),
                                             FormatIsoTime(p.last_access),
                                             std::to_string(p.accesses),
                                             p.canary ? "true" : "false"};
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvField(fields[i]);
    }
    out += "\r\n";
  };
  for (const PatientExposure& p : scope.patients) row(p);
  for (const PatientExposure& p : scope.canaries) row(p);
  return out;
}

std::string ScopeSummary(const Scope& scope) {
  std::ostringstream s;
  auto list_or = [](const std::vector<std::string>& v, const char* none) {
    return v.empty() ? std::string(none) : Join(v, ", ");
  };
  s << "Breach scope\n";
  s << "  accounts:  " << list_or(scope.logins, "all") << "\n";
  s << "  sources:   " << list_or(scope.source_ips, "all") << "\n";
  s << "  practices: " << list_or(scope.practices, "all") << "\n";
  s << "  window:    " << (scope.since.empty() ? "beginning of the log" : scope.since) << " to "
    << (scope.until.empty() ? "now" : scope.until) << "\n";
  s << "Log: verified, tree_size=" << scope.tree_size << " root=" << Base64Encode(scope.root)
    << ", " << scope.matching_leaves.size() << " matching requests\n\n";

  std::map<std::string, int64_t> by_group, by_category, by_practice;
  int64_t accesses = 0;
  UnixMicros first = INT64_MAX, last = INT64_MIN;
  for (const PatientExposure& p : scope.patients) {
    for (const auto& g : FieldGroupNames(p.field_groups)) ++by_group[g];
    for (const auto& c : NoteCategoryNames(p.note_categories)) ++by_category[c];
    ++by_practice[p.practice];
    accesses += p.accesses;
    first = std::min(first, p.first_access);
    last = std::max(last, p.last_access);
  }
  s << "Patients exposed: " << scope.patients.size() << " (" << accesses << " accesses)\n";
  if (!scope.patients.empty()) {
    s << "  time span: " << FormatIsoTime(first) << " to " << FormatIsoTime(last) << "\n";
  }
  s << "  by field group:\n";
  for (FieldGroup g : kAllFieldGroups) {
    const std::string name(FieldGroupName(g));
    s << "    " << name << std::string(12 - name.size(), ' ') << by_group[name] << "\n";
  }
  s << "  by note category:" << (by_category.empty() ? " none\n" : "\n");
  for (const auto& [name, n] : by_category) {
    s << "    " << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << n << "\n";
  }
  s << "  by practice:" << (by_practice.empty() ? " none\n" : "\n");
  for (const auto& [id, n] : by_practice) s << "    " << id << "  " << n << "\n";
  s << "Canary patients touched: " << scope.canaries.size()
    << (scope.canaries.empty() ? "\n" : " (proof of an extraction; they expose nobody)\n");
  s << "\nAccounts (" << scope.accounts.size() << "):\n";
  for (const AccountExposure& a : scope.accounts) {
    s << "  " << a.login << "  practice " << (a.practice.empty() ? "-" : a.practice)
      << "  requests " << a.requests << "  patients " << a.patients << "\n";
  }
  return s.str();
}

int RunBreachScope(const ScopeQuery& query, std::ostream& out, std::ostream& err) {
  if (query.format != "json" && query.format != "csv" && query.format != "summary") {
    return ReportFailure(err, InvalidArgument("--format: expected json, csv or summary"));
  }
  if (auto filter = ScopeFilter::FromQuery(query); !filter.ok()) {
    return ReportFailure(err, filter.status());
  }
  auto ctx = VaultContext::Open(query.data_dir);
  if (!ctx.ok()) return ReportFailure(err, ctx.status());
  for (const std::string& practice : query.practices) {
    if (!(*ctx)->data().GetPractice(practice).ok()) {
      return ReportFailure(err, InvalidArgument("--practice: no such practice: " + practice));
    }
  }
  auto log = (*ctx)->OpenLogStore();
  if (!log.ok()) return ReportFailure(err, log.status());
  Result<Scope> scope = ComputeScope(**ctx, **log, query);
  if (!scope.ok()) return ReportFailure(err, scope.status());
  if (!query.evidence_dir.empty()) {
    Status written = WriteEvidence(**ctx, **log, *scope, query.evidence_dir);
    if (!written.ok()) return ReportFailure(err, written.WithContext("--evidence"));
  }
  if (query.format == "csv") {
    out << ScopeToCsv(*scope);
  } else if (query.format == "summary") {
    out << ScopeSummary(*scope);
  } else {
    out << ScopeToJson(*scope);
  }
  out.flush();
  return out ? 0 : ReportFailure(err, Internal("cannot write the scope"));
}

}  // namespace medvault::app
