#include "store/sqlite/sqlite_store.h"

#include "core/file.h"
#include "store/sqlite/data_store.h"
#include "store/sqlite/key_store.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/pool.h"

namespace medvault::store {

Result<std::unique_ptr<DataStore>> OpenSqliteDataStore(const std::string& path,
                                                       const SqliteOptions& options) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::ConnectionPool> pool,
                      sqlite::ConnectionPool::Open(path, options, sqlite::DataStoreMigrations()));
  return std::unique_ptr<DataStore>(std::make_unique<sqlite::SqliteDataStore>(std::move(pool)));
}

Result<std::unique_ptr<KeyStore>> OpenSqliteKeyStore(const std::string& path,
                                                     const SqliteOptions& options) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::ConnectionPool> pool,
                      sqlite::ConnectionPool::Open(path, options, sqlite::KeyStoreMigrations()));
  return std::unique_ptr<KeyStore>(std::make_unique<sqlite::SqliteKeyStore>(std::move(pool)));
}

Status CheckpointSqlite(const std::string& path, const SqliteOptions& options) {
  // Opening would create an empty database; a checkpoint of a missing file is a caller's mistake.
  if (!PathExists(path)) return NotFound("checkpoint " + path + ": no such database");
  MV_ASSIGN_OR_RETURN(
      std::unique_ptr<sqlite::Connection> conn,
      sqlite::Connection::Open(path, options, sqlite::Connection::Kind::kWriter));
  return sqlite::TruncateWal(*conn, "checkpoint " + path);
}

}  // namespace medvault::store
