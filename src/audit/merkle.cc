#include "audit/merkle.h"

#include <algorithm>
#include <bit>
#include <string>

#include "crypto/sha256_accel.h"

namespace medvault::audit {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

bool Lsb(uint64_t n) { return (n & 1) != 0; }

}  // namespace

Hash HashLeaf(ByteView entry) { return crypto::Sha256AccelPrefixed(kLeafPrefix, entry); }

Hash HashChildren(const Hash& left, const Hash& right) {
  uint8_t buffer[1 + 2 * kHashSize];
  buffer[0] = kNodePrefix;
  std::copy(left.begin(), left.end(), buffer + 1);
  std::copy(right.begin(), right.end(), buffer + 1 + kHashSize);
  return crypto::Sha256Accel(ByteView(buffer, sizeof buffer));
}

Hash EmptyRoot() { return crypto::Sha256(ByteView()); }

uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

Result<Hash> SubtreeHash(NodeSource& nodes, uint64_t begin, uint64_t end) {
  if (begin >= end) return InvalidArgument("empty subtree");
  const uint64_t n = end - begin;
  if (IsPowerOfTwo(n)) {
    const int height = std::countr_zero(n);
    if (begin % n != 0) return InvalidArgument("unaligned subtree");
    return nodes.PerfectNode(height, begin >> height);
  }
  const uint64_t k = SplitPoint(n);
  MV_ASSIGN_OR_RETURN(Hash left, SubtreeHash(nodes, begin, begin + k));
  MV_ASSIGN_OR_RETURN(Hash right, SubtreeHash(nodes, begin + k, end));
  return HashChildren(left, right);
}

Result<Hash> RootAt(NodeSource& nodes, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return SubtreeHash(nodes, 0, size);
}

Result<std::vector<Hash>> InclusionProof(NodeSource& nodes, uint64_t index, uint64_t size) {
  if (index >= size) {
    return InvalidArgument("leaf index " + std::to_string(index) + " is not below tree size " +
                           std::to_string(size));
  }
  std::vector<Hash> top_down;
  uint64_t lo = 0;
  uint64_t hi = size;
  while (hi - lo > 1) {
    const uint64_t k = SplitPoint(hi - lo);
    if (index < lo + k) {
      MV_ASSIGN_OR_RETURN(Hash sibling, SubtreeHash(nodes, lo + k, hi));
      top_down.push_back(sibling);
      hi = lo + k;
    } else {
      MV_ASSIGN_OR_RETURN(Hash sibling, SubtreeHash(nodes, lo, lo + k));
      top_down.push_back(sibling);
      lo += k;
    }
  }
  std::reverse(top_down.begin(), top_down.end());
  return top_down;
}

Result<std::vector<Hash>> ConsistencyProof(NodeSource& nodes, uint64_t old_size,
                                           uint64_t new_size) {
  if (old_size > new_size) {
    return InvalidArgument("old size " + std::to_string(old_size) + " exceeds new size " +
                           std::to_string(new_size));
  }
  if (old_size == 0 || old_size == new_size) return std::vector<Hash>{};
  // SUBPROOF(m, D[lo:hi], b) of RFC 9162, unrolled: siblings are found from the root down and
  // emitted from the bottom up, after the node where the old tree ends (if it is not the root).
  std::vector<Hash> top_down;
  std::vector<Hash> proof;
  uint64_t m = old_size;
  uint64_t lo = 0;
  uint64_t hi = new_size;
  bool whole_old_tree = true;
  while (true) {
    const uint64_t n = hi - lo;
    if (m == n) {
      if (!whole_old_tree) {
        MV_ASSIGN_OR_RETURN(Hash node, SubtreeHash(nodes, lo, hi));
        proof.push_back(node);
      }
      break;
    }
    const uint64_t k = SplitPoint(n);
    if (m <= k) {
      MV_ASSIGN_OR_RETURN(Hash sibling, SubtreeHash(nodes, lo + k, hi));
      top_down.push_back(sibling);
      hi = lo + k;
    } else {
      MV_ASSIGN_OR_RETURN(Hash sibling, SubtreeHash(nodes, lo, lo + k));
      top_down.push_back(sibling);
      lo += k;
      m -= k;
      whole_old_tree = false;
    }
  }
  proof.insert(proof.end(), top_down.rbegin(), top_down.rend());
  return proof;
}

Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return IntegrityError("inclusion proof: leaf index not below tree size");
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return IntegrityError("inclusion proof: too long");
    if (Lsb(fn) || fn == sn) {
      r = HashChildren(p, r);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return IntegrityError("inclusion proof: too short");
  if (r != root) return IntegrityError("inclusion proof: root mismatch");
  return Status::Ok();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return IntegrityError("consistency proof: old size exceeds new size");
  if (old_size == 0) {
    if (!proof.empty()) return IntegrityError("consistency proof: must be empty from size 0");
    return Status::Ok();
  }
  if (old_size == new_size) {
    if (!proof.empty()) return IntegrityError("consistency proof: must be empty for equal sizes");
    if (old_root != new_root) return IntegrityError("consistency proof: roots differ at equal size");
    return Status::Ok();
  }
  if (proof.empty()) return IntegrityError("consistency proof: empty");
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return IntegrityError("consistency proof: too long");
    if (Lsb(fn) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return IntegrityError("consistency proof: too short");
  if (fr != old_root) return IntegrityError("consistency proof: old root mismatch");
  if (sr != new_root) return IntegrityError("consistency proof: new root mismatch");
  return Status::Ok();
}

void MemoryTree::AppendLeafHash(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  size_t height = 0;
  while (levels_[height].size() % 2 == 0) {
    const std::vector<Hash>& level = levels_[height];
    Hash parent = HashChildren(level[level.size() - 2], level[level.size() - 1]);
    if (levels_.size() == height + 1) levels_.emplace_back();
    levels_[height + 1].push_back(parent);
    ++height;
  }
}

Result<Hash> MemoryTree::PerfectNode(int height, uint64_t index) {
  if (height < 0 || static_cast<size_t>(height) >= levels_.size() ||
      index >= levels_[static_cast<size_t>(height)].size()) {
    return NotFound("no node at height " + std::to_string(height) + " index " +
                    std::to_string(index));
  }
  return levels_[static_cast<size_t>(height)][index];
}

Hash MemoryTree::Root() const {
  const uint64_t n = size();
  if (n == 0) return EmptyRoot();
  // The tree is the perfect subtrees of the binary decomposition of n, largest first; the MTH
  // folds them from the right.
  std::vector<Hash> parts;
  uint64_t offset = 0;
  for (int height = 63; height >= 0; --height) {
    const uint64_t width = uint64_t{1} << height;
    if ((n & width) == 0) continue;
    parts.push_back(levels_[static_cast<size_t>(height)][offset >> height]);
    offset += width;
  }
  Hash acc = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) acc = HashChildren(parts[i], acc);
  return acc;
}

}  // namespace medvault::audit
