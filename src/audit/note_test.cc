#include "audit/note.h"

#include <gtest/gtest.h>

namespace medvault::audit {
namespace {

// The example key and signed note of the Go signed-note implementation's documentation
// (golang.org/x/mod/sumdb/note, package comment), which c2sp.org/signed-note standardises.
constexpr char kExampleSeedB64[] = "gQoUAtUUbI2E8kQzMPVAgOv5juF9nHT2JS/F1ccoMXM=";
constexpr char kExampleVerifierKey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kExampleText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kExampleNote[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

crypto::SigningKey ExampleKey() {
  return crypto::SigningKey::FromSeed(
      crypto::SecretKey::FromBytes(Base64Decode(kExampleSeedB64).value()));
}

TEST(SignedNote, VerifierKeyAndSignatureMatchTheReferenceExample) {
  const crypto::SigningKey key = ExampleKey();
  NoteSigner signer("PeterNeumann", key);
  EXPECT_EQ(FormatVerifierKey(signer.verifier()), kExampleVerifierKey);
  EXPECT_EQ(signer.Sign(kExampleText), kExampleNote);  // Ed25519 is deterministic
  NoteVerifier parsed = ParseVerifierKey(kExampleVerifierKey).value();
  EXPECT_EQ(parsed.key, key.public_key());
  EXPECT_EQ(VerifyNote(kExampleNote, parsed).value(), kExampleText);
}

TEST(SignedNote, TamperedTextOrSignatureFailsToVerify) {
  NoteVerifier verifier = ParseVerifierKey(kExampleVerifierKey).value();
  std::string note = kExampleNote;
  note[3] = 'X';
  EXPECT_EQ(VerifyNote(note, verifier).status().message(),
            "note: signature of PeterNeumann does not verify");
}

TEST(SignedNote, SignaturesOfUnknownKeysAreIgnoredButOneKnownIsRequired) {
  NoteVerifier verifier = ParseVerifierKey(kExampleVerifierKey).value();
  const crypto::SigningKey other =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(32, 3)));
  NoteSigner other_signer("someone.else/w", other);
  const std::string other_note = other_signer.Sign(kExampleText);
  const std::string other_line = other_note.substr(other_note.rfind("\n\n") + 2);
  EXPECT_EQ(VerifyNote(std::string(kExampleNote) + other_line, verifier).value(), kExampleText);
  EXPECT_EQ(VerifyNote(other_note, verifier).status().message(), "note: no signature by PeterNeumann");
}

TEST(SignedNote, MalformedNotesAreRejected) {
  NoteVerifier verifier = ParseVerifierKey(kExampleVerifierKey).value();
  EXPECT_FALSE(VerifyNote("no signature block\n", verifier).ok());
  EXPECT_FALSE(VerifyNote("text\n\n- PeterNeumann AAAA\n", verifier).ok());
  EXPECT_FALSE(VerifyNote("te\x01xt\n\n\xE2\x80\x94 a AAAAAAA=\n", verifier).ok());
  EXPECT_FALSE(ParseVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                   .ok());
  EXPECT_FALSE(ValidKeyName("a b"));
  EXPECT_FALSE(ValidKeyName("a+b"));
  EXPECT_TRUE(ValidKeyName("medvault.local/v1/log"));
}

TEST(Checkpoint, TextRoundTripsAndFollowsTlogCheckpoint) {
  Checkpoint c{"medvault.local/v/log", 20852163, {}};
  c.root[0] = 0x0a;
  const std::string text = FormatCheckpointText(c);
  EXPECT_EQ(text, "medvault.local/v/log\n20852163\nCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
  Checkpoint back = ParseCheckpointText(text).value();
  EXPECT_EQ(back.origin, c.origin);
  EXPECT_EQ(back.size, c.size);
  EXPECT_EQ(back.root, c.root);
  EXPECT_FALSE(ParseCheckpointText("o\n012\nCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").ok());
  EXPECT_FALSE(ParseCheckpointText("o\n12\nAAAA\n").ok());
  EXPECT_FALSE(ParseCheckpointText("o\n12\n").ok());
}

TEST(Checkpoint, OpenRequiresTheOriginToBeTheKeyName) {
  const crypto::SigningKey key = ExampleKey();
  NoteSigner signer("medvault.local/v/log", key);
  Checkpoint c{"medvault.local/other/log", 1, {}};
  const std::string note = signer.Sign(FormatCheckpointText(c));
  EXPECT_EQ(OpenCheckpoint(note, signer.verifier()).status().message(),
            "checkpoint: origin is not the key name");
}

TEST(Cosignature, LineVerifiesAndBindsTimeAndCheckpoint) {
  const crypto::SigningKey witness =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(32, 5)));
  const std::string text = "medvault.local/v/log\n3\nCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  const std::string line = CosignatureLine("witness.example/w1", witness, 1679315147, text);
  EXPECT_TRUE(line.starts_with("\xE2\x80\x94 witness.example/w1 "));
  // key id (4) + timestamp (8) + signature (64) = 76 bytes = 104 base64 characters.
  EXPECT_EQ(line.size(), std::string("\xE2\x80\x94 witness.example/w1 ").size() + 104 + 1);
  EXPECT_EQ(VerifyCosignatureLine(line, "witness.example/w1", witness.public_key(), text).value(),
            1679315147u);
  EXPECT_FALSE(VerifyCosignatureLine(line, "witness.example/w1", witness.public_key(),
                                     "medvault.local/v/log\n4\nCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
                   .ok());
  EXPECT_FALSE(VerifyCosignatureLine(line, "witness.example/w2", witness.public_key(), text).ok());
}

}  // namespace
}  // namespace medvault::audit
