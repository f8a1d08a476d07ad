#include "audit/witness.h"

#include <gtest/gtest.h>

#include "audit/merkle.h"
#include "core/testing/temp_dir.h"

namespace medvault::audit {
namespace {

constexpr char kLog[] = "medvault.local/v1/log";
constexpr char kWitness[] = "witness.example/w1";

crypto::SigningKey KeyFrom(uint8_t b) {
  return crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(32, b)));
}

class WitnessTest : public ::testing::Test {
 protected:
  WitnessTest()
      : log_key_(KeyFrom(1)),
        witness_key_(KeyFrom(2)),
        signer_(kLog, log_key_),
        clock_(1767225600000000),
        witness_(kWitness, witness_key_, {signer_.verifier()}, dir_.Sub("witness"), clock_) {
    for (int i = 0; i < 20; ++i) tree_.AppendEntry(ToBytes("leaf " + std::to_string(i)));
  }

  std::string CheckpointAt(uint64_t size) {
    return signer_.Sign(FormatCheckpointText({kLog, size, RootAt(tree_, size).value()}));
  }
  std::string Request(uint64_t old_size, uint64_t new_size) {
    std::string body = "old " + std::to_string(old_size) + "\n";
    const std::vector<Hash> proof = ConsistencyProof(tree_, old_size, new_size).value();
    for (const Hash& h : proof) body += Base64Encode(h) + "\n";
    return body + "\n" + CheckpointAt(new_size);
  }

  medvault::testing::TempDir dir_;
  crypto::SigningKey log_key_;
  crypto::SigningKey witness_key_;
  NoteSigner signer_;
  FakeClock clock_;
  WitnessHandler witness_;
  MemoryTree tree_;
};

TEST_F(WitnessTest, CosignsAConsistentCheckpointWithATimestampedCosignature) {
  WitnessResponse r = witness_.AddCheckpoint(Request(0, 5));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string text = FormatCheckpointText({kLog, 5, RootAt(tree_, 5).value()});
  EXPECT_EQ(VerifyCosignatureLine(r.body, kWitness, witness_key_.public_key(), text).value(),
            1767225600u);
  r = witness_.AddCheckpoint(Request(5, 13));
  EXPECT_EQ(r.status, 200) << r.body;
  r = witness_.AddCheckpoint(Request(13, 13));  // same checkpoint again
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(WitnessTest, StaleOldSizeGetsConflictWithTheRecordedSize) {
  ASSERT_EQ(witness_.AddCheckpoint(Request(0, 8)).status, 200);
  WitnessResponse r = witness_.AddCheckpoint(Request(0, 12));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "text/x.tlog.size");
  EXPECT_EQ(r.body, "8\n");
}

TEST_F(WitnessTest, RefusesARollback) {
  ASSERT_EQ(witness_.AddCheckpoint(Request(0, 12)).status, 200);
  // A smaller tree presented as the successor of the recorded one.
  WitnessResponse r = witness_.AddCheckpoint("old 12\n\n" + CheckpointAt(8));
  EXPECT_EQ(r.status, 400);
  // Or as the successor of an older size.
  r = witness_.AddCheckpoint(Request(5, 8));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "12\n");
}

TEST_F(WitnessTest, RefusesAForkAtTheSameSize) {
  ASSERT_EQ(witness_.AddCheckpoint(Request(0, 12)).status, 200);
  Hash other = RootAt(tree_, 12).value();
  other[0] ^= 1;
  WitnessResponse r =
      witness_.AddCheckpoint("old 12\n\n" + signer_.Sign(FormatCheckpointText({kLog, 12, other})));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "12\n");
}

TEST_F(WitnessTest, RefusesAForkThatGrows) {
  ASSERT_EQ(witness_.AddCheckpoint(Request(0, 12)).status, 200);
  MemoryTree forked;
  for (int i = 0; i < 20; ++i) {
    forked.AppendEntry(ToBytes(i == 3 ? std::string("forged") : "leaf " + std::to_string(i)));
  }
  std::string body = "old 12\n";
  const std::vector<Hash> proof = ConsistencyProof(forked, 12, 16).value();
  for (const Hash& h : proof) body += Base64Encode(h) + "\n";
  body += "\n" + signer_.Sign(FormatCheckpointText({kLog, 16, RootAt(forked, 16).value()}));
  WitnessResponse r = witness_.AddCheckpoint(body);
  EXPECT_EQ(r.status, 422);
  // The refused request changed nothing: the honest successor is still accepted.
  EXPECT_EQ(witness_.AddCheckpoint(Request(12, 16)).status, 200);
}

TEST_F(WitnessTest, StateSurvivesARestart) {
  ASSERT_EQ(witness_.AddCheckpoint(Request(0, 9)).status, 200);
  WitnessHandler restarted(kWitness, witness_key_, {signer_.verifier()}, dir_.Sub("witness"),
                           clock_);
  EXPECT_EQ(restarted.AddCheckpoint(Request(0, 10)).body, "9\n");
  EXPECT_EQ(restarted.AddCheckpoint(Request(9, 10)).status, 200);
}

TEST_F(WitnessTest, UnknownLogAndBadSignatureAndMalformedBodies) {
  NoteSigner stranger("other.example/log", log_key_);
  EXPECT_EQ(witness_.AddCheckpoint("old 0\n\n" + stranger.Sign(FormatCheckpointText(
                                                     {"other.example/log", 1, Hash{}})))
                .status,
            404);
  const crypto::SigningKey impostor_key = KeyFrom(9);
  NoteSigner impostor(kLog, impostor_key);
  EXPECT_EQ(witness_.AddCheckpoint("old 0\n\n" +
                                   impostor.Sign(FormatCheckpointText({kLog, 1, Hash{}})))
                .status,
            403);
  EXPECT_EQ(witness_.AddCheckpoint("").status, 400);
  EXPECT_EQ(witness_.AddCheckpoint("old 01\n\n" + CheckpointAt(1)).status, 400);
  EXPECT_EQ(witness_.AddCheckpoint("old 0\nnot-base64\n\n" + CheckpointAt(1)).status, 400);
  EXPECT_EQ(witness_.AddCheckpoint("old 0\n" + CheckpointAt(1)).status, 400);
  // A non-empty proof from size 0 does not verify.
  EXPECT_EQ(witness_.AddCheckpoint("old 0\n" + Base64Encode(Hash{}) + "\n\n" + CheckpointAt(1))
                .status,
            422);
}

TEST_F(WitnessTest, VerifierKeyUsesTheCosignatureType) {
  const std::string vkey = witness_.VerifierKey();
  EXPECT_TRUE(vkey.starts_with(std::string(kWitness) + "+"));
  Bytes material = Base64Decode(vkey.substr(vkey.rfind('+') + 1)).value();
  EXPECT_EQ(material[0], kSignatureTypeCosignature);
}

}  // namespace
}  // namespace medvault::audit
