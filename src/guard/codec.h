#pragma once
// The binary form of the guard's records, for a StateStore shared by several nodes
// (state_shared.cc). Explicit and versioned: one byte naming the record kind, one byte of format
// version, then every field in declaration order, little-endian, floats as their IEEE-754 bits,
// strings as a 16-bit length and the bytes, the source's account list as a 16-bit count. Nothing
// depends on the compiler's layout, so nodes of one release (and the next, which still reads
// version 1) agree on it.
//
// Decoding is strict: a wrong kind or version, a truncated or over-long input, an out-of-range
// value (role, set cursor, more than kMaxSourceAccounts accounts, a string over 256 bytes) or a
// float that is not finite fails, and the output is left as a fresh record. The caller treats such
// a record as new (and counts it); nothing here can crash on arbitrary bytes (guard/guard_codec_fuzz.cc).
// Thread-safety: pure functions.
#include <cstdint>

#include "core/bytes.h"
#include "guard/state.h"

namespace medvault::guard {

inline constexpr uint8_t kCodecVersion = 1;
inline constexpr size_t kMaxCodecString = 256;

Bytes Encode(const AccountRecord& r);
Bytes Encode(const SessionRecord& r);
Bytes Encode(const PracticeRecord& r);
Bytes Encode(const SourceRecord& r);

// Each returns whether `in` held a valid record of that kind; on false `*out` is a fresh record.
bool Decode(ByteView in, AccountRecord* out);
bool Decode(ByteView in, SessionRecord* out);
bool Decode(ByteView in, PracticeRecord* out);
bool Decode(ByteView in, SourceRecord* out);

}  // namespace medvault::guard
