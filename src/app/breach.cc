#include "app/command_status.h"
#include "app/breach.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/audit_wiring.h"
#include "app/vault_context.h"
#include "audit/verify.h"
#include "notes/category.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault::app {
namespace {

struct PatientScope {
  std::string practice;
  FieldGroupMask groups = 0;
  uint64_t categories = 0;
  UnixMicros first = 0;
  UnixMicros last = 0;
  int64_t accesses = 0;
};

struct AccountScope {
  std::string practice;
  int64_t requests = 0;
  std::set<std::string> patients;
};

nlohmann::json GroupNames(FieldGroupMask mask) {
  nlohmann::json out = nlohmann::json::array();
  for (FieldGroup g : kAllFieldGroups) {
    if (MaskHas(mask, g)) out.push_back(FieldGroupName(g));
  }
  return out;
}

nlohmann::json CategoryNames(uint64_t mask) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < notes::kCategoryCount; ++i) {
    if ((mask >> i) & 1u) out.push_back(notes::CategoryId(static_cast<notes::Category>(i)));
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

int RunBreachScope(const ScopeQuery& query, std::ostream& out, std::ostream& err) {
  UnixMicros since = INT64_MIN;
  UnixMicros until = INT64_MAX;
  if (!query.since.empty()) {
    auto t = ParseIsoTime(query.since);
    if (!t.ok()) return ReportFailure(err, t.status().WithContext("--since"));
    since = *t;
  }
  if (!query.until.empty()) {
    auto t = ParseIsoTime(query.until);
    if (!t.ok()) return ReportFailure(err, t.status().WithContext("--until"));
    until = *t;
  }
  auto ctx_or = VaultContext::Open(query.data_dir);
  if (!ctx_or.ok()) return ReportFailure(err, ctx_or.status());
  VaultContext& ctx = **ctx_or;
  auto seed = ctx.keyring().LogSigningSeed();
  if (!seed.ok()) return ReportFailure(err, seed.status());
  const crypto::SigningKey log_key = crypto::SigningKey::FromSeed(*seed);
  auto log = store::OpenSqliteLogStore(ctx.LogPath());
  if (!log.ok()) return ReportFailure(err, log.status());

  // No scope from a log that does not verify.
  auto report = audit::Verify(**log, log_key.public_key());
  if (!report.ok()) return ReportFailure(err, report.status().WithContext("the access log does not verify"));

  KeyringAuditKeys keys(ctx.keyring());
  std::map<std::string, PatientScope> patients;
  std::map<std::string, AccountScope> accounts;
  constexpr uint64_t kChunk = 4096;
  for (uint64_t start = 0; start < report->tree_size; start += kChunk) {
    auto entries = (*log)->ReadEntries(start, std::min(kChunk, report->tree_size - start));
    if (!entries.ok()) return ReportFailure(err, entries.status());
    for (const auto& entry : *entries) {
      auto leaf = audit::OpenLeaf(entry, keys);
      if (!leaf.ok()) return ReportFailure(err, leaf.status().WithContext("a log entry cannot be opened"));
      if (leaf->time < since || leaf->time >= until) continue;
      if (!query.logins.empty() && !Contains(query.logins, leaf->account)) continue;
      if (!query.source_ips.empty() && !Contains(query.source_ips, leaf->source)) continue;
      AccountScope& account = accounts[leaf->account];
      if (account.practice.empty()) account.practice = leaf->practice_id;
      ++account.requests;
      const bool released = leaf->outcome >= 200 && leaf->outcome < 300;
      if (!released || leaf->field_groups == 0) continue;
      for (const auto& id : leaf->patient_ids) {
        account.patients.insert(id);
        PatientScope& p = patients[id];
        if (p.accesses == 0) {
          p.practice = leaf->practice_id;
          p.first = leaf->time;
        }
        p.groups |= leaf->field_groups;
        p.categories |= leaf->note_categories;
        p.first = std::min(p.first, leaf->time);
        p.last = std::max(p.last, leaf->time);
        ++p.accesses;
      }
    }
  }

  nlohmann::json result;
  result["query"] = {{"logins", query.logins},
                     {"source_ips", query.source_ips},
                     {"since", query.since.empty() ? nlohmann::json(nullptr)
                                                   : nlohmann::json(FormatIsoTime(since))},
                     {"until", query.until.empty() ? nlohmann::json(nullptr)
                                                   : nlohmann::json(FormatIsoTime(until))}};
  result["log"] = {{"tree_size", report->tree_size},
                   {"root", Base64Encode(report->root)},
                   {"verified", true}};
  nlohmann::json account_list = nlohmann::json::array();
  for (const auto& [login, a] : accounts) {
    account_list.push_back({{"login", login},
                            {"practice", a.practice},
                            {"requests", a.requests},
                            {"patients", a.patients.size()}});
  }
  result["accounts"] = account_list;
  nlohmann::json patient_list = nlohmann::json::array();
  nlohmann::json canary_list = nlohmann::json::array();
  std::map<std::string, int64_t> by_group, by_category;
  for (const auto& [id, p] : patients) {
    nlohmann::json item = {{"id", id},
                           {"practice", p.practice},
                           {"field_groups", GroupNames(p.groups)},
                           {"note_categories", CategoryNames(p.categories)},
                           {"first_access", FormatIsoTime(p.first)},
                           {"last_access", FormatIsoTime(p.last)},
                           {"accesses", p.accesses}};
    auto row = ctx.data().GetPatient(p.practice, id);
    if (row.ok() && row->canary) {
      canary_list.push_back(std::move(item));
      continue;
    }
    for (const auto& g : GroupNames(p.groups)) ++by_group[g.get<std::string>()];
    for (const auto& c : CategoryNames(p.categories)) ++by_category[c.get<std::string>()];
    patient_list.push_back(std::move(item));
  }
  result["totals"] = {{"patients", patient_list.size()},
                      {"by_field_group", by_group},
                      {"by_note_category", by_category}};
  result["patients"] = std::move(patient_list);
  result["canaries"] = std::move(canary_list);
  out << result.dump(2) << "\n";
  return 0;
}

}  // namespace medvault::app
