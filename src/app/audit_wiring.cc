#include "app/audit_wiring.h"

#include "api/outcome.h"
#include "app/vault_context.h"
#include "crypto/sign.h"

#include <algorithm>
#include <cstdlib>

namespace medvault::app {
namespace {

audit::GuardDecision DecisionFromName(const std::string& name) {
  if (name == "allow") return audit::GuardDecision::kAllow;
  if (name == "log") return audit::GuardDecision::kLog;
  if (name == "step_up") return audit::GuardDecision::kStepUp;
  if (name == "contain_account") return audit::GuardDecision::kContainAccount;
  if (name == "contain_source") return audit::GuardDecision::kContainSource;
  if (name == "deny") return audit::GuardDecision::kDeny;
  return audit::GuardDecision::kNone;
}

Code CodeFromHttp(uint16_t status) {
  switch (status) {
    case 200: case 201: case 204: return Code::kOk;
    case 400: return Code::kInvalidArgument;
    case 401: return Code::kUnauthenticated;
    case 403: return Code::kPermissionDenied;
    case 404: return Code::kNotFound;
    case 409: return Code::kAlreadyExists;
    case 423: return Code::kLocked;
    case 429: return Code::kResourceExhausted;
    case 503: return Code::kUnavailable;
    default: return status < 400 ? Code::kOk : Code::kInternal;
  }
}

}  // namespace

Result<crypto::SecretKey> KeyringAuditKeys::AuditKey(const std::string& key_id) {
  if (key_id == audit::kVaultKeyId) return keyring_.VaultAuditKey();
  MV_ASSIGN_OR_RETURN(auto practice, keyring_.Practice(key_id));
  return practice->audit.Clone();
}

audit::Leaf LeafFromRecord(const api::AccessRecord& rec) {
  audit::Leaf leaf;
  leaf.time = rec.time;
  leaf.practice_id = rec.practice_id;
  leaf.account = rec.login;
  if (!rec.login.empty() && rec.action != "login.fail") leaf.role = rec.role;
  leaf.session_id = ToBytes(rec.session_id);
  leaf.source = rec.source_ip;
  leaf.action = rec.action;
  leaf.resource_type = rec.resource_type;
  leaf.patient_ids = rec.patient_ids;
  leaf.field_groups = rec.field_groups;
  leaf.note_categories = rec.note_categories;
  leaf.outcome = static_cast<uint16_t>(api::HttpStatusFor(rec.outcome));
  leaf.decision = DecisionFromName(rec.guard_decision);
  leaf.request_id = rec.request_id;
  return leaf;
}

void AccessLogSink::Record(api::AccessRecord rec, std::function<void(Status)> on_durable) {
  log_.AppendAsync(LeafFromRecord(rec), [done = std::move(on_durable)](Result<uint64_t> index) {
    done(index.status());
  });
}

api::AccessEventView EventViewFromLeaf(const audit::Leaf& leaf) {
  api::AccessEventView view;
  view.time = leaf.time;
  view.login = leaf.account;
  view.role = leaf.role.value_or(Role::kPractitioner);
  view.action = leaf.action;
  view.field_groups = leaf.field_groups;
  view.outcome = CodeFromHttp(leaf.outcome);
  return view;
}

Result<std::vector<api::AccessEventView>> LogAuditQuery::ForPatient(
    const std::string& practice_id, const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(std::vector<audit::Leaf> leaves, index_.ForPatient(practice_id, patient_id));
  std::vector<api::AccessEventView> out;
  out.reserve(leaves.size());
  for (const audit::Leaf& leaf : leaves) out.push_back(EventViewFromLeaf(leaf));
  return out;
}

ClassifierAdapter::ClassifierAdapter(std::function<void(const Status&)> on_loaded)
    : state_(std::make_shared<State>()) {
  loader_ = std::thread([state = state_, on_loaded = std::move(on_loaded)] {
    Loaded loaded = [&]() -> Loaded {
      MV_ASSIGN_OR_RETURN(auto classifier, notes::Classifier::Load());
      return std::shared_ptr<const notes::Classifier>(std::move(classifier));
    }();
    const Status status = loaded.status();
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->loaded.emplace(std::move(loaded));
    }
    state->cv.notify_all();
    if (on_loaded) on_loaded(status);
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->done = true;
    }
    state->cv.notify_all();
  });
}

ClassifierAdapter::~ClassifierAdapter() {
  if (Loading()) {
    loader_.detach();  // the process ends without waiting for the compilation
  } else {
    loader_.join();
  }
}

bool ClassifierAdapter::Loading() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return !state_->done;
}

const ClassifierAdapter::Loaded& ClassifierAdapter::Wait() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->loaded.has_value(); });
  return *state_->loaded;  // never changes once set
}

api::Classification ClassifierAdapter::Classify(std::string_view text) {
  const Loaded& loaded = Wait();
  // A failed load stops the server (serve.cc); a note written before that ends the process rather
  // than pass unclassified.
  if (!loaded.ok()) std::abort();
  const notes::Classification c = (*loaded)->Classify(text);
  api::Classification out;
  for (notes::Category cat : c.categories) out.categories.emplace_back(notes::CategoryId(cat));
  for (notes::Qualifier q : c.qualifiers) out.qualifiers.emplace_back(notes::QualifierId(q));
  for (const auto& span : c.spans) {
    out.spans.push_back({span.start, span.end, std::string(notes::CategoryId(span.category))});
  }
  return out;
}

Status RecordBulkDecryption(VaultContext& vault, const BulkDecryption& what,
                            const std::map<std::string, std::vector<std::string>>& patients,
                            int64_t* leaves) {
  MV_ASSIGN_OR_RETURN(auto store, vault.OpenLogStore());
  MV_ASSIGN_OR_RETURN(crypto::SecretKey seed, vault.keyring().LogSigningSeed());
  const crypto::SigningKey key = crypto::SigningKey::FromSeed(seed);
  KeyringAuditKeys keys(vault.keyring());
  audit::AccessLogOptions options;
  options.origin = vault.config().log_origin;
  audit::AccessLog log(*store, keys, key, vault.clock(), vault.random(), options);
  MV_RETURN_IF_ERROR(log.Start());
  Status result = Status::Ok();
  for (const auto& [practice, ids] : patients) {
    for (std::size_t start = 0; start < ids.size() && result.ok();
         start += kBulkPatientsPerLeaf) {
      audit::Leaf leaf;
      leaf.time = vault.clock().Now();
      leaf.practice_id = practice;
      leaf.account = what.account;
      leaf.role = Role::kSecurity;
      leaf.source = "local";
      leaf.action = what.action;
      leaf.resource_type = what.resource_type;
      const std::size_t end = std::min(start + kBulkPatientsPerLeaf, ids.size());
      leaf.patient_ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(start),
                              ids.begin() + static_cast<std::ptrdiff_t>(end));
      leaf.field_groups = what.field_groups;
      leaf.outcome = 200;
      result = log.Append(leaf).status();
      if (result.ok() && leaves != nullptr) ++*leaves;
    }
  }
  log.Stop();
  return result;
}

}  // namespace medvault::app
