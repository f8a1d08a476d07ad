#pragma once
// Adapters between the API's hooks (api/hooks.h) and the real modules: the access log (audit/),
// the keyring (audit keys) and the note classifier (notes/); and how local commands record their
// bulk decryptions in the access log.
// Thread-safety: all adapters are thread-safe.
#include <cstddef>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/hooks.h"
#include "audit/access_log.h"
#include "audit/leaf.h"
#include "audit/patient_index.h"
#include "core/field_group.h"
#include "notes/classifier.h"
#include "store/log_store.h"
#include "vault/keyring.h"

namespace medvault::app {

class VaultContext;

// Practice audit keys come from the keyring; "vault" is the vault-wide audit key.
class KeyringAuditKeys final : public audit::AuditKeyProvider {
 public:
  explicit KeyringAuditKeys(vault::Keyring& keyring) : keyring_(keyring) {}
  Result<crypto::SecretKey> AuditKey(const std::string& key_id) override;

 private:
  vault::Keyring& keyring_;
};

audit::Leaf LeafFromRecord(const api::AccessRecord& rec);

// Every access record becomes a leaf; the callback fires when the leaf's batch is durable.
class AccessLogSink final : public api::AuditSink {
 public:
  explicit AccessLogSink(audit::AccessLog& log) : log_(log) {}
  void Record(api::AccessRecord rec, std::function<void(Status)> on_durable) override;

 private:
  audit::AccessLog& log_;
};

// A patient's access history, read back from the log: every leaf of the practice (or of any
// practice when practice_id is empty) naming the patient, found through the log's patient index
// (audit/patient_index.h), which it catches up first.
class LogAuditQuery final : public api::AuditQuery {
 public:
  LogAuditQuery(store::LogStore& store, audit::AuditKeyProvider& keys) : index_(store, keys) {}
  Result<std::vector<api::AccessEventView>> ForPatient(const std::string& practice_id,
                                                       const std::string& patient_id) override;
  audit::PatientIndex& index() { return index_; }

 private:
  audit::PatientIndex index_;
};

// The view of one leaf in a patient's access history.
api::AccessEventView EventViewFromLeaf(const audit::Leaf& leaf);

// Builds the classifier on a background thread (compiling the lexicons into one Hyperscan
// database takes seconds) so that the server starts at once; the first note written waits for it.
// A classifier that fails to load makes every note write fail rather than pass unclassified.
class ClassifierAdapter final : public api::NoteClassifier {
 public:
  ClassifierAdapter();
  api::Classification Classify(std::string_view text) override;
  // Waits for the classifier; its load status.
  Status Ready();

 private:
  std::shared_future<Result<std::shared_ptr<const notes::Classifier>>> classifier_;
};

// A bulk decryption by a local command (not through the API), as its access-log leaves name it.
struct BulkDecryption {
  std::string account;        // who: "cli:notes-scan"
  std::string action;         // what: "notes.scan"
  std::string resource_type;  // the FHIR type of what is decrypted: "DocumentReference"
  FieldGroupMask field_groups = 0;  // MaskOf(...) of the field groups decrypted
};

// Patients named by one leaf of RecordBulkDecryption at most.
inline constexpr std::size_t kBulkPatientsPerLeaf = 1000;

// Records in the vault's access log, before anything is decrypted, that a local command is about
// to decrypt the data of `patients` (practice id → patient ids): one leaf per practice (in key
// order) and per kBulkPatientsPerLeaf patients (in the order given), each with `what`, role
// security, source "local", outcome 200 and the vault clock's current time. Opens the vault's log
// store and runs an AccessLog over it for the duration of the call, signing with the vault's log
// key; the caller must hold the log writer lock (log_writer_lock.h) so that it is the only writer.
// `*leaves` (if given) is increased by the number of leaves appended.
// Errors: those of opening the log store, reading the signing key and starting the log, then the
// first failed append (the leaves appended before it stay in the log).
[[nodiscard]] Status RecordBulkDecryption(
    VaultContext& vault, const BulkDecryption& what,
    const std::map<std::string, std::vector<std::string>>& patients, int64_t* leaves = nullptr);

}  // namespace medvault::app
