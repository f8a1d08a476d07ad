#pragma once
// `medvault breach match`: which of our patients a leaked dump contains, from which practices, and
// through which accounts it was taken (docs/breach-match.md).
//
// Each dump (app/dump_parse.h) is read row by row. For every practice, the row's values are
// folded as the blind index folds them and turned into that practice's tokens; the tokens select
// candidate patients (store::DataStore::FindByToken), and only candidates whose tokens already
// agree on enough fields are decrypted and compared. A row matches a patient when the decrypted
// values confirm one of: the NIR; family name + given name + birth date; family name + phone or
// e-mail; given name + birth date + phone or e-mail. A canary patient also matches on its NIR,
// phone or e-mail alone (its contact data exists nowhere else). A row whose best confirmation is
// shared by two patients of one practice is ambiguous and matches neither.
//
// Canaries found in the dump are looked up in the access log (through its patient index): the
// accounts that received their identity or contact are the accounts the dump was taken through;
// a practice's canary that no account ever received points to the practice's stored data (a copied
// database or backup) rather than to the API.
//
// Every patient decrypted is recorded in the access log (action "breach.match", one leaf per
// practice and per 1,000 patients) before the report is printed.
#include <iosfwd>
#include <string>
#include <vector>

#include "app/dump_parse.h"
#include "app/vault_context.h"
#include "audit/leaf.h"

namespace medvault::app {

struct MatchRequest {
  std::string data_dir;
  std::vector<std::string> files;
  bool text = false;  // a readable summary instead of the JSON report
};

// Exit code: 0 (also when nothing matches), 1 (unreadable file, bad arguments), 2, 3 (the access
// log does not open).
int RunBreachMatch(const MatchRequest& request, std::ostream& out, std::ostream& err);

}  // namespace medvault::app
