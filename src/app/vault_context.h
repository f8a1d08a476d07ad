#pragma once
// One open vault: its configuration, stores, keyring and services, wired together. The
// composition root for every command that works on a vault directory.
//
// A vault directory holds: medvault.toml, master.key (0600, unless MEDVAULT_MASTER_KEY is set),
// medvault.db (data), keys.db (wrapped keys), log.db (access log), tls/cert.pem + tls/key.pem.
// With the postgres backend the data and the access log are in the database of vault.pg_url, and
// the keys in vault.pg_keys_url or, when that is not set, in keys.db (docs/postgres.md).
// Thread-safety: the services are thread-safe; the context itself is immutable once open.
#include <memory>
#include <string>

#include "app/canaries.h"
#include "app/config.h"
#include "core/clock.h"
#include "core/random.h"
#include "crypto/secret.h"
#include "store/log_store.h"
#include "store/shared_record_store.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "vault/notes.h"
#include "vault/patients.h"
#include "vault/users.h"

namespace medvault::app {

struct InitOptions {
  std::string backend = "sqlite";
  std::string pg_url;
  std::string pg_keys_url;  // optional: a database for the key store (else DIR/keys.db)
};

// Creates a vault in `dir`. AlreadyExists if `dir` already holds one (its medvault.toml).
Status InitVault(const std::string& dir, const InitOptions& options);

class VaultContext {
 public:
  // Opens the vault in `dir`. `clock` may be null (the real clock); if given it must outlive the
  // context. NotFound if `dir` holds no vault; FailedPrecondition if the master key is not this
  // vault's.
  static Result<std::unique_ptr<VaultContext>> Open(const std::string& dir,
                                                    const Clock* clock = nullptr);
  ~VaultContext();

  const std::string& dir() const { return dir_; }
  const Config& config() const { return config_; }
  const Clock& clock() const { return *clock_; }
  Random& random() { return *random_; }
  store::DataStore& data() { return *data_; }
  store::KeyStore& keys() { return *keys_; }
  vault::Keyring& keyring() { return *keyring_; }
  vault::Patients& patients() { return *patients_; }
  vault::Users& users() { return *users_; }
  vault::Notes& notes() { return *notes_; }
  CanaryKeeper& canaries() { return *canaries_; }

  // Opens the vault's access log store: DIR/log.db, or the PostgreSQL database of the data.
  Result<std::unique_ptr<store::LogStore>> OpenLogStore() const;
  // Opens the records the nodes of a PostgreSQL vault share (the guard's state, in the data's
  // database); null for SQLite, whose single node keeps them in memory.
  Result<std::unique_ptr<store::SharedRecordStore>> OpenSharedRecords() const;

  std::string DataPath() const { return dir_ + "/medvault.db"; }
  std::string KeysPath() const { return dir_ + "/keys.db"; }
  std::string LogPath() const { return dir_ + "/log.db"; }
  std::string CertPath() const { return dir_ + "/tls/cert.pem"; }
  std::string TlsKeyPath() const { return dir_ + "/tls/key.pem"; }
  std::string MasterKeyPath() const { return dir_ + "/master.key"; }

  // Canary upkeep (docs/canaries.md) for one practice, or for every practice when `practice_id`
  // is empty: appends the canaries the placement asks for. Returns how many were written.
  Result<int64_t> KeepCanaries(const std::string& practice_id = "");
  // Creates a practice and its keys; returns its id.
  Result<std::string> AddPractice(const std::string& name);
  // Rotates the master key (when it comes from the file) and every practice KEK. Rewraps keys;
  // never re-encrypts data. Returns a one-line summary.
  Result<std::string> RotateKeys();

 private:
  VaultContext() = default;

  std::string dir_;
  Config config_;
  std::unique_ptr<Clock> owned_clock_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<Random> random_;
  std::unique_ptr<store::DataStore> data_;
  std::unique_ptr<store::KeyStore> keys_;
  std::unique_ptr<vault::Keyring> keyring_;
  std::unique_ptr<vault::Patients> patients_;
  std::unique_ptr<CanaryKeeper> canaries_;  // installed in patients_ as its canary placer
  std::unique_ptr<vault::Users> users_;
  std::unique_ptr<vault::Notes> notes_;
};

}  // namespace medvault::app
