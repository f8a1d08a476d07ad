#include <gtest/gtest.h>

#include "core/random.h"
#include "crypto/aead.h"
#include "crypto/blind_index.h"
#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "crypto/password.h"
#include "crypto/sign.h"

namespace medvault::crypto {
namespace {

SecretKey KeyOf(uint8_t first) {
  Bytes raw(kKeySize);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(first + i);
  return SecretKey::FromBytes(raw);
}

// A Random that replays fixed bytes: pins nonces for known-answer tests.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(Bytes bytes) : bytes_(std::move(bytes)) {}
  void Fill(std::span<uint8_t> out) override {
    for (auto& b : out) b = bytes_[pos_++ % bytes_.size()];
  }

 private:
  Bytes bytes_;
  size_t pos_ = 0;
};

// draft-irtf-cfrg-xchacha-03, appendix A.3.1 (AEAD_XChaCha20_Poly1305 test vector).
TEST(Aead, MatchesXChaChaDraftVector) {
  const SecretKey key = KeyOf(0x80);
  Bytes nonce;
  for (uint8_t i = 0x40; i < 0x58; ++i) nonce.push_back(i);
  FixedRandom nonces(nonce);
  const Bytes ad = *HexDecode("50515253c0c1c2c3c4c5c6c7");
  const std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  const Bytes sealed = Seal(key, AsBytes(plaintext), ad, nonces);
  ASSERT_EQ(sealed.size(), plaintext.size() + kSealOverhead);
  EXPECT_EQ(HexEncode(ByteView(sealed).subspan(kNonceSize, 16)),
            "bd6d179d3e83d43b9576579493c0e939");
  EXPECT_EQ(HexEncode(ByteView(sealed).subspan(sealed.size() - kTagSize)),
            "c0875924c1c7987947deafd8780acf49");
  EXPECT_EQ(AsChars(*Open(key, sealed, ad)), plaintext);
}

TEST(Aead, TamperedCiphertextFailsOpaquely) {
  const SecretKey key = SecretKey::Generate();
  auto random = NewSystemRandom();
  Bytes sealed = Seal(key, AsBytes("secret"), AsBytes("ad"), *random);
  sealed[kNonceSize] ^= 1;
  Result<Bytes> r = Open(key, sealed, AsBytes("ad"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
  EXPECT_EQ(r.status().message(), "cannot open");
}

// draft-irtf-cfrg-xchacha-03, section 2.2.1 (HChaCha20 test vector): the opening key of a message
// whose nonce starts with the vector's 16 input bytes is the vector's output.
TEST(Aead, OpeningKeyIsTheHChaCha20Subkey) {
  Bytes key_bytes;
  for (uint8_t i = 0; i < 32; ++i) key_bytes.push_back(i);
  const SecretKey key = SecretKey::FromBytes(key_bytes);
  Bytes sealed = *HexDecode("000000090000004a0000000031415927");
  sealed.resize(kSealOverhead, 0);
  Result<SecretKey> opening = OpeningKey(key, sealed);
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(HexEncode(opening->UnsafeBytes()),
            "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
}

TEST(Aead, OpeningKeyOpensItsMessageOnly) {
  const SecretKey key = SecretKey::Generate();
  auto random = NewSystemRandom();
  const Bytes first = Seal(key, AsBytes("first record"), AsBytes("ad"), *random);
  const Bytes second = Seal(key, AsBytes("second record"), AsBytes("ad"), *random);
  Result<SecretKey> opening = OpeningKey(key, first);
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(AsChars(*OpenWithOpeningKey(*opening, first, AsBytes("ad"))), "first record");
  EXPECT_FALSE(OpenWithOpeningKey(*opening, second, AsBytes("ad")).ok());
  EXPECT_FALSE(OpenWithOpeningKey(*opening, first, AsBytes("other ad")).ok());
  Bytes tampered = first;
  tampered[tampered.size() - 1] ^= 1;
  EXPECT_EQ(OpenWithOpeningKey(*opening, tampered, AsBytes("ad")).status().message(),
            "cannot open");
  EXPECT_FALSE(OpeningKey(key, AsBytes("short")).ok());
}

// RFC 6234 / FIPS 180-2 "abc".
TEST(Hash, Sha256MatchesKnownAnswer) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  EXPECT_EQ(h.Finish(), Sha256(AsBytes("abc")));
}

// RFC 8032 section 7.1, TEST 1 (empty message).
TEST(Sign, Ed25519MatchesRfc8032) {
  const Bytes seed =
      *HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  SigningKey key = SigningKey::FromSeed(SecretKey::FromBytes(seed));
  EXPECT_EQ(HexEncode(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const Signature sig = key.Sign({});
  EXPECT_EQ(HexEncode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3"
            "9701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifySignature(key.public_key(), {}, sig));
  EXPECT_FALSE(VerifySignature(key.public_key(), AsBytes("x"), sig));
}

constexpr const char* kPinnedEnvelopeHex =
    "0101000000111111111111111111111111111111111111111111111111d3a24712f30277687355d9ced420bd12d6681bad3d6b";

// The envelope bytes are pinned: a change of layout or associated data breaks this test.
TEST(Envelope, KnownAnswerPinsTheFormat) {
  const SecretKey dek = KeyOf(0x00);
  FixedRandom nonces(Bytes(24, 0x11));
  const EnvelopeContext ctx{"practice1", "patient1", FieldGroup::kIdentity, 1};
  const Bytes env = SealEnvelope(dek, ctx, AsBytes("Dupont"), nonces);
  ASSERT_EQ(env.size(), 6 + kEnvelopeOverhead);
  EXPECT_EQ(HexEncode(ByteView(env).subspan(0, 5)), "0101000000");
  EXPECT_EQ(HexEncode(ByteView(env).subspan(5, 24)), std::string(48, '1'));
  EXPECT_EQ(HexEncode(EnvelopeAssociatedData(ctx)),
            "6d65647661756c742f656e76656c6f7065000101000000010970726163746963653108706174696"
            "56e743100");
  EXPECT_EQ(HexEncode(env), kPinnedEnvelopeHex);
  EXPECT_EQ(AsChars(*OpenEnvelope(dek, ctx, env)), "Dupont");
}

TEST(Envelope, OverheadIsAtMost48Bytes) {
  EXPECT_LE(kEnvelopeOverhead, 48u);
  EXPECT_EQ(kEnvelopeOverhead, 45u);
}

TEST(Envelope, MovedCiphertextFailsToOpenWithOneOpaqueError) {
  const SecretKey dek = SecretKey::Generate();
  auto random = NewSystemRandom();
  const EnvelopeContext ctx{"p1", "patientA", FieldGroup::kIdentity, 1};
  const Bytes env = SealEnvelope(dek, ctx, AsBytes("Martin"), *random);
  std::vector<EnvelopeContext> moved = {
      {"p1", "patientB", FieldGroup::kIdentity, 1},   // another patient's row
      {"p1", "patientA", FieldGroup::kContact, 1},    // another field group
      {"p2", "patientA", FieldGroup::kIdentity, 1},   // another practice
      {"p1", "patientA", FieldGroup::kIdentity, 2},   // another key version
      {"p1", "patientA", FieldGroup::kNotes, 1, "n1"},
  };
  for (const auto& other : moved) {
    Result<Bytes> r = OpenEnvelope(dek, other, env);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().ToString(), "integrity: cannot open");
  }
  EXPECT_FALSE(OpenEnvelope(SecretKey::Generate(), ctx, env).ok());
  EXPECT_TRUE(OpenEnvelope(dek, ctx, env).ok());
}

// The token is BLAKE2b-128 keyed with KDF(index key, column, "mvblindx"), first 16 bits.
TEST(BlindIndex, TokenEqualsTheDocumentedKeyedHash) {
  const SecretKey index_key = KeyOf(9);
  const BlindIndexer ix(index_key);
  for (IndexColumn col : {IndexColumn::kFamily, IndexColumn::kNir, IndexColumn::kEmail}) {
    uint8_t digest[16];
    KeyedBlake2b(DeriveSubkey(index_key, static_cast<uint64_t>(col), "mvblindx"),
                 AsBytes("dupontleger"), digest);
    const uint32_t expected = (uint32_t{digest[0]} << 8 | digest[1]) >> (16 - kTokenBits);
    EXPECT_EQ(ix.Token(col, "dupontleger"), expected);
  }
}

TEST(BlindIndex, TokensArePerPracticeAndPerColumnAndTruncated) {
  const BlindIndexer a(KeyOf(1));
  const BlindIndexer b(KeyOf(2));
  EXPECT_EQ(a.Token(IndexColumn::kFamily, "martin"), a.Token(IndexColumn::kFamily, "martin"));
  EXPECT_LT(a.Token(IndexColumn::kFamily, "martin"), 1u << kTokenBits);
  // Equal values in other practices or columns give unrelated tokens (with overwhelming odds for
  // at least one of a handful of values).
  int same_practice = 0, same_column = 0;
  for (const char* v : {"martin", "bernard", "thomas", "petit", "robert"}) {
    same_practice += a.Token(IndexColumn::kFamily, v) == b.Token(IndexColumn::kFamily, v);
    same_column += a.Token(IndexColumn::kFamily, v) == a.Token(IndexColumn::kGiven, v);
  }
  EXPECT_LT(same_practice, 2);
  EXPECT_LT(same_column, 2);
}

TEST(Password, Argon2idVerifiesOnlyTheRightPassword) {
  PasswordCost cheap{1, size_t{8} << 20};
  auto hash = HashPassword("correct horse battery", cheap);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery!"));
  EXPECT_FALSE(VerifyPassword("garbage", "x"));
}

TEST(SecretKey, MovesAndComparesInConstantTime) {
  SecretKey a = SecretKey::Generate();
  SecretKey b = a.Clone();
  EXPECT_TRUE(a.Equals(b));
  SecretKey c = std::move(a);
  EXPECT_TRUE(c.Equals(b));
  EXPECT_FALSE(c.Equals(SecretKey::Generate()));
}

}  // namespace
}  // namespace medvault::crypto
