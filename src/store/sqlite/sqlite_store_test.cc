#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/pool.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testsuite/store_testsuite.h"

namespace medvault::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::DataStoreSuite;
using testing::KeyStoreSuite;
using testing::StoreConcurrencySuite;
using testing::StoreFactory;
using testing::StoreFixture;

testing::StoreFactory SqliteFactory() {
  return StoreFactory{
      "Sqlite",
      [](const std::string& dir) { return OpenSqliteDataStore(dir + "/medvault.db", {}); },
      [](const std::string& dir) { return OpenSqliteKeyStore(dir + "/keys.db", {}); }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, DataStoreSuite, ::testing::Values(SqliteFactory()),
                         testing::FactoryName);
INSTANTIATE_TEST_SUITE_P(Sqlite, KeyStoreSuite, ::testing::Values(SqliteFactory()),
                         testing::FactoryName);
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConcurrencySuite, ::testing::Values(SqliteFactory()),
                         testing::FactoryName);

// Reads one integer pragma on `conn`.
int64_t Pragma(sqlite::Connection& conn, const char* sql) {
  auto stmt = conn.Prepare(sql);
  EXPECT_TRUE(stmt.ok()) << stmt.status().ToString();
  if (!stmt.ok()) return -1;
  sqlite::Statement st(*stmt);
  auto row = st.Step("pragma");
  EXPECT_TRUE(row.ok() && *row);
  return st.Int(0);
}

std::string PragmaText(sqlite::Connection& conn, const char* sql) {
  auto stmt = conn.Prepare(sql);
  EXPECT_TRUE(stmt.ok());
  if (!stmt.ok()) return "";
  sqlite::Statement st(*stmt);
  auto row = st.Step("pragma");
  EXPECT_TRUE(row.ok() && *row);
  return st.Text(0);
}

// True if `needle` occurs anywhere in the file (false if the file does not exist).
bool FileContains(const std::string& path, const Bytes& needle) {
  if (!PathExists(path)) return false;
  auto content = ReadFile(path);
  EXPECT_TRUE(content.ok());
  if (!content.ok()) return false;
  const std::string_view haystack = *content;
  return haystack.find(AsChars(needle)) != std::string_view::npos;
}

// Distinctive bytes that occur nowhere else by chance.
Bytes Marker(uint8_t tag) {
  Bytes b;
  for (uint8_t i = 0; i < 72; ++i) b.push_back(static_cast<uint8_t>(i * 37 + tag * 101 + 13));
  return b;
}

TEST(SqliteStore, ConnectionsUseWalFullSyncForeignKeysAndSecureDelete) {
  medvault::testing::TempDir dir;
  auto pool = sqlite::ConnectionPool::Open(dir.Sub("medvault.db"), {},
                                           sqlite::DataStoreMigrations());
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  {
    auto writer = (*pool)->Writer();
    EXPECT_EQ(PragmaText(writer.conn(), "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(Pragma(writer.conn(), "PRAGMA synchronous"), 2);  // FULL
    EXPECT_EQ(Pragma(writer.conn(), "PRAGMA foreign_keys"), 1);
    EXPECT_EQ(Pragma(writer.conn(), "PRAGMA secure_delete"), 1);
    EXPECT_EQ(Pragma(writer.conn(), "PRAGMA busy_timeout"), 5000);
    EXPECT_EQ(Pragma(writer.conn(), "PRAGMA wal_autocheckpoint"), 1000);
  }
  auto reader = (*pool)->Reader();
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(PragmaText(reader->conn(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Pragma(reader->conn(), "PRAGMA synchronous"), 2);
  EXPECT_EQ(Pragma(reader->conn(), "PRAGMA secure_delete"), 1);
  EXPECT_EQ(Pragma(reader->conn(), "PRAGMA query_only"), 1);
}

TEST(SqliteStore, DatabaseFilesAreOwnerOnly) {
  medvault::testing::TempDir dir;
  ASSERT_TRUE(OpenSqliteDataStore(dir.Sub("medvault.db"), {}).ok());
  ASSERT_TRUE(OpenSqliteKeyStore(dir.Sub("keys.db"), {}).ok());
  EXPECT_EQ(*FileMode(dir.Sub("medvault.db")), 0600u);
  EXPECT_EQ(*FileMode(dir.Sub("keys.db")), 0600u);
}

TEST(SqliteStore, OlderSchemaIsMigratedKeepingItsRows) {
  medvault::testing::TempDir dir;
  const std::string path = dir.Sub("medvault.db");
  {
    auto conn = sqlite::Connection::Open(path, {}, sqlite::Connection::Kind::kWriter);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(sqlite::Migrate(**conn, sqlite::DataStoreMigrations(), 1).ok());
    EXPECT_EQ(*sqlite::SchemaVersion(**conn), 1);
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO practices VALUES ('pa', 'Cabinet', 1);"
                           "INSERT INTO users VALUES ('u1', 'pa', 'dr.martin', 'Dr', 1, 'h', "
                           "x'01', 0, 0, 1);",
                           "seed version 1")
                    .ok());
  }
  auto store = OpenSqliteDataStore(path, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->GetPractice("pa")->name, "Cabinet");
  EXPECT_TRUE((*store)->GetUserByLogin("dr.martin").ok());
  // Tables of the later steps exist and work.
  EXPECT_TRUE((*store)->CreateSession(SessionRow{Bytes(32, 1), "u1", "s", 1, 1, 2, false}).ok());
  EXPECT_TRUE((*store)->ListAppointments("pa", 0, 10).ok());
  store->reset();
  auto conn = sqlite::Connection::Open(path, {}, sqlite::Connection::Kind::kReader);
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*sqlite::SchemaVersion(**conn),
            sqlite::DataStoreMigrations().back().version);
}

TEST(SqliteStore, BlindIndexOfAVersion3VaultSurvivesTheMigrationToPracticeNumbers) {
  medvault::testing::TempDir dir;
  const std::string path = dir.Sub("medvault.db");
  {
    auto conn = sqlite::Connection::Open(path, {}, sqlite::Connection::Kind::kWriter);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(sqlite::Migrate(**conn, sqlite::DataStoreMigrations(), 3).ok());
    // Two practices sharing a token value, as the version-3 writer stored them (index keyed by
    // the practice id; index_keys packs column 1, token 7).
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO practices VALUES ('pb', 'B', 2), ('pa', 'A', 1);"
                           "INSERT INTO patients VALUES "
                           "(1, 'p1', 'pa', 1, x'01', x'02', x'03', 0, 1, 1, x'0107000000'),"
                           "(2, 'q1', 'pb', 1, x'01', x'02', x'03', 0, 1, 1, x'0107000000'),"
                           "(3, 'p2', 'pa', 1, x'01', x'02', x'03', 0, 1, 1, x'0107000000');"
                           "INSERT INTO patient_index VALUES "
                           "('pa', 1, 7, 1), ('pb', 1, 7, 2), ('pa', 1, 7, 3);",
                           "seed version 3")
                    .ok());
  }
  auto opened = OpenSqliteDataStore(path, {});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  DataStore& data = **opened;
  EXPECT_THAT(*data.FindByToken("pa", 1, 7), ::testing::ElementsAre("p1", "p2"));
  EXPECT_THAT(*data.FindByToken("pb", 1, 7), ::testing::ElementsAre("q1"));

  // Updates and deletes find the migrated entries; a new practice gets its own number.
  PatientRow changed = *data.GetPatient("pa", "p1");
  const std::vector<IndexEntry> index = {{1, 8}};
  ASSERT_TRUE(data.UpdatePatient(changed, index).ok());
  ASSERT_TRUE(data.DeletePatient("pb", "q1").ok());
  EXPECT_THAT(*data.FindByToken("pa", 1, 7), ::testing::ElementsAre("p2"));
  EXPECT_THAT(*data.FindByToken("pa", 1, 8), ::testing::ElementsAre("p1"));
  EXPECT_THAT(*data.FindByToken("pb", 1, 7), ::testing::IsEmpty());
  ASSERT_TRUE(data.CreatePractice(PracticeRow{"pc", "C", 3}).ok());
  PatientRow added = changed;
  added.id = "r1";
  added.practice_id = "pc";
  auto batch = data.BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE((*batch)->Add(added, std::vector<IndexEntry>{{1, 7}}).ok());
  ASSERT_TRUE((*batch)->Commit().ok());
  EXPECT_THAT(*data.FindByToken("pc", 1, 7), ::testing::ElementsAre("r1"));
  EXPECT_THAT(*data.FindByToken("pa", 1, 7), ::testing::ElementsAre("p2"));
  EXPECT_THAT(*data.FindByToken("nowhere", 1, 7), ::testing::IsEmpty());
}

TEST(SqliteStore, SchemaNewerThanTheBuildIsRefused) {
  medvault::testing::TempDir dir;
  const std::string path = dir.Sub("keys.db");
  {
    auto conn = sqlite::Connection::Open(path, {}, sqlite::Connection::Kind::kWriter);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Exec("PRAGMA user_version = 99", "set version").ok());
  }
  auto store = OpenSqliteKeyStore(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 99 is newer"));
}

TEST(SqliteStore, FailedMigrationStepLeavesThePreviousVersion) {
  medvault::testing::TempDir dir;
  auto conn = sqlite::Connection::Open(dir.Sub("m.db"), {}, sqlite::Connection::Kind::kWriter);
  ASSERT_TRUE(conn.ok());
  const sqlite::Migration steps[] = {
      {1, "CREATE TABLE a (x INTEGER)"},
      {2, "CREATE TABLE b (x INTEGER); INSERT INTO missing VALUES (1)"},
  };
  Status status = sqlite::Migrate(**conn, steps);
  EXPECT_EQ(status.code(), Code::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("schema migration 2"));
  EXPECT_EQ(*sqlite::SchemaVersion(**conn), 1);
  EXPECT_EQ(Pragma(**conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), 0);
  EXPECT_EQ(Pragma(**conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'a'"), 1);
}

TEST(SqliteStore, ShreddedPatientKeyBytesRemainNowhereInTheFiles) {
  medvault::testing::TempDir dir;
  const std::string path = dir.Sub("keys.db");
  auto keys = OpenSqliteKeyStore(path, {});
  ASSERT_TRUE(keys.ok());
  {
    auto batch = (*keys)->BeginPatientKeyBatch();
    ASSERT_TRUE(batch.ok());
    for (uint8_t i = 0; i < 50; ++i) {
      ASSERT_TRUE((*batch)->Add({"pa", "p" + std::to_string(i), 1, 1, Marker(i)}).ok());
    }
    ASSERT_TRUE((*batch)->Commit().ok());
  }
  // The scan finds a key that is there, so its silence below means something.
  ASSERT_TRUE(FileContains(path, Marker(7)) || FileContains(path + "-wal", Marker(7)));
  ASSERT_TRUE(CheckpointSqlite(path, {}).ok());
  ASSERT_TRUE(FileContains(path, Marker(7)));

  ASSERT_TRUE((*keys)->DeletePatientKey("pa", "p7").ok());
  EXPECT_FALSE(FileContains(path, Marker(7)));
  EXPECT_FALSE(FileContains(path + "-wal", Marker(7)));
  EXPECT_TRUE(FileContains(path, Marker(8)) || FileContains(path + "-wal", Marker(8)));
  keys->reset();
  EXPECT_FALSE(FileContains(path, Marker(7)));
}

TEST(SqliteStore, DeletedPatientEnvelopesRemainNowhereAfterACheckpoint) {
  medvault::testing::TempDir dir;
  const std::string path = dir.Sub("medvault.db");
  auto data = OpenSqliteDataStore(path, {});
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE((*data)->CreatePractice({"pa", "Cabinet", 1}).ok());
  {
    auto batch = (*data)->BeginPatientBatch();
    ASSERT_TRUE(batch.ok());
    for (uint8_t i = 0; i < 20; ++i) {
      PatientRow row = StoreFixture::Patient("pa", "p" + std::to_string(i), i);
      row.identity = Marker(i);
      ASSERT_TRUE((*batch)->Add(row, {}).ok());
    }
    ASSERT_TRUE((*batch)->Commit().ok());
  }
  ASSERT_TRUE(CheckpointSqlite(path, {}).ok());
  ASSERT_TRUE(FileContains(path, Marker(3)));
  ASSERT_TRUE((*data)->DeletePatient("pa", "p3").ok());
  ASSERT_TRUE(CheckpointSqlite(path, {}).ok());
  EXPECT_FALSE(FileContains(path, Marker(3)));
  EXPECT_FALSE(FileContains(path + "-wal", Marker(3)));
  EXPECT_TRUE(FileContains(path, Marker(4)));
}

TEST(SqliteStore, WriterBlockedPastTheBusyTimeoutIsUnavailable) {
  medvault::testing::TempDir dir;
  const std::string path = dir.Sub("medvault.db");
  SqliteOptions options;
  options.busy_timeout = std::chrono::milliseconds(50);
  auto data = OpenSqliteDataStore(path, options);
  ASSERT_TRUE(data.ok());
  // Another process's writer, as far as this store can tell.
  auto other = sqlite::Connection::Open(path, options, sqlite::Connection::Kind::kWriter);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Exec("BEGIN IMMEDIATE", "begin").ok());
  Status status = (*data)->CreatePractice({"pa", "Cabinet", 1});
  EXPECT_EQ(status.code(), Code::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("database busy"));
  // Readers are not blocked by it.
  EXPECT_EQ((*data)->GetPractice("pa").status().code(), Code::kNotFound);
  ASSERT_TRUE((*other)->Exec("ROLLBACK", "rollback").ok());
  EXPECT_TRUE((*data)->CreatePractice({"pa", "Cabinet", 1}).ok());
}

TEST(SqliteStore, ErrorMessagesNameTheOperationNotTheValues) {
  medvault::testing::TempDir dir;
  auto data = OpenSqliteDataStore(dir.Sub("medvault.db"), {});
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE((*data)->CreatePractice({"pa", "Cabinet", 1}).ok());
  ASSERT_TRUE((*data)->CreateUser(StoreFixture::User("u1", "pa", "dr.martin")).ok());
  Status duplicate = (*data)->CreateUser(StoreFixture::User("u2", "pa", "dr.martin"));
  EXPECT_EQ(duplicate.message(), "create user: already exists");
  Status orphan = (*data)->CreateUser(StoreFixture::User("u3", "nowhere", "dr.x"));
  EXPECT_EQ(orphan.code(), Code::kNotFound);
  EXPECT_EQ(orphan.message(), "create user: referenced row not found");
  EXPECT_THAT(orphan.message(), Not(HasSubstr("nowhere")));
  EXPECT_EQ((*data)->GetPatient("pa", "p1").status().message(), "patient not found");
}

TEST(SqliteStore, CheckpointOfAMissingDatabaseIsNotFound) {
  medvault::testing::TempDir dir;
  Status status = CheckpointSqlite(dir.Sub("absent.db"), {});
  EXPECT_EQ(status.code(), Code::kNotFound);
  EXPECT_FALSE(PathExists(dir.Sub("absent.db")));
}

TEST(SqliteStore, UnopenablePathIsInternal) {
  medvault::testing::TempDir dir;
  auto store = OpenSqliteDataStore(dir.Sub("no/such/dir/medvault.db"), {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kInternal);
}

}  // namespace
}  // namespace medvault::store
