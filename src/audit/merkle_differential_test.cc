// Differential tests against independent implementations, through the ctmerkle helper
// (tests/tools/ctmerkle): Google's certificate-transparency reference Merkle tree and verifier,
// and the Go checksum database's tlog and note packages. CTest runs them with MEDVAULT_CTMERKLE
// pointing at the helper (src/audit/CMakeLists.txt); without it they are skipped.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/tiles.h"
#include "core/random.h"
#include "core/testing/temp_dir.h"
#include "crypto/sign.h"

namespace medvault::audit {
namespace {

std::string HexList(const std::vector<Hash>& hashes) {
  std::string out;
  for (const Hash& h : hashes) out += " " + HexEncode(h);
  return out;
}

// Runs the helper on `commands` and returns its output lines.
std::vector<std::string> RunHelper(const std::string& commands) {
  const char* helper = std::getenv("MEDVAULT_CTMERKLE");
  medvault::testing::TempDir dir;
  const std::string in = dir.Sub("in");
  const std::string out = dir.Sub("out");
  std::ofstream(in) << commands;
  const std::string command =
      std::string("GODEBUG=cgocheck=0 '") + helper + "' < '" + in + "' > '" + out + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream result(out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(result, line);) lines.push_back(line);
  return lines;
}

class MerkleDifferential : public ::testing::TestWithParam<uint64_t> {
 protected:
  void SetUp() override {
    if (std::getenv("MEDVAULT_CTMERKLE") == nullptr) {
      GTEST_SKIP() << "MEDVAULT_CTMERKLE not set (the ctest target audit_differential sets it)";
    }
  }
};

// A random tree of up to 10,000 leaves per seed; every answer of ours must equal the reference's,
// and every proof of ours must pass the reference verifier.
TEST_P(MerkleDifferential, RootsAndProofsMatchTheReferenceImplementations) {
  SeededRandom random(GetParam());
  const uint64_t size = GetParam() == 0 ? 10000 : 1 + random.Uniform(10000);
  MemoryTree tree;
  std::ostringstream commands;
  std::vector<Bytes> leaves;
  for (uint64_t i = 0; i < size; ++i) {
    Bytes leaf(random.Uniform(64));
    random.Fill(leaf);
    tree.AppendEntry(leaf);
    leaves.push_back(leaf);
    commands << "leaf " << HexEncode(leaf) << "\n";
  }
  std::vector<std::string> expected;
  auto root_at = [&](uint64_t n) { return RootAt(tree, n).value(); };
  std::vector<uint64_t> sizes;
  for (uint64_t n = 1; n <= std::min<uint64_t>(size, 300); ++n) sizes.push_back(n);
  for (int i = 0; i < 100; ++i) sizes.push_back(1 + random.Uniform(size));
  for (uint64_t p = 256; p <= size; p *= 2) sizes.insert(sizes.end(), {p - 1, p, std::min(p + 1, size)});
  sizes.push_back(size);
  for (uint64_t n : sizes) {
    commands << "root " << n << "\ntroot " << n << "\n";
    expected.push_back("root " + std::to_string(n) + " " + HexEncode(root_at(n)));
    expected.push_back("troot " + std::to_string(n) + " " + HexEncode(root_at(n)));
  }
  for (int q = 0; q < 300; ++q) {
    const uint64_t n = 1 + random.Uniform(size);
    const uint64_t i = random.Uniform(n);
    const std::vector<Hash> proof = InclusionProof(tree, i, n).value();
    commands << "path " << i << " " << n << "\n";
    expected.push_back("path " + std::to_string(i) + " " + std::to_string(n) + HexList(proof));
    commands << "vpath " << i << " " << n << " " << HexEncode(root_at(n)) << " x"
             << HexEncode(leaves[i]) << HexList(proof) << "\n";
    expected.push_back("vpath ok");
  }
  for (int q = 0; q < 300; ++q) {
    const uint64_t b = 2 + random.Uniform(size - 1 > 0 ? size - 1 : 1);
    const uint64_t to = std::min(b, size);
    if (to < 2) continue;
    const uint64_t from = 1 + random.Uniform(to - 1);  // 0 < from < to
    const std::vector<Hash> proof = ConsistencyProof(tree, from, to).value();
    commands << "cons " << from << " " << to << "\n";
    expected.push_back("cons " + std::to_string(from) + " " + std::to_string(to) + HexList(proof));
    commands << "vcons " << from << " " << to << " " << HexEncode(root_at(from)) << " "
             << HexEncode(root_at(to)) << HexList(proof) << "\n";
    expected.push_back("vcons ok");
  }
  const std::vector<std::string> answers = RunHelper(commands.str());
  ASSERT_EQ(answers.size(), expected.size());
  for (size_t i = 0; i < answers.size(); ++i) {
    // The helper prints a trailing space when a proof is empty; compare without it.
    std::string a = answers[i];
    while (!a.empty() && a.back() == ' ') a.pop_back();
    ASSERT_EQ(a, expected[i]) << "answer " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(RandomTrees, MerkleDifferential, ::testing::Values(0, 1, 2, 3));

TEST_P(MerkleDifferential, TamperedProofsAreRejectedByTheReferenceVerifier) {
  SeededRandom random(100 + GetParam());
  MemoryTree tree;
  std::ostringstream commands;
  std::vector<Bytes> leaves;
  for (int i = 0; i < 1000; ++i) {
    Bytes leaf(16);
    random.Fill(leaf);
    tree.AppendEntry(leaf);
    leaves.push_back(leaf);
    commands << "leaf " << HexEncode(leaf) << "\n";
  }
  int queries = 0;
  for (int q = 0; q < 50; ++q) {
    const uint64_t i = random.Uniform(1000);
    std::vector<Hash> proof = InclusionProof(tree, i, 1000).value();
    proof[random.Uniform(proof.size())][random.Uniform(32)] ^= 1;
    commands << "vpath " << i << " 1000 " << HexEncode(tree.Root()) << " x"
             << HexEncode(leaves[i]) << HexList(proof) << "\n";
    EXPECT_FALSE(VerifyInclusion(i, 1000, HashLeaf(leaves[i]), proof, tree.Root()).ok());
    ++queries;
  }
  for (const std::string& answer : RunHelper(commands.str())) {
    EXPECT_TRUE(answer.starts_with("vpath fail")) << answer;
    --queries;
  }
  EXPECT_EQ(queries, 0);
}

TEST_P(MerkleDifferential, TilePathsAndSignedCheckpointsMatchTheGoChecksumDatabase) {
  SeededRandom random(200 + GetParam());
  std::ostringstream commands;
  std::vector<std::string> expected;
  for (int q = 0; q < 200; ++q) {
    const int level = static_cast<int>(random.Uniform(4));
    const uint64_t index = random.Uniform(q % 2 == 0 ? 1000 : 4000000000);
    const uint64_t width = q % 3 == 0 ? 256 : 1 + random.Uniform(255);
    commands << "tilepath " << level << " " << index << " " << width << "\n";
    expected.push_back("tilepath " + FormatTilePath({false, level, index, width}));
  }
  const crypto::SigningKey key =
      crypto::SigningKey::FromSeed(crypto::SecretKey::FromBytes(Bytes(32, 42)));
  NoteSigner signer("medvault.local/differential/log", key);
  Hash root{};
  random.Fill(root);
  const std::string text = FormatCheckpointText({"medvault.local/differential/log", 12345, root});
  commands << "note " << FormatVerifierKey(signer.verifier()) << " "
           << Base64Encode(AsBytes(signer.Sign(text))) << "\n";
  expected.push_back("note ok " + Base64Encode(AsBytes(text)));
  EXPECT_EQ(RunHelper(commands.str()), expected);
}

}  // namespace
}  // namespace medvault::audit
