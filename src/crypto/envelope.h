#pragma once
// Field-group envelopes: how one field group of one patient is stored. Format (docs/formats/
// envelope.md): version (1 byte, 0x01) || key version (u32 LE) || nonce (24) || ciphertext || tag
// (16): 45 bytes of overhead. The associated data binds the format version, the practice, the
// patient, the field group and the key version, so a ciphertext copied to another patient, another
// practice or another column fails to open. Failures are one opaque IntegrityError.
// Thread-safety: thread-safe.
#include <string_view>

#include "core/bytes.h"
#include "core/field_group.h"
#include "core/random.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace medvault::crypto {

inline constexpr uint8_t kEnvelopeVersion = 1;
inline constexpr size_t kEnvelopeHeaderSize = 1 + 4;
inline constexpr size_t kEnvelopeOverhead = kEnvelopeHeaderSize + 24 + 16;

struct EnvelopeContext {
  std::string_view practice_id;
  std::string_view patient_id;
  FieldGroup group;
  uint32_t key_version;
  // Binds a record inside the group (a note's id); empty for the patient's own field groups.
  std::string_view record_id = {};
};

// The associated data for `ctx` (exposed for the known-answer tests and the format doc).
Bytes EnvelopeAssociatedData(const EnvelopeContext& ctx);

Bytes SealEnvelope(const SecretKey& dek, const EnvelopeContext& ctx, ByteView plaintext,
                   Random& nonces);
// Fails opaquely when the envelope is malformed, of another version, or does not authenticate
// under `dek` and `ctx` (practice, patient, group; the key version is read from the envelope and
// must equal ctx.key_version).
Result<Bytes> OpenEnvelope(const SecretKey& dek, const EnvelopeContext& ctx, ByteView envelope);

// The key version stored in an envelope's header, without opening it.
Result<uint32_t> EnvelopeKeyVersion(ByteView envelope);

}  // namespace medvault::crypto
