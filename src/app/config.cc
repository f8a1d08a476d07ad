#include "app/config.h"

#include <sstream>
#include <toml++/toml.h>

#include "core/file.h"

namespace medvault::app {
namespace {

template <typename T>
Status ReadInt(const toml::table& t, const std::string& section, const char* key, T* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  auto v = n->value<int64_t>();
  if (!v || *v < 0 || *v > 1'000'000'000) {
    return InvalidArgument(section + "." + key + ": expected a non-negative integer");
  }
  *out = static_cast<T>(*v);
  return Status::Ok();
}

Status ReadString(const toml::table& t, const std::string& section, const char* key,
                  std::string* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  auto v = n->value<std::string>();
  if (!v) return InvalidArgument(section + "." + key + ": expected a string");
  *out = *v;
  return Status::Ok();
}

Status ReadBool(const toml::table& t, const std::string& section, const char* key, bool* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  auto v = n->value<bool>();
  if (!v) return InvalidArgument(section + "." + key + ": expected true or false");
  *out = *v;
  return Status::Ok();
}

Status ReadStringArray(const toml::table& t, const std::string& section, const char* key,
                       std::vector<std::string>* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  const toml::array* a = n->as_array();
  if (a == nullptr) return InvalidArgument(section + "." + key + ": expected an array of strings");
  out->clear();
  for (const toml::node& item : *a) {
    auto v = item.value<std::string>();
    if (!v) return InvalidArgument(section + "." + key + ": expected an array of strings");
    out->push_back(*v);
  }
  return Status::Ok();
}

std::string RenderStringArray(const std::vector<std::string>& values) {
  toml::array array;
  for (const std::string& v : values) array.push_back(v);
  std::ostringstream out;
  out << array;
  return out.str();
}

Status CheckKeys(const toml::table& t, const std::string& section,
                 std::initializer_list<const char*> known) {
  for (const auto& [key, node] : t) {
    bool ok = false;
    for (const char* k : known) ok = ok || key.str() == k;
    if (!ok) return InvalidArgument("unknown key " + section + "." + std::string(key.str()));
  }
  return Status::Ok();
}

// A TOML basic string: quotes and backslashes escaped (a URL may hold either).
std::string TomlString(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source_name << ":" << e.source().begin.line << ": " << e.description();
    return InvalidArgument(msg.str());
  }
  Config c;
  for (const auto& [key, node] : root) {
    const std::string section(key.str());
    const toml::table* t = node.as_table();
    if (t == nullptr) return InvalidArgument("unknown top-level key " + section);
    if (section == "vault") {
      MV_RETURN_IF_ERROR(CheckKeys(*t, section, {"backend", "pg_url", "pg_keys_url", "id"}));
      MV_RETURN_IF_ERROR(ReadString(*t, section, "backend", &c.backend));
      MV_RETURN_IF_ERROR(ReadString(*t, section, "pg_url", &c.pg_url));
      MV_RETURN_IF_ERROR(ReadString(*t, section, "pg_keys_url", &c.pg_keys_url));
      MV_RETURN_IF_ERROR(ReadString(*t, section, "id", &c.vault_id));
      if (c.backend != "sqlite" && c.backend != "postgres") {
        return InvalidArgument("vault.backend: must be sqlite or postgres");
      }
    } else if (section == "api") {
      MV_RETURN_IF_ERROR(CheckKeys(*t, section,
                                   {"threads", "session_idle_seconds", "session_absolute_seconds",
                                    "login_failures_per_account", "login_failures_per_source",
                                    "access_code_ttl_seconds", "access_code_failures_per_source",
                                    "access_code_failures_global"}));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "threads", &c.threads));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "session_idle_seconds", &c.session_idle_seconds));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "session_absolute_seconds", &c.session_absolute_seconds));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "login_failures_per_account", &c.login_failures_per_account));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "login_failures_per_source", &c.login_failures_per_source));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "access_code_ttl_seconds", &c.access_code_ttl_seconds));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "access_code_failures_per_source",
                                 &c.access_code_failures_per_source));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "access_code_failures_global",
                                 &c.access_code_failures_global));
      if (c.access_code_ttl_seconds < 60 || c.access_code_failures_per_source < 1 ||
          c.access_code_failures_global < 1) {
        return InvalidArgument(
            "api: access_code_ttl_seconds ≥ 60, access_code_failures_per_source and "
            "access_code_failures_global ≥ 1");
      }
    } else if (section == "crypto") {
      MV_RETURN_IF_ERROR(CheckKeys(*t, section, {"argon2_ops", "argon2_mem_mib"}));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "argon2_ops", &c.argon2_ops));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "argon2_mem_mib", &c.argon2_mem_mib));
      if (c.argon2_ops < 1 || c.argon2_mem_mib < 8) {
        return InvalidArgument("crypto: argon2_ops ≥ 1 and argon2_mem_mib ≥ 8");
      }
    } else if (section == "log") {
      MV_RETURN_IF_ERROR(CheckKeys(*t, section, {"origin", "witnesses", "witness_keys"}));
      MV_RETURN_IF_ERROR(ReadString(*t, section, "origin", &c.log_origin));
      MV_RETURN_IF_ERROR(ReadStringArray(*t, section, "witnesses", &c.log_witnesses));
      MV_RETURN_IF_ERROR(ReadStringArray(*t, section, "witness_keys", &c.log_witness_keys));
      for (const std::string& url : c.log_witnesses) {
        if (!url.starts_with("http://")) {
          return InvalidArgument("log.witnesses: " + url + ": expected http://HOST:PORT");
        }
      }
    } else if (section == "guard") {
      MV_RETURN_IF_ERROR(CheckKeys(
          *t, section,
          {"shadow", "webhook", "webhook_attempts", "practitioner_contain_1h",
           "practitioner_contain_24h", "secretary_contain_1h", "secretary_contain_24h",
           "source_practices", "source_contain_hours", "idle_evict_days", "max_accounts",
           "canary_spacing"}));
      MV_RETURN_IF_ERROR(ReadBool(*t, section, "shadow", &c.guard_shadow));
      MV_RETURN_IF_ERROR(ReadString(*t, section, "webhook", &c.guard_webhook));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "webhook_attempts", &c.guard_webhook_attempts));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "practitioner_contain_1h", &c.guard_practitioner_contain_1h));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "practitioner_contain_24h", &c.guard_practitioner_contain_24h));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "secretary_contain_1h", &c.guard_secretary_contain_1h));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "secretary_contain_24h", &c.guard_secretary_contain_24h));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "source_practices", &c.guard_source_practices));
      MV_RETURN_IF_ERROR(
          ReadInt(*t, section, "source_contain_hours", &c.guard_source_contain_hours));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "idle_evict_days", &c.guard_idle_evict_days));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "max_accounts", &c.guard_max_accounts));
      MV_RETURN_IF_ERROR(ReadInt(*t, section, "canary_spacing", &c.guard_canary_spacing));
      if (c.guard_canary_spacing < 2 || c.guard_canary_spacing > 1000) {
        return InvalidArgument("guard.canary_spacing: must be between 2 and 1000");
      }
      if (!c.guard_webhook.empty() && !c.guard_webhook.starts_with("http://")) {
        return InvalidArgument("guard.webhook: expected http://HOST:PORT[/PATH]");
      }
      if (c.guard_webhook_attempts < 1 || c.guard_source_practices < 2 ||
          c.guard_practitioner_contain_1h < 1 || c.guard_practitioner_contain_24h < 1 ||
          c.guard_secretary_contain_1h < 1 || c.guard_secretary_contain_24h < 1 ||
          c.guard_max_accounts < 1 || c.guard_idle_evict_days < 1) {
        return InvalidArgument(
            "guard: webhook_attempts, the contain limits, idle_evict_days and max_accounts must "
            "be ≥ 1, source_practices ≥ 2");
      }
    } else {
      return InvalidArgument("unknown section [" + section + "]");
    }
  }
  if (c.log_origin.empty()) c.log_origin = "medvault.local/" + c.vault_id + "/log";
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  MV_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseConfig(text, path);
}

std::string RenderConfig(const Config& c) {
  std::ostringstream out;
  out << "# medvault vault configuration; every key is documented in docs/configuration.md.\n"
      << "[vault]\n"
      << "id = \"" << c.vault_id << "\"\n"
      << "backend = \"" << c.backend << "\"\n";
  if (!c.pg_url.empty()) out << "pg_url = " << TomlString(c.pg_url) << "\n";
  if (!c.pg_keys_url.empty()) out << "pg_keys_url = " << TomlString(c.pg_keys_url) << "\n";
  out << "\n[api]\n"
      << "threads = " << c.threads << "\n"
      << "session_idle_seconds = " << c.session_idle_seconds << "\n"
      << "session_absolute_seconds = " << c.session_absolute_seconds << "\n"
      << "login_failures_per_account = " << c.login_failures_per_account << "\n"
      << "login_failures_per_source = " << c.login_failures_per_source << "\n"
      << "access_code_ttl_seconds = " << c.access_code_ttl_seconds << "\n"
      << "access_code_failures_per_source = " << c.access_code_failures_per_source << "\n"
      << "access_code_failures_global = " << c.access_code_failures_global << "\n"
      << "\n[crypto]\n"
      << "argon2_ops = " << c.argon2_ops << "\n"
      << "argon2_mem_mib = " << c.argon2_mem_mib << "\n"
      << "\n[log]\n"
      << "witnesses = " << RenderStringArray(c.log_witnesses) << "\n"
      << "witness_keys = " << RenderStringArray(c.log_witness_keys) << "\n"
      << "\n[guard]\n"
      << "shadow = " << (c.guard_shadow ? "true" : "false") << "\n"
      << "webhook = \"" << c.guard_webhook << "\"\n";
  return out.str();
}

}  // namespace medvault::app
