#pragma once
// libsodium must be initialised once before use; every entry point of crypto calls EnsureSodium().
namespace medvault::crypto {
// Thread-safe, idempotent. Aborts if libsodium cannot initialise (no entropy): a broken invariant.
void EnsureSodium();
}  // namespace medvault::crypto
