#include "crypto/secret.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "crypto/sodium_init.h"

namespace medvault::crypto {
namespace {

// Hands out 32-byte slots from sodium_malloc'ed slabs. Per-key sodium_malloc would cost an mmap and
// several mprotect calls per key, far too slow for per-patient keys opened at hundreds of thousands
// a second; slabs keep the protection (locked, guarded memory) at the cost of sharing guard pages.
class SlotPool {
 public:
  static SlotPool& Instance() {
    static SlotPool* pool = new SlotPool();  // Never destroyed: keys may outlive static teardown.
    return *pool;
  }

  uint8_t* Acquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) Grow();
    uint8_t* slot = free_.back();
    free_.pop_back();
    return slot;
  }

  void Release(uint8_t* slot) {
    sodium_memzero(slot, kKeySize);
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }

 private:
  static constexpr size_t kSlotsPerSlab = 2048;

  void Grow() {
    EnsureSodium();
    auto* slab = static_cast<uint8_t*>(sodium_malloc(kSlotsPerSlab * kKeySize));
    if (slab == nullptr) std::abort();
    sodium_memzero(slab, kSlotsPerSlab * kKeySize);
    free_.reserve(free_.size() + kSlotsPerSlab);
    for (size_t i = 0; i < kSlotsPerSlab; ++i) free_.push_back(slab + i * kKeySize);
  }

  std::mutex mu_;
  std::vector<uint8_t*> free_;
};

}  // namespace

SecretKey::SecretKey() : slot_(SlotPool::Instance().Acquire()) {}

SecretKey::~SecretKey() {
  if (slot_ != nullptr) SlotPool::Instance().Release(slot_);
}

SecretKey::SecretKey(SecretKey&& other) noexcept : slot_(other.slot_) { other.slot_ = nullptr; }

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    if (slot_ != nullptr) SlotPool::Instance().Release(slot_);
    slot_ = other.slot_;
    other.slot_ = nullptr;
  }
  return *this;
}

SecretKey SecretKey::Generate() {
  EnsureSodium();
  SecretKey key;
  randombytes_buf(key.slot_, kKeySize);
  return key;
}

SecretKey SecretKey::FromBytes(ByteView bytes) {
  if (bytes.size() != kKeySize) std::abort();
  SecretKey key;
  std::memcpy(key.slot_, bytes.data(), kKeySize);
  return key;
}

SecretKey SecretKey::Clone() const { return FromBytes(UnsafeBytes()); }

std::span<const uint8_t, kKeySize> SecretKey::UnsafeBytes() const {
  return std::span<const uint8_t, kKeySize>(slot_, kKeySize);
}

std::span<uint8_t, kKeySize> SecretKey::UnsafeMutableBytes() {
  return std::span<uint8_t, kKeySize>(slot_, kKeySize);
}

bool SecretKey::Equals(const SecretKey& other) const {
  return sodium_memcmp(slot_, other.slot_, kKeySize) == 0;
}

SecretBytes::SecretBytes(size_t size) : size_(size) {
  EnsureSodium();
  data_ = static_cast<uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
  if (data_ == nullptr) std::abort();
  sodium_memzero(data_, size);
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes before unmapping.
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes SecretBytes::Copy(ByteView bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
  return s;
}

bool ConstantTimeEquals(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Wipe(std::span<uint8_t> bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
}

}  // namespace medvault::crypto
