#pragma once
// SHA-256 for hot paths (the access log's Merkle tree: one leaf hash and about one node hash per
// entry), through OpenSSL, which uses the CPU's SHA extensions when present — about three times
// libsodium's portable code on 150-byte inputs. Same function as crypto::Sha256.
//
// Link: the target using it links OpenSSL::Crypto (mv_audit does).
// Thread-safety: thread-safe.
#include "core/bytes.h"
#include "crypto/hash.h"

namespace medvault::crypto {

Digest32 Sha256Accel(ByteView data);
// SHA-256 of prefix || data (one byte of domain separation, as RFC 6962 leaves use).
Digest32 Sha256AccelPrefixed(uint8_t prefix, ByteView data);

}  // namespace medvault::crypto
