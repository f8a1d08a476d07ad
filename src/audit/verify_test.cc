#include "audit/verify.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/log_server.h"
#include "audit/testing_log.h"
#include "core/file.h"

namespace medvault::audit {
namespace {

using testing::LogFixture;
using testing::AppendMany;
using testing::SampleLeaf;

constexpr uint64_t kFirstCheckpoint = 300;
constexpr uint64_t kLeaves = 1000;

// Runs SQL on the log database with the sqlite3 command-line shell, as an intruder would.
void Tamper(const std::string& db, const std::string& sql) {
  const std::string script = db + ".sql";
  std::ofstream(script) << sql << "\n";
  const std::string command = "sqlite3 '" + db + "' < '" + script + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << sql;
}

std::string FlipBitSql(const std::string& table, const std::string& column,
                       const std::string& where, const Bytes& original, size_t byte) {
  Bytes flipped = original;
  flipped[byte] ^= 0x04;
  return "UPDATE " + table + " SET " + column + " = X'" + HexEncode(flipped) + "' WHERE " +
         where + ";";
}

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(f_.Open().ok());
    AppendMany(f_.log(), 0, kFirstCheckpoint);
    ASSERT_TRUE(f_.log().IntegrateAndSign().ok());
    AppendMany(f_.log(), kFirstCheckpoint, kLeaves);
    ASSERT_TRUE(f_.log().IntegrateAndSign().ok());
    verifier_ = f_.log().verifier();
    f_.Close();
    store_ = store::OpenSqliteLogStore(f_.path()).value();
  }

  Bytes EntryAt(uint64_t i) { return store_->ReadEntries(i, 1).value().at(0); }

  // Verify must fail naming `index` as the first bad one.
  void ExpectFirstBad(uint64_t index, const VerifyOptions& options = {}) {
    Result<VerifyReport> report = Verify(*store_, key(), options);
    ASSERT_FALSE(report.ok()) << report->Summary();
    EXPECT_EQ(report.status().code(), Code::kIntegrity);
    EXPECT_TRUE(report.status().message().starts_with("first bad index " + std::to_string(index) +
                                                      ":"))
        << report.status().message();
    std::ostringstream out, err;
    EXPECT_EQ(RunAuditVerify(*store_, key(), out, err), 3);
    EXPECT_EQ(out.str(), "");
    EXPECT_NE(err.str().find("first bad index " + std::to_string(index)), std::string::npos);
  }

  const crypto::PublicKey& key() const { return f_.log_key().public_key(); }

  LogFixture f_;
  NoteVerifier verifier_;
  std::unique_ptr<store::LogStore> store_;
};

TEST_F(VerifyTest, AnUntouchedLogVerifiesAndPrintsItsRoot) {
  Result<VerifyReport> report = Verify(*store_, key());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->tree_size, kLeaves);
  EXPECT_EQ(report->checkpoints, 3u);  // sizes 0, 300, 1000
  EXPECT_EQ(report->tiles, 3u);
  Checkpoint latest = OpenCheckpoint(store_->LatestCheckpoint().value()->note, verifier_).value();
  EXPECT_EQ(report->root, latest.root);
  std::ostringstream out, err;
  EXPECT_EQ(RunAuditVerify(*store_, key(), out, err), 0);
  EXPECT_EQ(out.str(), "ok tree_size=1000 root=" + Base64Encode(latest.root) + "\n");
}

TEST_F(VerifyTest, FlippedBitInALeafNamesThatLeaf) {
  Tamper(f_.path(), FlipBitSql("log_entries", "entry", "idx = 517", EntryAt(517), 40));
  ExpectFirstBad(517);
}

TEST_F(VerifyTest, FlippedBitInALeafHeaderNamesThatLeaf) {
  Tamper(f_.path(), FlipBitSql("log_entries", "entry", "idx = 12", EntryAt(12), 0));
  ExpectFirstBad(12);
}

TEST_F(VerifyTest, FlippedBitInATailLeafIsBoundedByTheLastGoodCheckpoint) {
  // Leaf 900 is past the last full tile: only the checkpoints cover it, and the last one that
  // still matches is size 300.
  Tamper(f_.path(), FlipBitSql("log_entries", "entry", "idx = 900", EntryAt(900), 50));
  ExpectFirstBad(kFirstCheckpoint);
}

TEST_F(VerifyTest, FlippedBitInAStoredTileNamesTheFirstLeafItCovers) {
  const Bytes tile = *store_->GetTile(0, 1).value();
  Tamper(f_.path(), FlipBitSql("log_tiles", "hashes", "level = 0 AND idx = 1", tile, 10 * 32 + 3));
  ExpectFirstBad(256 + 10);
}

TEST_F(VerifyTest, TruncatedTailNamesTheFirstMissingIndex) {
  Tamper(f_.path(), "DELETE FROM log_entries WHERE idx >= 950;");
  ExpectFirstBad(950);
}

TEST_F(VerifyTest, DeletedRangeNamesItsFirstIndex) {
  Tamper(f_.path(), "DELETE FROM log_entries WHERE idx BETWEEN 400 AND 409;");
  ExpectFirstBad(400);
}

TEST_F(VerifyTest, TwoSwappedLeavesNameTheFirstOfThem) {
  const Bytes a = EntryAt(100);
  const Bytes b = EntryAt(101);
  Tamper(f_.path(), "UPDATE log_entries SET entry = X'" + HexEncode(b) +
                        "' WHERE idx = 100; UPDATE log_entries SET entry = X'" + HexEncode(a) +
                        "' WHERE idx = 101;");
  ExpectFirstBad(100);
}

TEST(VerifyRollback, RolledBackDatabaseFailsAgainstALaterCheckpoint) {
  // A copy of log.db taken when the log held 300 leaves, put back after 1000 were signed.
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  AppendMany(f.log(), 0, kFirstCheckpoint);
  f.Close();
  const std::string backup = f.dir().Sub("log-backup.db");
  std::filesystem::copy_file(f.path(), backup);
  ASSERT_TRUE(f.Open().ok());
  AppendMany(f.log(), kFirstCheckpoint, kLeaves);
  f.Close();
  const std::string later_note =
      store::OpenSqliteLogStore(f.path()).value()->LatestCheckpoint().value()->note;
  std::filesystem::copy_file(backup, f.path(), std::filesystem::copy_options::overwrite_existing);

  std::unique_ptr<store::LogStore> store = store::OpenSqliteLogStore(f.path()).value();
  ASSERT_TRUE(Verify(*store, f.log_key().public_key()).ok());  // consistent with itself
  Result<VerifyReport> report =
      Verify(*store, f.log_key().public_key(), {.extra_checkpoints = {later_note}});
  EXPECT_EQ(report.status().code(), Code::kIntegrity);
  EXPECT_EQ(report.status().message(),
            "first bad index 300: external checkpoint 0 has tree_size=1000 but the log holds 300 "
            "entries");
}

TEST_F(VerifyTest, ForkedCheckpointIsDetected) {
  // A checkpoint correctly signed by the log key for a tree the log does not hold.
  Checkpoint forked{testing::kOrigin, 500, Hash{}};
  forked.root[0] = 1;
  NoteSigner signer(testing::kOrigin, f_.log_key());
  ASSERT_TRUE(store_->AddCheckpoint({500, 0, signer.Sign(FormatCheckpointText(forked))}).ok());
  ExpectFirstBad(kFirstCheckpoint);
}

TEST_F(VerifyTest, AccessLogRefusesToExtendALogThatDiffersFromItsCheckpoint) {
  Checkpoint forked{testing::kOrigin, kLeaves, Hash{}};
  NoteSigner signer(testing::kOrigin, f_.log_key());
  ASSERT_TRUE(store_->AddCheckpoint({kLeaves, 0, signer.Sign(FormatCheckpointText(forked))}).ok());
  store_.reset();
  Status s = f_.Open();
  EXPECT_EQ(s.code(), Code::kIntegrity);
  EXPECT_EQ(s.message(), "log differs from its latest checkpoint (tree_size=1000)");
}

TEST_F(VerifyTest, CheckpointWithABadSignatureIsAnIntegrityError) {
  std::string note = store_->LatestCheckpoint().value()->note;
  note[note.size() - 5] = note[note.size() - 5] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(store_->AddCheckpoint({kLeaves, 0, note}).ok());
  Result<VerifyReport> report = Verify(*store_, key());
  EXPECT_EQ(report.status().code(), Code::kIntegrity);
  EXPECT_NE(report.status().message().find("does not verify"), std::string::npos)
      << report.status().message();
}

TEST_F(VerifyTest, AnotherLogKeyIsRejected) {
  const crypto::SigningKey other = testing::TestSigningKey(9);
  std::ostringstream out, err;
  EXPECT_EQ(RunAuditVerify(*store_, other.public_key(), out, err), 3);
  EXPECT_NE(err.str().find("no signature by"), std::string::npos) << err.str();
}

TEST_F(VerifyTest, ExportedTileDirectoryVerifiesOffline) {
  const std::string dir = f_.dir().Sub("mirror");
  ASSERT_EQ(ExportTileDirectory(*store_, verifier_, dir).value(), kLeaves);
  const std::string note = ReadFile(dir + "/checkpoint").value();
  NoteVerifier key = ParseVerifierKey(ReadFile(dir + "/key").value()).value();
  Result<VerifyReport> report = VerifyTileDirectory(dir, note, key);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->tree_size, kLeaves);
  EXPECT_TRUE(PathExists(dir + "/tile/0/003.p/232"));
  EXPECT_TRUE(PathExists(dir + "/tile/entries/003.p/232"));
  EXPECT_TRUE(PathExists(dir + "/tile/1/000.p/3"));
}

TEST_F(VerifyTest, TamperedTileDirectoryFailsOfflineNamingTheLeaf) {
  const std::string dir = f_.dir().Sub("mirror");
  ASSERT_TRUE(ExportTileDirectory(*store_, verifier_, dir).ok());
  const std::string note = ReadFile(dir + "/checkpoint").value();
  // Rewrite entry 5 of bundle 1 (leaf 261); the level-0 tile still holds its original hash.
  std::vector<Bytes> entries =
      DecodeEntryBundle(AsBytes(ReadFile(dir + "/tile/entries/001").value())).value();
  entries[5][20] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(dir + "/tile/entries/001", AsChars(EncodeEntryBundle(entries))).ok());
  Result<VerifyReport> report = VerifyTileDirectory(dir, note, verifier_);
  EXPECT_EQ(report.status().code(), Code::kIntegrity);
  EXPECT_TRUE(report.status().message().starts_with("first bad index 261:"))
      << report.status().message();
}

TEST_F(VerifyTest, TileDirectoryWithoutItsTailFailsOffline) {
  const std::string dir = f_.dir().Sub("mirror");
  ASSERT_TRUE(ExportTileDirectory(*store_, verifier_, dir).ok());
  std::filesystem::remove(dir + "/tile/entries/003.p/232");
  Result<VerifyReport> report =
      VerifyTileDirectory(dir, ReadFile(dir + "/checkpoint").value(), verifier_);
  EXPECT_EQ(report.status().message(), "first bad index 768: tile/entries/003.p/232 is missing");
}

TEST_F(VerifyTest, InclusionProofIsPrintedAndVerifies) {
  std::ostringstream out, err;
  ASSERT_EQ(RunAuditProof(*store_, key(), {.index = 517}, out, err), 0) << err.str();
  std::istringstream in(out.str());
  std::string line, word;
  std::getline(in, line);
  EXPECT_EQ(line, "inclusion");
  std::map<std::string, std::string> fields;
  for (int i = 0; i < 5; ++i) {
    std::getline(in, line);
    fields[line.substr(0, line.find(' '))] = line.substr(line.find(' ') + 1);
  }
  EXPECT_EQ(fields["index"], "517");
  EXPECT_EQ(fields["tree_size"], "1000");
  std::vector<Hash> proof;
  for (int i = 0; i < std::stoi(fields["proof"]); ++i) {
    std::getline(in, line);
    Bytes b = Base64Decode(line).value();
    Hash h{};
    std::copy(b.begin(), b.end(), h.begin());
    proof.push_back(h);
  }
  auto hash_of = [](const std::string& b64) {
    Bytes b = Base64Decode(b64).value();
    Hash h{};
    std::copy(b.begin(), b.end(), h.begin());
    return h;
  };
  EXPECT_TRUE(VerifyInclusion(517, 1000, hash_of(fields["leaf_hash"]), proof,
                              hash_of(fields["root"]))
                  .ok());
  std::getline(in, line);
  EXPECT_EQ(line, "checkpoint");
}

TEST_F(VerifyTest, ConsistencyProofIsPrinted) {
  std::ostringstream out, err;
  ASSERT_EQ(RunAuditProof(*store_, key(), {.from = 300, .to = 1000}, out, err), 0) << err.str();
  EXPECT_TRUE(out.str().starts_with("consistency\nfrom 300\nto 1000\n")) << out.str();
}

TEST_F(VerifyTest, ProofUsageErrorsExitWithOne) {
  std::ostringstream out, err;
  EXPECT_EQ(RunAuditProof(*store_, key(), {}, out, err), 1);
  EXPECT_EQ(err.str(), "usage: medvault audit proof --index N [--size M] | --from A --to B\n");
  std::ostringstream err2;
  EXPECT_EQ(RunAuditProof(*store_, key(), {.index = 5, .size = 2000}, out, err2), 1);
  EXPECT_EQ(err2.str(), "audit proof: tree size 2000 exceeds the log (1000 entries)\n");
  std::ostringstream err3;
  EXPECT_EQ(RunAuditProof(*store_, key(), {.index = 1000}, out, err3), 1);
  EXPECT_EQ(err3.str(), "audit proof: index 1000 is not below tree size 1000\n");
}

TEST_F(VerifyTest, ProofAgainstATamperedLogExitsWithThree) {
  Tamper(f_.path(), FlipBitSql("log_entries", "entry", "idx = 900", EntryAt(900), 50));
  std::ostringstream out, err;
  EXPECT_EQ(RunAuditProof(*store_, key(), {.index = 900}, out, err), 3);
  EXPECT_EQ(err.str(),
            "audit proof: the log's root at tree_size=1000 differs from its signed checkpoint\n");
}

}  // namespace
}  // namespace medvault::audit
