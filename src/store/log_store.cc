#include "store/log_store.h"

namespace medvault::store {
namespace {

// The lease of a store that one process writes: holding the store for writing is holding it.
class SoleWriterLease final : public IntegratorLease {
 public:
  bool StillHeld() override { return true; }
};

}  // namespace

Result<std::unique_ptr<IntegratorLease>> LogStore::TryAcquireIntegratorLease() {
  return std::unique_ptr<IntegratorLease>(new SoleWriterLease());
}

}  // namespace medvault::store
