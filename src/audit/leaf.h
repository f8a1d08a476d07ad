#pragma once
// The access-log leaf (docs/formats/leaf.md): what one request did, and its encoding.
//
// A leaf's payload (every field below) is encoded with a compact binary codec and sealed with
// XChaCha20-Poly1305 under the audit key of its practice (or of the vault, for vault-wide
// events). The log's public entry is
//     entry = format version (1 byte) || key id (varint length + bytes) || sealed payload
// with associated data = format version || key id, so an entry moved under another key id fails
// to open, and the public log reveals neither patient ids nor account names.
//
// Errors: InvalidArgument for a leaf that cannot be encoded (a field too long); IntegrityError for
// bytes that do not decode or do not open (opaque, as crypto::Open); NotFound from the key
// provider for an unknown key id.
// Thread-safety: free functions are thread-safe if the AuditKeyProvider is.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/field_group.h"
#include "core/random.h"
#include "core/role.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace medvault::audit {

inline constexpr uint8_t kLeafFormatVersion = 1;
// The key id of vault-wide events (no practice): security-officer actions, failed logins of
// unknown accounts. Practice ids never take this value.
inline constexpr std::string_view kVaultKeyId = "vault";

// What the guard decided about the request.
enum class GuardDecision : uint8_t {
  kNone = 0,            // the guard was not consulted (e.g. a failed login)
  kAllow = 1,
  kLog = 2,             // allowed, noted
  kStepUp = 3,          // the account must re-authenticate
  kContainAccount = 4,  // sessions revoked, account locked
  kContainSource = 5,   // the source is refused
  kDeny = 6,
};

struct Leaf {
  UnixMicros time = 0;
  std::string practice_id;         // empty for vault-wide events
  std::string account;             // login
  std::optional<Role> role;        // absent when unknown (failed login)
  Bytes session_id;                // a hash of the session token, never the token
  std::string source;              // client address
  std::string action;              // "patient.read", "login.fail", "guard.contain", ...
  std::string resource_type;       // "Patient", "Appointment", "DocumentReference", ...
  std::vector<std::string> patient_ids;
  FieldGroupMask field_groups = 0;
  uint64_t note_categories = 0;    // bit mask of note categories (notes module)
  uint16_t outcome = 0;            // HTTP status
  GuardDecision decision = GuardDecision::kNone;
  std::string request_id;

  bool operator==(const Leaf&) const = default;
};

// The key id a leaf is sealed under: its practice id, or kVaultKeyId.
std::string LeafKeyId(const Leaf& leaf);

// The payload codec (unsealed). Decode rejects trailing bytes and unknown enum values.
Result<Bytes> EncodeLeafPayload(const Leaf& leaf);
Result<Leaf> DecodeLeafPayload(ByteView payload);
// The leading fields of a payload (time, practice, account, role, session, source), as views
// into `payload`: no copy, so that a scan can skip the leaves it does not want before decoding
// them whole. IntegrityError if those fields are malformed (the rest is not looked at).
struct LeafHead {
  UnixMicros time = 0;
  std::string_view practice_id;
  std::string_view account;
  std::string_view source;
};
Status DecodeLeafHead(ByteView payload, LeafHead* out);
// The same into `*out`, every field overwritten; reusing one Leaf keeps its strings' storage (for
// scans of millions of leaves). On error *out is unspecified.
Status DecodeLeafPayloadInto(ByteView payload, Leaf* out);

// Gives the audit module the keys it seals leaves under. Implemented by the vault from its
// keyring; tests use a fake. Thread-safety: implementations must be thread-safe.
class AuditKeyProvider {
 public:
  virtual ~AuditKeyProvider() = default;
  // The audit key for `key_id` (a practice id or kVaultKeyId). NotFound if unknown.
  virtual Result<crypto::SecretKey> AuditKey(const std::string& key_id) = 0;
};

// The public entry bytes for `leaf`, nonce drawn from `nonces`.
Result<Bytes> SealLeaf(const Leaf& leaf, AuditKeyProvider& keys, Random& nonces);

// The version and key id of an entry, readable without any key.
struct EntryHeader {
  uint8_t version = 0;
  std::string key_id;
  size_t header_size = 0;  // bytes before the sealed payload
};
Result<EntryHeader> ParseEntryHeader(ByteView entry);

// Opens an entry with the key of its key id and decodes the leaf.
Result<Leaf> OpenLeaf(ByteView entry, AuditKeyProvider& keys);
// The same with the audit key of `header.key_id` already at hand (callers that open many leaves
// keep their keys). REQUIRES: header == ParseEntryHeader(entry).
Result<Leaf> OpenLeafWithKey(ByteView entry, const EntryHeader& header,
                             const crypto::SecretKey& key);

// For scans: opens an entry into `scratch`, decodes its head, and decodes the whole leaf into
// *out (reused: its strings keep their storage) only if keep(head). Returns whether it did. The
// key-id check applies to every entry, kept or not.
Result<bool> OpenLeafIf(ByteView entry, const EntryHeader& header, const crypto::SecretKey& key,
                        const std::function<bool(const LeafHead&)>& keep, Bytes* scratch,
                        Leaf* out);

// The opening key of one entry (crypto::OpeningKey of its sealed payload): it opens that entry
// and no other, without revealing the practice's audit key (breach evidence).
Result<crypto::SecretKey> LeafOpeningKey(ByteView entry, const crypto::SecretKey& audit_key);
Result<Leaf> OpenLeafWithOpeningKey(ByteView entry, const crypto::SecretKey& opening_key);

}  // namespace medvault::audit
