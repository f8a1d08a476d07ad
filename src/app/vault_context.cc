#include "app/vault_context.h"

#include <chrono>
#include <cstdlib>
#include <cstdio>

#include "app/tls_cert.h"
#include "core/file.h"
#include "core/ids.h"
#include "crypto/master_key.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_log_store.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::app {
namespace {

std::string ConfigPath(const std::string& dir) { return dir + "/medvault.toml"; }
std::string NextMasterKeyPath(const std::string& dir) { return dir + "/master.key.next"; }

crypto::PasswordCost CostFrom(const Config& c) {
  crypto::PasswordCost cost;
  cost.opslimit = static_cast<unsigned long long>(c.argon2_ops);
  cost.memlimit = static_cast<size_t>(c.argon2_mem_mib) << 20;
  return cost;
}

// SQLite: medvault.db and keys.db in the vault directory. PostgreSQL: the data in `pg_url`; the
// keys in `pg_keys_url` if set, else in the directory's keys.db; never in the data's database.
Status OpenStores(const std::string& dir, const Config& config,
                  std::unique_ptr<store::DataStore>* data, std::unique_ptr<store::KeyStore>* keys) {
  store::SqliteOptions options;
  if (config.backend == "postgres") {
    if (config.pg_url.empty()) return InvalidArgument("vault.pg_url: required with postgres");
    if (!config.pg_keys_url.empty() && config.pg_keys_url == config.pg_url) {
      return InvalidArgument("vault.pg_keys_url: must name another database than vault.pg_url");
    }
    store::PostgresOptions pg;
    pg.url = config.pg_url;
    MV_ASSIGN_OR_RETURN(*data, store::OpenPostgresDataStore(pg));
    if (config.pg_keys_url.empty()) {
      MV_ASSIGN_OR_RETURN(*keys, store::OpenSqliteKeyStore(dir + "/keys.db", options));
    } else {
      store::PostgresOptions pg_keys;
      pg_keys.url = config.pg_keys_url;
      pg_keys.max_connections = 8;
      MV_ASSIGN_OR_RETURN(*keys, store::OpenPostgresKeyStore(pg_keys));
    }
    return Status::Ok();
  }
  MV_ASSIGN_OR_RETURN(*data, store::OpenSqliteDataStore(dir + "/medvault.db", options));
  MV_ASSIGN_OR_RETURN(*keys, store::OpenSqliteKeyStore(dir + "/keys.db", options));
  return Status::Ok();
}

}  // namespace

Status InitVault(const std::string& dir, const InitOptions& options) {
  if (PathExists(ConfigPath(dir))) {
    return AlreadyExists("a vault already exists in " + dir);
  }
  if (options.backend != "sqlite" && options.backend != "postgres") {
    return InvalidArgument("--backend: must be sqlite or postgres");
  }
  if (options.backend == "postgres" && options.pg_url.empty()) {
    return InvalidArgument("--pg: required with --backend postgres");
  }
  if (options.backend != "postgres" && !options.pg_keys_url.empty()) {
    return InvalidArgument("--pg-keys: only with --backend postgres");
  }
  MV_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  MV_RETURN_IF_ERROR(MakeDirs(dir + "/tls", 0700));
  auto random = NewSystemRandom();
  Config config;
  config.backend = options.backend;
  config.pg_url = options.pg_url;
  config.pg_keys_url = options.pg_keys_url;
  config.vault_id = NewId(*random);
  std::unique_ptr<store::DataStore> data;
  std::unique_ptr<store::KeyStore> keys;
  MV_RETURN_IF_ERROR(OpenStores(dir, config, &data, &keys));
  // A PostgreSQL database holds one vault: a second init on it would orphan the first's keys.
  MV_ASSIGN_OR_RETURN(std::optional<std::string> existing, data->GetMeta("vault_id"));
  if (existing.has_value()) {
    return AlreadyExists("the database of --pg already holds a vault (" + *existing + ")");
  }
  crypto::SecretKey master;
  if (const char* env = std::getenv(crypto::kMasterKeyEnv); env != nullptr && *env != '\0') {
    MV_ASSIGN_OR_RETURN(master, crypto::LoadMasterKey(dir + "/master.key"));
  } else {
    MV_ASSIGN_OR_RETURN(master, crypto::CreateMasterKeyFile(dir + "/master.key"));
  }
  vault::Keyring keyring(*keys, std::move(master), *random);
  MV_RETURN_IF_ERROR(keyring.InitVault());
  MV_RETURN_IF_ERROR(data->SetMeta("vault_id", config.vault_id));
  MV_RETURN_IF_ERROR(CreateSelfSignedCertificate(dir + "/tls/cert.pem", dir + "/tls/key.pem"));
  // The configuration is written last: its presence marks a complete vault.
  return WriteFileAtomic(ConfigPath(dir), RenderConfig(config), 0600);
}

Result<std::unique_ptr<VaultContext>> VaultContext::Open(const std::string& dir,
                                                         const Clock* clock) {
  if (!PathExists(ConfigPath(dir))) return NotFound("no vault in " + dir);
  std::unique_ptr<VaultContext> ctx(new VaultContext());
  ctx->dir_ = dir;
  MV_ASSIGN_OR_RETURN(ctx->config_, LoadConfig(ConfigPath(dir)));
  if (clock == nullptr) {
    ctx->owned_clock_ = NewRealClock();
    clock = ctx->owned_clock_.get();
  }
  ctx->clock_ = clock;
  ctx->random_ = NewSystemRandom();
  MV_RETURN_IF_ERROR(OpenStores(dir, ctx->config_, &ctx->data_, &ctx->keys_));
  MV_ASSIGN_OR_RETURN(crypto::SecretKey master, crypto::LoadMasterKey(ctx->MasterKeyPath()));
  ctx->keyring_ = std::make_unique<vault::Keyring>(*ctx->keys_, std::move(master), *ctx->random_);
  Status matches = ctx->keyring_->CheckMasterKey();
  if (!matches.ok() && PathExists(NextMasterKeyPath(dir))) {
    // A rotation stopped after rewrapping but before the new key file replaced the old one.
    MV_ASSIGN_OR_RETURN(crypto::SecretKey next, crypto::LoadMasterKey(NextMasterKeyPath(dir)));
    auto candidate =
        std::make_unique<vault::Keyring>(*ctx->keys_, std::move(next), *ctx->random_);
    if (candidate->CheckMasterKey().ok()) {
      MV_ASSIGN_OR_RETURN(crypto::SecretKey again,
                          crypto::LoadMasterKey(NextMasterKeyPath(dir)));
      MV_RETURN_IF_ERROR(crypto::WriteMasterKeyFile(ctx->MasterKeyPath(), again));
      std::remove(NextMasterKeyPath(dir).c_str());
      ctx->keyring_ = std::move(candidate);
      matches = Status::Ok();
    }
  }
  MV_RETURN_IF_ERROR(matches);
  ctx->patients_ = std::make_unique<vault::Patients>(*ctx->data_, *ctx->keys_, *ctx->keyring_,
                                                     *ctx->clock_, *ctx->random_);
  ctx->canaries_ = std::make_unique<CanaryKeeper>(
      *ctx->data_, *ctx->patients_, *ctx->random_,
      static_cast<size_t>(ctx->config_.guard_canary_spacing));
  ctx->patients_->SetCanaryPlacer(ctx->canaries_.get());
  ctx->users_ = std::make_unique<vault::Users>(*ctx->data_, *ctx->keyring_, *ctx->clock_,
                                               *ctx->random_, CostFrom(ctx->config_));
  ctx->notes_ =
      std::make_unique<vault::Notes>(*ctx->data_, *ctx->keyring_, *ctx->clock_, *ctx->random_);
  return ctx;
}

VaultContext::~VaultContext() = default;

Result<std::unique_ptr<store::LogStore>> VaultContext::OpenLogStore() const {
  if (config_.backend == "postgres") {
    store::PostgresOptions pg;
    pg.url = config_.pg_url;
    pg.max_connections = 8;
    return store::OpenPostgresLogStore(pg);
  }
  return store::OpenSqliteLogStore(LogPath());
}

Result<std::unique_ptr<store::SharedRecordStore>> VaultContext::OpenSharedRecords() const {
  if (config_.backend != "postgres") return std::unique_ptr<store::SharedRecordStore>();
  store::PostgresOptions pg;
  pg.url = config_.pg_url;
  pg.max_connections = 16;
  // A request waits at most this long for the guard's state before it is refused (503).
  pg.acquire_timeout = std::chrono::milliseconds(2000);
  pg.lock_timeout = std::chrono::milliseconds(2000);
  return store::OpenPostgresSharedRecordStore(pg);
}

Result<int64_t> VaultContext::KeepCanaries(const std::string& practice_id) {
  if (!practice_id.empty()) return patients_->KeepCanaries(practice_id);
  MV_ASSIGN_OR_RETURN(auto practices, data_->ListPractices());
  int64_t written = 0;
  for (const auto& practice : practices) {
    MV_ASSIGN_OR_RETURN(int64_t n, patients_->KeepCanaries(practice.id));
    written += n;
  }
  return written;
}

Result<std::string> VaultContext::AddPractice(const std::string& name) {
  if (name.empty() || name.size() > 200) return InvalidArgument("--name: 1 to 200 characters");
  store::PracticeRow row{NewId(*random_), name, clock_->Now()};
  // Keys before the row: a practice row never exists without its keys.
  MV_RETURN_IF_ERROR(keyring_->CreatePracticeKeys(row.id));
  MV_RETURN_IF_ERROR(data_->CreatePractice(row));
  return row.id;
}

Result<std::string> VaultContext::RotateKeys() {
  std::string summary;
  const char* env = std::getenv(crypto::kMasterKeyEnv);
  if (env == nullptr || *env == '\0') {
    // Order matters for crash safety: the new key is durable in master.key.next before any row
    // is rewrapped under it, and replaces master.key only after every row is.
    crypto::SecretKey next = crypto::SecretKey::Generate();
    MV_RETURN_IF_ERROR(crypto::WriteMasterKeyFile(NextMasterKeyPath(dir_), next));
    crypto::SecretKey copy = next.Clone();
    MV_RETURN_IF_ERROR(keyring_->RotateMaster(std::move(next)));
    MV_RETURN_IF_ERROR(crypto::WriteMasterKeyFile(MasterKeyPath(), copy));
    std::remove(NextMasterKeyPath(dir_).c_str());
    summary += "master key rotated (fingerprint " + keyring_->MasterFingerprint() + ")";
  } else {
    summary += "master key from the environment left unchanged";
  }
  MV_ASSIGN_OR_RETURN(auto practices, data_->ListPractices());
  for (const auto& p : practices) {
    MV_ASSIGN_OR_RETURN(uint32_t version, keyring_->RotatePracticeKek(p.id));
    (void)version;
  }
  summary += "; " + std::to_string(practices.size()) + " practice key(s) rotated";
  return summary;
}

}  // namespace medvault::app
