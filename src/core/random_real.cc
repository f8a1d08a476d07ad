#include <sys/random.h>

#include <cerrno>
#include <cstdlib>

#include "core/random.h"

namespace medvault {
namespace {

class SystemRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::abort();  // No entropy is a broken invariant: never continue with weak keys.
      }
      done += static_cast<size_t>(n);
    }
  }
};

}  // namespace

std::unique_ptr<Random> NewSystemRandom() { return std::make_unique<SystemRandom>(); }

}  // namespace medvault
