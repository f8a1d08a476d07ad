#include "crypto/sodium_init.h"

#include <sodium.h>

#include <cstdlib>

namespace medvault::crypto {

void EnsureSodium() {
  static const bool initialised = [] { return sodium_init() >= 0; }();
  if (!initialised) std::abort();
}

}  // namespace medvault::crypto
