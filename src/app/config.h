#pragma once
// medvault.toml: the vault's configuration (docs/configuration.md lists every key and default).
// Unknown keys are an error naming the key, so a typo never silently falls back to a default.
#include <string>
#include <vector>

#include "core/status.h"

namespace medvault::app {

struct Config {
  // [vault]
  std::string backend = "sqlite";  // sqlite | postgres
  std::string pg_url;              // postgres only: data and access log
  std::string pg_keys_url;         // postgres only: key store database; empty = DIR/keys.db
  std::string vault_id;            // random, fixed at init; names the log's origin
  // [api]
  int threads = 0;                       // 0: one per hardware thread
  int session_idle_seconds = 15 * 60;
  int session_absolute_seconds = 8 * 3600;
  int login_failures_per_account = 5;    // per 15 minutes
  int login_failures_per_source = 20;    // per 15 minutes
  int access_code_ttl_seconds = 7 * 86400;  // patient access codes (docs/patient-access.md)
  int access_code_failures_per_source = 10;  // per 15 minutes
  int access_code_failures_global = 100;     // per 15 minutes
  // [crypto]
  int argon2_ops = 2;
  int argon2_mem_mib = 19;
  // [log]
  std::string log_origin;  // empty: "medvault.local/<vault_id>/log"
  // Witnesses each new checkpoint is pushed to (c2sp.org/tlog-witness), "http://HOST:PORT".
  std::vector<std::string> log_witnesses;
  // Cosignature keys ("name+keyid+base64") `audit verify` checks stored cosignatures against.
  std::vector<std::string> log_witness_keys;
  // [guard] (docs/guard.md explains each number)
  bool guard_shadow = false;
  std::string guard_webhook;           // http://HOST:PORT[/PATH]; empty: no webhook
  int guard_webhook_attempts = 8;
  int guard_practitioner_contain_1h = 20;
  int guard_practitioner_contain_24h = 25;
  int guard_secretary_contain_1h = 30;
  int guard_secretary_contain_24h = 120;
  int guard_source_practices = 3;
  int guard_source_contain_hours = 24;
  int guard_idle_evict_days = 30;
  int guard_max_accounts = 200000;
  int guard_canary_spacing = 10;  // K: one canary in every K rows (docs/canaries.md)
};

Result<Config> ParseConfig(std::string_view toml_text, const std::string& source_name);
Result<Config> LoadConfig(const std::string& path);
std::string RenderConfig(const Config& c);

}  // namespace medvault::app
