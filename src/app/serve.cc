#include "app/command_status.h"
#include "app/serve.h"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "api/server.h"
#include "api/webhook.h"
#include "app/audit_wiring.h"
#include "app/guard_wiring.h"
#include "app/log_writer_lock.h"
#include "app/vault_context.h"
#include "app/witness.h"
#include "core/file.h"
#include "audit/log_server.h"
#include "store/sqlite/sqlite_log_store.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::app {

int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& err) {
  api::ServerConfig config;
  if (Status s = ParseListen(options.listen, &config.host, &config.port); !s.ok()) {
    return ReportFailure(err, s);
  }
  const Clock* clock = options.clock;
  std::unique_ptr<FakeClock> simulated;
  const bool simulation_vault = PathExists(options.data_dir + "/" + kSimulationMarker);
  if (options.simulated_clock) {
    const bool loopback = config.host == "localhost" || config.host == "::1" ||
                          config.host.rfind("127.", 0) == 0;
    if (!loopback) {
      return ReportFailure(err, InvalidArgument("--simulated-clock: --listen must be a loopback address"));
    }
    if (!simulation_vault) {
      return ReportFailure(err, FailedPrecondition(
          "--simulated-clock: not a simulation vault (made by medvault simulate)"));
    }
    simulated = std::make_unique<FakeClock>(NewRealClock()->Now());
    clock = simulated.get();
    config.debug_clock = simulated.get();
  } else if (simulation_vault) {
    return ReportFailure(err, FailedPrecondition(
        "this vault was made by medvault simulate: its log holds simulated times; serve it with "
        "--simulated-clock"));
  }
  auto ctx_or = VaultContext::Open(options.data_dir, clock);
  if (!ctx_or.ok()) return ReportFailure(err, ctx_or.status());
  VaultContext& ctx = **ctx_or;
  const Config& c = ctx.config();
  config.plain_http = options.plain_http;
  if (options.simulated_clock && !c.log_witnesses.empty()) {
    return ReportFailure(err, FailedPrecondition(
        "--simulated-clock: witnesses are configured; simulated checkpoints must not reach them"));
  }
  config.tls_cert_path = ctx.CertPath();
  config.tls_key_path = ctx.TlsKeyPath();
  config.threads = c.threads;
  config.session_idle_seconds = c.session_idle_seconds;
  config.session_absolute_seconds = c.session_absolute_seconds;
  config.login_failures_per_account = c.login_failures_per_account;
  config.login_failures_per_source = c.login_failures_per_source;
  config.access_code_ttl_seconds = c.access_code_ttl_seconds;
  config.access_code_failures_per_source = c.access_code_failures_per_source;
  config.access_code_failures_global = c.access_code_failures_global;
  config.password_cost.opslimit = static_cast<unsigned long long>(c.argon2_ops);
  config.password_cost.memlimit = static_cast<size_t>(c.argon2_mem_mib) << 20;
  config.handle_signals = true;

  auto log_store = ctx.OpenLogStore();
  if (!log_store.ok()) return ReportFailure(err, log_store.status());
  // On SQLite, one process writes the access log (app/log_writer_lock.h). On PostgreSQL several
  // nodes serve one vault: the database sequences their appends and one of them, the holder of
  // the integrator lease, signs (docs/postgres.md "Several nodes").
  const bool several_nodes = (*log_store)->SharedAppends();
  std::unique_ptr<LogWriterLock> log_lock;
  if (!several_nodes) {
    auto locked = LogWriterLock::Acquire(ctx);
    if (!locked.ok()) return ReportFailure(err, locked.status());
    log_lock = std::move(locked).value();
  } else {
    // Every request checks its session in the store, so that a logout or a containment on one
    // node holds on the others at once.
    config.session_cache_seconds = 0;
  }
  auto seed = ctx.keyring().LogSigningSeed();
  if (!seed.ok()) return ReportFailure(err, seed.status());
  // Canary upkeep before the first request (docs/canaries.md).
  auto canaries = ctx.KeepCanaries();
  if (!canaries.ok()) return ReportFailure(err, canaries.status());
  if (*canaries > 0) err << "canaries.upkeep written=" << *canaries << std::endl;
  const crypto::SigningKey log_key = crypto::SigningKey::FromSeed(*seed);
  KeyringAuditKeys audit_keys(ctx.keyring());
  std::mutex report_mu;
  audit::AccessLogOptions log_options;
  log_options.origin = c.log_origin;
  if (several_nodes) {
    log_options.on_leadership = [&](bool leading) {
      std::lock_guard<std::mutex> lock(report_mu);
      err << (leading ? "log.integrator leading" : "log.integrator not leading") << std::endl;
    };
  }
  audit::AccessLog access_log(**log_store, audit_keys, log_key, ctx.clock(), ctx.random(),
                              log_options);
  if (Status s = access_log.Start(); !s.ok()) return ReportFailure(err, s);
  if (several_nodes && !access_log.leading()) err << "log.integrator not leading" << std::endl;

  // Checkpoints go to the witnesses from a thread of their own: no request waits for a witness.
  auto witness_keys = ParseWitnessKeys(c.log_witness_keys);
  if (!witness_keys.ok()) {
    access_log.Stop();
    return ReportFailure(err, witness_keys.status());
  }
  WitnessPushOptions push_options;
  push_options.urls = c.log_witnesses;
  push_options.keys = *witness_keys;
  push_options.active = [&access_log] { return access_log.leading(); };
  WitnessPusher pusher(**log_store, std::move(push_options), [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(report_mu);
    err << line << std::endl;
  });
  if (!c.log_witnesses.empty()) pusher.Start();

  AccessLogSink sink(access_log);
  LogAuditQuery audit_query(**log_store, audit_keys);
  auto log_line = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(report_mu);
    err << line << std::endl;
  };
  std::unique_ptr<api::WebhookSender> webhook;
  if (!c.guard_webhook.empty()) {
    api::WebhookOptions webhook_options;
    webhook_options.url = c.guard_webhook;
    webhook_options.max_attempts = c.guard_webhook_attempts;
    webhook = std::make_unique<api::WebhookSender>(webhook_options, log_line);
    if (Status s = webhook->Start(); !s.ok()) {
      pusher.Stop();
      access_log.Stop();
      return ReportFailure(err, s.WithContext("guard.webhook"));
    }
  }
  // PostgreSQL: the guard's counters and containments are shared by every node of the vault.
  auto shared_records = ctx.OpenSharedRecords();
  if (!shared_records.ok()) {
    if (webhook) webhook->Stop();
    pusher.Stop();
    access_log.Stop();
    return ReportFailure(err, shared_records.status().WithContext("guard state"));
  }
  std::unique_ptr<guard::StateStore> guard_state = MakeGuardState(shared_records->get(), log_line);
  StoreExplainer explainer(ctx.data());
  guard::Engine guard_engine(GuardPolicy(c), *guard_state, explainer);
  GuardAdapter guard(guard_engine, sink, webhook.get(), log_line);
  store::LogStore& log_store_ref = **log_store;
  const audit::NoteVerifier& verifier = access_log.verifier();

  // The lexicons compile on a thread of their own. A failed load stops the server (and serve
  // exits 1); a stop never waits for the load (see the end of this function).
  struct ClassifierLoad {
    std::mutex mu;
    std::optional<Status> failure;     // GUARDED_BY(mu)
    api::Server* server = nullptr;     // GUARDED_BY(mu): set while serving
  } load;
  ClassifierAdapter note_classifier([&load](const Status& status) {
    if (status.ok()) return;
    std::lock_guard<std::mutex> lock(load.mu);
    load.failure = status;
    if (load.server != nullptr) load.server->Stop();
  });
  api::Services services{
      ctx.data(), ctx.patients(), ctx.users(), ctx.notes(), ctx.clock(), ctx.random(), sink,
      guard, note_classifier, audit_query,
      [&](std::string_view path) -> Result<api::LogResponse> {
        MV_ASSIGN_OR_RETURN(audit::LogResponse r,
                            audit::ServeLogPath(log_store_ref, verifier, path));
        return api::LogResponse{r.content_type, std::string(AsChars(r.body))};
      },
      log_line};
  // Brings the log's patient index up to date in the background (after a restart or an upgrade
  // it may be behind); queries catch up by themselves too, this only saves the first one a wait.
  std::thread index_catch_up([&] {
    if (auto r = audit_query.index().CatchUp(); !r.ok()) {
      std::lock_guard<std::mutex> lock(report_mu);
      err << "patient index: " << r.status().ToString() << std::endl;
    }
  });
  struct JoinAtExit {
    std::thread& t;
    ~JoinAtExit() { t.join(); }
  } join_index_catch_up{index_catch_up};
  api::Server server(std::move(services), config);
  // Ends serve once everything that must be durable is: at once, without unwinding, while the
  // classifier still compiles (minutes under sanitizers on a cold cache), since nothing else
  // would wait for it.
  auto finish = [&](int code) {
    if (note_classifier.Loading()) {
      index_catch_up.join();
      err << "note classifier: still compiling at exit, not waited for" << std::endl;
      out.flush();
      err.flush();
      std::_Exit(code);
    }
    return code;
  };
  auto endpoint = server.Start();
  if (!endpoint.ok()) {
    pusher.Stop();
    if (webhook) webhook->Stop();
    access_log.Stop();
    return finish(ReportFailure(err, endpoint.status()));
  }
  {
    std::lock_guard<std::mutex> lock(load.mu);
    load.server = &server;
    if (load.failure) server.Stop();
  }
  out << "listening on " << endpoint->ToString() << std::endl;
  server.Wait();
  {
    std::lock_guard<std::mutex> lock(load.mu);
    load.server = nullptr;
  }
  pusher.Stop();
  if (webhook) webhook->Stop();
  // Every request has finished; the log drains what is queued and signs a final checkpoint.
  access_log.Stop();
  if (c.backend == "sqlite") store::CheckpointSqlite(ctx.DataPath(), {}).IgnoreError();
  {
    std::lock_guard<std::mutex> lock(load.mu);
    if (load.failure) return ReportFailure(err, load.failure->WithContext("note classifier"));
  }
  return finish(0);
}

}  // namespace medvault::app
