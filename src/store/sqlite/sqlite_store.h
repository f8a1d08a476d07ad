#pragma once
// The embedded backend: DataStore and KeyStore on SQLite, in two separate database files (the
// vault keeps them as medvault.db and keys.db in its data directory). The schema, the pragmas and
// the migration policy are written down in docs/formats/storage.md.
//
// Durability: WAL journal with synchronous=FULL, so a write that returned OK survives a crash or a
// power loss. secure_delete=ON on both files, so deleted rows (a shredded DEK above all) are
// overwritten with zeros instead of lingering in free pages.
//
// Concurrency: each store is thread-safe. It owns one writer connection, taken under a mutex by
// every write, and a pool of reader connections; in WAL mode reads run in parallel with the
// writer and see the last committed state. A PatientBatchWriter or PatientKeyBatchWriter holds the
// writer connection (and so blocks every other write of its store) from Begin* until it is
// committed or destroyed. REQUIRES: a batch writer does not outlive the store that made it.
//
// Checkpoints: SQLite checkpoints the WAL on its own once it exceeds `wal_autocheckpoint_pages`
// (a passive checkpoint that never waits for readers). CheckpointSqlite() below runs a full,
// truncating checkpoint; the application calls it periodically (and at shutdown) so that the WAL
// cannot grow without bound under a steady read load. The key store additionally truncates its
// WAL after each DeletePatientKey, so the shredded DEK leaves the WAL at once.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace medvault::store {

struct SqliteOptions {
  // How long a statement waits for a lock held by another process before failing with
  // Unavailable. Within one process the writer mutex already serialises writers.
  std::chrono::milliseconds busy_timeout{5000};
  // Reader connections kept open once returned to the pool. More are opened when all are busy
  // (a reader never waits for another), and closed on return beyond this count.
  size_t max_idle_readers = 8;
  // Page cache per connection, in KiB. The writer benefits most (bulk import into large indexes).
  int64_t cache_kib = 16 * 1024;
  // WAL size, in pages, that triggers SQLite's automatic passive checkpoint after a commit.
  int wal_autocheckpoint_pages = 1000;
};

// Opens (creating it if absent, with mode 0600) the data store at `path` and migrates its schema to
// the current version, each migration step in its own transaction.
// Errors: FailedPrecondition if the file was written by a newer schema version than this build
// knows; Internal if it cannot be opened or migrated (the message names the file, not its
// content); Unavailable if another process holds it locked past the busy timeout.
Result<std::unique_ptr<DataStore>> OpenSqliteDataStore(const std::string& path,
                                                       const SqliteOptions& options);

// Opens (creating it if absent) the key store at `path`, as OpenSqliteDataStore does.
Result<std::unique_ptr<KeyStore>> OpenSqliteKeyStore(const std::string& path,
                                                     const SqliteOptions& options);

// Runs a truncating WAL checkpoint on the database at `path`, which any store of this process may
// hold open: every committed page is copied into the main file and the WAL is emptied. Waits up
// to the busy timeout for readers to finish; Unavailable if they do not. Thread-safe; it uses its
// own short-lived connection. NotFound if there is no database at `path`.
Status CheckpointSqlite(const std::string& path, const SqliteOptions& options);

}  // namespace medvault::store
