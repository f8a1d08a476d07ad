#pragma once
// `medvault breach notify --scope FILE --controller FILE --out DIR [--data DIR]`
// (docs/breach-notify.md): from a scope (`breach scope` JSON), for each practice — each practice
// is the data controller of its patients —
//   - the GDPR art. 33 notification to the CNIL,
//   - the health-sector serious incident report (signalement des incidents graves de sécurité
//     des systèmes d'information, art. L.1111-8-2 and D.1111-16-2 of the code de la santé
//     publique, form of the arrêté of 30 October 2017),
//   - one GDPR art. 34 letter per exposed patient, in plain French, naming only that patient's
//     data (canary patients get none),
// each as plain text and as HTML (every inserted value escaped).
//
// The contact point (the DPO or security officer) and the controller's identity come from the
// controller file (JSON, per practice id with a "default" entry); with --data, letters carry the
// patient's name and postal address, decrypted in memory, and one access leaf per practice
// records that disclosure ("breach.notify") in the vault's log.
//
// Output: DIR is created 0700 (refused if it exists and is not empty); every file 0600.
// Errors: InvalidArgument (exit 1) for a bad scope, controller file or directory, naming what is
// wrong; FailedPrecondition when --data is given while the vault is being served (only one
// process may append to the log).
// Thread-safety: the functions are thread-safe.
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/breach.h"
#include "core/status.h"

namespace medvault::app {

struct ControllerInfo {
  std::string name;          // the practice (data controller); default: its name in the vault
  std::string address;
  std::string finess;        // FINESS number, when the structure has one
  std::string contact_name;  // DPO or security officer: required
  std::string contact_role;  // default "délégué à la protection des données"
  std::string contact_email;
  std::string contact_phone;  // at least one of email and phone is required
  std::string contact_address;
};

struct IncidentInfo {
  std::string discovered_at;  // ISO 8601; default: when notify runs
  std::string cause;          // default: compromised accounts used through the application
  std::vector<std::string> measures_taken;
  std::vector<std::string> measures_proposed;
};

struct NotifyConfig {
  std::map<std::string, ControllerInfo> controllers;  // by practice id; "default" applies to others
  IncidentInfo incident;
};

// Parses the controller file. InvalidArgument naming the key that is missing or wrong.
Result<NotifyConfig> ParseNotifyConfig(std::string_view json_text);

// What a letter is addressed to, when the vault was given.
struct Addressee {
  std::string name;                // "Prénom Nom"
  std::vector<std::string> lines;  // postal address lines, postal code and city last
};

struct Document {
  std::string text;
  std::string html;
};

// The documents of one practice. `now` is the drafting time (ISO 8601).
Document CnilNotification(const Scope& scope, const std::string& practice,
                          const ControllerInfo& controller, const IncidentInfo& incident,
                          const std::string& now);
Document HealthIncidentReport(const Scope& scope, const std::string& practice,
                              const ControllerInfo& controller, const IncidentInfo& incident,
                              const std::string& now);
Document PatientLetter(const PatientExposure& patient, const ControllerInfo& controller,
                       const std::optional<Addressee>& addressee, const std::string& now);

struct NotifyOptions {
  std::string scope_file;
  std::string controller_file;
  std::string out_dir;
  std::string data_dir;  // optional: address letters with names and postal addresses
};

// Writes every document; prints one summary line per practice. Exit code 0, 1, 2.
int RunBreachNotify(const NotifyOptions& options, std::ostream& out, std::ostream& err);

}  // namespace medvault::app
