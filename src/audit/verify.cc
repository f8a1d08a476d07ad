#include "audit/verify.h"

#include <algorithm>
#include <future>
#include <map>

#include "audit/leaf.h"
#include "audit/tiles.h"
#include "core/file.h"

namespace medvault::audit {
namespace {

constexpr uint64_t kReadChunk = 4096;

// Collects problems and reports the first bad index. A problem is exact (this leaf, or the first
// leaf under this tile hash, is wrong) or a range (a checkpoint of size `hi` does not match while
// one of size `lo` did: some leaf in [lo, hi) is wrong). A range that holds an exact problem is
// explained by it; otherwise its first index is the first index nothing vouches for.
class FirstBad {
 public:
  void Note(uint64_t index, std::string reason) { exact_.push_back({index, index + 1, reason}); }
  void NoteRange(uint64_t lo, uint64_t hi, std::string reason) {
    ranges_.push_back({lo, hi, std::move(reason)});
  }
  bool found() const { return !exact_.empty() || !ranges_.empty(); }
  Status ToStatus() const {
    const Problem* first = nullptr;
    auto consider = [&](const Problem& p) {
      if (first == nullptr || p.lo < first->lo) first = &p;
    };
    for (const Problem& p : exact_) consider(p);
    for (const Problem& range : ranges_) {
      bool explained = false;
      for (const Problem& p : exact_) explained = explained || (p.lo >= range.lo && p.lo < range.hi);
      if (!explained) consider(range);
    }
    return IntegrityError("first bad index " + std::to_string(first->lo) + ": " + first->reason);
  }

 private:
  struct Problem {
    uint64_t lo;
    uint64_t hi;
    std::string reason;
  };
  std::vector<Problem> exact_;
  std::vector<Problem> ranges_;
};

struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string note;
  std::string label;  // "checkpoint 3" or "external checkpoint 1", for messages
};

int Shift(int level) { return kTileHeight * level; }

// Verifies every note's signature under `log_key` with the key name its origin gives; every
// origin must be the same.
Result<std::vector<SignedCheckpoint>> OpenAll(const std::vector<std::string>& notes,
                                              const std::vector<std::string>& labels,
                                              const crypto::PublicKey& log_key) {
  std::vector<SignedCheckpoint> out;
  std::string origin;
  for (size_t i = 0; i < notes.size(); ++i) {
    Result<ParsedNote> parsed = ParseNote(notes[i]);
    if (!parsed.ok()) return IntegrityError(labels[i] + ": " + parsed.status().message());
    Result<Checkpoint> text = ParseCheckpointText(parsed->text);
    if (!text.ok()) return IntegrityError(labels[i] + ": " + text.status().message());
    if (i == 0) origin = text->origin;
    if (text->origin != origin) {
      return IntegrityError(labels[i] + ": origin " + text->origin + " differs from " + origin);
    }
    Result<Checkpoint> opened = OpenCheckpoint(notes[i], MakeNoteVerifier(origin, log_key));
    if (!opened.ok()) return IntegrityError(labels[i] + ": " + opened.status().message());
    out.push_back({*opened, notes[i], labels[i]});
  }
  return out;
}

std::string TileName(int level, uint64_t index) {
  return std::to_string(level) + "/" + std::to_string(index);
}

// Compares a rebuilt full tile with the stored bytes; notes the first differing hash.
void CompareTile(const store::LogTileRow& rebuilt, ByteView stored, FirstBad& bad,
                 std::string_view what) {
  if (stored.size() != rebuilt.hashes.size()) {
    bad.Note(rebuilt.index << Shift(rebuilt.level + 1),
             std::string(what) + " " + TileName(rebuilt.level, rebuilt.index) +
                 " has the wrong size");
    return;
  }
  for (size_t j = 0; j < kTileWidth; ++j) {
    if (!std::equal(stored.begin() + static_cast<ptrdiff_t>(j * kHashSize),
                    stored.begin() + static_cast<ptrdiff_t>((j + 1) * kHashSize),
                    rebuilt.hashes.begin() + static_cast<ptrdiff_t>(j * kHashSize))) {
      bad.Note((rebuilt.index * kTileWidth + j) << Shift(rebuilt.level),
               std::string(what) + " " + TileName(rebuilt.level, rebuilt.index) +
                   " differs from the recomputed tree at hash " + std::to_string(j));
      return;
    }
  }
}

// Reads entries [start, start + n) or finds the first missing one.
Result<std::vector<Bytes>> ReadChunk(store::LogStore& store, uint64_t start, uint64_t n,
                                     FirstBad& bad) {
  Result<std::vector<Bytes>> entries = store.ReadEntries(start, n);
  if (entries.ok() || entries.status().code() != Code::kIntegrity) return entries;
  std::vector<Bytes> partial;
  for (uint64_t i = start; i < start + n; ++i) {
    Result<std::vector<Bytes>> one = store.ReadEntries(i, 1);
    if (!one.ok() || one->empty()) {
      bad.Note(i, "log entry " + std::to_string(i) + " is missing");
      break;
    }
    partial.push_back(std::move(one->front()));
  }
  return partial;
}

std::string B64(const Hash& h) { return Base64Encode(h); }

}  // namespace

std::string VerifyReport::Summary() const {
  return "ok tree_size=" + std::to_string(tree_size) + " root=" + B64(root);
}

Result<VerifyReport> Verify(store::LogStore& store, const crypto::PublicKey& log_key,
                            const VerifyOptions& options) {
  MV_ASSIGN_OR_RETURN(std::vector<store::LogCheckpointRow> rows, store.ListCheckpoints());
  std::vector<std::string> notes;
  std::vector<std::string> labels;
  for (size_t i = 0; i < rows.size(); ++i) {
    notes.push_back(rows[i].note);
    labels.push_back("checkpoint " + std::to_string(i));
  }
  for (size_t i = 0; i < options.extra_checkpoints.size(); ++i) {
    notes.push_back(options.extra_checkpoints[i]);
    labels.push_back("external checkpoint " + std::to_string(i));
  }
  MV_ASSIGN_OR_RETURN(std::vector<SignedCheckpoint> checkpoints, OpenAll(notes, labels, log_key));
  std::stable_sort(checkpoints.begin(), checkpoints.end(),
                   [](const SignedCheckpoint& a, const SignedCheckpoint& b) {
                     return a.checkpoint.size < b.checkpoint.size;
                   });
  uint64_t max_checkpoint = 0;
  for (const SignedCheckpoint& c : checkpoints) {
    max_checkpoint = std::max(max_checkpoint, c.checkpoint.size);
  }

  MV_ASSIGN_OR_RETURN(uint64_t count, store.EntryCount());
  FirstBad bad;
  VerifyReport report;
  TreeBuilder builder;
  size_t next_checkpoint = 0;
  uint64_t vouched = 0;  // the largest size a matching checkpoint vouches for
  auto check_checkpoints = [&] {
    while (next_checkpoint < checkpoints.size() &&
           checkpoints[next_checkpoint].checkpoint.size == builder.size()) {
      const SignedCheckpoint& c = checkpoints[next_checkpoint];
      if (c.checkpoint.root != builder.Root()) {
        bad.NoteRange(vouched, c.checkpoint.size,
                      c.label + " (tree_size=" + std::to_string(c.checkpoint.size) +
                          ") does not match the log's root at that size");
      } else {
        vouched = std::max(vouched, c.checkpoint.size);
      }
      ++report.checkpoints;
      ++next_checkpoint;
    }
  };
  check_checkpoints();
  std::vector<store::LogTileRow> completed;
  // Reading the next chunk from the store and hashing the leaves of this one overlap: the store
  // read runs on a second thread, and the leaf hashes are split between two threads.
  auto read = [&store](uint64_t start, uint64_t n) { return store.ReadEntries(start, n); };
  std::future<Result<std::vector<Bytes>>> next;
  if (count > 0) next = std::async(std::launch::async, read, 0, std::min(kReadChunk, count));
  std::vector<Hash> hashes;
  for (uint64_t start = 0; start < count;) {
    const uint64_t n = std::min(kReadChunk, count - start);
    Result<std::vector<Bytes>> chunk = next.get();
    if (start + n < count) {
      next = std::async(std::launch::async, read, start + n, std::min(kReadChunk, count - start - n));
    }
    if (!chunk.ok() && chunk.status().code() == Code::kIntegrity) {
      chunk = ReadChunk(store, start, n, bad);
    }
    if (!chunk.ok()) {
      if (next.valid()) next.wait();
      return chunk.status();
    }
    const std::vector<Bytes>& entries = *chunk;
    hashes.resize(entries.size());
    const size_t half = entries.size() / 2;
    std::future<void> first_half = std::async(std::launch::async, [&] {
      for (size_t i = 0; i < half; ++i) hashes[i] = HashLeaf(entries[i]);
    });
    for (size_t i = half; i < entries.size(); ++i) hashes[i] = HashLeaf(entries[i]);
    first_half.get();
    for (size_t k = 0; k < entries.size(); ++k) {
      const uint64_t index = builder.size();
      if (!ParseEntryHeader(entries[k]).ok()) {
        bad.Note(index, "entry " + std::to_string(index) + " has a malformed header");
      }
      completed.clear();
      builder.Append(hashes[k], &completed);
      for (const store::LogTileRow& tile : completed) {
        MV_ASSIGN_OR_RETURN(std::optional<Bytes> stored, store.GetTile(tile.level, tile.index));
        if (stored) {
          CompareTile(tile, *stored, bad, "stored tile");
          ++report.tiles;
        } else if (((tile.index + 1) << Shift(tile.level + 1)) <= max_checkpoint) {
          bad.Note(tile.index << Shift(tile.level + 1),
                   "tile " + TileName(tile.level, tile.index) + " covered by a checkpoint is missing");
        }
      }
      check_checkpoints();
    }
    if (options.on_entries) {
      Status s = options.on_entries(start, entries);
      if (!s.ok()) {
        if (next.valid()) next.wait();
        return s;
      }
    }
    if (entries.size() < n) {  // a missing entry: nothing after it can be placed
      if (next.valid()) next.wait();
      break;
    }
    start += n;
  }
  for (size_t i = next_checkpoint; i < checkpoints.size(); ++i) {
    const SignedCheckpoint& c = checkpoints[i];
    bad.Note(builder.size(), c.label + " has tree_size=" + std::to_string(c.checkpoint.size) +
                                 " but the log holds " + std::to_string(builder.size()) +
                                 " entries");
  }
  for (int level = 0; level <= kMaxTileLevel; ++level) {
    MV_ASSIGN_OR_RETURN(uint64_t stored_tiles, store.TileCount(level));
    const uint64_t expected = Shift(level + 1) >= 64 ? 0 : builder.size() >> Shift(level + 1);
    if (stored_tiles > expected) {
      bad.Note(builder.size(), "tile " + TileName(level, expected) +
                                   " is stored beyond the end of the log");
    }
    if (stored_tiles == 0) break;
  }
  if (bad.found()) return bad.ToStatus();
  report.tree_size = builder.size();
  report.root = builder.Root();
  return report;
}

Result<VerifyReport> VerifyTileDirectory(const std::string& dir, std::string_view checkpoint_note,
                                         const NoteVerifier& verifier) {
  MV_ASSIGN_OR_RETURN(Checkpoint checkpoint, OpenCheckpoint(checkpoint_note, verifier));
  const uint64_t size = checkpoint.size;
  FirstBad bad;
  VerifyReport report;
  report.checkpoints = 1;
  TreeBuilder builder;
  std::vector<store::LogTileRow> completed;
  for (uint64_t n = 0; n * kTileWidth < size; ++n) {
    const uint64_t width = std::min<uint64_t>(kTileWidth, size - n * kTileWidth);
    const std::string rel = FormatTilePath({true, 0, n, width});
    Result<std::string> bundle = ReadFile(dir + "/" + rel);
    if (!bundle.ok()) {
      bad.Note(n * kTileWidth, rel + " is missing");
      break;
    }
    Result<std::vector<Bytes>> entries = DecodeEntryBundle(AsBytes(*bundle));
    if (!entries.ok() || entries->size() != width) {
      bad.Note(n * kTileWidth, rel + " does not hold " + std::to_string(width) + " entries");
      break;
    }
    for (const Bytes& entry : *entries) {
      completed.clear();
      builder.Append(HashLeaf(entry), &completed);
      for (const store::LogTileRow& tile : completed) {
        const std::string tile_rel = FormatTilePath({false, tile.level, tile.index, kTileWidth});
        Result<std::string> stored = ReadFile(dir + "/" + tile_rel);
        if (!stored.ok()) continue;  // upper tiles are redundant with the entries
        CompareTile(tile, AsBytes(*stored), bad, "tile");
        ++report.tiles;
      }
    }
  }
  if (!bad.found()) {
    for (int level = 0; level <= kMaxTileLevel; ++level) {
      std::span<const Hash> pending = builder.Pending(level);
      if (pending.empty()) continue;
      const uint64_t index = (builder.size() >> Shift(level)) / kTileWidth;
      const std::string rel = FormatTilePath({false, level, index, pending.size()});
      Result<std::string> stored = ReadFile(dir + "/" + rel);
      if (!stored.ok()) continue;
      ++report.tiles;
      const Bytes expected = TileBytes(pending);
      if (AsBytes(*stored).size() != expected.size() ||
          !std::equal(expected.begin(), expected.end(), AsBytes(*stored).begin())) {
        bad.Note(index << Shift(level + 1), "partial tile " + rel + " differs from the entries");
      }
    }
  }
  if (bad.found()) return bad.ToStatus();
  if (builder.Root() != checkpoint.root) {
    return IntegrityError("the entries' root does not match the checkpoint (tree_size=" +
                          std::to_string(size) + ")");
  }
  report.tree_size = size;
  report.root = checkpoint.root;
  return report;
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return 0;
    case Code::kInvalidArgument:
    case Code::kNotFound: return 1;
    case Code::kIntegrity: return 3;
    default: return 2;
  }
}

int RunAuditVerify(store::LogStore& store, const crypto::PublicKey& log_key, std::ostream& out,
                   std::ostream& err) {
  Result<VerifyReport> report = Verify(store, log_key);
  if (!report.ok()) {
    err << "audit verify: " << report.status().message() << "\n";
    return ExitCodeFor(report.status());
  }
  out << report->Summary() << "\n";
  return 0;
}

int RunAuditVerify(store::LogStore& store, const crypto::PublicKey& log_key,
                   std::span<const WitnessKey> witnesses, std::ostream& out, std::ostream& err) {
  const int verified = RunAuditVerify(store, log_key, out, err);
  if (verified != 0) return verified;
  auto fail = [&](const Status& s) {
    err << "audit verify: " << s.message() << "\n";
    return ExitCodeFor(s);
  };
  Result<std::vector<store::LogCheckpointRow>> rows = store.ListCheckpoints();
  if (!rows.ok()) return fail(rows.status());
  struct Line {
    std::string witness;
    uint64_t time = 0;
    bool checked = false;
  };
  uint64_t latest_cosigned = 0;
  std::vector<Line> latest_lines;
  size_t stored = 0;
  size_t checked = 0;
  uint64_t previous_size = 0;
  bool first = true;
  for (const store::LogCheckpointRow& row : *rows) {
    // A size can have been signed once only; checkpoints come in signing order.
    if (!first && row.tree_size == previous_size) continue;
    first = false;
    previous_size = row.tree_size;
    Result<std::vector<store::LogCosignatureRow>> cosignatures =
        store.ListCosignatures(row.tree_size);
    if (!cosignatures.ok()) return fail(cosignatures.status());
    if (cosignatures->empty()) continue;
    Result<ParsedNote> note = ParseNote(row.note);
    if (!note.ok()) return fail(note.status());
    std::vector<Line> lines;
    for (const store::LogCosignatureRow& c : *cosignatures) {
      ++stored;
      Line line{c.witness, 0, false};
      for (const WitnessKey& w : witnesses) {
        if (w.name != c.witness) continue;
        Result<uint64_t> time = VerifyCosignatureLine(c.line, w.name, w.key, note->text);
        if (!time.ok()) {
          return fail(IntegrityError("cosignature by " + c.witness + " of tree_size=" +
                                     std::to_string(row.tree_size) + " does not verify"));
        }
        line.time = *time;
        line.checked = true;
        ++checked;
      }
      lines.push_back(std::move(line));
    }
    latest_cosigned = row.tree_size;
    latest_lines = std::move(lines);
  }
  if (stored == 0 && witnesses.empty()) return 0;
  out << "cosigned tree_size=" << latest_cosigned << " witnesses=" << latest_lines.size() << "\n";
  for (const Line& l : latest_lines) {
    out << "cosignature witness=" << l.witness << " tree_size=" << latest_cosigned
        << " time=" << l.time << (l.checked ? " verified" : " unchecked") << "\n";
  }
  out << "cosignatures checked=" << checked << "\n";
  return 0;
}

namespace {

struct ProofContext {
  std::map<uint64_t, SignedCheckpoint> by_size;  // the latest signed checkpoint of each size
  uint64_t latest_size = 0;
  bool any = false;
};

Result<ProofContext> LoadCheckpoints(store::LogStore& store, const crypto::PublicKey& log_key) {
  MV_ASSIGN_OR_RETURN(std::vector<store::LogCheckpointRow> rows, store.ListCheckpoints());
  std::vector<std::string> notes;
  std::vector<std::string> labels;
  for (size_t i = 0; i < rows.size(); ++i) {
    notes.push_back(rows[i].note);
    labels.push_back("checkpoint " + std::to_string(i));
  }
  MV_ASSIGN_OR_RETURN(std::vector<SignedCheckpoint> opened, OpenAll(notes, labels, log_key));
  ProofContext context;
  for (SignedCheckpoint& c : opened) {
    context.latest_size = c.checkpoint.size;
    context.any = true;
    context.by_size[c.checkpoint.size] = std::move(c);
  }
  return context;
}

// The root at `size`, checked against the checkpoint of that size if there is one.
Result<Hash> CheckedRoot(StoredTree& tree, const ProofContext& context, uint64_t size) {
  MV_ASSIGN_OR_RETURN(Hash root, RootAt(tree, size));
  auto it = context.by_size.find(size);
  if (it != context.by_size.end() && it->second.checkpoint.root != root) {
    return IntegrityError("the log's root at tree_size=" + std::to_string(size) +
                          " differs from its signed checkpoint");
  }
  return root;
}

void PrintHashes(std::ostream& out, const std::vector<Hash>& proof) {
  out << "proof " << proof.size() << "\n";
  for (const Hash& h : proof) out << B64(h) << "\n";
}

void PrintCheckpoint(std::ostream& out, const ProofContext& context, uint64_t size) {
  auto it = context.by_size.find(size);
  if (it == context.by_size.end()) return;
  out << "checkpoint\n" << it->second.note;
}

Status InclusionOutput(store::LogStore& store, const ProofContext& context, uint64_t index,
                       uint64_t size, std::ostream& out) {
  MV_ASSIGN_OR_RETURN(uint64_t count, store.EntryCount());
  if (size > count) {
    return InvalidArgument("tree size " + std::to_string(size) + " exceeds the log (" +
                           std::to_string(count) + " entries)");
  }
  if (index >= size) {
    return InvalidArgument("index " + std::to_string(index) + " is not below tree size " +
                           std::to_string(size));
  }
  StoredTree tree(store);
  MV_ASSIGN_OR_RETURN(Hash root, CheckedRoot(tree, context, size));
  MV_ASSIGN_OR_RETURN(std::vector<Hash> proof, InclusionProof(tree, index, size));
  MV_ASSIGN_OR_RETURN(std::vector<Bytes> entry, store.ReadEntries(index, 1));
  if (entry.empty()) return IntegrityError("log entry " + std::to_string(index) + " is missing");
  const Hash leaf_hash = HashLeaf(entry[0]);
  MV_RETURN_IF_ERROR(VerifyInclusion(index, size, leaf_hash, proof, root));
  out << "inclusion\nindex " << index << "\ntree_size " << size << "\nleaf_hash "
      << B64(leaf_hash) << "\nroot " << B64(root) << "\n";
  PrintHashes(out, proof);
  PrintCheckpoint(out, context, size);
  return Status::Ok();
}

Status ConsistencyOutput(store::LogStore& store, const ProofContext& context, uint64_t from,
                         uint64_t to, std::ostream& out) {
  MV_ASSIGN_OR_RETURN(uint64_t count, store.EntryCount());
  if (from > to || to > count) {
    return InvalidArgument("need from <= to <= " + std::to_string(count) + " (the log's size)");
  }
  StoredTree tree(store);
  MV_ASSIGN_OR_RETURN(Hash old_root, CheckedRoot(tree, context, from));
  MV_ASSIGN_OR_RETURN(Hash new_root, CheckedRoot(tree, context, to));
  MV_ASSIGN_OR_RETURN(std::vector<Hash> proof, ConsistencyProof(tree, from, to));
  MV_RETURN_IF_ERROR(VerifyConsistency(from, to, old_root, new_root, proof));
  out << "consistency\nfrom " << from << "\nto " << to << "\nold_root " << B64(old_root)
      << "\nnew_root " << B64(new_root) << "\n";
  PrintHashes(out, proof);
  PrintCheckpoint(out, context, to);
  return Status::Ok();
}

}  // namespace

int RunAuditProof(store::LogStore& store, const crypto::PublicKey& log_key,
                  const ProofRequest& request, std::ostream& out, std::ostream& err) {
  const bool inclusion = request.index.has_value() && !request.from && !request.to;
  const bool consistency =
      request.from.has_value() && request.to.has_value() && !request.index && !request.size;
  if (inclusion == consistency) {
    err << "usage: medvault audit proof --index N [--size M] | --from A --to B\n";
    return 1;
  }
  Result<ProofContext> context = LoadCheckpoints(store, log_key);
  Status s = context.status();
  if (s.ok() && inclusion) {
    if (!request.size && !context->any) {
      s = NotFound("no signed checkpoint yet; pass --size");
    } else {
      s = InclusionOutput(store, *context, *request.index,
                          request.size.value_or(context->latest_size), out);
    }
  } else if (s.ok()) {
    s = ConsistencyOutput(store, *context, *request.from, *request.to, out);
  }
  if (!s.ok()) {
    err << "audit proof: " << s.message() << "\n";
    return ExitCodeFor(s);
  }
  return 0;
}

}  // namespace medvault::audit
