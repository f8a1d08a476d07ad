#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/fhir_patient.h"
#include "app/generator.h"
#include "app/breach.h"
#include "app/breach_evidence.h"
#include "app/dump_match.h"
#include "app/breach_notify.h"
#include "app/command_status.h"
#include "app/demo.h"
#include "app/import.h"
#include "app/notes_scan.h"
#include "audit/verify.h"
#include "notes/cli.h"
#include "store/sqlite/sqlite_log_store.h"
#include "app/serve.h"
#include "app/vault_context.h"
#include "app/witness.h"
#include "sim/simulate.h"
#include "core/status.h"

namespace medvault::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInput = 1;

Result<std::unique_ptr<app::VaultContext>> OpenVault(const std::string& dir) {
  return app::VaultContext::Open(dir);
}

// Opens the vault's log store and its public key, then runs `body`.
template <typename F>
int WithLog(const std::string& dir, std::ostream& err, F body) {
  auto ctx = OpenVault(dir);
  if (!ctx.ok()) return app::ReportFailure(err, ctx.status());
  auto seed = (*ctx)->keyring().LogSigningSeed();
  if (!seed.ok()) return app::ReportFailure(err, seed.status());
  const crypto::SigningKey key = crypto::SigningKey::FromSeed(*seed);
  auto log = (*ctx)->OpenLogStore();
  if (!log.ok()) return app::ReportFailure(err, log.status());
  return body(**log, key.public_key());
}

}  // namespace

int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  CLI::App cli{"medvault: a records server for medical practices that contains stolen accounts, "
               "encrypts every patient field and proves every access."};
  cli.require_subcommand(1);
  std::string data_dir;
  int result = kExitOk;

  // init
  auto* init = cli.add_subcommand("init", "Create a vault in DIR");
  app::InitOptions init_options;
  init->add_option("--data", data_dir, "vault directory")->required();
  init->add_option("--backend", init_options.backend, "sqlite (default) or postgres")
      ->check(CLI::IsMember({"sqlite", "postgres"}));
  init->add_option("--pg", init_options.pg_url, "PostgreSQL connection URL");
  init->add_option("--pg-keys", init_options.pg_keys_url,
                   "PostgreSQL URL of the key store's own database (default: DIR/keys.db)");
  init->callback([&] {
    Status s = app::InitVault(data_dir, init_options);
    if (!s.ok()) {
      result = app::ReportFailure(err, s);
      return;
    }
    out << "vault created in " << data_dir << "\n";
  });

  // practice add
  auto* practice = cli.add_subcommand("practice", "Manage practices");
  practice->require_subcommand(1);
  auto* practice_add = practice->add_subcommand("add", "Add a practice; prints its id");
  std::string practice_name;
  practice_add->add_option("--data", data_dir, "vault directory")->required();
  practice_add->add_option("--name", practice_name, "practice name")->required();
  practice_add->callback([&] {
    auto ctx = OpenVault(data_dir);
    if (!ctx.ok()) {
      result = app::ReportFailure(err, ctx.status());
      return;
    }
    auto id = (*ctx)->AddPractice(practice_name);
    if (!id.ok()) {
      result = app::ReportFailure(err, id.status());
      return;
    }
    if (auto kept = (*ctx)->KeepCanaries(*id); !kept.ok()) {
      result = app::ReportFailure(err, kept.status());
      return;
    }
    out << *id << "\n";
  });

  // user add
  auto* user = cli.add_subcommand("user", "Manage accounts");
  user->require_subcommand(1);
  auto* user_add = user->add_subcommand(
      "add", "Add an account; reads its password from stdin; prints the TOTP provisioning URI");
  std::string practice_id, login, role_name, display_name;
  user_add->add_option("--data", data_dir, "vault directory")->required();
  user_add->add_option("--practice", practice_id, "practice id (not for security)");
  user_add->add_option("--login", login, "login")->required();
  user_add->add_option("--role", role_name, "practitioner|secretary|admin|security")
      ->required()
      ->check(CLI::IsMember({"practitioner", "secretary", "admin", "security"}));
  user_add->add_option("--name", display_name, "display name shown in access histories");
  user_add->callback([&] {
    std::string password;
    if (!std::getline(in, password) || password.empty()) {
      result = app::ReportFailure(err, InvalidArgument("password: expected on the first line of stdin"));
      return;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    auto ctx = OpenVault(data_dir);
    if (!ctx.ok()) {
      result = app::ReportFailure(err, ctx.status());
      return;
    }
    const Role role = *ParseRole(role_name);
    auto created = (*ctx)->users().Create(role == Role::kSecurity ? "" : practice_id, login, role,
                                          password, display_name);
    if (!created.ok()) {
      result = app::ReportFailure(err, created.status());
      return;
    }
    out << created->totp_uri << "\n";
  });

  // account unlock
  auto* account = cli.add_subcommand("account", "Manage account containment");
  account->require_subcommand(1);
  auto* unlock = account->add_subcommand("unlock", "Release an account contained by the guard");
  unlock->add_option("--data", data_dir, "vault directory")->required();
  unlock->add_option("--login", login, "login")->required();
  unlock->callback([&] {
    auto ctx = OpenVault(data_dir);
    if (!ctx.ok()) {
      result = app::ReportFailure(err, ctx.status());
      return;
    }
    Status s = (*ctx)->data().SetUserLocked(login, false);
    if (!s.ok()) {
      result = app::ReportFailure(err, s.code() == Code::kNotFound ? InvalidArgument("--login: no such account")
                                                     : s);
      return;
    }
    out << "unlocked " << login << "\n";
  });

  // import
  auto* import = cli.add_subcommand("import", "Import a FHIR Bundle or NDJSON of Patients");
  std::string import_file;
  import->add_option("--data", data_dir, "vault directory")->required();
  import->add_option("--practice", practice_id, "practice id")->required();
  import->add_option("FILE", import_file, "Bundle (JSON) or NDJSON file")->required();
  import->callback([&] {
    auto ctx = OpenVault(data_dir);
    if (!ctx.ok()) {
      result = app::ReportFailure(err, ctx.status());
      return;
    }
    if (auto p = (*ctx)->data().GetPractice(practice_id); !p.ok()) {
      result = app::ReportFailure(err, InvalidArgument("--practice: no such practice"));
      return;
    }
    auto count = app::ImportPatientsFile((*ctx)->patients(), practice_id, import_file);
    if (!count.ok()) {
      result = app::ReportFailure(err, count.status().WithContext(import_file + ": nothing imported"));
      return;
    }
    // Interleaved during the import already; this closes runs left by rows written before.
    if (auto kept = (*ctx)->KeepCanaries(practice_id); !kept.ok()) {
      result = app::ReportFailure(err, kept.status().WithContext("patients imported; canary upkeep"));
      return;
    }
    out << *count << "\n";
  });

  // keys rotate
  auto* keys = cli.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  auto* rotate = keys->add_subcommand(
      "rotate", "Rotate the master key and every practice KEK (rewrap only; no data re-encrypted)");
  rotate->add_option("--data", data_dir, "vault directory")->required();
  rotate->callback([&] {
    auto ctx = OpenVault(data_dir);
    if (!ctx.ok()) {
      result = app::ReportFailure(err, ctx.status());
      return;
    }
    auto summary = (*ctx)->RotateKeys();
    if (!summary.ok()) {
      result = app::ReportFailure(err, summary.status());
      return;
    }
    out << *summary << "\n";
  });

  // patient shred
  auto* patient = cli.add_subcommand("patient", "Patient records");
  patient->require_subcommand(1);
  auto* shred = patient->add_subcommand(
      "shred", "Crypto-shred a patient: its key is destroyed, no copy of its data can be opened");
  std::string patient_id;
  shred->add_option("--data", data_dir, "vault directory")->required();
  shred->add_option("--practice", practice_id, "practice id")->required();
  shred->add_option("--id", patient_id, "patient id")->required();
  shred->callback([&] {
    auto ctx = OpenVault(data_dir);
    if (!ctx.ok()) {
      result = app::ReportFailure(err, ctx.status());
      return;
    }
    Status s = (*ctx)->patients().Shred(practice_id, patient_id);
    if (!s.ok()) {
      result = app::ReportFailure(err, s.code() == Code::kNotFound ? InvalidArgument("--id: no such patient")
                                                     : s);
      return;
    }
    out << "shredded " << patient_id << "\n";
  });

  // canaries check
  auto* canaries_cmd = cli.add_subcommand("canaries", "Canary patients (docs/canaries.md)");
  canaries_cmd->require_subcommand(1);
  auto* canaries_check = canaries_cmd->add_subcommand(
      "check", "Runs the upkeep, then measures the spacing of a practice's canaries; exit 1 if it "
               "does not hold");
  canaries_check->add_option("--data", data_dir, "vault directory")->required();
  canaries_check->add_option("--practice", practice_id, "practice id")->required();
  canaries_check->callback([&] {
    auto ctx = OpenVault(data_dir);
    if (!ctx.ok()) {
      result = app::ReportFailure(err, ctx.status());
      return;
    }
    if (auto p = (*ctx)->data().GetPractice(practice_id); !p.ok()) {
      result = app::ReportFailure(err, InvalidArgument("--practice: no such practice"));
      return;
    }
    auto kept = (*ctx)->KeepCanaries(practice_id);
    if (!kept.ok()) {
      result = app::ReportFailure(err, kept.status());
      return;
    }
    auto m = app::MeasureCanarySpacing((*ctx)->data(), (*ctx)->patients(), practice_id);
    if (!m.ok()) {
      result = app::ReportFailure(err, m.status());
      return;
    }
    const size_t k = static_cast<size_t>((*ctx)->config().guard_canary_spacing);
    const bool holds = m->Holds(k);
    out << "rows=" << m->rows << " canaries=" << m->canaries << " written_now=" << *kept
        << " spacing=" << k << " longest_list_run=" << m->longest_list_run
        << " longest_family_run=" << m->longest_family_run
        << " longest_date_run=" << m->longest_date_run
        << " colliding_canaries=" << m->colliding_canaries << " holds=" << (holds ? "yes" : "no")
        << "\n";
    if (!holds) result = 1;
  });

  // gen
  auto* gen = cli.add_subcommand(
      "gen", "Write synthetic French patients as NDJSON (FHIR Patient), for demos and benchmarks");
  uint64_t gen_count = 1000;
  uint64_t gen_seed = 1;
  std::string gen_out = "-";
  std::string gen_notes;
  std::string gen_appointments;
  gen->add_option("--patients", gen_count, "number of patients")->check(CLI::Range(1, 20'000'000));
  gen->add_option("--seed", gen_seed, "seed (same seed, same data)");
  gen->add_option("--out", gen_out, "output file, - for stdout");
  gen->add_option("--notes", gen_notes, "also write one note per patient as JSONL to this file");
  gen->add_option("--appointments", gen_appointments,
                  "also write three years of consultations as JSONL (patient = line number)");
  gen->callback([&] {
    app::Generator generator(gen_seed);
    // Notes and visits draw from their own generator, so the patients of a seed are the same
    // whichever extra files are asked for.
    app::Generator extras(gen_seed ^ 0x9e3779b97f4a7c15ULL);
    std::ofstream file;
    std::ostream* o = &out;
    if (gen_out != "-") {
      file.open(gen_out, std::ios::binary | std::ios::trunc);
      if (!file) {
        result = app::ReportFailure(err, InvalidArgument("--out: cannot write " + gen_out));
        return;
      }
      o = &file;
    }
    std::ofstream notes_file;
    if (!gen_notes.empty()) {
      notes_file.open(gen_notes, std::ios::binary | std::ios::trunc);
      if (!notes_file) {
        result = app::ReportFailure(err, InvalidArgument("--notes: cannot write " + gen_notes));
        return;
      }
    }
    std::ofstream appointments_file;
    if (!gen_appointments.empty()) {
      appointments_file.open(gen_appointments, std::ios::binary | std::ios::trunc);
      if (!appointments_file) {
        result = app::ReportFailure(
            err, InvalidArgument("--appointments: cannot write " + gen_appointments));
        return;
      }
    }
    const FieldGroupMask all = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                               MaskOf(FieldGroup::kInsurance);
    const UnixMicros until = *ParseIsoTime("2026-11-01T00:00:00Z");
    for (uint64_t i = 0; i < gen_count; ++i) {
      nlohmann::json j = api::PatientToFhir(generator.NextPatient(), all);
      j.erase("id");
      *o << j.dump() << "\n";
      if (notes_file.is_open()) {
        auto note = extras.NextNote();
        notes_file << nlohmann::json{{"id", "gen-" + std::to_string(i + 1)}, {"text", note.text}}
                          .dump()
                   << "\n";
      }
      if (appointments_file.is_open()) {
        for (UnixMicros start : extras.NextVisits(until, 3)) {
          appointments_file << nlohmann::json{{"patient", i + 1},
                                              {"status", "fulfilled"},
                                              {"start", FormatIsoTime(start)},
                                              {"end", FormatIsoTime(start + 20 * 60'000'000LL)}}
                                   .dump()
                            << "\n";
        }
      }
    }
    o->flush();
    if (!*o) result = app::ReportFailure(err, Internal("write failed"));
  });

  // notes classify / eval
  auto* notes_cmd = cli.add_subcommand("notes", "Note classifier");
  notes_cmd->require_subcommand(1);
  auto* classify = notes_cmd->add_subcommand(
      "classify", "JSONL {id, text} on stdin → categories, qualifiers and spans on stdout");
  classify->callback([&] { result = notes::RunClassifyJsonl(in, out, err); });
  auto* eval = notes_cmd->add_subcommand("eval", "Score a labelled JSONL set; prints the table");
  std::string eval_file;
  eval->add_option("FILE", eval_file, "labelled JSONL (id, text, categories, qualifiers)")
      ->required();
  eval->callback([&] { result = notes::RunEval(eval_file, out, err); });
  auto* notes_scan = notes_cmd->add_subcommand(
      "scan", "Re-classify every stored note (after a lexicon change); prints counts");
  app::NotesScanOptions scan_options;
  notes_scan->add_option("--data", scan_options.data_dir, "vault directory")->required();
  notes_scan->add_option("--lexicons", scan_options.lexicons,
                         "lexicon directory (default: as the server finds them)");
  notes_scan->add_flag("--dry-run", scan_options.dry_run, "count the changes, write nothing");
  notes_scan->callback([&] { result = app::RunNotesScan(scan_options, out, err); });

  // audit verify / proof
  auto* audit_cmd = cli.add_subcommand("audit", "The access log");
  audit_cmd->require_subcommand(1);
  auto* verify = audit_cmd->add_subcommand(
      "verify", "Recompute the log from storage and check every checkpoint ever signed");
  verify->add_option("--data", data_dir, "vault directory")->required();
  verify->callback([&] { result = app::RunAuditVerifyWithWitnesses(data_dir, out, err); });
  auto* proof = audit_cmd->add_subcommand("proof", "Print a verified inclusion or consistency proof");
  audit::ProofRequest proof_request;
  proof->add_option("--data", data_dir, "vault directory")->required();
  proof->add_option("--index", proof_request.index, "entry index (inclusion proof)");
  proof->add_option("--size", proof_request.size, "tree size (default: latest checkpoint)");
  proof->add_option("--from", proof_request.from, "older tree size (consistency proof)");
  proof->add_option("--to", proof_request.to, "newer tree size (consistency proof)");
  proof->callback([&] {
    result = WithLog(data_dir, err, [&](store::LogStore& log, const crypto::PublicKey& key) {
      return audit::RunAuditProof(log, key, proof_request, out, err);
    });
  });

  auto* check_evidence = audit_cmd->add_subcommand(
      "check-evidence", "Verify breach evidence offline (no vault needed)");
  std::string evidence_dir;
  app::EvidenceCheckOptions evidence_options;
  check_evidence->add_option("DIR", evidence_dir, "evidence directory")->required();
  check_evidence->add_option("--log-key", evidence_options.log_key,
                             "the log's verifier key (GET /log/key) to pin");
  check_evidence->add_option("--witness-key", evidence_options.witness_keys,
                             "a witness's cosignature key to pin (repeatable)");
  check_evidence->callback(
      [&] { result = app::RunCheckEvidence(evidence_dir, evidence_options, out, err); });

  // breach scope
  auto* breach = cli.add_subcommand("breach", "Incident response");
  breach->require_subcommand(1);
  auto* scope = breach->add_subcommand(
      "scope", "Exactly which patients and which data reached the matching requests (JSON)");
  app::ScopeQuery scope_query;
  scope->add_option("--data", scope_query.data_dir, "vault directory")->required();
  scope->add_option("--login", scope_query.logins, "account (repeatable)");
  scope->add_option("--source-ip", scope_query.source_ips, "client address (repeatable)");
  scope->add_option("--since", scope_query.since, "ISO 8601 time, inclusive");
  scope->add_option("--until", scope_query.until, "ISO 8601 time, exclusive");
  scope->add_option("--practice", scope_query.practices, "practice id (repeatable)");
  scope->add_option("--format", scope_query.format, "json (default), csv or summary");
  scope->add_option("--evidence", scope_query.evidence_dir,
                    "also write the offline proof into this new directory");
  scope->callback([&] { result = app::RunBreachScope(scope_query, out, err); });
  auto* match = breach->add_subcommand(
      "match", "Which of our patients a leaked dump holds, and which account it came through");
  app::MatchRequest match_request;
  match->add_option("--data", match_request.data_dir, "vault directory")->required();
  match->add_option("files", match_request.files, "dump files (CSV of any separator, JSON lines)")
      ->required();
  match->add_flag("--text", match_request.text, "a readable summary instead of JSON");
  match->callback([&] { result = app::RunBreachMatch(match_request, out, err); });
  auto* notify = breach->add_subcommand(
      "notify", "Draft the GDPR art. 33 notification, the health-sector incident report and one "
                "art. 34 letter per exposed patient, per practice (text and HTML)");
  app::NotifyOptions notify_options;
  notify->add_option("--scope", notify_options.scope_file, "scope JSON (breach scope)")->required();
  notify->add_option("--controller", notify_options.controller_file,
                     "JSON: each practice's controller and contact point (docs/breach-notify.md)");
  notify->add_option("--out", notify_options.out_dir, "new output directory")->required();
  notify->add_option("--data", notify_options.data_dir,
                     "vault directory: address letters with names and postal addresses");
  notify->callback([&] { result = app::RunBreachNotify(notify_options, out, err); });

  // witness init / serve
  auto* witness =
      cli.add_subcommand("witness", "Cosign other logs' checkpoints (c2sp.org/tlog-witness)");
  witness->require_subcommand(1);
  std::string witness_state, witness_name;
  auto* witness_init =
      witness->add_subcommand("init", "Create a witness key in DIR; prints its verifier key");
  witness_init->add_option("--state", witness_state, "witness state directory")->required();
  witness_init->add_option("--name", witness_name, "witness key name")->required();
  witness_init->callback(
      [&] { result = app::RunWitnessInit(witness_state, witness_name, out, err); });
  auto* witness_serve = witness->add_subcommand("serve", "Serve POST /add-checkpoint over HTTP");
  app::WitnessServeOptions witness_options;
  witness_serve->add_option("--state", witness_options.state_dir, "witness state directory")
      ->required();
  witness_serve->add_option("--listen", witness_options.listen, "HOST:PORT (port 0: any)");
  witness_serve->add_option("--log-key", witness_options.log_keys, "verifier key of a log")
      ->required();
  witness_serve->callback([&] { result = app::RunWitnessServe(witness_options, out, err); });

  // serve
  auto* serve = cli.add_subcommand("serve", "Serve the vault over HTTPS (or HTTP with --http)");
  app::ServeOptions serve_options;
  serve->add_option("--data", serve_options.data_dir, "vault directory")->required();
  serve->add_option("--listen", serve_options.listen, "HOST:PORT (port 0: any free port)");
  serve->add_flag("--http", serve_options.plain_http, "plain HTTP, for local tests only");
  serve->add_flag("--simulated-clock", serve_options.simulated_clock,
                  "simulated time set through POST /debug/clock (simulation vaults, loopback only)");
  serve->callback([&] { result = app::RunServe(serve_options, out, err); });

  // demo
  auto* simulate = cli.add_subcommand(
      "simulate", "Drive a real server through simulated practice days and attacks; report the guard");
  sim::SimulateOptions sim_options;
  simulate->add_option("--data", sim_options.data_dir, "new directory for the simulation vault")
      ->required();
  simulate->add_option("--practitioner-days", sim_options.practitioner_days,
                       "normal days to simulate, summed over practitioners (default 1000)")
      ->check(CLI::Range(1, 1'000'000));
  simulate->add_option("--practices", sim_options.practices,
                       "ordinary practices besides the centre de santé (default 24, at least 20)")
      ->check(CLI::Range(20, 10'000));
  simulate->add_option("--patients", sim_options.patients, "patients per practice (default 1500)")
      ->check(CLI::Range(50, 1'000'000));
  simulate->add_option("--seed", sim_options.seed, "seed (default 1)");
  simulate->add_option("--json", sim_options.json_out, "write the JSON report here (- for stdout)");
  simulate->add_option("--server", sim_options.server_binary,
                       "the medvault binary to serve with (default: this one)");
  bool no_attacks = false;
  simulate->add_flag("--no-attacks", no_attacks, "normal days only");
  simulate->add_flag("--check", sim_options.check, "exit 1 unless the guard's acceptance holds");
  simulate->callback([&] {
    sim_options.attacks = !no_attacks;
    result = sim::RunSimulate(sim_options, out, err);
  });

  auto* demo = cli.add_subcommand(
      "demo", "Create (if absent) and serve a demo vault of synthetic patients");
  app::DemoOptions demo_options;
  demo->add_option("--data", demo_options.data_dir, "vault directory (default demo-vault)");
  demo->add_option("--listen", demo_options.listen, "HOST:PORT (default 127.0.0.1:8443)");
  demo->add_option("--patients", demo_options.patients, "synthetic patients (default 2000)")
      ->check(CLI::Range(1, 1'000'000));
  demo->add_flag("--http", demo_options.plain_http, "plain HTTP instead of HTTPS");
  demo->callback([&] { result = app::RunDemo(demo_options, out, err); });

  try {
    std::vector<std::string> rest(args.rbegin(), args.rend() - 1);
    cli.parse(rest);
  } catch (const CLI::ParseError& e) {
    // Help requests exit 0 with the help text; every other parse error is a usage error.
    return cli.exit(e, out, err) == 0 ? kExitOk : kExitInput;
  }
  return result;
}

}  // namespace medvault::cli
