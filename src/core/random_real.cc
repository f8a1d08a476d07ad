#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/random.h"

namespace medvault {
namespace {

void KernelFill(uint8_t* out, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = getrandom(out + done, size - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // No entropy is a broken invariant: never continue with weak keys.
    }
    done += static_cast<size_t>(n);
  }
}

// Kernel randomness, read 4 KiB at a time per thread: nonces and ids are drawn at hundreds of
// thousands a second during imports, and one getrandom(2) call per 24-byte nonce would cost more
// than the encryption. Bytes are handed out once and wiped from the buffer as they are taken.
class SystemRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override {
    struct Buffer {
      uint8_t bytes[4096];
      size_t used = sizeof(bytes);
    };
    thread_local Buffer buffer;
    size_t done = 0;
    while (done < out.size()) {
      if (buffer.used == sizeof(buffer.bytes)) {
        KernelFill(buffer.bytes, sizeof(buffer.bytes));
        buffer.used = 0;
      }
      const size_t n = std::min(out.size() - done, sizeof(buffer.bytes) - buffer.used);
      std::memcpy(out.data() + done, buffer.bytes + buffer.used, n);
      std::memset(buffer.bytes + buffer.used, 0, n);
      buffer.used += n;
      done += n;
    }
  }
};

}  // namespace

std::unique_ptr<Random> NewSystemRandom() { return std::make_unique<SystemRandom>(); }

}  // namespace medvault
