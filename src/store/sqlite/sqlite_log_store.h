#pragma once
// The access log's store (store/log_store.h) on SQLite, in a database file of its own (the vault
// keeps it as log.db). WAL journal with synchronous=FULL: a commit that returned OK is on disk,
// so one append transaction costs one fsync of the WAL however many entries it holds.
//
// Schema (user_version 1): log_entries(idx PRIMARY KEY, entry BLOB), log_tiles(level, idx,
// hashes BLOB), log_checkpoints(seq, tree_size, signed_at, note), log_cosignatures(seq,
// tree_size, witness, line), log_patient_leaves(patient_id, idx) and
// log_patient_index_progress(indexed_size) (the patient index; added to version 1 files by
// CREATE TABLE IF NOT EXISTS). The store only ever inserts.
//
// Concurrency: thread-safe. One writer connection under a mutex for every write, one reader
// connection under its own mutex; WAL lets reads proceed while the writer commits.
#include <memory>
#include <string>

#include "core/status.h"
#include "store/log_store.h"

namespace medvault::store {

// Opens (creating it with mode 0600 if absent) the log database at `path`.
// Errors: FailedPrecondition if the file has a newer schema version than this build knows;
// Internal if it cannot be opened or its schema created (the message names the file).
Result<std::unique_ptr<LogStore>> OpenSqliteLogStore(const std::string& path);

}  // namespace medvault::store
