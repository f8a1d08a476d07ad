#include "crypto/envelope.h"

#include "crypto/aead.h"

namespace medvault::crypto {
namespace {
constexpr std::string_view kAdLabel = "medvault/envelope";

void PutShortString(Bytes* out, std::string_view s) {
  out->push_back(static_cast<uint8_t>(s.size()));
  AppendBytes(out, s);
}
}  // namespace

Bytes EnvelopeAssociatedData(const EnvelopeContext& ctx) {
  Bytes ad;
  ad.reserve(kAdLabel.size() + 8 + ctx.practice_id.size() + ctx.patient_id.size());
  AppendBytes(&ad, kAdLabel);
  ad.push_back(0);
  ad.push_back(kEnvelopeVersion);
  PutU32(&ad, ctx.key_version);
  ad.push_back(static_cast<uint8_t>(ctx.group));
  PutShortString(&ad, ctx.practice_id);
  PutShortString(&ad, ctx.patient_id);
  PutShortString(&ad, ctx.record_id);
  return ad;
}

Bytes SealEnvelope(const SecretKey& dek, const EnvelopeContext& ctx, ByteView plaintext,
                   Random& nonces) {
  Bytes out;
  out.reserve(kEnvelopeOverhead + plaintext.size());
  out.push_back(kEnvelopeVersion);
  PutU32(&out, ctx.key_version);
  SealAppend(dek, plaintext, EnvelopeAssociatedData(ctx), nonces, &out);
  return out;
}

Result<uint32_t> EnvelopeKeyVersion(ByteView envelope) {
  ByteReader r(envelope);
  uint8_t version = 0;
  uint32_t key_version = 0;
  if (!r.ReadU8(&version) || version != kEnvelopeVersion || !r.ReadU32(&key_version)) {
    return IntegrityError("cannot open");
  }
  return key_version;
}

Result<Bytes> OpenEnvelope(const SecretKey& dek, const EnvelopeContext& ctx, ByteView envelope) {
  if (envelope.size() < kEnvelopeOverhead) return IntegrityError("cannot open");
  MV_ASSIGN_OR_RETURN(uint32_t key_version, EnvelopeKeyVersion(envelope));
  if (key_version != ctx.key_version) return IntegrityError("cannot open");
  return Open(dek, envelope.subspan(kEnvelopeHeaderSize), EnvelopeAssociatedData(ctx));
}

}  // namespace medvault::crypto
