#pragma once
// Versioned schema migrations. The schema version of a file is SQLite's `user_version` (0 for a
// new file). Steps are numbered 1, 2, …; each is applied in its own transaction together with
// the version bump, so a file is always at exactly one version and a failed step changes
// nothing. Steps are append-only: a released step is never edited, a change is a new step.
#include <span>

#include "core/status.h"
#include "store/sqlite/connection.h"

namespace medvault::store::sqlite {

struct Migration {
  int version;      // 1 for the first step, then consecutive
  const char* sql;  // one or more statements
};

// The steps of each database, in order (schema.cc).
std::span<const Migration> DataStoreMigrations();
std::span<const Migration> KeyStoreMigrations();

// The file's current schema version.
Result<int> SchemaVersion(Connection& conn);

// Applies the steps after the file's version up to `target` (the last step when negative).
// Errors: FailedPrecondition if the file is newer than the last known step; otherwise the
// failing step's error, with the file left at the previous version.
// REQUIRES: `conn` is the writer and no transaction is open.
Status Migrate(Connection& conn, std::span<const Migration> steps, int target = -1);

}  // namespace medvault::store::sqlite
