#pragma once
// Secret material. Keys never live in ordinary heap memory: SecretKey (32 bytes, the size of every
// symmetric key in medvault) comes from slabs allocated with sodium_malloc (guard pages, mlock'ed,
// excluded from core dumps where the OS allows) and is wiped when freed; SecretBytes holds secrets
// of other sizes in its own sodium_malloc allocation. Both are move-only. Raw bytes are reached only
// through `UnsafeBytes()`, a greppable name.
//
// Thread-safety: distinct objects may be used from distinct threads; the slab pool is locked.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/bytes.h"

namespace medvault::crypto {

inline constexpr size_t kKeySize = 32;

class SecretKey {
 public:
  // A key of zeros; fill it through UnsafeMutableBytes() or use Generate/FromBytes.
  SecretKey();
  ~SecretKey();
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  // A fresh random key from the operating system's CSPRNG.
  static SecretKey Generate();
  // REQUIRES: bytes.size() == kKeySize.
  static SecretKey FromBytes(ByteView bytes);
  SecretKey Clone() const;

  std::span<const uint8_t, kKeySize> UnsafeBytes() const;
  std::span<uint8_t, kKeySize> UnsafeMutableBytes();
  // Constant-time comparison.
  bool Equals(const SecretKey& other) const;

 private:
  uint8_t* slot_ = nullptr;
};

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  static SecretBytes Copy(ByteView bytes);
  size_t size() const { return size_; }
  ByteView UnsafeBytes() const { return {data_, size_}; }
  std::span<uint8_t> UnsafeMutableBytes() { return {data_, size_}; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Constant-time equality of two byte strings of the same length (false if lengths differ).
bool ConstantTimeEquals(ByteView a, ByteView b);
// Overwrites memory in a way the compiler may not elide.
void Wipe(std::span<uint8_t> bytes);

}  // namespace medvault::crypto
