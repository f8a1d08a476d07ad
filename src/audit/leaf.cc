#include "audit/leaf.h"

#include "crypto/aead.h"

namespace medvault::audit {
namespace {

// Bounds that keep a leaf (and so an entry, served with a uint16 length) small.
constexpr size_t kMaxFieldBytes = 1024;
constexpr size_t kMaxPatients = 1000;
constexpr size_t kMaxPayloadBytes = 60000;
constexpr uint8_t kNoRole = 0;
constexpr uint8_t kMaxDecision = static_cast<uint8_t>(GuardDecision::kDeny);
constexpr uint8_t kMaxRole = static_cast<uint8_t>(Role::kSecurity);

void PutString(Bytes* out, std::string_view s) { PutLengthPrefixed(out, AsBytes(s)); }

bool ReadString(ByteReader& r, std::string* s) {
  ByteView v;
  if (!r.ReadLengthPrefixed(&v) || v.size() > kMaxFieldBytes) return false;
  s->assign(AsChars(v));
  return true;
}

Bytes EntryHeaderBytes(std::string_view key_id) {
  Bytes header;
  header.push_back(kLeafFormatVersion);
  PutString(&header, key_id);
  return header;
}

Status Malformed() { return IntegrityError("malformed audit leaf"); }

}  // namespace

std::string LeafKeyId(const Leaf& leaf) {
  return leaf.practice_id.empty() ? std::string(kVaultKeyId) : leaf.practice_id;
}

Result<Bytes> EncodeLeafPayload(const Leaf& leaf) {
  for (std::string_view s : {std::string_view(leaf.practice_id), std::string_view(leaf.account),
                             std::string_view(leaf.source), std::string_view(leaf.action),
                             std::string_view(leaf.resource_type),
                             std::string_view(leaf.request_id)}) {
    if (s.size() > kMaxFieldBytes) return InvalidArgument("audit leaf: a field is too long");
  }
  if (leaf.session_id.size() > kMaxFieldBytes || leaf.patient_ids.size() > kMaxPatients) {
    return InvalidArgument("audit leaf: too many patients or too long a session id");
  }
  Bytes out;
  out.reserve(128);
  PutU64(&out, static_cast<uint64_t>(leaf.time));
  PutString(&out, leaf.practice_id);
  PutString(&out, leaf.account);
  out.push_back(leaf.role ? static_cast<uint8_t>(*leaf.role) : kNoRole);
  PutLengthPrefixed(&out, leaf.session_id);
  PutString(&out, leaf.source);
  PutString(&out, leaf.action);
  PutString(&out, leaf.resource_type);
  PutVarint(&out, leaf.patient_ids.size());
  for (const std::string& id : leaf.patient_ids) {
    if (id.size() > kMaxFieldBytes) return InvalidArgument("audit leaf: a patient id is too long");
    PutString(&out, id);
  }
  out.push_back(leaf.field_groups);
  PutVarint(&out, leaf.note_categories);
  PutVarint(&out, leaf.outcome);
  out.push_back(static_cast<uint8_t>(leaf.decision));
  PutString(&out, leaf.request_id);
  if (out.size() > kMaxPayloadBytes) return InvalidArgument("audit leaf: too large");
  return out;
}

Status DecodeLeafHead(ByteView payload, LeafHead* out) {
  ByteReader r(payload);
  uint64_t time = 0;
  uint8_t role = 0;
  ByteView practice, account, session, source;
  if (!r.ReadU64(&time) || !r.ReadLengthPrefixed(&practice) || practice.size() > kMaxFieldBytes ||
      !r.ReadLengthPrefixed(&account) || account.size() > kMaxFieldBytes || !r.ReadU8(&role) ||
      role > kMaxRole || !r.ReadLengthPrefixed(&session) || session.size() > kMaxFieldBytes ||
      !r.ReadLengthPrefixed(&source) || source.size() > kMaxFieldBytes) {
    return Malformed();
  }
  out->time = static_cast<UnixMicros>(time);
  out->practice_id = AsChars(practice);
  out->account = AsChars(account);
  out->source = AsChars(source);
  return Status::Ok();
}

Status DecodeLeafPayloadInto(ByteView payload, Leaf* out) {
  ByteReader r(payload);
  Leaf& leaf = *out;
  leaf.role.reset();
  uint64_t time = 0;
  uint8_t role = 0;
  ByteView session;
  uint64_t patients = 0;
  if (!r.ReadU64(&time) || !ReadString(r, &leaf.practice_id) || !ReadString(r, &leaf.account) ||
      !r.ReadU8(&role) || !r.ReadLengthPrefixed(&session) || session.size() > kMaxFieldBytes ||
      !ReadString(r, &leaf.source) || !ReadString(r, &leaf.action) ||
      !ReadString(r, &leaf.resource_type) || !r.ReadVarint(&patients) ||
      patients > kMaxPatients) {
    return Malformed();
  }
  leaf.time = static_cast<UnixMicros>(time);
  if (role > kMaxRole) return Malformed();
  if (role != kNoRole) leaf.role = static_cast<Role>(role);
  leaf.session_id.assign(session.begin(), session.end());
  leaf.patient_ids.resize(patients);
  for (std::string& id : leaf.patient_ids) {
    if (!ReadString(r, &id)) return Malformed();
  }
  uint64_t outcome = 0;
  uint8_t decision = 0;
  if (!r.ReadU8(&leaf.field_groups) || !r.ReadVarint(&leaf.note_categories) ||
      !r.ReadVarint(&outcome) || outcome > UINT16_MAX || !r.ReadU8(&decision) ||
      decision > kMaxDecision || !ReadString(r, &leaf.request_id) || !r.empty()) {
    return Malformed();
  }
  leaf.outcome = static_cast<uint16_t>(outcome);
  leaf.decision = static_cast<GuardDecision>(decision);
  return Status::Ok();
}

Result<Leaf> DecodeLeafPayload(ByteView payload) {
  Leaf leaf;
  MV_RETURN_IF_ERROR(DecodeLeafPayloadInto(payload, &leaf));
  return leaf;
}

Result<Bytes> SealLeaf(const Leaf& leaf, AuditKeyProvider& keys, Random& nonces) {
  MV_ASSIGN_OR_RETURN(Bytes payload, EncodeLeafPayload(leaf));
  const std::string key_id = LeafKeyId(leaf);
  MV_ASSIGN_OR_RETURN(crypto::SecretKey key, keys.AuditKey(key_id));
  Bytes entry = EntryHeaderBytes(key_id);
  const Bytes associated = entry;
  crypto::SealAppend(key, payload, associated, nonces, &entry);
  return entry;
}

Result<EntryHeader> ParseEntryHeader(ByteView entry) {
  ByteReader r(entry);
  EntryHeader header;
  ByteView key_id;
  if (!r.ReadU8(&header.version) || !r.ReadLengthPrefixed(&key_id) ||
      key_id.size() > kMaxFieldBytes) {
    return Malformed();
  }
  if (header.version != kLeafFormatVersion) {
    return IntegrityError("audit leaf: unknown format version " + std::to_string(header.version));
  }
  header.key_id.assign(AsChars(key_id));
  header.header_size = entry.size() - r.remaining();
  return header;
}

namespace {

Result<Leaf> CheckedLeaf(const EntryHeader& header, ByteView payload) {
  MV_ASSIGN_OR_RETURN(Leaf leaf, DecodeLeafPayload(payload));
  if (LeafKeyId(leaf) != header.key_id) return IntegrityError("audit leaf: key id mismatch");
  return leaf;
}

}  // namespace

Result<Leaf> OpenLeaf(ByteView entry, AuditKeyProvider& keys) {
  MV_ASSIGN_OR_RETURN(EntryHeader header, ParseEntryHeader(entry));
  MV_ASSIGN_OR_RETURN(crypto::SecretKey key, keys.AuditKey(header.key_id));
  return OpenLeafWithKey(entry, header, key);
}

Result<Leaf> OpenLeafWithKey(ByteView entry, const EntryHeader& header,
                             const crypto::SecretKey& key) {
  MV_ASSIGN_OR_RETURN(Bytes payload, crypto::Open(key, entry.subspan(header.header_size),
                                                  entry.first(header.header_size)));
  return CheckedLeaf(header, payload);
}

Result<bool> OpenLeafIf(ByteView entry, const EntryHeader& header, const crypto::SecretKey& key,
                        const std::function<bool(const LeafHead&)>& keep, Bytes* scratch,
                        Leaf* out) {
  MV_RETURN_IF_ERROR(crypto::OpenInto(key, entry.subspan(header.header_size),
                                      entry.first(header.header_size), scratch));
  LeafHead head;
  MV_RETURN_IF_ERROR(DecodeLeafHead(*scratch, &head));
  const std::string_view key_id = head.practice_id.empty() ? kVaultKeyId : head.practice_id;
  if (key_id != header.key_id) return IntegrityError("audit leaf: key id mismatch");
  if (!keep(head)) return false;
  MV_RETURN_IF_ERROR(DecodeLeafPayloadInto(*scratch, out));
  return true;
}

Result<crypto::SecretKey> LeafOpeningKey(ByteView entry, const crypto::SecretKey& audit_key) {
  MV_ASSIGN_OR_RETURN(EntryHeader header, ParseEntryHeader(entry));
  return crypto::OpeningKey(audit_key, entry.subspan(header.header_size));
}

Result<Leaf> OpenLeafWithOpeningKey(ByteView entry, const crypto::SecretKey& opening_key) {
  MV_ASSIGN_OR_RETURN(EntryHeader header, ParseEntryHeader(entry));
  MV_ASSIGN_OR_RETURN(Bytes payload,
                      crypto::OpenWithOpeningKey(opening_key, entry.subspan(header.header_size),
                                                 entry.first(header.header_size)));
  return CheckedLeaf(header, payload);
}

}  // namespace medvault::audit
