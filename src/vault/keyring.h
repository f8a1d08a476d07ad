#pragma once
// The key hierarchy (docs/keys.md): master key → practice KEK → patient DEK, plus per-practice
// index and audit keys wrapped by the KEK, and the vault's system key (TOTP secrets) wrapped by the
// master key. Every wrapped key sits in the KeyStore, never in the DataStore. Unwrapped keys are
// cached in sodium-protected memory; rotation rewraps and never touches a data envelope.
//
// Thread-safety: thread-safe. The caches are guarded by one mutex held only for map operations.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/random.h"
#include "core/status.h"
#include "crypto/blind_index.h"
#include "crypto/secret.h"
#include "store/store.h"

namespace medvault::vault {

inline constexpr const char* kVaultOwner = "vault";

struct PracticeKeys {
  uint32_t kek_version = 0;
  crypto::SecretKey kek;
  crypto::SecretKey audit;
  crypto::BlindIndexer indexer;
};

struct NewPatientKey {
  crypto::SecretKey dek;
  store::PatientKeyRow row;  // wrapped, ready for the KeyStore
};

class Keyring {
 public:
  // `keys` and `random` must outlive the Keyring.
  Keyring(store::KeyStore& keys, crypto::SecretKey master, Random& random);

  // Creates the vault system key and the log signing key if absent. Idempotent.
  Status InitVault();
  // Fails with FailedPrecondition if the key store was wrapped by another master key.
  Status CheckMasterKey();
  // Creates KEK, index and audit keys for a new practice.
  Status CreatePracticeKeys(const std::string& practice_id);
  // The practice's current keys. NotFound if the practice has none.
  Result<std::shared_ptr<const PracticeKeys>> Practice(const std::string& practice_id);
  // The seed of the access log's Ed25519 signing key (created by InitVault).
  Result<crypto::SecretKey> LogSigningSeed();
  // The audit key of vault-wide events (security officers' logins): derived from the system key.
  Result<crypto::SecretKey> VaultAuditKey();
  // The vault system key (seals TOTP secrets).
  Result<std::shared_ptr<const crypto::SecretKey>> SystemKey();

  // A new random DEK for a patient, wrapped by the practice's current KEK.
  Result<NewPatientKey> NewPatientDek(const std::string& practice_id,
                                      const std::string& patient_id);
  // The patient's DEK (cached). NotFound once shredded.
  Result<std::shared_ptr<const crypto::SecretKey>> PatientDek(const std::string& practice_id,
                                                              const std::string& patient_id);
  // Destroys the patient's DEK in the key store and in the cache (crypto-shredding).
  Status ShredPatientDek(const std::string& practice_id, const std::string& patient_id);

  // Rewraps every key of a practice under a new KEK (DEKs, index and audit keys); returns the new
  // KEK version. Crash-safe: every step leaves all keys openable, and rerunning completes it.
  Result<uint32_t> RotatePracticeKek(const std::string& practice_id);
  // Rewraps every master-wrapped key (practice KEKs, system key) under `new_master` in one
  // transaction. The caller persists the new master key first (see app/keys.cc for the order).
  Status RotateMaster(crypto::SecretKey new_master);
  std::string MasterFingerprint() const;

  size_t cached_deks() const;

 private:
  Result<crypto::SecretKey> UnwrapRow(const store::WrappedKeyRow& row,
                                      const crypto::SecretKey& wrapping_key);
  Result<crypto::SecretKey> LoadKek(const std::string& practice_id, uint32_t version);
  // Unwraps an index or audit key row under the KEK version its wrapped_by names.
  Result<crypto::SecretKey> UnwrapUnderKek(const std::string& practice_id,
                                           const store::WrappedKeyRow& row,
                                           const PracticeKeys* current);

  store::KeyStore& keys_;
  crypto::SecretKey master_;
  Random& random_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const PracticeKeys>> practices_;
  std::shared_ptr<const crypto::SecretKey> system_;
  std::unordered_map<std::string, std::shared_ptr<const crypto::SecretKey>> deks_;
};

// Associated data of a wrapped key: binds owner, purpose, version (and, for a DEK, the patient).
Bytes WrapAssociatedData(std::string_view owner, std::string_view purpose, uint32_t version,
                         std::string_view patient_id = {});

}  // namespace medvault::vault
