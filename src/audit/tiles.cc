#include "audit/tiles.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace medvault::audit {
namespace {

constexpr uint64_t kGroup = 1000;
constexpr size_t kMaxGroups = 7;  // 1000^7 > 2^64
constexpr size_t kMaxEntrySize = 0xFFFF;

int Shift(int level) { return kTileHeight * level; }

// Folds 2^k hashes into the root of the perfect subtree they are the leaves of.
Hash FoldPerfect(std::span<const Hash> hashes) {
  std::vector<Hash> level(hashes.begin(), hashes.end());
  while (level.size() > 1) {
    for (size_t i = 0; i < level.size() / 2; ++i) {
      level[i] = HashChildren(level[2 * i], level[2 * i + 1]);
    }
    level.resize(level.size() / 2);
  }
  return level[0];
}

bool ParseSmallDecimal(std::string_view s, uint64_t* v) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseGroup(std::string_view s, uint64_t* v) {
  if (s.size() != 3) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *v = static_cast<uint64_t>((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
  return true;
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t slash = s.find('/');
    parts.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return parts;
}

Status BadPath() { return NotFound("no such log resource"); }

}  // namespace

std::string FormatTileIndex(uint64_t index) {
  std::vector<unsigned> groups;
  do {
    groups.push_back(static_cast<unsigned>(index % kGroup));
    index /= kGroup;
  } while (index > 0);
  std::string out;
  char buffer[8];
  for (size_t i = groups.size(); i-- > 0;) {
    std::snprintf(buffer, sizeof buffer, i == 0 ? "%03u" : "x%03u/", groups[i]);
    out += buffer;
  }
  return out;
}

std::string FormatTilePath(const TileAddress& address) {
  std::string path = "tile/";
  path += address.entries ? std::string("entries") : std::to_string(address.level);
  path += "/";
  path += FormatTileIndex(address.index);
  if (address.width < kTileWidth) path += ".p/" + std::to_string(address.width);
  return path;
}

Result<TileAddress> ParseTilePath(std::string_view path) {
  std::vector<std::string_view> parts = Split(path);
  if (parts.size() < 3 || parts[0] != "tile") return BadPath();
  TileAddress address;
  if (parts[1] == "entries") {
    address.entries = true;
  } else {
    uint64_t level = 0;
    if (!ParseSmallDecimal(parts[1], &level) || level > kMaxTileLevel) return BadPath();
    address.level = static_cast<int>(level);
  }
  std::span<std::string_view> index_parts(parts.begin() + 2, parts.end());
  // A partial tile ends with ".p/W": the last index group carries ".p", W follows.
  if (index_parts.size() >= 2 && index_parts[index_parts.size() - 2].ends_with(".p")) {
    uint64_t width = 0;
    if (!ParseSmallDecimal(index_parts.back(), &width) || width == 0 || width >= kTileWidth) {
      return BadPath();
    }
    address.width = width;
    index_parts = index_parts.first(index_parts.size() - 1);
    std::string_view& last = index_parts.back();
    last.remove_suffix(2);
  }
  if (index_parts.empty() || index_parts.size() > kMaxGroups) return BadPath();
  uint64_t index = 0;
  for (size_t i = 0; i < index_parts.size(); ++i) {
    std::string_view group = index_parts[i];
    const bool last = i + 1 == index_parts.size();
    if (!last) {
      if (group.empty() || group[0] != 'x') return BadPath();
      group.remove_prefix(1);
    }
    uint64_t value = 0;
    if (!ParseGroup(group, &value)) return BadPath();
    if (i == 0 && !last && value == 0) return BadPath();  // no leading zero groups
    if (index > (UINT64_MAX - value) / kGroup) return BadPath();
    index = index * kGroup + value;
  }
  address.index = index;
  return address;
}

Bytes EncodeEntryBundle(std::span<const Bytes> entries) {
  Bytes out;
  for (const Bytes& e : entries) {
    out.push_back(static_cast<uint8_t>(e.size() >> 8));
    out.push_back(static_cast<uint8_t>(e.size()));
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

Result<std::vector<Bytes>> DecodeEntryBundle(ByteView bundle) {
  std::vector<Bytes> entries;
  size_t pos = 0;
  while (pos < bundle.size()) {
    if (bundle.size() - pos < 2) return IntegrityError("entry bundle: truncated length");
    const size_t n = (size_t{bundle[pos]} << 8) | bundle[pos + 1];
    pos += 2;
    if (bundle.size() - pos < n) return IntegrityError("entry bundle: truncated entry");
    entries.emplace_back(bundle.begin() + static_cast<ptrdiff_t>(pos),
                         bundle.begin() + static_cast<ptrdiff_t>(pos + n));
    pos += n;
  }
  return entries;
}

Result<std::vector<Hash>> TileHashes(ByteView tile) {
  if (tile.size() % kHashSize != 0) return IntegrityError("tile: size not a multiple of 32");
  std::vector<Hash> hashes(tile.size() / kHashSize);
  for (size_t i = 0; i < hashes.size(); ++i) {
    std::copy_n(tile.begin() + static_cast<ptrdiff_t>(i * kHashSize), kHashSize,
                hashes[i].begin());
  }
  return hashes;
}

Bytes TileBytes(std::span<const Hash> hashes) {
  Bytes out;
  out.reserve(hashes.size() * kHashSize);
  for (const Hash& h : hashes) out.insert(out.end(), h.begin(), h.end());
  return out;
}

Hash FullTileRoot(std::span<const Hash> hashes) { return FoldPerfect(hashes); }

void TreeBuilder::Append(const Hash& leaf_hash, std::vector<store::LogTileRow>* completed) {
  ++size_;
  Hash h = leaf_hash;
  for (size_t level = 0;; ++level) {
    if (pending_.size() <= level) pending_.emplace_back();
    std::vector<Hash>& pending = pending_[level];
    pending.push_back(h);
    if (pending.size() < kTileWidth) break;
    const int l = static_cast<int>(level);
    store::LogTileRow row;
    row.level = l;
    row.index = (size_ >> Shift(l + 1)) - 1;
    row.hashes = TileBytes(pending);
    h = FullTileRoot(pending);
    pending.clear();
    if (completed != nullptr) completed->push_back(std::move(row));
  }
}

Hash TreeBuilder::Root() const {
  if (size_ == 0) return EmptyRoot();
  // Left to right: the highest level's pending hashes first; within a level, the binary
  // decomposition of its pending count gives perfect subtrees, largest first.
  std::vector<Hash> parts;
  for (size_t level = pending_.size(); level-- > 0;) {
    const std::vector<Hash>& pending = pending_[level];
    size_t offset = 0;
    for (int bit = kTileHeight - 1; bit >= 0; --bit) {
      const size_t width = size_t{1} << bit;
      if ((pending.size() & width) == 0) continue;
      parts.push_back(FoldPerfect(std::span<const Hash>(pending).subspan(offset, width)));
      offset += width;
    }
  }
  Hash acc = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) acc = HashChildren(parts[i], acc);
  return acc;
}

std::span<const Hash> TreeBuilder::Pending(int level) const {
  if (level < 0 || static_cast<size_t>(level) >= pending_.size()) return {};
  return pending_[static_cast<size_t>(level)];
}

TreeBuilder TreeBuilder::FromPending(uint64_t size, std::vector<std::vector<Hash>> pending) {
  TreeBuilder b;
  b.size_ = size;
  b.pending_ = std::move(pending);
  return b;
}

Result<std::vector<Hash>> StoredTree::FullTile(int level, uint64_t index) {
  const auto key = std::make_pair(level, index);
  if (auto it = tiles_.find(key); it != tiles_.end()) return it->second;
  MV_ASSIGN_OR_RETURN(std::optional<Bytes> stored, store_.GetTile(level, index));
  std::vector<Hash> hashes;
  if (stored) {
    MV_ASSIGN_OR_RETURN(hashes, TileHashes(*stored));
    if (hashes.size() != kTileWidth) {
      return IntegrityError("tile " + std::to_string(level) + "/" + std::to_string(index) +
                            " does not hold 256 hashes");
    }
  } else if (level == 0) {
    MV_ASSIGN_OR_RETURN(std::vector<Bytes> entries,
                        store_.ReadEntries(index * kTileWidth, kTileWidth));
    if (entries.size() != kTileWidth) {
      return NotFound("tile 0/" + std::to_string(index) + " is not full");
    }
    for (const Bytes& e : entries) hashes.push_back(HashLeaf(e));
  } else {
    for (uint64_t i = 0; i < kTileWidth; ++i) {
      MV_ASSIGN_OR_RETURN(std::vector<Hash> below, FullTile(level - 1, index * kTileWidth + i));
      hashes.push_back(FullTileRoot(below));
    }
  }
  if (!stored) rebuilt_.push_back({level, index, TileBytes(hashes)});
  tiles_[key] = hashes;
  return hashes;
}

Result<Hash> StoredTree::LevelHash(int level, uint64_t index) {
  const uint64_t tile = index / kTileWidth;
  if (tiles_.count({level, tile}) != 0) return tiles_[{level, tile}][index % kTileWidth];
  MV_ASSIGN_OR_RETURN(std::optional<Bytes> stored, store_.GetTile(level, tile));
  if (stored) {
    MV_ASSIGN_OR_RETURN(std::vector<Hash> hashes, FullTile(level, tile));
    return hashes[index % kTileWidth];
  }
  if (level == 0) {
    MV_ASSIGN_OR_RETURN(std::vector<Bytes> entries, store_.ReadEntries(index, 1));
    if (entries.empty()) return NotFound("log entry " + std::to_string(index) + " not found");
    return HashLeaf(entries[0]);
  }
  MV_ASSIGN_OR_RETURN(std::vector<Hash> below, FullTile(level - 1, index));
  return FullTileRoot(below);
}

Result<TreeBuilder> StoredTree::Restore(uint64_t size) {
  std::vector<std::vector<Hash>> pending;
  for (int level = 0; level <= kMaxTileLevel && (size >> Shift(level)) > 0; ++level) {
    const uint64_t full_tiles = size >> Shift(level + 1);
    MV_ASSIGN_OR_RETURN(uint64_t stored, store_.TileCount(level));
    for (uint64_t t = std::min(stored, full_tiles); t < full_tiles; ++t) {
      MV_ASSIGN_OR_RETURN(std::vector<Hash> ignored, FullTile(level, t));
      (void)ignored;
    }
    const uint64_t first = full_tiles * kTileWidth;
    const uint64_t last = size >> Shift(level);
    std::vector<Hash> hashes;
    if (level == 0 && last > first) {
      MV_ASSIGN_OR_RETURN(std::vector<Bytes> entries, store_.ReadEntries(first, last - first));
      if (entries.size() != last - first) return NotFound("log entries missing below size");
      for (const Bytes& e : entries) hashes.push_back(HashLeaf(e));
    } else {
      for (uint64_t j = first; j < last; ++j) {
        MV_ASSIGN_OR_RETURN(Hash h, LevelHash(level, j));
        hashes.push_back(h);
      }
    }
    pending.push_back(std::move(hashes));
  }
  return TreeBuilder::FromPending(size, std::move(pending));
}

Result<Hash> StoredTree::PerfectNode(int height, uint64_t index) {
  const int level = height / kTileHeight;
  const int rest = height % kTileHeight;
  const uint64_t count = uint64_t{1} << rest;
  std::vector<Hash> hashes;
  hashes.reserve(count);
  for (uint64_t j = index << rest; j < (index + 1) << rest; ++j) {
    MV_ASSIGN_OR_RETURN(Hash h, LevelHash(level, j));
    hashes.push_back(h);
  }
  return FoldPerfect(hashes);
}

}  // namespace medvault::audit
