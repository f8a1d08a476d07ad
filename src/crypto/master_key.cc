#include "crypto/master_key.h"

#include <cstdlib>

#include "core/file.h"
#include "crypto/hash.h"

namespace medvault::crypto {
namespace {

Result<SecretKey> DecodeKey(std::string_view text, std::string_view where) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  Result<Bytes> raw = Base64Decode(text);
  if (!raw.ok() || raw->size() != kKeySize) {
    if (raw.ok()) Wipe(*raw);
    return InvalidArgument(std::string(where) + " does not hold a base64 key of 32 bytes");
  }
  SecretKey key = SecretKey::FromBytes(*raw);
  Wipe(*raw);
  return key;
}

}  // namespace

Status WriteMasterKeyFile(const std::string& path, const SecretKey& key) {
  std::string text = Base64Encode(key.UnsafeBytes()) + "\n";
  Status s = WriteFileAtomic(path, text, 0600);
  Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  return s;
}

Result<SecretKey> CreateMasterKeyFile(const std::string& path) {
  if (PathExists(path)) return AlreadyExists("master key file already exists: " + path);
  SecretKey key = SecretKey::Generate();
  MV_RETURN_IF_ERROR(WriteMasterKeyFile(path, key));
  return key;
}

Result<SecretKey> LoadMasterKey(const std::string& path) {
  if (const char* env = std::getenv(kMasterKeyEnv); env != nullptr && *env != '\0') {
    return DecodeKey(env, kMasterKeyEnv);
  }
  MV_ASSIGN_OR_RETURN(unsigned mode, FileMode(path));
  if ((mode & 077) != 0) {
    return FailedPrecondition("master key file " + path +
                              " is readable by group or others; chmod 600 it");
  }
  MV_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Result<SecretKey> key = DecodeKey(text, path);
  Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  return key;
}

std::string KeyFingerprint(const SecretKey& key) {
  uint8_t digest[16];
  KeyedBlake2b(key, AsBytes("medvault/key-fingerprint"), digest);
  return HexEncode(ByteView(digest, 8));
}

}  // namespace medvault::crypto
