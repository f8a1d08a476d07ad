#pragma once
// Test-only: an AuditKeyProvider with fixed keys, and a sample leaf. Header-only so that it is
// never compiled into mv_audit.
#include <map>
#include <mutex>
#include <string>

#include "audit/leaf.h"

namespace medvault::audit::testing {

// Key for id k: 32 bytes, byte i = (first byte of k) + i. Knows the ids given at construction.
// Thread-safe.
class FakeKeyProvider final : public AuditKeyProvider {
 public:
  explicit FakeKeyProvider(std::initializer_list<std::string> ids) : ids_(ids) {}
  Result<crypto::SecretKey> AuditKey(const std::string& key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    bool known = false;
    for (const std::string& id : ids_) known = known || id == key_id;
    if (!known) return NotFound("no audit key for " + key_id);
    Bytes raw(crypto::kKeySize);
    for (size_t i = 0; i < raw.size(); ++i) {
      raw[i] = static_cast<uint8_t>(static_cast<uint8_t>(key_id[0]) + i);
    }
    return crypto::SecretKey::FromBytes(raw);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> ids_;
};

inline Leaf SampleLeaf(int n = 0) {
  Leaf leaf;
  leaf.time = 1767225600000000 + n;  // 2026-01-01T00:00:00Z
  leaf.practice_id = "prac-1";
  leaf.account = "dr.martin";
  leaf.role = Role::kPractitioner;
  leaf.session_id = Bytes(16, 0xab);
  leaf.source = "192.0.2.10";
  leaf.action = "patient.read";
  leaf.resource_type = "Patient";
  leaf.patient_ids = {"pat-" + std::to_string(n)};
  leaf.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact);
  leaf.note_categories = 0;
  leaf.outcome = 200;
  leaf.decision = GuardDecision::kAllow;
  leaf.request_id = "req-" + std::to_string(n);
  return leaf;
}

}  // namespace medvault::audit::testing
