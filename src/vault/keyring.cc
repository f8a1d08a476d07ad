#include "vault/keyring.h"

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/master_key.h"

namespace medvault::vault {
namespace {

constexpr const char* kKek = "kek";
constexpr const char* kIndex = "index";
constexpr const char* kAudit = "audit";
constexpr const char* kSystem = "system";
constexpr const char* kLogSigning = "logsign";
constexpr size_t kMaxCachedDeks = 200'000;

std::string KekLabel(uint32_t version) { return "kek/" + std::to_string(version); }

std::string DekCacheKey(const std::string& practice_id, const std::string& patient_id) {
  return practice_id + "/" + patient_id;
}

}  // namespace

Bytes WrapAssociatedData(std::string_view owner, std::string_view purpose, uint32_t version,
                         std::string_view patient_id) {
  Bytes ad = ToBytes("medvault/wrap");
  ad.push_back(0);
  PutLengthPrefixed(&ad, AsBytes(owner));
  PutLengthPrefixed(&ad, AsBytes(purpose));
  PutU32(&ad, version);
  PutLengthPrefixed(&ad, AsBytes(patient_id));
  return ad;
}

Keyring::Keyring(store::KeyStore& keys, crypto::SecretKey master, Random& random)
    : keys_(keys), master_(std::move(master)), random_(random) {}

std::string Keyring::MasterFingerprint() const { return crypto::KeyFingerprint(master_); }

Result<crypto::SecretKey> Keyring::UnwrapRow(const store::WrappedKeyRow& row,
                                             const crypto::SecretKey& wrapping_key) {
  return crypto::UnwrapKey(wrapping_key, row.wrapped,
                           WrapAssociatedData(row.owner, row.purpose, row.version));
}

Result<crypto::SecretKey> Keyring::LoadKek(const std::string& practice_id, uint32_t version) {
  MV_ASSIGN_OR_RETURN(auto keks, keys_.GetWrappedKeys(practice_id, kKek));
  for (const auto& row : keks) {
    if (row.version == version) return UnwrapRow(row, master_);
  }
  return IntegrityError("cannot open");
}

Result<crypto::SecretKey> Keyring::UnwrapUnderKek(const std::string& practice_id,
                                                  const store::WrappedKeyRow& row,
                                                  const PracticeKeys* current) {
  uint32_t version = 0;
  if (row.wrapped_by.rfind("kek/", 0) != 0) return IntegrityError("cannot open");
  for (char c : row.wrapped_by.substr(4)) {
    if (c < '0' || c > '9') return IntegrityError("cannot open");
    version = version * 10 + static_cast<uint32_t>(c - '0');
  }
  if (current != nullptr && current->kek_version == version) return UnwrapRow(row, current->kek);
  MV_ASSIGN_OR_RETURN(crypto::SecretKey kek, LoadKek(practice_id, version));
  return UnwrapRow(row, kek);
}

Status Keyring::InitVault() {
  MV_ASSIGN_OR_RETURN(auto rows, keys_.GetWrappedKeys(kVaultOwner, kSystem));
  if (!rows.empty()) MV_RETURN_IF_ERROR(CheckMasterKey());
  for (const char* purpose : {kSystem, kLogSigning}) {
    MV_ASSIGN_OR_RETURN(auto existing, keys_.GetWrappedKeys(kVaultOwner, purpose));
    if (!existing.empty()) continue;
    crypto::SecretKey key = crypto::SecretKey::Generate();
    store::WrappedKeyRow row{kVaultOwner, purpose, 1, MasterFingerprint(), {}};
    row.wrapped = crypto::WrapKey(master_, key, WrapAssociatedData(kVaultOwner, purpose, 1),
                                  random_);
    MV_RETURN_IF_ERROR(keys_.PutWrappedKey(row));
  }
  return Status::Ok();
}

Result<crypto::SecretKey> Keyring::LogSigningSeed() {
  MV_ASSIGN_OR_RETURN(auto rows, keys_.GetWrappedKeys(kVaultOwner, kLogSigning));
  if (rows.empty()) return FailedPrecondition("the key store holds no log signing key");
  return UnwrapRow(rows.front(), master_);
}

Status Keyring::CheckMasterKey() {
  MV_ASSIGN_OR_RETURN(auto rows, keys_.GetWrappedKeys(kVaultOwner, kSystem));
  if (rows.empty()) return FailedPrecondition("the key store holds no vault key");
  if (rows.front().wrapped_by != MasterFingerprint()) {
    return FailedPrecondition("the master key does not match this vault's key store");
  }
  return Status::Ok();
}

Status Keyring::CreatePracticeKeys(const std::string& practice_id) {
  crypto::SecretKey kek = crypto::SecretKey::Generate();
  store::WrappedKeyRow kek_row{practice_id, kKek, 1, MasterFingerprint(), {}};
  kek_row.wrapped =
      crypto::WrapKey(master_, kek, WrapAssociatedData(practice_id, kKek, 1), random_);
  std::vector<store::WrappedKeyRow> rows{kek_row};
  for (const char* purpose : {kIndex, kAudit}) {
    crypto::SecretKey key = crypto::SecretKey::Generate();
    store::WrappedKeyRow row{practice_id, purpose, 1, KekLabel(1), {}};
    row.wrapped = crypto::WrapKey(kek, key, WrapAssociatedData(practice_id, purpose, 1), random_);
    rows.push_back(std::move(row));
  }
  for (const auto& row : rows) {
    MV_ASSIGN_OR_RETURN(auto existing, keys_.GetWrappedKeys(row.owner, row.purpose));
    if (!existing.empty()) return AlreadyExists("practice keys already exist");
  }
  // The KEK first: index and audit keys are never stored without the key that opens them.
  for (const auto& row : rows) MV_RETURN_IF_ERROR(keys_.PutWrappedKey(row));
  return Status::Ok();
}

Result<std::shared_ptr<const PracticeKeys>> Keyring::Practice(const std::string& practice_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = practices_.find(practice_id);
    if (it != practices_.end()) return it->second;
  }
  MV_ASSIGN_OR_RETURN(auto keks, keys_.GetWrappedKeys(practice_id, kKek));
  if (keks.empty()) return NotFound("no keys for this practice");
  const store::WrappedKeyRow& current = keks.front();
  MV_ASSIGN_OR_RETURN(crypto::SecretKey kek, UnwrapRow(current, master_));
  MV_ASSIGN_OR_RETURN(auto index_rows, keys_.GetWrappedKeys(practice_id, kIndex));
  MV_ASSIGN_OR_RETURN(auto audit_rows, keys_.GetWrappedKeys(practice_id, kAudit));
  if (index_rows.empty() || audit_rows.empty()) return IntegrityError("practice keys incomplete");
  PracticeKeys partial{current.version, std::move(kek), crypto::SecretKey(),
                       crypto::BlindIndexer(crypto::SecretKey())};
  MV_ASSIGN_OR_RETURN(crypto::SecretKey index,
                      UnwrapUnderKek(practice_id, index_rows.front(), &partial));
  MV_ASSIGN_OR_RETURN(crypto::SecretKey audit,
                      UnwrapUnderKek(practice_id, audit_rows.front(), &partial));
  auto keys = std::make_shared<const PracticeKeys>(PracticeKeys{
      partial.kek_version, std::move(partial.kek), std::move(audit), crypto::BlindIndexer(index)});
  std::lock_guard<std::mutex> lock(mu_);
  practices_[practice_id] = keys;
  return std::shared_ptr<const PracticeKeys>(keys);
}

Result<crypto::SecretKey> Keyring::VaultAuditKey() {
  MV_ASSIGN_OR_RETURN(auto system, SystemKey());
  return crypto::DeriveSubkey(*system, 1, "mvauditv");
}

Result<std::shared_ptr<const crypto::SecretKey>> Keyring::SystemKey() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (system_) return system_;
  }
  MV_ASSIGN_OR_RETURN(auto rows, keys_.GetWrappedKeys(kVaultOwner, kSystem));
  if (rows.empty()) return FailedPrecondition("the key store holds no vault key");
  MV_ASSIGN_OR_RETURN(crypto::SecretKey key, UnwrapRow(rows.front(), master_));
  auto shared = std::make_shared<const crypto::SecretKey>(std::move(key));
  std::lock_guard<std::mutex> lock(mu_);
  system_ = shared;
  return std::shared_ptr<const crypto::SecretKey>(shared);
}

Result<NewPatientKey> Keyring::NewPatientDek(const std::string& practice_id,
                                             const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(auto practice, Practice(practice_id));
  NewPatientKey out{crypto::SecretKey::Generate(), {}};
  out.row.practice_id = practice_id;
  out.row.patient_id = patient_id;
  out.row.dek_version = 1;
  out.row.kek_version = practice->kek_version;
  out.row.wrapped_dek = crypto::WrapKey(
      practice->kek, out.dek,
      WrapAssociatedData(practice_id, "dek", practice->kek_version, patient_id), random_);
  return out;
}

Result<std::shared_ptr<const crypto::SecretKey>> Keyring::PatientDek(
    const std::string& practice_id, const std::string& patient_id) {
  const std::string cache_key = DekCacheKey(practice_id, patient_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = deks_.find(cache_key);
    if (it != deks_.end()) return it->second;
  }
  MV_ASSIGN_OR_RETURN(store::PatientKeyRow row, keys_.GetPatientKey(practice_id, patient_id));
  MV_ASSIGN_OR_RETURN(auto practice, Practice(practice_id));
  const Bytes ad = WrapAssociatedData(practice_id, "dek", row.kek_version, patient_id);
  Result<crypto::SecretKey> unwrapped = IntegrityError("cannot open");
  if (row.kek_version == practice->kek_version) {
    unwrapped = crypto::UnwrapKey(practice->kek, row.wrapped_dek, ad);
  } else {
    // Wrapped by another KEK version: a rotation by another process, or one cut short.
    MV_ASSIGN_OR_RETURN(crypto::SecretKey kek, LoadKek(practice_id, row.kek_version));
    unwrapped = crypto::UnwrapKey(kek, row.wrapped_dek, ad);
  }
  if (!unwrapped.ok()) return unwrapped.status();
  crypto::SecretKey dek = std::move(unwrapped).value();
  auto shared = std::make_shared<const crypto::SecretKey>(std::move(dek));
  std::lock_guard<std::mutex> lock(mu_);
  if (deks_.size() >= kMaxCachedDeks) deks_.clear();
  deks_[cache_key] = shared;
  return std::shared_ptr<const crypto::SecretKey>(shared);
}

Status Keyring::ShredPatientDek(const std::string& practice_id, const std::string& patient_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    deks_.erase(DekCacheKey(practice_id, patient_id));
  }
  return keys_.DeletePatientKey(practice_id, patient_id);
}

Result<uint32_t> Keyring::RotatePracticeKek(const std::string& practice_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    practices_.erase(practice_id);
  }
  MV_ASSIGN_OR_RETURN(auto old, Practice(practice_id));
  const uint32_t new_version = old->kek_version + 1;
  crypto::SecretKey new_kek = crypto::SecretKey::Generate();
  // Three transactions, each leaving every key openable if the process dies after it: the new
  // KEK is stored first; then DEKs, then index and audit keys are rewrapped under it (each row
  // names the KEK version that wraps it, so a half-done rotation still opens and can be rerun).
  store::WrappedKeyRow kek_row{practice_id, kKek, new_version, MasterFingerprint(), {}};
  kek_row.wrapped = crypto::WrapKey(master_, new_kek,
                                    WrapAssociatedData(practice_id, kKek, new_version), random_);
  MV_RETURN_IF_ERROR(keys_.PutWrappedKey(kek_row));
  MV_RETURN_IF_ERROR(keys_.RewrapPatientKeys(
      practice_id, [&](const store::PatientKeyRow& row) -> Result<store::PatientKeyRow> {
        const Bytes old_ad = WrapAssociatedData(practice_id, "dek", row.kek_version,
                                                row.patient_id);
        Result<crypto::SecretKey> dek = IntegrityError("cannot open");
        if (row.kek_version == old->kek_version) {
          dek = crypto::UnwrapKey(old->kek, row.wrapped_dek, old_ad);
        } else {
          MV_ASSIGN_OR_RETURN(crypto::SecretKey kek, LoadKek(practice_id, row.kek_version));
          dek = crypto::UnwrapKey(kek, row.wrapped_dek, old_ad);
        }
        if (!dek.ok()) return dek.status();
        store::PatientKeyRow out = row;
        out.kek_version = new_version;
        out.wrapped_dek = crypto::WrapKey(
            new_kek, *dek, WrapAssociatedData(practice_id, "dek", new_version, row.patient_id),
            random_);
        return out;
      }));
  // The index and audit keys keep their values (tokens and log payloads stay valid); only their
  // wrapping changes.
  std::vector<store::WrappedKeyRow> rows;
  for (const char* purpose : {kIndex, kAudit}) {
    MV_ASSIGN_OR_RETURN(auto existing, keys_.GetWrappedKeys(practice_id, purpose));
    for (const auto& row : existing) {
      MV_ASSIGN_OR_RETURN(crypto::SecretKey key, UnwrapUnderKek(practice_id, row, old.get()));
      store::WrappedKeyRow out = row;
      out.wrapped_by = KekLabel(new_version);
      out.wrapped = crypto::WrapKey(
          new_kek, key, WrapAssociatedData(practice_id, purpose, row.version), random_);
      rows.push_back(std::move(out));
    }
  }
  MV_RETURN_IF_ERROR(keys_.ReplaceWrappedKeys(rows));
  std::lock_guard<std::mutex> lock(mu_);
  practices_.erase(practice_id);
  return new_version;
}

Status Keyring::RotateMaster(crypto::SecretKey new_master) {
  MV_ASSIGN_OR_RETURN(auto all, keys_.ListWrappedKeys());
  const std::string new_fingerprint = crypto::KeyFingerprint(new_master);
  std::vector<store::WrappedKeyRow> rows;
  for (const auto& row : all) {
    if (row.wrapped_by != MasterFingerprint()) continue;  // wrapped by a KEK, not the master
    MV_ASSIGN_OR_RETURN(crypto::SecretKey key, UnwrapRow(row, master_));
    store::WrappedKeyRow out = row;
    out.wrapped_by = new_fingerprint;
    out.wrapped = crypto::WrapKey(new_master, key,
                                  WrapAssociatedData(row.owner, row.purpose, row.version), random_);
    rows.push_back(std::move(out));
  }
  MV_RETURN_IF_ERROR(keys_.ReplaceWrappedKeys(rows));
  std::lock_guard<std::mutex> lock(mu_);
  master_ = std::move(new_master);
  return Status::Ok();
}

size_t Keyring::cached_deks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return deks_.size();
}

}  // namespace medvault::vault
