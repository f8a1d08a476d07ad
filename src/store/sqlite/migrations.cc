#include "store/sqlite/migrations.h"

#include <string>

namespace medvault::store::sqlite {

Result<int> SchemaVersion(Connection& conn) {
  MV_STATEMENT(query, conn, "PRAGMA user_version");
  MV_ASSIGN_OR_RETURN(bool row, query.Step("read schema version"));
  if (!row) return Internal("read schema version: no row");
  return static_cast<int>(query.Int(0));
}

Status Migrate(Connection& conn, std::span<const Migration> steps, int target) {
  const int latest = steps.empty() ? 0 : steps.back().version;
  if (target < 0) target = latest;
  MV_ASSIGN_OR_RETURN(int current, SchemaVersion(conn));
  if (current > latest) {
    return FailedPrecondition("schema version " + std::to_string(current) +
                              " is newer than this build knows (" + std::to_string(latest) + ")");
  }
  for (const Migration& step : steps) {
    if (step.version <= current || step.version > target) continue;
    Transaction txn(conn);
    MV_RETURN_IF_ERROR(txn.Begin());
    const std::string context = "schema migration " + std::to_string(step.version);
    MV_RETURN_IF_ERROR(conn.Exec(step.sql, context));
    // PRAGMA takes no bound parameter; the version is our own integer, not input.
    const std::string bump = "PRAGMA user_version = " + std::to_string(step.version);
    MV_RETURN_IF_ERROR(conn.Exec(bump.c_str(), context));
    MV_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace medvault::store::sqlite
