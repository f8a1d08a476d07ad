#include "api/hooks.h"

namespace medvault::api {

std::string Decision::Name() const {
  if (contain_source) return "contain_source";
  if (contain_account) return "contain_account";
  if (step_up) return "step_up";
  if (unavailable) return "unavailable";
  if (!allow) return "deny";
  return "allow";
}

void NullAuditSink::Record(AccessRecord rec, std::function<void(Status)> on_durable) {
  (void)rec;
  on_durable(Status::Ok());
}

Decision PermissiveGuard::Admit(const GuardContext& ctx) {
  (void)ctx;
  return Decision{};
}

Decision PermissiveGuard::Charge(const GuardContext& ctx,
                                 const std::vector<std::string>& patient_ids,
                                 const std::vector<bool>& canary, FieldGroupMask groups) {
  (void)ctx;
  (void)patient_ids;
  Decision d;
  const bool reveals = MaskHas(groups, FieldGroup::kIdentity) || MaskHas(groups, FieldGroup::kContact);
  for (bool c : canary) {
    if (c && reveals) {
      d.allow = false;
      d.contain_account = true;
      d.reason = "canary patient returned";
      break;
    }
  }
  return d;
}

Classification NullNoteClassifier::Classify(std::string_view text) {
  (void)text;
  return {};
}

Result<std::vector<AccessEventView>> EmptyAuditQuery::ForPatient(const std::string& practice_id,
                                                                 const std::string& patient_id) {
  (void)practice_id;
  (void)patient_id;
  return std::vector<AccessEventView>{};
}

}  // namespace medvault::api
