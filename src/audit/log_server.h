#pragma once
// The public, read-only face of the access log (CONTRACT.md "Log"): a pure function from a
// request path to the bytes to serve. The HTTP layer maps GET /log/<path> to ServeLogPath and
// an error to its status; nothing here needs a session, and nothing served reveals patient data
// (entries are sealed, docs/formats/leaf.md).
//
//   checkpoint                 the latest signed checkpoint (text/plain; charset=utf-8)
//   key                        the note verifier key "name+keyid+base64(0x01||pubkey)"
//   tile/<L>/<N>[.p/<W>]       Merkle tiles (application/octet-stream)
//   tile/entries/<N>[.p/<W>]   entry bundles (application/octet-stream)
//
// Paths may carry the "/log/" prefix or not. Tiles and bundles are served only within the
// latest checkpoint's tree size (a client must never see a tree the log has not signed).
//
// Errors: NotFound for a malformed path or a resource outside the checkpointed tree (HTTP 404);
// store errors otherwise (Internal, Unavailable; HTTP 500/503).
// Thread-safety: thread-safe if the store is.
#include <string>
#include <string_view>

#include "audit/note.h"
#include "core/bytes.h"
#include "core/status.h"
#include "store/log_store.h"

namespace medvault::audit {

struct LogResponse {
  std::string content_type;
  std::string cache_control;  // "no-cache" for the checkpoint, long-lived for immutable tiles
  Bytes body;
};

Result<LogResponse> ServeLogPath(store::LogStore& store, const NoteVerifier& verifier,
                                 std::string_view path);

// Writes, under `dir`, every file a client needs to verify the latest checkpoint offline:
// "checkpoint", "key", and every tile and entry bundle of its tree, at the paths they are served
// under (the layout of docs/formats/tiles.md). Returns the checkpoint's tree size.
Result<uint64_t> ExportTileDirectory(store::LogStore& store, const NoteVerifier& verifier,
                                     const std::string& dir);

}  // namespace medvault::audit
