#include "audit/leaf.h"

#include <gtest/gtest.h>

#include "audit/testing_keys.h"

namespace medvault::audit {
namespace {

// Regression vector for format version 1 (docs/formats/leaf.md): key bytes 0x70..0x8f ("p" + i),
// nonce from SeededRandom(1).
constexpr const char* kSealedKnownAnswer =
    "0106707261632d31c510c70f6daff2b3ea4c364796553b8514452a085697f89298a5679ed9e00f523d6fef49b4bda2"
    "86d876562289c1320032734e30c14bfe6364ed31fa3337c7acbcfb8f11ba4110a220468b7c9f18a434";

using testing::FakeKeyProvider;
using testing::SampleLeaf;

TEST(LeafCodec, PayloadOfAMinimalLeafIsTheDocumentedBytes) {
  Leaf leaf;
  leaf.time = 1;
  leaf.action = "login.fail";
  leaf.outcome = 401;
  // time u64 LE | practice "" | account "" | role 0 | session "" | source "" | action |
  // resource "" | 0 patients | groups 0 | categories 0 | outcome varint 401 | decision 0 | req "".
  EXPECT_EQ(HexEncode(EncodeLeafPayload(leaf).value()),
            "0100000000000000" "00" "00" "00" "00" "00" "0a6c6f67696e2e6661696c" "00" "00" "00"
            "00" "9103" "00" "00");
}

TEST(LeafCodec, PayloadRoundTripsEveryField) {
  Leaf leaf = SampleLeaf(7);
  leaf.patient_ids = {"a", "b", "c"};
  leaf.note_categories = (uint64_t{1} << 40) | 5;
  leaf.decision = GuardDecision::kContainAccount;
  leaf.role = std::nullopt;
  Result<Leaf> back = DecodeLeafPayload(EncodeLeafPayload(leaf).value());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, leaf);
}

TEST(LeafCodec, DecodeRejectsTrailingBytesTruncationAndUnknownEnums) {
  Bytes payload = EncodeLeafPayload(SampleLeaf()).value();
  Bytes longer = payload;
  longer.push_back(0);
  EXPECT_EQ(DecodeLeafPayload(longer).status().message(), "malformed audit leaf");
  for (size_t n = 0; n < payload.size(); ++n) {
    EXPECT_FALSE(DecodeLeafPayload(ByteView(payload).first(n)).ok()) << n;
  }
  Leaf leaf;
  Bytes bad_decision = EncodeLeafPayload(leaf).value();
  bad_decision[bad_decision.size() - 2] = 9;
  EXPECT_FALSE(DecodeLeafPayload(bad_decision).ok());
}

TEST(LeafCodec, EncodeRejectsOversizedFields) {
  Leaf leaf = SampleLeaf();
  leaf.account = std::string(2000, 'a');
  EXPECT_EQ(EncodeLeafPayload(leaf).status().code(), Code::kInvalidArgument);
}

TEST(LeafSeal, EntryIsAKnownAnswerForAFixedKeyAndNonceSeed) {
  FakeKeyProvider keys({"prac-1"});
  SeededRandom nonces(1);
  Leaf leaf;
  leaf.time = 1;
  leaf.practice_id = "prac-1";
  leaf.action = "patient.read";
  leaf.outcome = 200;
  Result<Bytes> entry = SealLeaf(leaf, keys, nonces);
  ASSERT_TRUE(entry.ok());
  // version 1 | key id "prac-1" | nonce (24) | ciphertext | tag (16)
  const std::string hex = HexEncode(*entry);
  EXPECT_EQ(hex.substr(0, 16), "0106707261632d31");
  SeededRandom same_seed(1);
  Bytes nonce(24);
  same_seed.Fill(nonce);
  EXPECT_EQ(hex.substr(16, 48), HexEncode(nonce));
  EXPECT_EQ(entry->size(), 1 + 1 + 6 + 24 + EncodeLeafPayload(leaf)->size() + 16);
  EXPECT_EQ(hex, kSealedKnownAnswer);
}

TEST(LeafSeal, OpenRecoversTheLeaf) {
  FakeKeyProvider keys({"prac-1", "vault"});
  SeededRandom nonces(2);
  Leaf leaf = SampleLeaf(3);
  Bytes entry = SealLeaf(leaf, keys, nonces).value();
  Result<Leaf> back = OpenLeaf(entry, keys);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, leaf);
  EXPECT_EQ(ParseEntryHeader(entry)->key_id, "prac-1");

  Leaf vault_wide = SampleLeaf(4);
  vault_wide.practice_id.clear();
  Bytes vault_entry = SealLeaf(vault_wide, keys, nonces).value();
  EXPECT_EQ(ParseEntryHeader(vault_entry)->key_id, "vault");
  EXPECT_EQ(OpenLeaf(vault_entry, keys).value(), vault_wide);
}

TEST(LeafSeal, PublicEntryRevealsNeitherPatientIdNorAccount) {
  FakeKeyProvider keys({"prac-1"});
  SeededRandom nonces(3);
  Bytes entry = SealLeaf(SampleLeaf(42), keys, nonces).value();
  const std::string_view text = AsChars(entry);
  EXPECT_EQ(text.find("pat-42"), std::string_view::npos);
  EXPECT_EQ(text.find("dr.martin"), std::string_view::npos);
}

TEST(LeafSeal, OpenFailsAfterTamperOrUnderAnotherKeyId) {
  FakeKeyProvider keys({"prac-1", "prac-2"});
  SeededRandom nonces(4);
  Bytes entry = SealLeaf(SampleLeaf(), keys, nonces).value();
  for (size_t i = 0; i < entry.size(); i += 7) {
    Bytes tampered = entry;
    tampered[i] ^= 0x10;
    EXPECT_FALSE(OpenLeaf(tampered, keys).ok()) << i;
  }
  // The same ciphertext relabelled with another practice's key id.
  Bytes moved = entry;
  moved[7] = '2';
  EXPECT_EQ(OpenLeaf(moved, keys).status().message(), "cannot open");
}

TEST(LeafSeal, OpeningKeyOpensThatEntryOnlyWithoutTheAuditKey) {
  FakeKeyProvider keys({"prac-1"});
  SeededRandom nonces(6);
  const Bytes entry = SealLeaf(SampleLeaf(1), keys, nonces).value();
  const Bytes other = SealLeaf(SampleLeaf(2), keys, nonces).value();
  const crypto::SecretKey audit_key = keys.AuditKey("prac-1").value();
  Result<crypto::SecretKey> opening = LeafOpeningKey(entry, audit_key);
  ASSERT_TRUE(opening.ok());
  EXPECT_FALSE(opening->Equals(audit_key));
  EXPECT_EQ(OpenLeafWithOpeningKey(entry, *opening).value(), SampleLeaf(1));
  EXPECT_FALSE(OpenLeafWithOpeningKey(other, *opening).ok());
  Bytes moved = entry;
  moved[7] = '2';  // relabelled with another key id: the associated data differs
  EXPECT_FALSE(OpenLeafWithOpeningKey(moved, *opening).ok());
  EXPECT_EQ(OpenLeafWithKey(entry, *ParseEntryHeader(entry), audit_key).value(), SampleLeaf(1));
}

TEST(LeafSeal, OpenLeafIfDecodesOnlyTheKeptLeavesIntoAReusedLeaf) {
  FakeKeyProvider keys({"prac-1"});
  SeededRandom nonces(7);
  const crypto::SecretKey key = keys.AuditKey("prac-1").value();
  Leaf reused = SampleLeaf(99);
  reused.patient_ids = {"a", "b", "c"};
  Bytes scratch;
  for (int n : {1, 2, 3}) {
    Leaf leaf = SampleLeaf(n);
    leaf.account = n == 2 ? "dr.other" : "dr.martin";
    const Bytes entry = SealLeaf(leaf, keys, nonces).value();
    Result<bool> kept = OpenLeafIf(
        entry, *ParseEntryHeader(entry), key,
        [](const LeafHead& h) { return h.account == "dr.martin" && h.source == "192.0.2.10"; },
        &scratch, &reused);
    ASSERT_TRUE(kept.ok()) << kept.status().ToString();
    EXPECT_EQ(*kept, n != 2);
    if (*kept) {
      EXPECT_EQ(reused, leaf);
    }
  }
  LeafHead head;
  EXPECT_FALSE(DecodeLeafHead(AsBytes("\x01\x02"), &head).ok());
}

TEST(LeafSeal, UnknownKeyIdIsNotFound) {
  FakeKeyProvider keys({"other"});
  SeededRandom nonces(5);
  EXPECT_EQ(SealLeaf(SampleLeaf(), keys, nonces).status().code(), Code::kNotFound);
}

TEST(LeafSeal, UnknownFormatVersionIsRejected) {
  FakeKeyProvider keys({"prac-1"});
  SeededRandom nonces(6);
  Bytes entry = SealLeaf(SampleLeaf(), keys, nonces).value();
  entry[0] = 2;
  EXPECT_EQ(ParseEntryHeader(entry).status().message(), "audit leaf: unknown format version 2");
}

}  // namespace
}  // namespace medvault::audit
