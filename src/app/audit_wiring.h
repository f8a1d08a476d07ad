#pragma once
// Adapters between the API's hooks (api/hooks.h) and the real modules: the access log (audit/),
// the keyring (audit keys) and the note classifier (notes/); and how local commands record their
// bulk decryptions in the access log.
// Thread-safety: all adapters are thread-safe.
#include <cstddef>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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

// Builds the classifier on a background thread of its own (compiling the lexicons takes seconds,
// minutes under sanitizers, when the database cache misses) so that the server starts at once; the
// first note written waits for it. A classifier that fails to load stops the server (serve.cc); a
// note written before that ends the process rather than be stored unclassified.
// A stop never waits for the load: Loading() says whether it still runs, and the destructor then
// leaves the thread to the process's end (serve exits without unwinding in that case).
// Thread-safety: Classify and Loading may be called from any thread.
class ClassifierAdapter final : public api::NoteClassifier {
 public:
  // `on_loaded` (optional) runs on the loading thread once the load has ended, with its status.
  explicit ClassifierAdapter(std::function<void(const Status&)> on_loaded = nullptr);
  ~ClassifierAdapter() override;
  ClassifierAdapter(const ClassifierAdapter&) = delete;
  ClassifierAdapter& operator=(const ClassifierAdapter&) = delete;

  api::Classification Classify(std::string_view text) override;
  // Whether the load (and `on_loaded`) has not finished yet.
  bool Loading() const;

 private:
  using Loaded = Result<std::shared_ptr<const notes::Classifier>>;
  // Shared with the loading thread, which may outlive this object (see above).
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Loaded> loaded;  // GUARDED_BY(mu)
    bool done = false;             // GUARDED_BY(mu): loaded, and on_loaded returned
  };
  const Loaded& Wait();

  std::shared_ptr<State> state_;
  std::thread loader_;
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
