#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/random.h"
#include "crypto/sha256_accel.h"

namespace medvault::audit {
namespace {

// The RFC 6962 reference test tree: eight leaves, with the roots, audit paths and consistency
// proofs published with Google's certificate-transparency reference implementation
// (go/merkletree/merkle_tree_test.go and merkle_verifier_test.go, also cpp/merkletree tests).
const char* const kLeavesHex[] = {"",
                                  "00",
                                  "10",
                                  "2021",
                                  "3031",
                                  "40414243",
                                  "5051525354555657",
                                  "606162636465666768696a6b6c6d6e6f"};

// kRootsHex[n] is the root of the first n leaves.
const char* const kRootsHex[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

Hash H(const std::string& hex) {
  Result<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.ok() && b->size() == kHashSize) << hex;
  Hash h{};
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

std::vector<Hash> Hs(std::initializer_list<const char*> hexes) {
  std::vector<Hash> out;
  for (const char* h : hexes) out.push_back(H(h));
  return out;
}

MemoryTree TestTree(size_t n) {
  MemoryTree tree;
  for (size_t i = 0; i < n; ++i) tree.AppendEntry(HexDecode(kLeavesHex[i]).value());
  return tree;
}

TEST(MerkleTree, RootsMatchTheRfc6962ReferenceVectors) {
  for (size_t n = 0; n <= 8; ++n) {
    MemoryTree tree = TestTree(n);
    EXPECT_EQ(HexEncode(tree.Root()), kRootsHex[n]) << n;
    EXPECT_EQ(HexEncode(RootAt(tree, n).value()), kRootsHex[n]) << n;
  }
}

TEST(MerkleTree, InclusionProofsMatchTheReferenceVectors) {
  struct Case {
    uint64_t index, size;
    std::vector<Hash> proof;
  };
  const std::vector<Case> cases = {
      {0, 1, {}},
      {0, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       Hs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, Hs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       Hs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  MemoryTree tree = TestTree(8);
  for (const Case& c : cases) {
    Result<std::vector<Hash>> proof = InclusionProof(tree, c.index, c.size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(*proof, c.proof) << c.index << "/" << c.size;
    const Hash leaf = HashLeaf(HexDecode(kLeavesHex[c.index]).value());
    EXPECT_TRUE(VerifyInclusion(c.index, c.size, leaf, c.proof, H(kRootsHex[c.size])).ok());
  }
}

TEST(MerkleTree, ConsistencyProofsMatchTheReferenceVectors) {
  struct Case {
    uint64_t from, to;
    std::vector<Hash> proof;
  };
  const std::vector<Case> cases = {
      {1, 1, {}},
      {1, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       Hs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  MemoryTree tree = TestTree(8);
  for (const Case& c : cases) {
    Result<std::vector<Hash>> proof = ConsistencyProof(tree, c.from, c.to);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(*proof, c.proof) << c.from << "->" << c.to;
    EXPECT_TRUE(
        VerifyConsistency(c.from, c.to, H(kRootsHex[c.from]), H(kRootsHex[c.to]), c.proof).ok());
  }
}

TEST(MerkleTree, EveryProofOfSmallTreesVerifies) {
  SeededRandom random(7);
  MemoryTree tree;
  std::vector<Hash> roots = {EmptyRoot()};
  for (uint64_t n = 1; n <= 70; ++n) {
    Bytes entry(random.Uniform(40));
    random.Fill(entry);
    tree.AppendEntry(entry);
    roots.push_back(tree.Root());
  }
  for (uint64_t size = 1; size <= 70; ++size) {
    ASSERT_EQ(RootAt(tree, size).value(), roots[size]);
    for (uint64_t i = 0; i < size; ++i) {
      std::vector<Hash> proof = InclusionProof(tree, i, size).value();
      EXPECT_TRUE(VerifyInclusion(i, size, tree.PerfectNode(0, i).value(), proof, roots[size]).ok())
          << i << "/" << size;
    }
    for (uint64_t old = 0; old <= size; ++old) {
      std::vector<Hash> proof = ConsistencyProof(tree, old, size).value();
      EXPECT_TRUE(VerifyConsistency(old, size, roots[old], roots[size], proof).ok())
          << old << "->" << size;
    }
  }
}

TEST(MerkleTree, AcceleratedSha256EqualsTheReferenceSha256) {
  // FIPS 180-2 "abc".
  EXPECT_EQ(HexEncode(crypto::Sha256Accel(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  SeededRandom random(3);
  for (size_t n : {0, 1, 55, 56, 64, 200, 510, 511, 512, 4000}) {
    Bytes data(n);
    random.Fill(data);
    EXPECT_EQ(crypto::Sha256Accel(data), crypto::Sha256(data)) << n;
    Bytes prefixed = {0x00};
    prefixed.insert(prefixed.end(), data.begin(), data.end());
    EXPECT_EQ(HashLeaf(data), crypto::Sha256(prefixed)) << n;
  }
}

TEST(MerkleTree, InclusionProofFailsAfterLeafTamper) {
  MemoryTree tree = TestTree(8);
  std::vector<Hash> proof = InclusionProof(tree, 5, 8).value();
  Bytes tampered = HexDecode(kLeavesHex[5]).value();
  tampered[0] ^= 1;
  Status s = VerifyInclusion(5, 8, HashLeaf(tampered), proof, tree.Root());
  EXPECT_EQ(s.code(), Code::kIntegrity);
  EXPECT_EQ(s.message(), "inclusion proof: root mismatch");
}

TEST(MerkleTree, InclusionProofFailsForAnotherIndexOrSize) {
  MemoryTree tree = TestTree(8);
  std::vector<Hash> proof = InclusionProof(tree, 5, 8).value();
  const Hash leaf = tree.PerfectNode(0, 5).value();
  EXPECT_FALSE(VerifyInclusion(4, 8, leaf, proof, tree.Root()).ok());
  EXPECT_FALSE(VerifyInclusion(5, 6, leaf, proof, tree.Root()).ok());
  EXPECT_FALSE(VerifyInclusion(8, 8, leaf, proof, tree.Root()).ok());
  std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
  EXPECT_EQ(VerifyInclusion(5, 8, leaf, shorter, tree.Root()).message(),
            "inclusion proof: too short");
}

TEST(MerkleTree, ConsistencyProofFailsForAForkedRoot) {
  MemoryTree tree = TestTree(8);
  std::vector<Hash> proof = ConsistencyProof(tree, 6, 8).value();
  Hash forked = H(kRootsHex[6]);
  forked[0] ^= 1;
  EXPECT_EQ(VerifyConsistency(6, 8, forked, tree.Root(), proof).message(),
            "consistency proof: old root mismatch");
  EXPECT_EQ(VerifyConsistency(8, 8, forked, tree.Root(), {}).message(),
            "consistency proof: roots differ at equal size");
  EXPECT_EQ(VerifyConsistency(6, 8, H(kRootsHex[6]), tree.Root(), {}).message(),
            "consistency proof: empty");
}

TEST(MerkleTree, ProofRequestsOutsideTheTreeAreRejected) {
  MemoryTree tree = TestTree(4);
  EXPECT_EQ(InclusionProof(tree, 4, 4).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(tree, 5, 4).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(InclusionProof(tree, 0, 5).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace medvault::audit
