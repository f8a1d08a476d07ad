#include "notes/database_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/bytes.h"
#include "crypto/hash.h"

namespace medvault::notes {
namespace {

// Layout (integers little-endian):
//   magic "mvhsdb\r\n" | u32 format version | key (32 bytes) | u32 blob count |
//   u64 length of each blob | the blobs | SHA-256 of all the preceding bytes (32 bytes)
constexpr std::string_view kMagic = "mvhsdb\r\n";
constexpr uint32_t kFormatVersion = 1;
constexpr std::size_t kDigestBytes = 32;
// Far above the ≈ 10 MiB the lexicons compile to; bounds what a bad file can make us allocate.
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;
// One per database: five shared ones and one per start-tracked pattern (≈ 200 today).
constexpr uint32_t kMaxBlobs = 65536;

void PutUint(uint64_t value, std::size_t bytes, std::string* out) {
  for (std::size_t i = 0; i < bytes; ++i) {
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xFFU));
  }
}

// Reads `bytes` little-endian bytes at *at, advancing it; false past the end of `data`.
bool GetUint(std::string_view data, std::size_t bytes, std::size_t* at, uint64_t* value) {
  if (data.size() - *at < bytes) return false;
  *value = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    *value |= uint64_t{static_cast<unsigned char>(data[*at + i])} << (8 * i);
  }
  *at += bytes;
  return true;
}

crypto::Digest32 DigestOf(std::string_view data) { return crypto::Sha256(AsBytes(data)); }

// Creates `directory` and its missing parents with mode 0700.
bool MakeDirectories(const std::string& directory) {
  for (std::size_t slash = directory.find('/', 1);; slash = directory.find('/', slash + 1)) {
    const std::string prefix = directory.substr(0, slash);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) break;
  }
  struct stat info {};
  return ::stat(directory.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace

DatabaseCacheKey MakeDatabaseCacheKey(const std::vector<std::string_view>& parts) {
  crypto::Sha256Hasher hasher;
  for (const std::string_view part : parts) {
    std::string length;
    PutUint(part.size(), sizeof(uint64_t), &length);
    hasher.Update(AsBytes(length));
    hasher.Update(AsBytes(part));
  }
  return hasher.Finish();
}

std::optional<std::string> DefaultDatabaseCacheDirectory() {
  if (const char* explicit_dir = std::getenv("MEDVAULT_CACHE_DIR"); explicit_dir && *explicit_dir) {
    return std::string(explicit_dir);
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/medvault";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/medvault";
  }
  return std::nullopt;
}

DatabaseCache::DatabaseCache(std::string directory) : directory_(std::move(directory)) {}

std::string DatabaseCache::PathFor(const DatabaseCacheKey& key) const {
  return directory_ + "/notes-" + HexEncode(key) + ".hsdb";
}

std::optional<std::vector<std::string>> DatabaseCache::Read(const DatabaseCacheKey& key) const {
  std::ifstream file(PathFor(key), std::ios::binary);
  if (!file) return std::nullopt;
  file.seekg(0, std::ios::end);
  const std::streamoff size = file.tellg();
  if (size < 0 || static_cast<uint64_t>(size) > kMaxFileBytes) return std::nullopt;
  file.seekg(0, std::ios::beg);
  std::string data(static_cast<std::size_t>(size), '\0');
  if (!file.read(data.data(), size)) return std::nullopt;

  if (data.size() < kMagic.size() + kDigestBytes) return std::nullopt;
  const std::string_view body(data.data(), data.size() - kDigestBytes);
  const crypto::Digest32 digest = DigestOf(body);
  if (std::memcmp(digest.data(), data.data() + body.size(), kDigestBytes) != 0) return std::nullopt;

  if (!body.starts_with(kMagic)) return std::nullopt;
  std::size_t at = kMagic.size();
  uint64_t version = 0;
  if (!GetUint(body, sizeof(uint32_t), &at, &version) || version != kFormatVersion) {
    return std::nullopt;
  }
  if (body.size() - at < key.size() || std::memcmp(body.data() + at, key.data(), key.size()) != 0) {
    return std::nullopt;
  }
  at += key.size();
  uint64_t count = 0;
  if (!GetUint(body, sizeof(uint32_t), &at, &count) || count > kMaxBlobs) return std::nullopt;
  std::vector<uint64_t> lengths(static_cast<std::size_t>(count));
  for (uint64_t& length : lengths) {
    if (!GetUint(body, sizeof(uint64_t), &at, &length)) return std::nullopt;
  }
  std::vector<std::string> blobs;
  for (const uint64_t length : lengths) {
    if (body.size() - at < length) return std::nullopt;
    blobs.emplace_back(body.substr(at, static_cast<std::size_t>(length)));
    at += static_cast<std::size_t>(length);
  }
  if (at != body.size()) return std::nullopt;
  return blobs;
}

Status DatabaseCache::Write(const DatabaseCacheKey& key,
                            const std::vector<std::string>& blobs) const {
  if (!MakeDirectories(directory_)) {
    return Unavailable("cannot create the cache directory " + directory_);
  }
  std::string data(kMagic);
  PutUint(kFormatVersion, sizeof(uint32_t), &data);
  data.append(reinterpret_cast<const char*>(key.data()), key.size());
  PutUint(blobs.size(), sizeof(uint32_t), &data);
  for (const std::string& blob : blobs) PutUint(blob.size(), sizeof(uint64_t), &data);
  for (const std::string& blob : blobs) data += blob;
  const crypto::Digest32 digest = DigestOf(data);
  data.append(reinterpret_cast<const char*>(digest.data()), digest.size());

  const std::string path = PathFor(key);
  std::string temporary = path + ".XXXXXX";
  const int fd = ::mkstemp(temporary.data());  // mode 0600
  if (fd < 0) return Unavailable("cannot write to the cache directory " + directory_);
  const bool written = WriteAll(fd, data);
  const bool closed = ::close(fd) == 0;
  if (!written || !closed || std::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return Unavailable("cannot write the cache file " + path);
  }
  return Status::Ok();
}

}  // namespace medvault::notes
