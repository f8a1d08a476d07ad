#include "vault/patients.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/flat_u64_set.h"
#include "core/ids.h"
#include "core/text_fold.h"
#include "crypto/envelope.h"
#include "vault/codec.h"
#include "vault/nir.h"

namespace medvault::vault {
namespace {

using crypto::IndexColumn;

constexpr FieldGroupMask kSealedGroups = MaskOf(FieldGroup::kIdentity) |
                                         MaskOf(FieldGroup::kContact) |
                                         MaskOf(FieldGroup::kInsurance);

crypto::EnvelopeContext Context(const std::string& practice_id, const std::string& patient_id,
                                FieldGroup group, uint32_t key_version) {
  return crypto::EnvelopeContext{practice_id, patient_id, group, key_version};
}

// Phones fold to their national digits: "+33 6 12 34 56 78" and "06.12.34.56.78" are equal.
std::string FoldPhone(std::string_view phone) {
  std::string digits;
  for (char c : phone) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  size_t country_prefix = 0;
  if (phone.starts_with("+33") && digits.size() == 11) country_prefix = 2;
  if (digits.starts_with("0033") && digits.size() == 13) country_prefix = 4;
  if (country_prefix == 0) return digits;
  std::string national(1, '0');
  national.append(digits, country_prefix, std::string::npos);
  return national;
}

void Add(std::vector<store::IndexEntry>* out, const crypto::BlindIndexer& ix, IndexColumn col,
         std::string_view folded) {
  if (folded.empty()) return;
  const store::IndexEntry e{static_cast<uint8_t>(col), ix.Token(col, folded)};
  for (const auto& existing : *out) {
    if (existing.column == e.column && existing.token == e.token) return;
  }
  out->push_back(e);
}

// The canonical NIRs seen so far in one import, for the duplicate check. A validated NIR (15
// characters of 0-9, A, B) is kept as its base-12 value in a FlatU64Set (8-byte slots) instead of
// a ~72-byte string node: a million-patient import holds 16-32 MB for it rather than ~70 MB.
// Anything else is kept as a string. Not thread-safe.
class NirSet {
 public:
  // Adds `canonical`; false if it was already there.
  bool Insert(const std::string& canonical) {
    const std::optional<uint64_t> packed = Pack(canonical);
    if (!packed) return others_.insert(canonical).second;
    return packed_.Insert(*packed);
  }

 private:
  static constexpr size_t kNirLength = 15;
  static constexpr uint64_t kBase = 12;

  static std::optional<uint64_t> Pack(std::string_view nir) {
    if (nir.size() != kNirLength) return std::nullopt;
    uint64_t value = 0;
    for (char c : nir) {
      uint64_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint64_t>(c - '0');
      } else if (c == 'A' || c == 'B') {
        digit = 10 + static_cast<uint64_t>(c - 'A');
      } else {
        return std::nullopt;
      }
      value = value * kBase + digit;
    }
    return value;
  }

  FlatU64Set packed_;
  std::unordered_set<std::string> others_;
};

bool Matches(const Patient& p, const PatientQuery& q) {
  if (!q.family.empty() && FoldForSearch(p.identity.family) != FoldForSearch(q.family)) {
    return false;
  }
  if (!q.given.empty()) {
    const std::string want = FoldForSearch(q.given);
    if (std::none_of(p.identity.given.begin(), p.identity.given.end(),
                     [&](const std::string& g) { return FoldForSearch(g) == want; })) {
      return false;
    }
  }
  if (q.birth_date && p.identity.birth_date != q.birth_date) return false;
  if (!q.nir.empty() && CanonicalNir(p.insurance.nir) != CanonicalNir(q.nir)) return false;
  return true;
}

}  // namespace

Patients::Patients(store::DataStore& data, store::KeyStore& keys, Keyring& keyring,
                   const Clock& clock, Random& random)
    : data_(data), keys_(keys), keyring_(keyring), clock_(clock), random_(random) {}

std::vector<store::IndexEntry> Patients::IndexEntries(const PracticeKeys& keys,
                                                      const Patient& p) const {
  std::vector<store::IndexEntry> out;
  out.reserve(8);
  const auto& ix = keys.indexer;
  Add(&out, ix, IndexColumn::kFamily, FoldForSearch(p.identity.family));
  for (const auto& g : p.identity.given) Add(&out, ix, IndexColumn::kGiven, FoldForSearch(g));
  if (p.identity.birth_date) {
    Add(&out, ix, IndexColumn::kBirthDate, FormatDate(*p.identity.birth_date));
  }
  if (!p.insurance.nir.empty()) Add(&out, ix, IndexColumn::kNir, CanonicalNir(p.insurance.nir));
  for (const auto& t : p.contact.telecom) {
    if (t.system == "phone") Add(&out, ix, IndexColumn::kPhone, FoldPhone(t.value));
    if (t.system == "email") Add(&out, ix, IndexColumn::kEmail, FoldForSearch(t.value));
  }
  return out;
}

Result<store::PatientRow> Patients::Seal(const std::string& practice_id, const Patient& p,
                                         const crypto::SecretKey& dek) {
  store::PatientRow row;
  row.id = p.id;
  row.practice_id = practice_id;
  row.key_version = 1;
  row.created = p.created;
  row.updated = p.updated;
  row.identity = crypto::SealEnvelope(
      dek, Context(practice_id, p.id, FieldGroup::kIdentity, row.key_version),
      EncodeIdentity(p.identity), random_);
  row.contact = crypto::SealEnvelope(
      dek, Context(practice_id, p.id, FieldGroup::kContact, row.key_version),
      EncodeContact(p.contact), random_);
  row.insurance = crypto::SealEnvelope(
      dek, Context(practice_id, p.id, FieldGroup::kInsurance, row.key_version),
      EncodeInsurance(p.insurance), random_);
  return row;
}

Result<Patient> Patients::Open(const store::PatientRow& row, FieldGroupMask groups) {
  Patient p;
  p.id = row.id;
  p.created = row.created;
  p.updated = row.updated;
  if ((groups & kSealedGroups) == 0) return p;
  MV_ASSIGN_OR_RETURN(auto dek, keyring_.PatientDek(row.practice_id, row.id));
  // Opens one group's envelope and decodes it into *field.
  auto open_group = [&](FieldGroup group, const Bytes& envelope, auto decode,
                        auto* field) -> Status {
    if (!MaskHas(groups, group)) return Status::Ok();
    MV_ASSIGN_OR_RETURN(
        Bytes plain,
        crypto::OpenEnvelope(*dek, Context(row.practice_id, row.id, group, row.key_version),
                             envelope));
    MV_ASSIGN_OR_RETURN(*field, decode(plain));
    return Status::Ok();
  };
  MV_RETURN_IF_ERROR(open_group(FieldGroup::kIdentity, row.identity, DecodeIdentity, &p.identity));
  MV_RETURN_IF_ERROR(open_group(FieldGroup::kContact, row.contact, DecodeContact, &p.contact));
  MV_RETURN_IF_ERROR(
      open_group(FieldGroup::kInsurance, row.insurance, DecodeInsurance, &p.insurance));
  return p;
}

Result<bool> Patients::NirTaken(const std::string& practice_id, const PracticeKeys& keys,
                                const std::string& nir, const std::string& except_id) {
  const std::string canonical = CanonicalNir(nir);
  MV_ASSIGN_OR_RETURN(auto candidates,
                      data_.FindByToken(practice_id, static_cast<uint8_t>(IndexColumn::kNir),
                                        keys.indexer.Token(IndexColumn::kNir, canonical)));
  for (const auto& id : candidates) {
    if (id == except_id) continue;
    MV_ASSIGN_OR_RETURN(auto row, data_.GetPatient(practice_id, id));
    if (row.canary) continue;
    MV_ASSIGN_OR_RETURN(Patient other, Open(row, MaskOf(FieldGroup::kInsurance)));
    if (CanonicalNir(other.insurance.nir) == canonical) return true;
  }
  return false;
}

Result<store::PatientRow> Patients::SealNew(const std::string& practice_id, const Patient& p,
                                            bool canary, store::PatientKeyRow* key_row) {
  MV_ASSIGN_OR_RETURN(NewPatientKey key, keyring_.NewPatientDek(practice_id, p.id));
  MV_ASSIGN_OR_RETURN(store::PatientRow row, Seal(practice_id, p, key.dek));
  row.canary = canary;
  *key_row = std::move(key.row);
  return row;
}

Result<Patient> Patients::Create(const std::string& practice_id, Patient p, bool canary) {
  MV_RETURN_IF_ERROR(ValidatePatient(p));
  MV_ASSIGN_OR_RETURN(auto keys, keyring_.Practice(practice_id));
  const bool place = placer_ != nullptr && !canary;
  std::unique_lock<std::mutex> lock(write_mu_, std::defer_lock);
  if (placer_ != nullptr) lock.lock();
  if (!p.insurance.nir.empty()) {
    MV_ASSIGN_OR_RETURN(bool taken, NirTaken(practice_id, *keys, p.insurance.nir, ""));
    if (taken) {
      return AlreadyExists("identifier[0].value: a patient with this NIR already exists");
    }
  }
  p.id = NewId(random_);
  p.created = p.updated = clock_.Now();
  std::vector<Patient> canaries;
  if (place) {
    Result<std::vector<Patient>> placed = placer_->AfterReal(practice_id, p);
    if (!placed.ok()) {
      placer_->Written(practice_id, false);
      return placed.status();
    }
    canaries = std::move(*placed);
  }
  auto write = [&]() -> Status {
    std::vector<store::PatientKeyRow> key_rows(1 + canaries.size());
    std::vector<store::PatientRow> rows;
    rows.reserve(key_rows.size());
    MV_ASSIGN_OR_RETURN(store::PatientRow row, SealNew(practice_id, p, canary, &key_rows[0]));
    rows.push_back(std::move(row));
    for (size_t i = 0; i < canaries.size(); ++i) {
      Patient& c = canaries[i];
      MV_RETURN_IF_ERROR(ValidatePatient(c).WithContext("canary"));
      c.created = c.updated = p.created;
      MV_ASSIGN_OR_RETURN(store::PatientRow crow, SealNew(practice_id, c, true, &key_rows[i + 1]));
      rows.push_back(std::move(crow));
    }
    // The keys first: a crash between the two commits leaves unused keys, never unreadable data.
    MV_ASSIGN_OR_RETURN(auto key_batch, keys_.BeginPatientKeyBatch());
    for (const auto& key_row : key_rows) MV_RETURN_IF_ERROR(key_batch->Add(key_row));
    MV_RETURN_IF_ERROR(key_batch->Commit());
    MV_ASSIGN_OR_RETURN(auto batch, data_.BeginPatientBatch());
    MV_RETURN_IF_ERROR(batch->Add(rows[0], IndexEntries(*keys, p)));
    for (size_t i = 0; i < canaries.size(); ++i) {
      MV_RETURN_IF_ERROR(batch->Add(rows[i + 1], IndexEntries(*keys, canaries[i])));
    }
    return batch->Commit();
  };
  const Status written = write();
  if (place) {
    // The patient is stored whatever happens to the canary rewrites; those the placer still
    // wants are asked for again at the next write.
    (void)SettleCanaries(practice_id, written.ok());
  }
  MV_RETURN_IF_ERROR(written);
  return p;
}

Status Patients::WriteCanaries(const std::string& practice_id,
                               const std::vector<Patient>& canaries) {
  if (canaries.empty()) return Status::Ok();
  MV_ASSIGN_OR_RETURN(auto keys, keyring_.Practice(practice_id));
  const UnixMicros now = clock_.Now();
  std::vector<store::PatientKeyRow> key_rows(canaries.size());
  std::vector<store::PatientRow> rows;
  rows.reserve(canaries.size());
  for (size_t i = 0; i < canaries.size(); ++i) {
    Patient c = canaries[i];
    MV_RETURN_IF_ERROR(ValidatePatient(c).WithContext("canary"));
    c.created = c.updated = now;
    MV_ASSIGN_OR_RETURN(store::PatientRow row, SealNew(practice_id, c, true, &key_rows[i]));
    rows.push_back(std::move(row));
  }
  MV_ASSIGN_OR_RETURN(auto key_batch, keys_.BeginPatientKeyBatch());
  for (const auto& key_row : key_rows) MV_RETURN_IF_ERROR(key_batch->Add(key_row));
  MV_RETURN_IF_ERROR(key_batch->Commit());
  MV_ASSIGN_OR_RETURN(auto batch, data_.BeginPatientBatch());
  for (size_t i = 0; i < canaries.size(); ++i) {
    MV_RETURN_IF_ERROR(batch->Add(rows[i], IndexEntries(*keys, canaries[i])));
  }
  return batch->Commit();
}

Status Patients::SettleCanaries(const std::string& practice_id, bool committed) {
  placer_->Written(practice_id, committed);
  if (!committed) return Status::Ok();
  MV_ASSIGN_OR_RETURN(std::vector<Patient> rewrites, placer_->Rewrites(practice_id));
  for (Patient& c : rewrites) {
    MV_RETURN_IF_ERROR(UpdateLocked(practice_id, std::move(c)).status());
  }
  return Status::Ok();
}

Result<int64_t> Patients::KeepCanaries(const std::string& practice_id) {
  if (placer_ == nullptr) return int64_t{0};
  std::lock_guard<std::mutex> lock(write_mu_);
  Result<std::vector<Patient>> canaries = placer_->Upkeep(practice_id);
  if (!canaries.ok()) {
    placer_->Written(practice_id, false);
    return canaries.status();
  }
  const Status written = WriteCanaries(practice_id, *canaries);
  MV_RETURN_IF_ERROR(SettleCanaries(practice_id, written.ok()));
  MV_RETURN_IF_ERROR(written);
  return static_cast<int64_t>(canaries->size());
}

Result<int64_t> Patients::Import(const std::string& practice_id, const PatientSource& next,
                                 const std::function<std::string()>& position) {
  std::unique_lock<std::mutex> lock(write_mu_, std::defer_lock);
  if (placer_ != nullptr) lock.lock();
  bool announced = false;
  Result<int64_t> imported = ImportLocked(practice_id, next, position, &announced);
  if (announced) {
    Status settled = SettleCanaries(practice_id, imported.ok());
    if (imported.ok() && !settled.ok()) {
      return settled.WithContext("patients imported; rewriting canaries");
    }
  }
  return imported;
}

Result<int64_t> Patients::ImportLocked(const std::string& practice_id, const PatientSource& next,
                                       const std::function<std::string()>& position,
                                       bool* announced) {
  MV_ASSIGN_OR_RETURN(auto keys, keyring_.Practice(practice_id));
  MV_ASSIGN_OR_RETURN(int64_t existing, data_.CountPatients(practice_id));
  MV_ASSIGN_OR_RETURN(auto key_batch, keys_.BeginPatientKeyBatch());
  MV_ASSIGN_OR_RETURN(auto batch, data_.BeginPatientBatch());
  NirSet nirs;
  int64_t count = 0;
  const UnixMicros now = clock_.Now();
  for (;;) {
    Result<std::optional<Patient>> item = next();
    if (!item.ok()) return item.status();
    if (!item->has_value()) break;
    // Named only when an error needs it, so that an accepted entry does not pay for formatting
    // its name; `position` still describes this entry then, as next() has not been called again.
    auto entry = [&] { return position ? position() : "entry " + std::to_string(count + 1); };
    Patient p = std::move(**item);
    Status valid = ValidatePatient(p);
    if (!valid.ok()) return valid.WithContext(entry());
    if (!p.insurance.nir.empty()) {
      const std::string canonical = CanonicalNir(p.insurance.nir);
      if (!nirs.Insert(canonical)) {
        return InvalidArgument(entry() + ": identifier[0].value: same NIR as an earlier entry");
      }
      if (existing > 0) {
        MV_ASSIGN_OR_RETURN(bool taken, NirTaken(practice_id, *keys, canonical, ""));
        if (taken) {
          return AlreadyExists(entry() +
                               ": identifier[0].value: a patient with this NIR already exists");
        }
      }
    }
    p.id = NewId(random_);
    p.created = p.updated = now;
    store::PatientKeyRow key_row;
    MV_ASSIGN_OR_RETURN(store::PatientRow row, SealNew(practice_id, p, false, &key_row));
    MV_RETURN_IF_ERROR(key_batch->Add(key_row));
    MV_RETURN_IF_ERROR(batch->Add(row, IndexEntries(*keys, p)));
    ++count;
    if (placer_ == nullptr) continue;
    *announced = true;
    MV_ASSIGN_OR_RETURN(std::vector<Patient> canaries, placer_->AfterReal(practice_id, p));
    for (Patient& c : canaries) {
      MV_RETURN_IF_ERROR(ValidatePatient(c).WithContext("canary"));
      c.created = c.updated = now;
      MV_ASSIGN_OR_RETURN(store::PatientRow crow, SealNew(practice_id, c, true, &key_row));
      MV_RETURN_IF_ERROR(key_batch->Add(key_row));
      MV_RETURN_IF_ERROR(batch->Add(crow, IndexEntries(*keys, c)));
    }
  }
  MV_RETURN_IF_ERROR(key_batch->Commit());
  MV_RETURN_IF_ERROR(batch->Commit());
  return count;
}

Result<Patient> Patients::Read(const std::string& practice_id, const std::string& patient_id,
                               FieldGroupMask groups) {
  MV_ASSIGN_OR_RETURN(auto row, data_.GetPatient(practice_id, patient_id));
  return Open(row, groups);
}

bool Patients::IsCanary(const std::string& practice_id, const std::string& patient_id) {
  auto row = data_.GetPatient(practice_id, patient_id);
  return row.ok() && row->canary;
}

Result<Patient> Patients::Update(const std::string& practice_id, Patient p) {
  if (placer_ == nullptr) return UpdateLocked(practice_id, std::move(p));
  std::lock_guard<std::mutex> lock(write_mu_);
  MV_ASSIGN_OR_RETURN(Patient updated, UpdateLocked(practice_id, std::move(p)));
  if (!IsCanary(practice_id, updated.id)) {
    placer_->Updated(practice_id, updated);
    (void)SettleCanaries(practice_id, true);  // asked for again at the next write if it fails
  }
  return updated;
}

Result<Patient> Patients::UpdateLocked(const std::string& practice_id, Patient p) {
  MV_RETURN_IF_ERROR(ValidatePatient(p));
  MV_ASSIGN_OR_RETURN(auto old, data_.GetPatient(practice_id, p.id));
  MV_ASSIGN_OR_RETURN(auto keys, keyring_.Practice(practice_id));
  if (!p.insurance.nir.empty()) {
    MV_ASSIGN_OR_RETURN(bool taken, NirTaken(practice_id, *keys, p.insurance.nir, p.id));
    if (taken) {
      return AlreadyExists("identifier[0].value: a patient with this NIR already exists");
    }
  }
  MV_ASSIGN_OR_RETURN(auto dek, keyring_.PatientDek(practice_id, p.id));
  p.created = old.created;
  p.updated = clock_.Now();
  MV_ASSIGN_OR_RETURN(store::PatientRow row, Seal(practice_id, p, *dek));
  row.canary = old.canary;
  row.seq = old.seq;
  MV_RETURN_IF_ERROR(data_.UpdatePatient(row, IndexEntries(*keys, p)));
  return p;
}

Status Patients::Shred(const std::string& practice_id, const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(auto row, data_.GetPatient(practice_id, patient_id));
  MV_RETURN_IF_ERROR(keyring_.ShredPatientDek(practice_id, patient_id));
  return data_.DeletePatient(practice_id, patient_id);
}

Result<PatientPage> Patients::List(const std::string& practice_id, int64_t after, size_t count,
                                   FieldGroupMask groups) {
  MV_ASSIGN_OR_RETURN(auto rows, data_.ListPatients(practice_id, after, count + 1));
  PatientPage page;
  for (size_t i = 0; i < rows.size() && i < count; ++i) {
    MV_ASSIGN_OR_RETURN(Patient p, Open(rows[i], groups));
    page.patients.push_back(std::move(p));
    page.canary.push_back(rows[i].canary);
  }
  if (rows.size() > count) page.next_cursor = rows[count - 1].seq;
  return page;
}

Result<PatientPage> Patients::Search(const std::string& practice_id, const PatientQuery& q,
                                     int64_t after, size_t count, FieldGroupMask groups) {
  if (q.empty()) return InvalidArgument("search: no parameter given");
  MV_ASSIGN_OR_RETURN(auto keys, keyring_.Practice(practice_id));
  // Candidates from the most selective column given.
  std::vector<std::pair<IndexColumn, std::string>> columns;
  if (!q.nir.empty()) columns.emplace_back(IndexColumn::kNir, CanonicalNir(q.nir));
  if (q.birth_date) columns.emplace_back(IndexColumn::kBirthDate, FormatDate(*q.birth_date));
  if (!q.family.empty()) columns.emplace_back(IndexColumn::kFamily, FoldForSearch(q.family));
  if (!q.given.empty()) columns.emplace_back(IndexColumn::kGiven, FoldForSearch(q.given));
  std::vector<std::string> candidates;
  bool first = true;
  for (const auto& [column, folded] : columns) {
    MV_ASSIGN_OR_RETURN(auto ids, data_.FindByToken(practice_id, static_cast<uint8_t>(column),
                                                    keys->indexer.Token(column, folded)));
    if (first) {
      candidates = std::move(ids);
      first = false;
    } else {
      std::unordered_set<std::string> keep(ids.begin(), ids.end());
      std::erase_if(candidates, [&](const std::string& id) { return !keep.contains(id); });
    }
  }
  // Confirm by decryption, in list order, resuming after the cursor.
  const FieldGroupMask confirm = MaskOf(FieldGroup::kIdentity) |
                                 (q.nir.empty() ? 0 : MaskOf(FieldGroup::kInsurance));
  std::vector<store::PatientRow> rows;
  bool any_canary = false;
  for (const auto& id : candidates) {
    MV_ASSIGN_OR_RETURN(auto row, data_.GetPatient(practice_id, id));
    any_canary = any_canary || row.canary;
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(),
            [](const store::PatientRow& a, const store::PatientRow& b) { return a.seq < b.seq; });
  // Canaries show only in a family-only or birth-date-only result of at least K rows (counting
  // the whole result, not this page), where they are interleaved at spacing K; never in a
  // narrower search (docs/canaries.md).
  bool hide_canaries = false;
  const size_t spacing = placer_ == nullptr ? 0 : placer_->spacing();
  if (any_canary && spacing > 0) {
    const bool family_only = !q.family.empty() && q.given.empty() && !q.birth_date && q.nir.empty();
    const bool date_only = q.birth_date && q.family.empty() && q.given.empty() && q.nir.empty();
    hide_canaries = true;
    if (family_only || date_only) {
      size_t matches = 0;
      for (const auto& row : rows) {
        MV_ASSIGN_OR_RETURN(Patient probe, Open(row, confirm));
        if (Matches(probe, q) && ++matches >= spacing) {
          hide_canaries = false;
          break;
        }
      }
    }
  }
  std::erase_if(rows, [&](const store::PatientRow& row) {
    return row.seq <= after || (hide_canaries && row.canary);
  });
  PatientPage page;
  int64_t last_seq = after;
  for (const auto& row : rows) {
    MV_ASSIGN_OR_RETURN(Patient probe, Open(row, confirm));
    if (!Matches(probe, q)) continue;
    if (page.patients.size() == count) {  // one more match exists beyond this page
      page.next_cursor = last_seq;
      break;
    }
    MV_ASSIGN_OR_RETURN(Patient p, Open(row, groups));
    page.patients.push_back(std::move(p));
    page.canary.push_back(row.canary);
    last_seq = row.seq;
  }
  return page;
}

}  // namespace medvault::vault
