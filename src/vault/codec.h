#pragma once
// The plaintext encoding of each field group before sealing (docs/formats/envelope.md): a
// sequence of (tag: u8, value: varint length + bytes) records; repeated fields repeat their tag;
// decoders skip unknown tags so later versions can add fields.
#include "core/bytes.h"
#include "core/status.h"
#include "vault/patient.h"

namespace medvault::vault {

Bytes EncodeIdentity(const Identity& v);
Bytes EncodeContact(const Contact& v);
Bytes EncodeInsurance(const Insurance& v);
// IntegrityError on malformed input (it was authenticated, so malformed means a bug or tamper).
Result<Identity> DecodeIdentity(ByteView b);
Result<Contact> DecodeContact(ByteView b);
Result<Insurance> DecodeInsurance(ByteView b);

}  // namespace medvault::vault
