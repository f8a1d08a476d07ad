#pragma once
// Storage of the access log (src/audit): the entries, the integrated tiles of the Merkle tree,
// every checkpoint ever signed and the witnesses' cosignatures. Kept in its own database (the
// vault's log.db), separate from the data and key stores, and used append-only: nothing here is
// ever updated or deleted by medvault.
//
// Entries are opaque byte strings (audit/leaf.h defines them); indexes start at 0 and are dense.
// Tiles are full C2SP tlog-tiles tiles (256 hashes of 32 bytes); partial tiles are never stored.
//
// Errors: Internal for I/O or engine failures, Unavailable when the backend is busy past its
// timeout, IntegrityError when the stored data is not what this interface promises (a gap in the
// entry indexes), InvalidArgument for malformed arguments.
// Thread-safety: implementations are thread-safe; reads may run in parallel with one writer.
// Every write is one transaction, applied whole or not at all, and durable when it returns OK.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/status.h"

namespace medvault::store {

inline constexpr size_t kLogTileHashes = 256;
inline constexpr size_t kLogTileBytes = kLogTileHashes * 32;

struct LogTileRow {
  int level = 0;
  uint64_t index = 0;
  Bytes hashes;  // exactly kLogTileBytes
};

struct LogCheckpointRow {
  uint64_t tree_size = 0;
  UnixMicros signed_at = 0;
  std::string note;  // the complete signed note (C2SP tlog-checkpoint)
};

// One row of the patient index: the leaf at `leaf_index` names `patient_id` (a random id, never a
// patient field).
struct PatientLeafRow {
  std::string patient_id;
  uint64_t leaf_index = 0;
};

struct LogCosignatureRow {
  uint64_t tree_size = 0;
  std::string witness;  // the witness key name
  std::string line;     // the signature line, "— name base64(...)\n"
};

// The right to integrate the log (build its tiles and sign its checkpoints), held by one process
// at a time among all those appending to one store. Released on destruction, or when the holder's
// process dies. Thread-safety: one owner.
class IntegratorLease {
 public:
  virtual ~IntegratorLease() = default;
  // Whether the lease is still held. On PostgreSQL this is one round trip on the lease's own
  // session: false once that session is gone (then another process may hold the lease).
  virtual bool StillHeld() = 0;
};

class LogStore {
 public:
  virtual ~LogStore() = default;

  // Whether several processes may append to this store at once. When true, appends from every
  // process are serialised by the store (indexes stay dense) and a process integrating the log
  // must read back the entries the others appended; only the holder of the integrator lease
  // integrates. When false (SQLite), one process at a time opens the log for writing (the vault's
  // log.lock) and it always holds the lease.
  virtual bool SharedAppends() const { return false; }
  // The integrator lease, or nullptr if another process holds it. The default, for stores that
  // only one process writes, always grants it.
  // Errors: Unavailable if the backend cannot be reached.
  virtual Result<std::unique_ptr<IntegratorLease>> TryAcquireIntegratorLease();

  // Appends `entries` in one transaction and returns the index of the first one; the others
  // follow it densely. Durable (fsynced) when it returns OK. REQUIRES: !entries.empty().
  virtual Result<uint64_t> AppendEntries(std::span<const Bytes> entries) = 0;
  // The number of entries (the index the next append receives).
  virtual Result<uint64_t> EntryCount() = 0;
  // Entries [start, start + count), fewer if the log ends first. IntegrityError naming the index
  // if an index inside the range is missing while a later one exists.
  virtual Result<std::vector<Bytes>> ReadEntries(uint64_t start, uint64_t count) = 0;

  // Stores full tiles in one transaction. Storing a tile that exists with the same hashes is a
  // no-op; with different hashes, IntegrityError (a tile never changes).
  virtual Status PutTiles(std::span<const LogTileRow> tiles) = 0;
  // The full tile, or nullopt if it was not stored.
  virtual Result<std::optional<Bytes>> GetTile(int level, uint64_t index) = 0;
  // Number of tiles stored at `level` (they are stored in order: indexes 0..count-1).
  virtual Result<uint64_t> TileCount(int level) = 0;

  // Keeps a signed checkpoint forever. Checkpoints are kept in signing order. A store with
  // SharedAppends() refuses, with FailedPrecondition, a checkpoint smaller than one it holds.
  virtual Status AddCheckpoint(const LogCheckpointRow& row) = 0;
  // The most recently added checkpoint, or nullopt.
  virtual Result<std::optional<LogCheckpointRow>> LatestCheckpoint() = 0;
  // Every checkpoint, in signing order.
  virtual Result<std::vector<LogCheckpointRow>> ListCheckpoints() = 0;

  // Keeps a witness cosignature of the checkpoint of `tree_size`.
  virtual Status AddCosignature(const LogCosignatureRow& row) = 0;
  virtual Result<std::vector<LogCosignatureRow>> ListCosignatures(uint64_t tree_size) = 0;

  // The patient index (audit/patient_index.h): derived from the entries, appended in order.
  // AppendPatientIndex records that entries [from, to) are indexed, with their `rows`, in one
  // transaction. FailedPrecondition (and nothing written) unless `from` equals PatientIndexSize()
  // (another indexer got there first) and from <= to; InvalidArgument for a row outside [from, to).
  virtual Status AppendPatientIndex(uint64_t from, uint64_t to,
                                    std::span<const PatientLeafRow> rows) = 0;
  // Number of entries indexed so far (0 when never indexed).
  virtual Result<uint64_t> PatientIndexSize() = 0;
  // The indexed leaves naming `patient_id`, ascending.
  virtual Result<std::vector<uint64_t>> PatientLeaves(const std::string& patient_id) = 0;

  // Number of durable write transactions committed so far (each is one fsync of the journal);
  // lets tests and benchmarks check that concurrent appends share fsyncs.
  virtual uint64_t SyncCount() const = 0;
};

}  // namespace medvault::store
