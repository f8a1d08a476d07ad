#include "crypto/sha256_accel.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace medvault::crypto {
namespace {

// OpenSSL's one-shot SHA256() looks the algorithm up (under a lock) on every call; fetching it
// once and keeping one digest context per thread avoids that.
const EVP_MD* Sha256Algorithm() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // lives for the process
  if (md == nullptr) std::abort();
  return md;
}

class ThreadContext {
 public:
  ThreadContext() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr) std::abort();
  }
  ~ThreadContext() { EVP_MD_CTX_free(ctx_); }
  ThreadContext(const ThreadContext&) = delete;
  ThreadContext& operator=(const ThreadContext&) = delete;
  EVP_MD_CTX* get() { return ctx_; }

 private:
  EVP_MD_CTX* ctx_;
};

Digest32 Digest(ByteView prefix, ByteView data) {
  thread_local ThreadContext context;
  EVP_MD_CTX* ctx = context.get();
  Digest32 out{};
  unsigned int size = 0;
  // These calls fail only on allocation failure or a broken OpenSSL: a broken invariant.
  if (EVP_DigestInit_ex(ctx, Sha256Algorithm(), nullptr) != 1 ||
      (!prefix.empty() && EVP_DigestUpdate(ctx, prefix.data(), prefix.size()) != 1) ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &size) != 1 || size != out.size()) {
    std::abort();
  }
  return out;
}

}  // namespace

Digest32 Sha256Accel(ByteView data) { return Digest(ByteView(), data); }

Digest32 Sha256AccelPrefixed(uint8_t prefix, ByteView data) {
  return Digest(ByteView(&prefix, 1), data);
}

}  // namespace medvault::crypto
