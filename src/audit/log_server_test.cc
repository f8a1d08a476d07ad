#include "audit/log_server.h"

#include <gtest/gtest.h>

#include "audit/testing_log.h"
#include "audit/tiles.h"

namespace medvault::audit {
namespace {

using testing::AppendMany;
using testing::LogFixture;

class LogServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(f_.Open().ok());
    AppendMany(f_.log(), 0, 1000);
    ASSERT_TRUE(f_.log().IntegrateAndSign().ok());
    AppendMany(f_.log(), 1000, 1010);  // durable, not yet in a checkpoint
  }
  Result<LogResponse> Get(std::string_view path) {
    return ServeLogPath(f_.store(), f_.log().verifier(), path);
  }
  LogFixture f_;
};

TEST_F(LogServerTest, CheckpointIsTheLatestSignedNote) {
  Result<LogResponse> r = Get("/log/checkpoint");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r->cache_control, "no-cache");
  Checkpoint c = OpenCheckpoint(AsChars(r->body), f_.log().verifier()).value();
  EXPECT_EQ(c.size, 1000u);
}

TEST_F(LogServerTest, KeyIsTheNoteVerifierKey) {
  Result<LogResponse> r = Get("key");
  ASSERT_TRUE(r.ok());
  std::string text(AsChars(r->body));
  EXPECT_TRUE(text.starts_with(std::string(testing::kOrigin) + "+"));
  NoteVerifier v = ParseVerifierKey(text).value();
  EXPECT_EQ(v.key, f_.log_key().public_key());
  EXPECT_EQ(v.key_id, f_.log().verifier().key_id);
}

TEST_F(LogServerTest, FullAndPartialTilesHoldTheTreeHashes) {
  MemoryTree tree;
  std::vector<Bytes> entries = f_.store().ReadEntries(0, 1000).value();
  for (const Bytes& e : entries) tree.AppendEntry(e);

  Result<LogResponse> full = Get("/log/tile/0/001");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->content_type, "application/octet-stream");
  std::vector<Hash> hashes = TileHashes(full->body).value();
  ASSERT_EQ(hashes.size(), 256u);
  EXPECT_EQ(hashes[0], tree.PerfectNode(0, 256).value());

  Result<LogResponse> partial = Get("tile/0/003.p/232");
  ASSERT_TRUE(partial.ok());
  hashes = TileHashes(partial->body).value();
  ASSERT_EQ(hashes.size(), 232u);
  EXPECT_EQ(hashes[231], tree.PerfectNode(0, 999).value());

  Result<LogResponse> upper = Get("tile/1/000.p/3");
  ASSERT_TRUE(upper.ok());
  hashes = TileHashes(upper->body).value();
  ASSERT_EQ(hashes.size(), 3u);
  EXPECT_EQ(hashes[2], tree.PerfectNode(8, 2).value());
}

TEST_F(LogServerTest, EntryBundlesHoldTheEntries) {
  Result<LogResponse> r = Get("tile/entries/003.p/232");
  ASSERT_TRUE(r.ok());
  std::vector<Bytes> entries = DecodeEntryBundle(r->body).value();
  ASSERT_EQ(entries.size(), 232u);
  EXPECT_EQ(entries[0], f_.store().ReadEntries(768, 1).value()[0]);
  EXPECT_EQ(DecodeEntryBundle(Get("tile/entries/000")->body)->size(), 256u);
}

TEST_F(LogServerTest, NothingBeyondTheSignedTreeIsServed) {
  // 1010 leaves are durable but only 1000 are signed.
  for (const char* path : {"tile/0/003", "tile/0/003.p/233", "tile/entries/003.p/242",
                           "tile/1/000", "tile/1/000.p/4", "tile/2/000.p/1", "tile/0/004.p/1"}) {
    Result<LogResponse> r = Get(path);
    EXPECT_EQ(r.status().code(), Code::kNotFound) << path;
  }
}

TEST_F(LogServerTest, MalformedPathsAreNotFound) {
  for (const char* path : {"", "/log/", "checkpoint/x", "tile", "tile/0/3", "tile/0/x000/003",
                           "../log.db", "tile/entries/000.p/0"}) {
    Result<LogResponse> r = Get(path);
    EXPECT_EQ(r.status().code(), Code::kNotFound) << path;
    EXPECT_EQ(r.status().message(), "no such log resource") << path;
  }
}

TEST(LogServer, NoCheckpointYetIsNotFound) {
  medvault::testing::TempDir dir;
  std::unique_ptr<store::LogStore> store = store::OpenSqliteLogStore(dir.Sub("log.db")).value();
  const crypto::SigningKey key = testing::TestSigningKey();
  EXPECT_EQ(ServeLogPath(*store, MakeNoteVerifier("o", key.public_key()), "checkpoint")
                .status()
                .code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace medvault::audit
