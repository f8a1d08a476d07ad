#include "crypto/envelope.h"

#include <array>

#include "crypto/aead.h"

namespace medvault::crypto {
namespace {
constexpr std::string_view kAdLabel = "medvault/envelope";

void PutShortString(Bytes* out, std::string_view s) {
  out->push_back(static_cast<uint8_t>(s.size()));
  AppendBytes(out, s);
}

// Associated data of ids up to this total length is built on the stack: sealing and opening
// are per field group, and a heap buffer each time showed in import profiles.
constexpr size_t kInlineAdIds = 192;
constexpr size_t kAdFixed = kAdLabel.size() + 1 + 1 + 4 + 1 + 3;

// Writes EnvelopeAssociatedData(ctx) to `out`, which has room for it; returns its size.
size_t WriteAssociatedData(const EnvelopeContext& ctx, uint8_t* out) {
  uint8_t* p = out;
  auto put_bytes = [&p](std::string_view s) {
    for (char c : s) *p++ = static_cast<uint8_t>(c);
  };
  auto put_short = [&](std::string_view s) {
    *p++ = static_cast<uint8_t>(s.size());
    put_bytes(s);
  };
  put_bytes(kAdLabel);
  *p++ = 0;
  *p++ = kEnvelopeVersion;
  for (int shift = 0; shift < 32; shift += 8) *p++ = static_cast<uint8_t>(ctx.key_version >> shift);
  *p++ = static_cast<uint8_t>(ctx.group);
  put_short(ctx.practice_id);
  put_short(ctx.patient_id);
  put_short(ctx.record_id);
  return static_cast<size_t>(p - out);
}

// Calls use(associated data of ctx), from a stack buffer when the ids are short.
template <typename F>
auto WithAssociatedData(const EnvelopeContext& ctx, F use) {
  const size_t ids = ctx.practice_id.size() + ctx.patient_id.size() + ctx.record_id.size();
  if (ids <= kInlineAdIds) {
    std::array<uint8_t, kAdFixed + kInlineAdIds> buffer;
    const size_t size = WriteAssociatedData(ctx, buffer.data());
    return use(ByteView(buffer.data(), size));
  }
  const Bytes ad = EnvelopeAssociatedData(ctx);
  return use(ByteView(ad));
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
  WithAssociatedData(ctx, [&](ByteView ad) { SealAppend(dek, plaintext, ad, nonces, &out); });
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
  return WithAssociatedData(
      ctx, [&](ByteView ad) { return Open(dek, envelope.subspan(kEnvelopeHeaderSize), ad); });
}

}  // namespace medvault::crypto
