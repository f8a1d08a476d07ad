#include "audit/log_server.h"

#include <optional>

#include "audit/tiles.h"
#include "core/file.h"

namespace medvault::audit {
namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kBinary = "application/octet-stream";
constexpr std::string_view kNoCache = "no-cache";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

Status Absent() { return NotFound("no such log resource"); }

// The number of hashes of level `level` in a tree of `size` leaves.
uint64_t LevelCount(uint64_t size, int level) {
  const int shift = kTileHeight * level;
  return shift >= 64 ? 0 : size >> shift;
}

// Whether the tile `address` lies within the tree of `size` leaves.
bool WithinTree(const TileAddress& address, uint64_t size) {
  const uint64_t count = LevelCount(size, address.entries ? 0 : address.level);
  if (address.index > count / kTileWidth) return false;
  return address.index * kTileWidth + address.width <= count;
}

Result<uint64_t> CheckpointSize(store::LogStore& store) {
  MV_ASSIGN_OR_RETURN(std::optional<store::LogCheckpointRow> latest, store.LatestCheckpoint());
  if (!latest) return Absent();
  return latest->tree_size;
}

Result<Bytes> TileBody(store::LogStore& store, const TileAddress& address) {
  if (address.entries) {
    MV_ASSIGN_OR_RETURN(std::vector<Bytes> entries,
                        store.ReadEntries(address.index * kTileWidth, address.width));
    if (entries.size() != address.width) return Internal("log: entries missing below size");
    return EncodeEntryBundle(entries);
  }
  StoredTree tree(store);
  if (address.width == kTileWidth) {
    MV_ASSIGN_OR_RETURN(std::vector<Hash> hashes, tree.FullTile(address.level, address.index));
    return TileBytes(hashes);
  }
  std::vector<Hash> hashes;
  for (uint64_t i = 0; i < address.width; ++i) {
    MV_ASSIGN_OR_RETURN(Hash h, tree.LevelHash(address.level, address.index * kTileWidth + i));
    hashes.push_back(h);
  }
  return TileBytes(hashes);
}

LogResponse Response(std::string_view type, std::string_view cache, Bytes body) {
  return {std::string(type), std::string(cache), std::move(body)};
}

}  // namespace

Result<LogResponse> ServeLogPath(store::LogStore& store, const NoteVerifier& verifier,
                                 std::string_view path) {
  if (path.starts_with("/")) path.remove_prefix(1);
  if (path.starts_with("log/")) path.remove_prefix(4);
  if (path == "checkpoint") {
    MV_ASSIGN_OR_RETURN(std::optional<store::LogCheckpointRow> latest, store.LatestCheckpoint());
    if (!latest) return Absent();
    return Response(kText, kNoCache, ToBytes(latest->note));
  }
  if (path == "key") {
    return Response(kText, kImmutable, ToBytes(FormatVerifierKey(verifier) + "\n"));
  }
  MV_ASSIGN_OR_RETURN(TileAddress address, ParseTilePath(path));
  MV_ASSIGN_OR_RETURN(uint64_t size, CheckpointSize(store));
  if (!WithinTree(address, size)) return Absent();
  MV_ASSIGN_OR_RETURN(Bytes body, TileBody(store, address));
  return Response(kBinary, kImmutable, std::move(body));
}

Result<uint64_t> ExportTileDirectory(store::LogStore& store, const NoteVerifier& verifier,
                                     const std::string& dir) {
  MV_ASSIGN_OR_RETURN(std::optional<store::LogCheckpointRow> latest, store.LatestCheckpoint());
  if (!latest) return NotFound("log: no checkpoint to export");
  const uint64_t size = latest->tree_size;
  auto write = [&](const std::string& rel, ByteView body) -> Status {
    const std::string full = dir + "/" + rel;
    MV_RETURN_IF_ERROR(MakeDirs(full.substr(0, full.rfind('/')), 0755));
    return WriteFileAtomic(full, AsChars(body), 0644);
  };
  MV_RETURN_IF_ERROR(write("checkpoint", AsBytes(latest->note)));
  MV_RETURN_IF_ERROR(write("key", AsBytes(FormatVerifierKey(verifier) + "\n")));
  std::vector<TileAddress> addresses;
  for (int level = 0; level <= kMaxTileLevel && LevelCount(size, level) > 0; ++level) {
    const uint64_t count = LevelCount(size, level);
    for (uint64_t n = 0; n < count / kTileWidth; ++n) {
      addresses.push_back({false, level, n, kTileWidth});
      if (level == 0) addresses.push_back({true, 0, n, kTileWidth});
    }
    if (count % kTileWidth != 0) {
      addresses.push_back({false, level, count / kTileWidth, count % kTileWidth});
      if (level == 0) addresses.push_back({true, 0, count / kTileWidth, count % kTileWidth});
    }
  }
  for (const TileAddress& address : addresses) {
    // Served content for the exact checkpoint, so the export matches what clients fetch.
    const std::string rel = FormatTilePath(address);
    MV_ASSIGN_OR_RETURN(LogResponse response, ServeLogPath(store, verifier, rel));
    MV_RETURN_IF_ERROR(write(rel, response.body));
  }
  return size;
}

}  // namespace medvault::audit
