#include "audit/patient_index.h"

#include <algorithm>

namespace medvault::audit {

Result<uint64_t> PatientIndex::CatchUp() {
  std::lock_guard<std::mutex> lock(mu_);
  MV_ASSIGN_OR_RETURN(uint64_t indexed, store_.PatientIndexSize());
  MV_ASSIGN_OR_RETURN(uint64_t size, store_.EntryCount());
  bool retried = false;
  while (indexed < size) {
    const uint64_t n = std::min(kChunk, size - indexed);
    MV_ASSIGN_OR_RETURN(std::vector<Bytes> entries, store_.ReadEntries(indexed, n));
    if (entries.size() != n) return Internal("patient index: the log shrank while indexing");
    std::vector<store::PatientLeafRow> rows;
    for (uint64_t i = 0; i < n; ++i) {
      MV_ASSIGN_OR_RETURN(EntryHeader header, ParseEntryHeader(entries[i]));
      if (header.key_id == kVaultKeyId) continue;
      Result<Leaf> leaf = OpenLeaf(entries[i], keys_);
      if (!leaf.ok()) {
        return leaf.status().WithContext("patient index: entry " + std::to_string(indexed + i));
      }
      ++opened_;
      for (const std::string& id : leaf->patient_ids) rows.push_back({id, indexed + i});
    }
    Status s = store_.AppendPatientIndex(indexed, indexed + n, rows);
    if (s.code() == Code::kFailedPrecondition && !retried) {
      // Another indexer (another node) moved the index: resume from where it is now.
      retried = true;
      MV_ASSIGN_OR_RETURN(indexed, store_.PatientIndexSize());
      continue;
    }
    MV_RETURN_IF_ERROR(s);
    indexed += n;
  }
  return indexed;
}

Result<std::vector<Leaf>> PatientIndex::ForPatient(const std::string& practice_id,
                                                   const std::string& patient_id) {
  MV_RETURN_IF_ERROR(CatchUp().status());
  MV_ASSIGN_OR_RETURN(std::vector<uint64_t> indexes, store_.PatientLeaves(patient_id));
  std::vector<Leaf> out;
  out.reserve(indexes.size());
  for (uint64_t index : indexes) {
    MV_ASSIGN_OR_RETURN(std::vector<Bytes> entry, store_.ReadEntries(index, 1));
    if (entry.size() != 1) return IntegrityError("patient index names a missing log entry");
    MV_ASSIGN_OR_RETURN(EntryHeader header, ParseEntryHeader(entry[0]));
    if (!practice_id.empty() && header.key_id != practice_id) continue;
    MV_ASSIGN_OR_RETURN(Leaf leaf, OpenLeaf(entry[0], keys_));
    if (std::find(leaf.patient_ids.begin(), leaf.patient_ids.end(), patient_id) ==
        leaf.patient_ids.end()) {
      return IntegrityError("patient index names a leaf that does not name the patient");
    }
    out.push_back(std::move(leaf));
  }
  return out;
}

Result<std::vector<Leaf>> ScanLogForPatient(store::LogStore& store, AuditKeyProvider& keys,
                                            const std::string& practice_id,
                                            const std::string& patient_id) {
  constexpr uint64_t kScanChunk = 4096;
  std::vector<Leaf> out;
  MV_ASSIGN_OR_RETURN(uint64_t size, store.EntryCount());
  for (uint64_t start = 0; start < size; start += kScanChunk) {
    MV_ASSIGN_OR_RETURN(auto entries, store.ReadEntries(start, std::min(kScanChunk, size - start)));
    for (const auto& entry : entries) {
      MV_ASSIGN_OR_RETURN(EntryHeader header, ParseEntryHeader(entry));
      if (header.key_id == kVaultKeyId) continue;
      if (!practice_id.empty() && header.key_id != practice_id) continue;
      MV_ASSIGN_OR_RETURN(Leaf leaf, OpenLeaf(entry, keys));
      if (std::find(leaf.patient_ids.begin(), leaf.patient_ids.end(), patient_id) !=
          leaf.patient_ids.end()) {
        out.push_back(std::move(leaf));
      }
    }
  }
  return out;
}

uint64_t PatientIndex::opened_for_indexing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return opened_;
}

}  // namespace medvault::audit
