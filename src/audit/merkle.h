#pragma once
// RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256: leaf hash = SHA-256(0x00 || entry), node
// hash = SHA-256(0x01 || left || right); the Merkle Tree Hash (MTH) of any number of leaves, audit
// (inclusion) paths and consistency proofs, both generated and verified.
//
// Generation reads node hashes through NodeSource, so the same algorithms run over an in-memory
// tree (MemoryTree) and over the tiles of a stored log. Verification needs only the proof.
//
// Errors: InvalidArgument for impossible indexes or sizes; IntegrityError when a proof does not
// verify (the message says which check failed, never any entry content).
// Thread-safety: free functions are thread-safe; MemoryTree is not (external locking).
#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/hash.h"

namespace medvault::audit {

using Hash = crypto::Digest32;
inline constexpr size_t kHashSize = 32;

Hash HashLeaf(ByteView entry);
Hash HashChildren(const Hash& left, const Hash& right);
// The MTH of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();

// The largest power of two strictly smaller than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n);

// Hashes of perfect, aligned subtrees: PerfectNode(h, i) is the MTH of leaves
// [i * 2^h, (i + 1) * 2^h). Implementations return an error when the node is not available.
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  virtual Result<Hash> PerfectNode(int height, uint64_t index) = 0;
};

// MTH of leaves [begin, end) of a tree whose perfect nodes `nodes` serves.
// REQUIRES: begin < end and begin is a multiple of the largest power of two <= end - begin
// (true for every subtree RFC 6962 proofs visit).
Result<Hash> SubtreeHash(NodeSource& nodes, uint64_t begin, uint64_t end);

// MTH of the first `size` leaves (EmptyRoot() for 0).
Result<Hash> RootAt(NodeSource& nodes, uint64_t size);

// RFC 9162 section 2.1.3.1: the audit path of leaf `index` in the tree of `size` leaves.
// InvalidArgument unless index < size.
Result<std::vector<Hash>> InclusionProof(NodeSource& nodes, uint64_t index, uint64_t size);

// RFC 9162 section 2.1.4.1: the consistency proof from `old_size` to `new_size`. Empty when
// old_size is 0 or equal to new_size. InvalidArgument if old_size > new_size.
Result<std::vector<Hash>> ConsistencyProof(NodeSource& nodes, uint64_t old_size,
                                           uint64_t new_size);

// RFC 9162 section 2.1.3.2. OK iff `proof` proves that `leaf_hash` is leaf `index` of the tree
// of `size` leaves with root `root`.
Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root);

// RFC 9162 section 2.1.4.2, extended to the trivial cases: old_size 0 (empty proof, any roots),
// and old_size == new_size (empty proof, equal roots).
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, std::span<const Hash> proof);

// A whole tree in memory: every perfect node at every height, so node lookups are O(1).
// Memory: about 2 * 32 bytes per leaf.
class MemoryTree final : public NodeSource {
 public:
  void AppendEntry(ByteView entry) { AppendLeafHash(HashLeaf(entry)); }
  void AppendLeafHash(const Hash& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  Hash Root() const;
  Result<Hash> PerfectNode(int height, uint64_t index) override;

 private:
  // levels_[h][i] = PerfectNode(h, i) for every complete node.
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace medvault::audit
