#pragma once
// C2SP tlog-tiles (c2sp.org/tlog-tiles) over RFC 6962 hashing; docs/formats/tiles.md.
//
// A tile at level L, index N holds up to 256 consecutive hashes of level L: at level 0 the leaf
// hashes, at level L > 0 the MTH of each full tile of level L - 1. Paths are tile/L/N[.p/W] and
// tile/entries/N[.p/W], N written as 3-digit groups, all but the last prefixed with "x".
// Entry bundles are a sequence of big-endian uint16 length + entry bytes.
//
// TreeBuilder integrates leaf hashes incrementally and yields every full tile as it completes;
// StoredTree reads (and if needed rebuilds) hashes of a tree kept in a LogStore.
//
// Thread-safety: free functions are thread-safe; TreeBuilder and StoredTree are not.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "core/bytes.h"
#include "core/status.h"
#include "store/log_store.h"

namespace medvault::audit {

inline constexpr int kTileHeight = 8;
inline constexpr uint64_t kTileWidth = 256;
inline constexpr int kMaxTileLevel = 63;

// A tile or entry bundle as addressed by a path.
struct TileAddress {
  bool entries = false;  // tile/entries/... rather than tile/L/...
  int level = 0;
  uint64_t index = 0;
  uint64_t width = kTileWidth;  // < 256 for a partial tile
};

// "x001/x234/067" for 1234067.
std::string FormatTileIndex(uint64_t index);
// "tile/0/x001/234.p/5", "tile/entries/012" (no leading slash).
std::string FormatTilePath(const TileAddress& address);
// Parses a path as formatted above (strict: no leading zeros in L or W, 3-digit groups).
Result<TileAddress> ParseTilePath(std::string_view path);

Bytes EncodeEntryBundle(std::span<const Bytes> entries);
Result<std::vector<Bytes>> DecodeEntryBundle(ByteView bundle);

// The hashes of a tile's bytes. IntegrityError unless the size is a multiple of 32.
Result<std::vector<Hash>> TileHashes(ByteView tile);
Bytes TileBytes(std::span<const Hash> hashes);
// The MTH of a full tile's 256 hashes taken as the leaves of a height-8 subtree (node hashing
// only): the hash that goes into the tile one level up.
Hash FullTileRoot(std::span<const Hash> hashes);

// Integrates leaf hashes; holds, per level, the hashes not yet in a full tile (< 256 each).
class TreeBuilder {
 public:
  // Appends the leaf hash; every tile it completes (at any level) is appended to *completed.
  void Append(const Hash& leaf_hash, std::vector<store::LogTileRow>* completed);
  uint64_t size() const { return size_; }
  Hash Root() const;
  // The hashes of level `level` not in a full tile (what a partial tile holds).
  std::span<const Hash> Pending(int level) const;
  // Restores the state from pending hashes per level (as StoredTree::Restore computes them).
  // REQUIRES: pending[L].size() == (size >> 8L) % 256 for every level.
  static TreeBuilder FromPending(uint64_t size, std::vector<std::vector<Hash>> pending);

 private:
  uint64_t size_ = 0;
  std::vector<std::vector<Hash>> pending_;
};

// Hashes of the tree of a LogStore, from its stored tiles, rebuilding missing ones from entries
// (after a crash between an append and its integration). Caches what it reads. Borrows `store`.
class StoredTree final : public NodeSource {
 public:
  explicit StoredTree(store::LogStore& store) : store_(store) {}

  // Hash `index` of level `level`: a leaf hash at level 0, the root of full tile
  // (level - 1, index) above. REQUIRES: the tree holds it.
  Result<Hash> LevelHash(int level, uint64_t index);
  // The full tile (level, index), from the store or rebuilt (then listed in rebuilt()).
  Result<std::vector<Hash>> FullTile(int level, uint64_t index);
  // The builder state of the tree of `size` entries; rebuilds every full tile the store lacks.
  Result<TreeBuilder> Restore(uint64_t size);
  // Tiles rebuilt so far that the store did not hold.
  const std::vector<store::LogTileRow>& rebuilt() const { return rebuilt_; }

  Result<Hash> PerfectNode(int height, uint64_t index) override;

 private:
  store::LogStore& store_;
  std::map<std::pair<int, uint64_t>, std::vector<Hash>> tiles_;
  std::vector<store::LogTileRow> rebuilt_;
};

}  // namespace medvault::audit
