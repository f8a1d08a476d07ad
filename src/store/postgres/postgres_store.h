#pragma once
// The multi-node backend: DataStore, KeyStore and LogStore on PostgreSQL through libpq. Several
// medvault processes may open the same database at once; docs/postgres.md describes the schema,
// the isolation level of each operation and how nodes share one database.
//
// Layout: the data store and the log store live in the database named by the vault's `pg_url`
// (tables prefixed `log_` for the log). The key store must live elsewhere, so that a dump of the
// data database holds no key: another database (`pg_keys_url`), or the vault directory's SQLite
// keys.db (the default, store/sqlite).
//
// Connections: each store keeps a pool of up to `max_connections` connections, opened on demand;
// statements are prepared once per connection and exchange binary values. A write is one
// transaction; it is durable when it returns OK (synchronous_commit as configured on the server:
// `on` by default).
//
// Migrations: opening a store runs its pending migration steps, each in its own transaction, under
// a session advisory lock, and records the version in `schema_versions` (one row per store
// kind), so that nodes starting together migrate once.
//
// Errors: as store.h and log_store.h say; in addition Unavailable when the server cannot be
// reached, refuses the connection, or a transaction loses a serialization conflict (the caller
// may retry). Messages never contain the URL (it may hold a password).
// Thread-safety: every store is thread-safe. A batch writer holds one pooled connection and its
// open transaction until Commit or destruction; REQUIRES: it does not outlive its store.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "store/log_store.h"
#include "store/shared_record_store.h"
#include "store/store.h"

namespace medvault::store {

struct PostgresOptions {
  std::string url;     // libpq URL or "key=value" connection string
  std::string schema;  // optional: a schema of its own (created if absent); "" = search_path
  size_t max_connections = 16;
  // How long a request waits for a pooled connection before failing with Unavailable.
  std::chrono::milliseconds acquire_timeout{10000};
  // How long a statement waits for a row lock held by another transaction (lock_timeout).
  std::chrono::milliseconds lock_timeout{5000};
};

Result<std::unique_ptr<DataStore>> OpenPostgresDataStore(const PostgresOptions& options);
Result<std::unique_ptr<KeyStore>> OpenPostgresKeyStore(const PostgresOptions& options);
Result<std::unique_ptr<LogStore>> OpenPostgresLogStore(const PostgresOptions& options);
// The records the nodes share (table shared_records in the data database: `options` as for the
// data store; shared_record_store.cc says how an update locks its row).
Result<std::unique_ptr<SharedRecordStore>> OpenPostgresSharedRecordStore(
    const PostgresOptions& options);

// The URL with its password, if any, replaced by "***": safe to print.
std::string RedactPostgresUrl(const std::string& url);

}  // namespace medvault::store
