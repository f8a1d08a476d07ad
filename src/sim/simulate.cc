#include "sim/simulate.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <sstream>

#include "api/fhir_patient.h"
#include "api/http_client.h"
#include "app/generator.h"
#include "app/serve.h"
#include "app/vault_context.h"
#include "core/bytes.h"
#include "core/date.h"
#include "core/file.h"
#include "core/ids.h"

namespace medvault::sim {
namespace {

using json = nlohmann::json;
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDayMicros = 24 * kHour;
// Attack slots start this long after the previous one ended: every window of the guard (7 days at
// most) has forgotten the previous slot.
constexpr int64_t kSlotGap = 8 * kDayMicros;
constexpr const char* kPracticeAgent = "MedvaultCabinet/4.2 (Windows 10)";
constexpr const char* kThiefAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0";
constexpr int kMaxAttackRequests = 4000;

struct SimError {
  std::string message;
};

std::string Iso(UnixMicros t) { return FormatIsoTime(t); }
std::string DateOf(UnixMicros t) { return FormatDate(CivilFromDays(t / kDayMicros)); }

// --- The server process ----------------------------------------------------------------------

class ServerProcess {
 public:
  ~ServerProcess() { Stop(); }

  Result<uint16_t> Start(const std::string& binary, const std::string& dir) {
    int fds[2];
    if (pipe(fds) != 0) return Internal("pipe failed");
    const std::string log_path = dir + "/server.log";
    pid_ = fork();
    if (pid_ < 0) return Internal("fork failed");
    if (pid_ == 0) {
      dup2(fds[1], 1);
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (log >= 0) dup2(log, 2);
      close(fds[0]);
      close(fds[1]);
      execl(binary.c_str(), binary.c_str(), "serve", "--data", dir.c_str(), "--http", "--listen",
            "127.0.0.1:0", "--simulated-clock", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    std::string line;
    char c;
    while (read(out_fd_, &c, 1) == 1) {
      if (c != '\n') {
        line += c;
        continue;
      }
      constexpr std::string_view kListening = "listening on ";
      if (line.rfind(kListening, 0) == 0) {
        const size_t colon = line.rfind(':');
        return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
      }
      line.clear();
    }
    auto log = ReadFile(log_path);
    Stop();
    return Unavailable("the server did not start: " + (log.ok() ? *log : std::string("no log")));
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (out_fd_ >= 0) {
      close(out_fd_);
      out_fd_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

// --- Model -----------------------------------------------------------------------------------

struct SimPatient {
  std::string id;
  std::string family;
  std::string birth_date;
};

struct Account {
  std::string login;
  std::string password;
  std::string totp_uri;
  bool secretary = false;
  int practice = 0;
  int64_t last_step = 0;
  bool contained = false;
  std::set<std::string> noted;  // patients this practitioner wrote notes about
};

// What one scenario's requests met.
struct ScenarioStats {
  std::set<std::string> accounts;
  int64_t days = 0;  // actor-days
  int64_t requests = 0;
  int64_t step_ups = 0;
  int64_t containments = 0;
  int64_t other_refusals = 0;  // 403 other than suspended, 423, 429
  std::vector<std::string> events;  // "day N login status reason", at most 50
};

struct AttackAccount {
  std::string strategy;
  std::string login;
  std::string role;
  std::string source;
  UnixMicros since = 0;
  UnixMicros contained_at = 0;
  bool contained = false;
  int64_t requests = 0;
  int64_t step_ups = 0;
  std::set<std::string> received;  // every patient id in a response (the breach scope)
  std::set<std::string> revealed;  // patients whose identity/contact reached it
  int64_t real_leaked = 0;
  int64_t canaries = 0;
};

struct StrategyResult {
  std::string name;
  std::string description;
  int bound = 25;         // real patients per account (or in total for `bound_total`)
  bool bound_total = false;
  bool needs_source = false;
  bool source_contained = false;
  std::vector<AttackAccount> accounts;
  UnixMicros start = 0;
  UnixMicros end = 0;
};

// One HTTP identity: an account used from one address and device.
struct Session {
  int account = -1;
  std::string ip;
  std::string agent;
  std::string token;
  std::unique_ptr<api::HttpClient> http;
  ScenarioStats* stats = nullptr;   // normal use
  AttackAccount* attack = nullptr;  // an attacker's
};

struct Practice {
  std::string id;
  std::string kind;  // solo, solo+secretary, group, centre
  int block = 0;     // its address block 127.B/16 → 127.B.0.0/24
  std::vector<int> practitioners;
  std::vector<int> secretaries;
  std::vector<SimPatient> patients;  // real patients only
  std::vector<std::vector<int>> panels;  // per practitioner: indexes into patients
};

struct Event {
  UnixMicros time;
  uint64_t seq;
  std::function<void()> run;
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

class Simulation {
 public:
  Simulation(const SimulateOptions& options, std::ostream& out, std::ostream& err)
      : options_(options), out_(out), err_(err), rng_(options.seed), gen_(options.seed) {}

  int Run();

 private:
  // Setup (in-process, before the server starts).
  Status Setup();
  Status AddAccount(app::VaultContext& ctx, int practice, const std::string& login, bool secretary);
  // Time.
  void SetClock(UnixMicros t);
  void Schedule(UnixMicros t, std::function<void()> run) {
    queue_.push(Event{t, seq_++, std::move(run)});
  }
  void RunQueue();
  // HTTP.
  std::optional<api::HttpAnswer> Act(Session& s, std::string_view method, const std::string& target,
                                     const std::string& body = "");
  bool Login(Session& s);
  bool StepUp(Session& s);
  void NoteRefusal(Session& s, const std::string& what);
  Session& NormalSession(int account, const std::string& scenario);
  std::unique_ptr<Session> AttackSession(int account, AttackAccount* rec, const std::string& ip);
  // Normal days.
  void ScheduleDay(int k);
  void DoctorDay(int practice, int account, int k, const std::string& scenario);
  void Consult(int account, const std::string& patient, const std::string& scenario);
  void WalkIn(int practice, int account, const std::string& scenario);
  void Booking(int practice, int account, int k, const std::string& scenario);
  std::optional<std::string> CreatePatient(Session& s, int practice);
  bool Present(int practice, int account, int k) const;
  std::string AppointmentBody(const std::string& patient, const std::string& practitioner,
                              UnixMicros start) const;
  // Attacks.
  void RunAttacks();
  StrategyResult& NewStrategy(const std::string& name, const std::string& description);
  void RunSlot(StrategyResult& r, std::vector<std::unique_ptr<Session>>& sessions,
               const std::function<std::optional<int64_t>(size_t, Session&)>& step,
               int64_t first_gap_seconds);
  std::vector<std::string> HarvestTargets() const;
  void Finish();
  // Report.
  json Report() const;
  void PrintTables(std::ostream& os) const;

  int64_t Rand(int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  const SimulateOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  std::mt19937_64 rng_;
  app::Generator gen_;
  SeededRandom id_random_{0x51u};

  std::vector<Practice> practices_;
  std::vector<Account> accounts_;
  std::map<std::string, ScenarioStats> scenarios_;
  std::map<int, std::unique_ptr<Session>> normal_sessions_;
  std::vector<StrategyResult> strategies_;
  std::set<std::string> canaries_;

  // Calendar of the normal days (midnight UTC of each), and who is away when.
  std::vector<UnixMicros> days_;
  int replacement_practice_ = -1, titular_ = -1, replacement_ = -1, replacement_day_ = 0;
  int holiday_practice_ = -1, holiday_doctor_ = -1;
  int64_t practitioner_days_ = 0;
  std::map<std::pair<int, int>, std::string> day_tags_;  // (account, day) → scenario

  ServerProcess server_;
  uint16_t port_ = 0;
  std::unique_ptr<api::HttpClient> control_;
  UnixMicros now_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  uint64_t seq_ = 0;
  std::vector<std::string> attack_ips_used_;
};

// --- Setup -----------------------------------------------------------------------------------

std::string ReplaceLine(const std::string& toml, const std::string& key, const std::string& value) {
  std::istringstream in(toml);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind(key + " =", 0) == 0) line = key + " = " + value;
    out += line + "\n";
  }
  return out;
}

Status Simulation::AddAccount(app::VaultContext& ctx, int practice, const std::string& login,
                              bool secretary) {
  Account a;
  a.login = login;
  a.password = "simulated-password-" + login + "-" + std::to_string(options_.seed);
  a.secretary = secretary;
  a.practice = practice;
  MV_ASSIGN_OR_RETURN(vault::NewUser u,
                      ctx.users().Create(practices_[static_cast<size_t>(practice)].id, login,
                                         secretary ? Role::kSecretary : Role::kPractitioner,
                                         a.password, login));
  a.totp_uri = u.totp_uri;
  auto& p = practices_[static_cast<size_t>(practice)];
  (secretary ? p.secretaries : p.practitioners).push_back(static_cast<int>(accounts_.size()));
  accounts_.push_back(std::move(a));
  return Status::Ok();
}

Status Simulation::Setup() {
  if (options_.practices < 20) return InvalidArgument("--practices: at least 20");
  if (PathExists(options_.data_dir + "/medvault.toml")) {
    return InvalidArgument("--data: already holds a vault; the simulator creates its own");
  }
  MV_RETURN_IF_ERROR(app::InitVault(options_.data_dir, {}));
  MV_RETURN_IF_ERROR(WriteFileAtomic(
      options_.data_dir + "/" + app::kSimulationMarker,
      "This vault was created by `medvault simulate`: synthetic patients, simulated time.\n"
      "It is served only with `medvault serve --simulated-clock`.\n",
      0644));
  {
    const std::string path = options_.data_dir + "/medvault.toml";
    MV_ASSIGN_OR_RETURN(std::string toml, ReadFile(path));
    toml = ReplaceLine(toml, "argon2_ops", "1");
    toml = ReplaceLine(toml, "argon2_mem_mib", "8");
    MV_RETURN_IF_ERROR(WriteFileAtomic(path, toml, 0600));
  }
  // The simulation starts on a Monday at midnight UTC, 30 days before the first normal day.
  const UnixMicros real_now = NewRealClock()->Now();
  int64_t day = real_now / kDayMicros + 1;
  while ((day + 3) % 7 != 0) ++day;  // 1970-01-01 was a Thursday: (day + 3) % 7 == 0 on Mondays
  const UnixMicros setup_time = day * kDayMicros;
  FakeClock setup_clock(setup_time);
  MV_ASSIGN_OR_RETURN(auto ctx, app::VaultContext::Open(options_.data_dir, &setup_clock));

  // Practices: solo, solo with a secretary, groups of three and of two, and the centre.
  const int n = options_.practices + 1;
  for (int p = 0; p < n; ++p) {
    Practice pr;
    const bool centre = p == n - 1;
    pr.kind = centre ? "centre" : p % 4 == 0 ? "solo" : p % 4 == 1 ? "solo+secretary" : "group";
    pr.block = p + 1;
    MV_ASSIGN_OR_RETURN(pr.id, ctx->AddPractice(centre ? "Centre de santé" : gen_.NextPracticeName()));
    practices_.push_back(std::move(pr));
    const int practitioners = centre ? 20 : p % 4 == 2 ? 3 : p % 4 == 3 ? 2 : 1;
    const int secretaries = centre ? 3 : p % 4 == 0 ? 0 : 1;
    const std::string prefix = centre ? "cds" : "p" + std::to_string(p);
    for (int i = 0; i < practitioners; ++i) {
      MV_RETURN_IF_ERROR(AddAccount(*ctx, p, "dr" + std::to_string(i) + "." + prefix, false));
    }
    for (int i = 0; i < secretaries; ++i) {
      MV_RETURN_IF_ERROR(AddAccount(*ctx, p, "sec" + std::to_string(i) + "." + prefix, true));
    }
    int remaining = centre ? 4 * options_.patients : options_.patients;
    MV_ASSIGN_OR_RETURN(int64_t imported,
                        ctx->patients().Import(
                            practices_.back().id, [&]() -> Result<std::optional<vault::Patient>> {
                              if (remaining-- <= 0) return std::optional<vault::Patient>();
                              return std::optional<vault::Patient>(gen_.NextPatient());
                            }));
    (void)imported;
  }
  // The replacement doctor covers the first doctor of the first group practice; the holiday
  // doctor is the third of the second group practice.
  replacement_practice_ = 2;
  holiday_practice_ = 6;
  MV_RETURN_IF_ERROR(AddAccount(*ctx, replacement_practice_, "remplacant.p2", false));
  replacement_ = practices_[2].practitioners.back();
  titular_ = practices_[2].practitioners[0];
  holiday_doctor_ = practices_[6].practitioners[2];

  // Read the patients back (ids, family names, birth dates); canaries are not anyone's patients.
  const FieldGroupMask identity = MaskOf(FieldGroup::kIdentity);
  for (Practice& pr : practices_) {
    int64_t after = 0;
    for (;;) {
      MV_ASSIGN_OR_RETURN(vault::PatientPage page, ctx->patients().List(pr.id, after, 500, identity));
      for (size_t i = 0; i < page.patients.size(); ++i) {
        if (i < page.canary.size() && page.canary[i]) continue;
        const vault::Patient& p = page.patients[i];
        pr.patients.push_back({p.id, p.identity.family,
                               p.identity.birth_date ? FormatDate(*p.identity.birth_date) : ""});
      }
      if (!page.next_cursor) break;
      after = *page.next_cursor;
    }
    std::shuffle(pr.patients.begin(), pr.patients.end(), rng_);
    // Panels: every practitioner (the replacement excepted) follows a share of the patients.
    std::vector<int> regular;
    for (int a : pr.practitioners) {
      if (a != replacement_) regular.push_back(a);
    }
    pr.panels.assign(pr.practitioners.size(), {});
    for (size_t i = 0; i < pr.patients.size(); ++i) {
      pr.panels[i % regular.size()].push_back(static_cast<int>(i));
    }
  }

  // Calendar: working days from a week after setup. Enough days for the practitioner-days asked;
  // at least two. The holiday doctor works the first day and comes back on the last, at least
  // three weeks later (the calendar skips ahead if the run is shorter).
  int per_day = 0;
  for (const Practice& pr : practices_) per_day += static_cast<int>(pr.practitioners.size()) - 0;
  per_day -= 1;  // the replacement and the titular never work the same day
  const int n_days = std::max(2, (options_.practitioner_days + per_day - 1) / per_day);
  int64_t d = setup_time / kDayMicros + 7;
  for (int k = 0; k < n_days; ++k) {
    while ((d + 3) % 7 >= 5) ++d;  // skip Saturday and Sunday
    if (k == n_days - 1 && n_days >= 2) {
      d = std::max(d, days_.front() / kDayMicros + 21);
      while ((d + 3) % 7 >= 5) ++d;
    }
    days_.push_back(d * kDayMicros);
    ++d;
  }
  replacement_day_ = n_days / 2;

  // The agendas as the practice's booking site filled them, a month ahead: 14–18 appointments per
  // practitioner-day (the secretaries add more during the days), 26 on the day back from holidays.
  for (size_t p = 0; p < practices_.size(); ++p) {
    Practice& pr = practices_[p];
    for (int k = 0; k < n_days; ++k) {
      for (size_t i = 0; i < pr.practitioners.size(); ++i) {
        const int a = pr.practitioners[i];
        if (a == replacement_) continue;
        const bool back = a == holiday_doctor_ && k == n_days - 1;
        if (a == holiday_doctor_ && k != 0 && !back) continue;
        const std::string& who = (a == titular_ && k == replacement_day_)
                                     ? accounts_[static_cast<size_t>(replacement_)].login
                                     : accounts_[static_cast<size_t>(a)].login;
        const int count = back ? 26 : static_cast<int>(Rand(14, 18));
        std::vector<int> slots(33);
        for (int s = 0; s < 33; ++s) slots[static_cast<size_t>(s)] = s;
        std::shuffle(slots.begin(), slots.end(), rng_);
        for (int j = 0; j < count; ++j) {
          const std::vector<int>& panel = pr.panels[i];
          const int idx = Chance(0.85) && !panel.empty()
                              ? panel[static_cast<size_t>(Rand(0, static_cast<int64_t>(panel.size()) - 1))]
                              : static_cast<int>(Rand(0, static_cast<int64_t>(pr.patients.size()) - 1));
          store::AppointmentRow row;
          row.id = NewId(ctx->random());
          row.practice_id = pr.id;
          row.patient_id = pr.patients[static_cast<size_t>(idx)].id;
          row.practitioner_login = who;
          row.status = "booked";
          row.start = days_[static_cast<size_t>(k)] + 8 * kHour +
                      slots[static_cast<size_t>(j)] * 20 * kMinute;
          row.end = row.start + 20 * kMinute;
          row.created_by = who;
          row.created = setup_time;
          MV_RETURN_IF_ERROR(ctx->data().CreateAppointment(row));
        }
      }
    }
  }
  now_ = setup_time;
  return Status::Ok();
}

bool Simulation::Present(int practice, int account, int k) const {
  (void)practice;
  if (account == replacement_) return k == replacement_day_;
  if (account == titular_) return k != replacement_day_;
  if (account == holiday_doctor_) return k == 0 || k == static_cast<int>(days_.size()) - 1;
  return true;
}

// --- Time and HTTP ---------------------------------------------------------------------------

void Simulation::SetClock(UnixMicros t) {
  t -= t % kSecond;
  if (t <= now_) return;
  json body = {{"set", Iso(t)}};
  auto r = control_->Send("POST", "/debug/clock", body.dump(), {{"Content-Type", "application/json"}});
  if (!r.ok() || r->status != 200) {
    throw SimError{"the simulated clock could not be set: " +
                   (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().ToString())};
  }
  now_ = t;
}

void Simulation::RunQueue() {
  while (!queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    SetClock(e.time);
    e.run();
  }
}

void Simulation::NoteRefusal(Session& s, const std::string& what) {
  if (s.stats == nullptr) return;
  if (s.stats->events.size() < 50) {
    s.stats->events.push_back(Iso(now_) + " " + accounts_[static_cast<size_t>(s.account)].login +
                              " " + what);
  }
}

bool Simulation::Login(Session& s) {
  Account& a = accounts_[static_cast<size_t>(s.account)];
  if (a.contained) return false;
  int64_t step = now_ / kSecond / 30;
  int64_t use = std::max(a.last_step + 1, step - 1);
  if (use > step + 1) {
    SetClock((use - 1) * 30 * kSecond);
    step = use - 1;
  }
  a.last_step = use;
  auto code = api::TotpCodeFromUri(a.totp_uri, use);
  if (!code.ok()) throw SimError{code.status().ToString()};
  json body = {{"login", a.login}, {"password", a.password}, {"totp", *code}};
  auto r = s.http->Send("POST", "/auth/login", body.dump(),
                        {{"Content-Type", "application/json"}, {"User-Agent", s.agent}});
  if (!r.ok()) throw SimError{"login: " + r.status().ToString()};
  if (s.stats) ++s.stats->requests;
  if (s.attack) ++s.attack->requests;
  if (r->status == 200) {
    s.token = json::parse(r->body).value("token", "");
    return true;
  }
  // 423: the account is contained; 403 suspended: its source is (a contained address block is
  // refused at login, on every node, before any account of it is charged again).
  const bool source_refused = r->status == 403 && r->body.find("suspended") != std::string::npos;
  if (r->status == 423 || source_refused) {
    a.contained = true;
    if (s.stats) {
      ++s.stats->containments;
      NoteRefusal(s, source_refused ? "login 403 suspended (source contained)"
                                    : "login 423 (contained)");
    }
    if (s.attack && !s.attack->contained) {
      s.attack->contained = true;
      s.attack->contained_at = now_;
    }
    return false;
  }
  if (s.stats) {
    ++s.stats->other_refusals;
    NoteRefusal(s, "login " + std::to_string(r->status));
  }
  return false;
}

bool Simulation::StepUp(Session& s) {
  Account& a = accounts_[static_cast<size_t>(s.account)];
  int64_t step = now_ / kSecond / 30;
  int64_t use = std::max(a.last_step + 1, step - 1);
  if (use > step + 1) {
    SetClock((use - 1) * 30 * kSecond);
  }
  a.last_step = use;
  auto code = api::TotpCodeFromUri(a.totp_uri, use);
  if (!code.ok()) throw SimError{code.status().ToString()};
  json body = {{"totp", *code}};
  auto r = s.http->Send("POST", "/auth/step-up", body.dump(),
                        {{"Content-Type", "application/json"},
                         {"Authorization", "Bearer " + s.token},
                         {"User-Agent", s.agent}});
  if (!r.ok()) throw SimError{"step-up: " + r.status().ToString()};
  return r->status == 204;
}

// The patient ids of a response: `revealed`, those whose identity and contact it carries;
// `all`, those whose data it carries (with notes), as the access log counts them (an agenda
// carries ids only: its patients go to `all` only with `agenda`).
void CollectIds(const json& j, std::set<std::string>* all, std::set<std::string>* revealed,
                bool agenda = false) {
  if (!j.is_object()) return;
  const std::string type = j.value("resourceType", "");
  auto ref_id = [](const json& ref) -> std::string {
    if (!ref.is_string()) return "";
    const std::string s = ref.get<std::string>();
    return s.rfind("Patient/", 0) == 0 ? s.substr(8) : "";
  };
  if (type == "Patient") {
    const std::string id = j.value("id", "");
    if (!id.empty()) {
      all->insert(id);
      revealed->insert(id);
    }
  } else if (type == "Bundle") {
    if (auto e = j.find("entry"); e != j.end() && e->is_array()) {
      for (const json& entry : *e) {
        if (auto r = entry.find("resource"); r != entry.end()) CollectIds(*r, all, revealed, agenda);
      }
    }
  } else if (type == "Appointment" && agenda) {
    if (auto ps = j.find("participant"); ps != j.end() && ps->is_array()) {
      for (const json& p : *ps) {
        if (p.contains("actor") && p["actor"].contains("reference")) {
          const std::string id = ref_id(p["actor"]["reference"]);
          if (!id.empty()) all->insert(id);
        }
      }
    }
  } else if (type == "DocumentReference") {
    if (j.contains("subject") && j["subject"].contains("reference")) {
      const std::string id = ref_id(j["subject"]["reference"]);
      if (!id.empty()) all->insert(id);
    }
  }
}

std::optional<api::HttpAnswer> Simulation::Act(Session& s, std::string_view method,
                                               const std::string& target, const std::string& body) {
  Account& a = accounts_[static_cast<size_t>(s.account)];
  if (a.contained) return std::nullopt;
  if (s.token.empty() && !Login(s)) return std::nullopt;
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto r = s.http->Send(method, target, body,
                          {{"Authorization", "Bearer " + s.token}, {"User-Agent", s.agent}});
    if (!r.ok()) throw SimError{"request: " + r.status().ToString()};
    if (s.stats) ++s.stats->requests;
    if (s.attack) ++s.attack->requests;
    if (r->status == 401 &&
        r->www_authenticate.find("insufficient_user_authentication") != std::string::npos) {
      if (s.stats) {
        ++s.stats->step_ups;
        NoteRefusal(s, std::string(method) + " step-up");
      }
      if (s.attack) ++s.attack->step_ups;
      if (!StepUp(s)) {
        if (s.stats) NoteRefusal(s, "step-up refused");
      }
      continue;
    }
    if (r->status == 401) {  // the session expired (idle) or was revoked
      s.token.clear();
      if (!Login(s)) return std::nullopt;
      continue;
    }
    if (r->status == 403 && r->body.find("suspended") != std::string::npos) {
      a.contained = true;
      if (s.stats) {
        ++s.stats->containments;
        NoteRefusal(s, std::string(method) + " 403 suspended");
      }
      if (s.attack && !s.attack->contained) {
        s.attack->contained = true;
        s.attack->contained_at = now_;
      }
      return std::nullopt;
    }
    if (r->status == 403 || r->status == 429) {
      if (s.stats) {
        ++s.stats->other_refusals;
        NoteRefusal(s, std::string(method) + " " + std::to_string(r->status));
      }
      return std::nullopt;
    }
    if (s.attack && r->status >= 200 && r->status < 300) {
      json j = json::parse(r->body, nullptr, false);
      CollectIds(j, &s.attack->received, &s.attack->revealed);
    }
    return std::move(*r);
  }
  return std::nullopt;
}

Session& Simulation::NormalSession(int account, const std::string& scenario) {
  auto& slot = normal_sessions_[account];
  if (!slot) {
    slot = std::make_unique<Session>();
    slot->account = account;
    const Account& a = accounts_[static_cast<size_t>(account)];
    const int block = practices_[static_cast<size_t>(a.practice)].block;
    slot->ip = "127." + std::to_string(block) + ".0." + std::to_string(1 + account % 200);
    slot->agent = kPracticeAgent;
    slot->http = std::make_unique<api::HttpClient>("127.0.0.1", port_, slot->ip);
  }
  ScenarioStats& st = scenarios_[scenario];
  st.accounts.insert(accounts_[static_cast<size_t>(account)].login);
  slot->stats = &st;
  return *slot;
}

// --- Normal days -----------------------------------------------------------------------------

std::string Simulation::AppointmentBody(const std::string& patient, const std::string& practitioner,
                                        UnixMicros start) const {
  json body = {{"resourceType", "Appointment"},
               {"status", "booked"},
               {"start", Iso(start)},
               {"end", Iso(start + 20 * kMinute)},
               {"participant", json::array({{{"actor", {{"reference", "Patient/" + patient}}}},
                                            {{"actor", {{"reference", "Practitioner/" + practitioner}}}}})}};
  return body.dump();
}

std::string NoteBody(const std::string& patient, const std::string& text) {
  json body = {{"resourceType", "DocumentReference"},
               {"status", "current"},
               {"subject", {{"reference", "Patient/" + patient}}},
               {"content", json::array({{{"attachment",
                                          {{"contentType", "text/plain; charset=utf-8"},
                                           {"data", Base64Encode(AsBytes(text))}}}}})}};
  return body.dump();
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void Simulation::Consult(int account, const std::string& patient, const std::string& scenario) {
  Session& s = NormalSession(account, scenario);
  if (!Act(s, "GET", "/fhir/Patient/" + patient)) return;
  if (Chance(0.5)) {
    if (!Act(s, "GET", "/fhir/DocumentReference?patient=Patient/" + patient)) return;
  }
  if (Act(s, "POST", "/fhir/DocumentReference", NoteBody(patient, gen_.NextNote().text))) {
    accounts_[static_cast<size_t>(account)].noted.insert(patient);
  }
}

std::optional<std::string> Simulation::CreatePatient(Session& s, int practice) {
  vault::Patient p = gen_.NextPatient();
  json resource = api::PatientToFhir(p, MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact) |
                                            MaskOf(FieldGroup::kInsurance));
  resource.erase("id");
  SimPatient sp{"", p.identity.family, p.identity.birth_date ? FormatDate(*p.identity.birth_date) : ""};
  // The walk-in is searched first, as a person would (and not found).
  if (!Act(s, "GET", "/fhir/Patient?family=" + UrlEncode(sp.family) + "&birthdate=" + sp.birth_date)) {
    return std::nullopt;
  }
  auto r = Act(s, "POST", "/fhir/Patient", resource.dump());
  if (!r || r->status != 201) return std::nullopt;
  sp.id = json::parse(r->body).value("id", "");
  Practice& pr = practices_[static_cast<size_t>(practice)];
  pr.patients.push_back(sp);
  return sp.id;
}

void Simulation::WalkIn(int practice, int account, const std::string& scenario) {
  Session& s = NormalSession(account, scenario);
  Practice& pr = practices_[static_cast<size_t>(practice)];
  std::string id;
  if (Chance(0.7)) {
    const SimPatient& p = pr.patients[static_cast<size_t>(Rand(0, static_cast<int64_t>(pr.patients.size()) - 1))];
    auto r = Act(s, "GET", "/fhir/Patient?family=" + UrlEncode(p.family) + "&birthdate=" + p.birth_date);
    if (!r) return;
    id = p.id;
  } else {
    auto created = CreatePatient(s, practice);
    if (!created) return;
    id = *created;
  }
  if (Act(s, "POST", "/fhir/DocumentReference", NoteBody(id, gen_.NextNote().text))) {
    accounts_[static_cast<size_t>(account)].noted.insert(id);
  }
}

void Simulation::DoctorDay(int practice, int account, int k, const std::string& scenario) {
  Session& s = NormalSession(account, scenario);
  ++s.stats->days;
  ++practitioner_days_;
  const std::string day = DateOf(days_[static_cast<size_t>(k)]);
  auto agenda = Act(s, "GET", "/fhir/Appointment?date=" + day);
  if (!agenda) return;
  const std::string me = "Practitioner/" + accounts_[static_cast<size_t>(account)].login;
  json bundle = json::parse(agenda->body, nullptr, false);
  std::vector<std::pair<UnixMicros, std::string>> mine;
  if (bundle.is_object() && bundle.contains("entry")) {
    for (const json& e : bundle["entry"]) {
      const json& ap = e["resource"];
      std::string patient;
      bool with_me = false;
      for (const json& p : ap["participant"]) {
        const std::string ref = p["actor"].value("reference", "");
        if (ref == me) with_me = true;
        if (ref.rfind("Patient/", 0) == 0) patient = ref.substr(8);
      }
      if (!with_me || patient.empty()) continue;
      auto start = ParseIsoTime(ap.value("start", ""));
      if (start.ok()) mine.emplace_back(*start, patient);
    }
  }
  for (const auto& [start, patient] : mine) {
    const std::string pid = patient;
    Schedule(start + Rand(0, 300) * kSecond, [this, account, pid, scenario] {
      Consult(account, pid, scenario);
    });
  }
  // A glance at the patient list now and then.
  if (Chance(0.15)) Act(s, "GET", "/fhir/Patient?_count=20");
  // Back from holidays: results and letters that arrived meanwhile, for patients seen before.
  if (account == holiday_doctor_ && k == static_cast<int>(days_.size()) - 1) {
    std::vector<std::string> noted(accounts_[static_cast<size_t>(account)].noted.begin(),
                                   accounts_[static_cast<size_t>(account)].noted.end());
    std::shuffle(noted.begin(), noted.end(), rng_);
    if (noted.size() > 12) noted.resize(12);
    for (const std::string& pid : noted) {
      Schedule(now_ + Rand(5, 40) * kMinute, [this, account, pid, scenario] {
        Session& s2 = NormalSession(account, scenario);
        if (Act(s2, "GET", "/fhir/Patient/" + pid)) {
          Act(s2, "GET", "/fhir/DocumentReference?patient=Patient/" + pid);
        }
      });
    }
  }
  // Walk-ins, between appointments.
  const bool has_secretary = !practices_[static_cast<size_t>(practice)].secretaries.empty();
  const int walk_ins = static_cast<int>(Rand(0, has_secretary ? 1 : 3));
  for (int i = 0; i < walk_ins; ++i) {
    Schedule(days_[static_cast<size_t>(k)] + 9 * kHour + Rand(0, 9 * 3600) * kSecond,
             [this, practice, account] { WalkIn(practice, account, "walk_in"); });
  }
}

void Simulation::Booking(int practice, int account, int k, const std::string& scenario) {
  Session& s = NormalSession(account, scenario);
  Practice& pr = practices_[static_cast<size_t>(practice)];
  // For a day 1–5 working days ahead (beyond the simulated days: a date as well).
  const int ahead = static_cast<int>(Rand(1, 5));
  const int target = k + ahead;
  const UnixMicros day = target < static_cast<int>(days_.size())
                             ? days_[static_cast<size_t>(target)]
                             : days_.back() + (target - static_cast<int>(days_.size()) + 1) * kDayMicros;
  std::vector<size_t> present;
  for (size_t i = 0; i < pr.practitioners.size(); ++i) {
    if (target >= static_cast<int>(days_.size()) || Present(practice, pr.practitioners[i], target)) {
      if (pr.practitioners[i] == replacement_ && target >= static_cast<int>(days_.size())) continue;
      present.push_back(i);
    }
  }
  if (present.empty()) return;
  const size_t which = present[static_cast<size_t>(Rand(0, static_cast<int64_t>(present.size()) - 1))];
  const int doctor = pr.practitioners[which];
  std::string patient;
  if (Chance(0.1)) {
    auto created = CreatePatient(s, practice);
    if (!created) return;
    patient = *created;
  } else {
    const size_t panel_owner = which < pr.panels.size() && !pr.panels[which].empty() ? which : 0;
    const std::vector<int>& panel = pr.panels[panel_owner];
    const SimPatient& p = pr.patients[static_cast<size_t>(
        panel.empty() ? Rand(0, static_cast<int64_t>(pr.patients.size()) - 1)
                      : panel[static_cast<size_t>(Rand(0, static_cast<int64_t>(panel.size()) - 1))])];
    auto r = Act(s, "GET", "/fhir/Patient?family=" + UrlEncode(p.family) + "&birthdate=" + p.birth_date);
    if (!r) return;
    patient = p.id;
  }
  if (Chance(0.3)) {
    if (!Act(s, "GET", "/fhir/Appointment?date=" + DateOf(day))) return;
  }
  const UnixMicros start = day + 8 * kHour + Rand(0, 32) * 20 * kMinute;
  Act(s, "POST", "/fhir/Appointment",
      AppointmentBody(patient, accounts_[static_cast<size_t>(doctor)].login, start));
}

void Simulation::ScheduleDay(int k) {
  const UnixMicros day = days_[static_cast<size_t>(k)];
  const int last = static_cast<int>(days_.size()) - 1;
  for (size_t p = 0; p < practices_.size(); ++p) {
    const Practice& pr = practices_[p];
    const bool centre = pr.kind == "centre";
    for (int a : pr.practitioners) {
      if (!Present(static_cast<int>(p), a, k)) continue;
      std::string scenario = centre ? "centre_de_sante" : "doctor_day";
      if (a == replacement_) scenario = "replacement_doctor";
      if (a == holiday_doctor_ && k == last && k > 0) scenario = "back_from_holidays";
      Schedule(day + 8 * kHour + Rand(0, 20 * 60) * kSecond,
               [this, p, a, k, scenario] { DoctorDay(static_cast<int>(p), a, k, scenario); });
    }
    if (pr.secretaries.empty()) continue;
    // The secretaries take about 8 bookings a day per practitioner in a practice, 5 in the centre
    // (most of its patients book online).
    const int bookings = static_cast<int>(pr.practitioners.size()) * (centre ? 5 : 8);
    const std::string scenario = centre ? "centre_de_sante" : "secretary_booking";
    for (int s : pr.secretaries) {
      Schedule(day + 8 * kHour, [this, s, day, scenario] {
        Session& ss = NormalSession(s, scenario);
        ++ss.stats->days;
        if (Act(ss, "GET", "/fhir/Appointment?date=" + DateOf(day))) {
          Act(ss, "GET", "/fhir/Appointment?date=" + DateOf(day + kDayMicros));
        }
      });
    }
    for (int b = 0; b < bookings; ++b) {
      const int s = pr.secretaries[static_cast<size_t>(b) % pr.secretaries.size()];
      Schedule(day + 8 * kHour + 30 * kMinute + Rand(0, 10 * 3600) * kSecond,
               [this, p, s, k, scenario] { Booking(static_cast<int>(p), s, k, scenario); });
    }
  }
}

// --- Attacks ---------------------------------------------------------------------------------

std::unique_ptr<Session> Simulation::AttackSession(int account, AttackAccount* rec,
                                                   const std::string& ip) {
  auto s = std::make_unique<Session>();
  s->account = account;
  s->ip = ip;
  s->agent = kThiefAgent;
  s->attack = rec;
  s->http = std::make_unique<api::HttpClient>("127.0.0.1", port_, ip);
  rec->login = accounts_[static_cast<size_t>(account)].login;
  rec->role = accounts_[static_cast<size_t>(account)].secretary ? "secretary" : "practitioner";
  rec->source = ip;
  return s;
}

StrategyResult& Simulation::NewStrategy(const std::string& name, const std::string& description) {
  strategies_.push_back(StrategyResult{});
  StrategyResult& r = strategies_.back();
  r.name = name;
  r.description = description;
  return r;
}

// Runs one slot: each session steps (step returns the seconds to its next step, or nothing when
// it is done) until every one is done or contained.
void Simulation::RunSlot(StrategyResult& r, std::vector<std::unique_ptr<Session>>& sessions,
                         const std::function<std::optional<int64_t>(size_t, Session&)>& step,
                         int64_t first_gap_seconds) {
  r.start = now_;
  std::vector<std::unique_ptr<std::function<void()>>> ticks;
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session* s = sessions[i].get();
    const size_t index = i;
    ticks.push_back(std::make_unique<std::function<void()>>());
    std::function<void()>* self = ticks.back().get();
    *self = [this, s, index, &step, self, &r] {
      if (!s->attack->since) s->attack->since = now_;
      if (accounts_[static_cast<size_t>(s->account)].contained ||
          s->attack->requests >= kMaxAttackRequests) {
        if (accounts_[static_cast<size_t>(s->account)].contained && !s->attack->contained) {
          s->attack->contained = true;
          s->attack->contained_at = now_;
        }
        return;
      }
      std::optional<int64_t> next = step(index, *s);
      r.end = now_;
      if (next) Schedule(now_ + std::max<int64_t>(1, *next) * kSecond, [self] { (*self)(); });
    };
    Schedule(now_ + static_cast<int64_t>(i) * first_gap_seconds * kSecond, [self] { (*self)(); });
  }
  RunQueue();
  r.end = std::max(r.end, now_);
}

std::vector<std::string> Simulation::HarvestTargets() const {
  std::vector<std::string> dates;
  for (UnixMicros d : days_) dates.push_back(DateOf(d));
  return dates;
}

std::string NextLink(const json& bundle) {
  if (!bundle.is_object() || !bundle.contains("link")) return "";
  for (const json& l : bundle["link"]) {
    if (l.value("relation", "") == "next") return l.value("url", "");
  }
  return "";
}

void Simulation::RunAttacks() {
  // Victims: accounts of ordinary practices, distinct for every strategy.
  std::vector<int> practitioner_victims, secretary_victims;
  for (size_t p = 0; p + 1 < practices_.size(); ++p) {
    const Practice& pr = practices_[p];
    if (pr.practitioners.size() >= 2 && static_cast<int>(p) != replacement_practice_) {
      practitioner_victims.push_back(pr.practitioners[1]);
    }
    if (pr.kind == "solo+secretary") secretary_victims.push_back(pr.secretaries[0]);
  }
  const std::vector<std::string>& names = gen_.family_names();
  int attacker_block = 200;
  auto next_ip = [&](int host) {
    return "127." + std::to_string(attacker_block) + ".0." + std::to_string(host);
  };
  auto begin_slot = [&] {
    SetClock(now_ - now_ % kDayMicros + kSlotGap + 9 * kHour);
    ++attacker_block;
  };
  size_t pv = 0, sv = 0;
  auto single = [&](const std::string& name, const std::string& description, bool secretary,
                    const std::function<std::optional<int64_t>(size_t, Session&)>& step) {
    const std::vector<int>& pool = secretary ? secretary_victims : practitioner_victims;
    size_t& next = secretary ? sv : pv;
    if (next >= pool.size()) return;
    begin_slot();
    StrategyResult& r = NewStrategy(name, description);
    r.accounts.resize(1);
    r.accounts[0].strategy = name;
    std::vector<std::unique_ptr<Session>> sessions;
    sessions.push_back(AttackSession(pool[next++], &r.accounts[0], next_ip(1)));
    RunSlot(r, sessions, step, 0);
  };

  // Each strategy's state lives in these closures' captures.
  auto list_dump = [this](std::string target) {
    return [this, target](size_t, Session& s) mutable -> std::optional<int64_t> {
      if (target.empty()) return std::nullopt;
      auto r = Act(s, "GET", target);
      if (!r || r->status != 200) return std::nullopt;
      target = NextLink(json::parse(r->body, nullptr, false));
      return 3;
    };
  };
  auto family_sweep = [this, &names](size_t stride, size_t offset) {
    auto idx = std::make_shared<size_t>(offset);
    auto page = std::make_shared<std::string>();
    return [this, &names, idx, page, stride](size_t, Session& s) -> std::optional<int64_t> {
      std::string target = *page;
      if (target.empty()) {
        if (*idx >= names.size()) return std::nullopt;
        target = "/fhir/Patient?family=" + UrlEncode(names[*idx]) + "&_count=100";
        *idx += stride;
      }
      auto r = Act(s, "GET", target);
      if (!r) return std::nullopt;
      *page = r->status == 200 ? NextLink(json::parse(r->body, nullptr, false)) : "";
      return 4;
    };
  };
  const std::vector<std::string> harvest_days = HarvestTargets();
  // Reads every patient of the practice's past agendas by id (one agenda day, then its patients),
  // with a guessed id now and then.
  auto id_walk = [this, harvest_days](bool launder, int64_t gap, bool slow) {
    struct State {
      size_t day = 0;
      std::vector<std::string> ids;
      size_t next = 0;
      int today = 0;
      UnixMicros today_start = 0;
    };
    auto st = std::make_shared<State>();
    return [this, st, harvest_days, launder, gap, slow](size_t, Session& s) -> std::optional<int64_t> {
      if (slow) {
        // Slow and low: at most 6 actions a day, at irregular times in working hours.
        const UnixMicros day = now_ - now_ % kDayMicros;
        if (day != st->today_start) {
          st->today_start = day;
          st->today = 0;
        }
        if (++st->today > 6 || now_ - day > 18 * kHour) {
          if (now_ - s.attack->since > 40 * kDayMicros) return std::nullopt;
          const UnixMicros tomorrow = day + kDayMicros + 8 * kHour + Rand(0, 4 * 3600) * kSecond;
          return (tomorrow - now_) / kSecond;
        }
      }
      if (st->next >= st->ids.size()) {
        if (st->day >= harvest_days.size()) return std::nullopt;
        auto r = Act(s, "GET", "/fhir/Appointment?date=" + harvest_days[st->day++]);
        if (!r) return std::nullopt;
        std::set<std::string> all, revealed;
        CollectIds(json::parse(r->body, nullptr, false), &all, &revealed, /*agenda=*/true);
        st->ids.assign(all.begin(), all.end());
        std::shuffle(st->ids.begin(), st->ids.end(), rng_);
        st->next = 0;
        return slow ? Rand(20, 140) * 60 : gap;
      }
      const std::string id = st->ids[st->next++];
      if (!launder && !slow && st->next % 5 == 0) {
        Act(s, "GET", "/fhir/Patient/" + NewId(id_random_));  // a guessed id: 404
      }
      if (launder) {
        const UnixMicros start = now_ - now_ % kDayMicros + kDayMicros + 10 * kHour;
        auto b = Act(s, "POST", "/fhir/Appointment",
                     AppointmentBody(id, accounts_[static_cast<size_t>(s.account)].login, start));
        if (!b) return std::nullopt;
      }
      auto r = Act(s, "GET", "/fhir/Patient/" + id);
      if (!r) return std::nullopt;
      if (launder && !accounts_[static_cast<size_t>(s.account)].secretary) {
        if (!Act(s, "GET", "/fhir/DocumentReference?patient=Patient/" + id)) return std::nullopt;
      }
      return slow ? Rand(20, 140) * 60 : gap;
    };
  };
  auto next_birth_day = std::make_shared<int64_t>(DaysFromCivil(Date{1950, 1, 1}));
  auto birthdate_sweep = [this, next_birth_day](size_t, Session& s) -> std::optional<int64_t> {
    const int64_t day = (*next_birth_day)++;
    auto r = Act(s, "GET", "/fhir/Patient?birthdate=" + FormatDate(CivilFromDays(day)) + "&_count=100");
    if (!r) return std::nullopt;
    return 3;
  };

  single("list_dump", "the patient list, 100 rows a page, page after page", false,
         list_dump("/fhir/Patient?_count=100"));
  single("list_dump_secretary", "the same from a secretary's account", true,
         list_dump("/fhir/Patient?_count=100"));
  single("family_sweep", "family names, most common first, every page of each", false,
         family_sweep(1, 0));
  single("family_sweep_secretary", "the same from a secretary's account", true, family_sweep(1, 0));
  single("birthdate_sweep", "birth dates day after day from 1950", false, birthdate_sweep);
  single("id_walk", "the ids of the past agendas read one by one, a guessed id every fifth", false,
         id_walk(false, 2, false));
  single("id_walk_secretary", "the same from a secretary's account", true, id_walk(false, 2, false));
  single("slow_and_low", "past agendas' patients by id, at most 6 a day at irregular hours, 40 days",
         false, id_walk(false, 0, true));
  single("appointment_laundering",
         "books each past patient with itself for tomorrow, then reads them and their notes", false,
         id_walk(true, 5, false));

  // Four practitioners of the centre de santé together, from one address block.
  {
    begin_slot();
    StrategyResult& r = NewStrategy("four_accounts_one_practice",
                                    "four practitioners of the centre: family sweeps over disjoint "
                                    "names and the list, interleaved, one address block");
    r.bound = 100;
    r.bound_total = true;
    const Practice& centre = practices_.back();
    r.accounts.resize(4);
    std::vector<std::unique_ptr<Session>> sessions;
    std::vector<std::function<std::optional<int64_t>(size_t, Session&)>> steps;
    for (size_t i = 0; i < 4; ++i) {
      r.accounts[i].strategy = r.name;
      sessions.push_back(AttackSession(centre.practitioners[16 + i], &r.accounts[i], next_ip(static_cast<int>(i) + 1)));
      steps.push_back(i == 0 ? std::function<std::optional<int64_t>(size_t, Session&)>(
                                   list_dump("/fhir/Patient?_count=100"))
                             : family_sweep(3, i - 1));
    }
    RunSlot(r, sessions, [&](size_t i, Session& s) { return steps[i](i, s); }, 1);
  }
  // Twenty accounts of twenty practices driven from one address block.
  {
    begin_slot();
    StrategyResult& r = NewStrategy("one_source_20_accounts",
                                    "the first practitioner of 20 practices, family sweeps "
                                    "interleaved, all from one address block");
    r.needs_source = true;
    r.accounts.resize(20);
    std::vector<std::unique_ptr<Session>> sessions;
    std::vector<std::function<std::optional<int64_t>(size_t, Session&)>> steps;
    for (size_t i = 0; i < 20; ++i) {
      r.accounts[i].strategy = r.name;
      sessions.push_back(AttackSession(practices_[i].practitioners[0], &r.accounts[i],
                                       next_ip(static_cast<int>(i) + 1)));
      steps.push_back(family_sweep(1, 0));
    }
    RunSlot(r, sessions, [&](size_t i, Session& s) { return steps[i](i, s); }, 1);
  }
}

// --- Finish and report -----------------------------------------------------------------------

void Simulation::Finish() {
  // Canaries, as the vault knows them (never on the wire).
  auto ctx = app::VaultContext::Open(options_.data_dir);
  if (!ctx.ok()) throw SimError{"reopening the vault: " + ctx.status().ToString()};
  for (const Practice& pr : practices_) {
    int64_t after = 0;
    for (;;) {
      auto page = (*ctx)->patients().List(pr.id, after, 1000, 0);
      if (!page.ok()) throw SimError{"listing patients: " + page.status().ToString()};
      for (size_t i = 0; i < page->patients.size(); ++i) {
        if (i < page->canary.size() && page->canary[i]) canaries_.insert(page->patients[i].id);
      }
      if (!page->next_cursor) break;
      after = *page->next_cursor;
    }
  }
  for (StrategyResult& r : strategies_) {
    for (AttackAccount& a : r.accounts) {
      a.real_leaked = 0;
      a.canaries = 0;
      for (const std::string& id : a.revealed) {
        if (canaries_.count(id)) {
          ++a.canaries;
        } else {
          ++a.real_leaked;
        }
      }
    }
  }
  // Source containment, from the server's own log lines.
  auto log = ReadFile(options_.data_dir + "/server.log");
  for (StrategyResult& r : strategies_) {
    if (!r.needs_source || !log.ok() || r.accounts.empty()) continue;
    const std::string block = r.accounts[0].source.substr(0, r.accounts[0].source.rfind('.') + 1);
    std::istringstream in(*log);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("decision=contain_source") != std::string::npos &&
          line.find("source=" + block) != std::string::npos) {
        r.source_contained = true;
      }
    }
  }
}

struct Verdicts {
  bool pass = true;
  std::vector<std::string> failures;
};

Verdicts Judge(const std::map<std::string, ScenarioStats>& scenarios,
               const std::vector<StrategyResult>& strategies) {
  Verdicts v;
  for (const auto& [name, s] : scenarios) {
    if (s.step_ups > 0 || s.containments > 0) {
      v.pass = false;
      v.failures.push_back(name + ": " + std::to_string(s.step_ups) + " step-ups, " +
                           std::to_string(s.containments) + " containments");
    }
  }
  for (const StrategyResult& r : strategies) {
    int64_t total = 0, worst = 0;
    bool all_contained = true;
    for (const AttackAccount& a : r.accounts) {
      total += a.real_leaked;
      worst = std::max(worst, a.real_leaked);
      all_contained = all_contained && a.contained;
    }
    if (r.bound_total ? total > r.bound : worst > r.bound) {
      v.pass = false;
      v.failures.push_back(r.name + ": " + std::to_string(r.bound_total ? total : worst) +
                           " real patients leaked > " + std::to_string(r.bound));
    }
    if (worst > 25 && !r.bound_total) continue;
    if (r.needs_source && (!r.source_contained || !all_contained)) {
      v.pass = false;
      v.failures.push_back(r.name + ": the source was not contained as a source");
    }
  }
  return v;
}

json Simulation::Report() const {
  json normal = json::array();
  for (const auto& [name, s] : scenarios_) {
    normal.push_back({{"scenario", name},
                      {"accounts", s.accounts.size()},
                      {"actor_days", s.days},
                      {"requests", s.requests},
                      {"step_ups", s.step_ups},
                      {"containments", s.containments},
                      {"other_refusals", s.other_refusals},
                      {"events", s.events}});
  }
  json attacks = json::array();
  for (const StrategyResult& r : strategies_) {
    json accounts = json::array();
    int64_t total = 0, worst = 0;
    for (const AttackAccount& a : r.accounts) {
      total += a.real_leaked;
      worst = std::max(worst, a.real_leaked);
      accounts.push_back({{"login", a.login},
                          {"role", a.role},
                          {"source", a.source},
                          {"since", Iso(a.since)},
                          {"contained", a.contained},
                          {"contained_after_seconds",
                           a.contained ? (a.contained_at - a.since) / kSecond : -1},
                          {"requests", a.requests},
                          {"step_ups", a.step_ups},
                          {"real_leaked", a.real_leaked},
                          {"canaries_received", a.canaries},
                          {"received_ids", a.received}});
    }
    attacks.push_back({{"strategy", r.name},
                       {"description", r.description},
                       {"bound", r.bound},
                       {"bound_is_total", r.bound_total},
                       {"real_leaked_total", total},
                       {"real_leaked_max_per_account", worst},
                       {"source_contained", r.source_contained},
                       {"start", Iso(r.start)},
                       {"end", Iso(r.end)},
                       {"accounts", accounts}});
  }
  const Verdicts v = Judge(scenarios_, strategies_);
  return {{"seed", options_.seed},
          {"practices", practices_.size()},
          {"patients_per_practice", options_.patients},
          {"practitioner_days", practitioner_days_},
          {"normal_days", days_.size()},
          {"canaries", canaries_.size()},
          {"normal", normal},
          {"attacks", attacks},
          {"acceptance", {{"pass", v.pass}, {"failures", v.failures}}}};
}

void Simulation::PrintTables(std::ostream& os) const {
  os << "Normal scenarios (" << practitioner_days_ << " practitioner-days over " << days_.size()
     << " days, " << practices_.size() << " practices, seed " << options_.seed << ")\n";
  os << std::left << std::setw(22) << "scenario" << std::right << std::setw(9) << "accounts"
     << std::setw(11) << "actor-days" << std::setw(10) << "requests" << std::setw(9) << "step-ups"
     << std::setw(13) << "containments" << std::setw(10) << "refusals" << "\n";
  for (const auto& [name, s] : scenarios_) {
    os << std::left << std::setw(22) << name << std::right << std::setw(9) << s.accounts.size()
       << std::setw(11) << s.days << std::setw(10) << s.requests << std::setw(9) << s.step_ups
       << std::setw(13) << s.containments << std::setw(10) << s.other_refusals << "\n";
    for (const std::string& e : s.events) os << "    " << e << "\n";
  }
  os << "\nAttacks (real patients leaked before containment; canaries excluded)\n";
  os << std::left << std::setw(28) << "strategy" << std::right << std::setw(9) << "accounts"
     << std::setw(11) << "contained" << std::setw(10) << "requests" << std::setw(9) << "step-ups"
     << std::setw(12) << "leaked max" << std::setw(13) << "leaked total" << std::setw(10)
     << "canaries" << std::setw(8) << "bound" << std::setw(11) << "time" << "\n";
  for (const StrategyResult& r : strategies_) {
    int64_t total = 0, worst = 0, contained = 0, requests = 0, step_ups = 0, canaries = 0,
            longest = 0;
    for (const AttackAccount& a : r.accounts) {
      total += a.real_leaked;
      worst = std::max(worst, a.real_leaked);
      contained += a.contained ? 1 : 0;
      requests += a.requests;
      step_ups += a.step_ups;
      canaries += a.canaries;
      if (a.contained) longest = std::max(longest, (a.contained_at - a.since) / kSecond);
    }
    std::ostringstream time;
    if (longest >= 86400) {
      time << std::fixed << std::setprecision(1) << static_cast<double>(longest) / 86400 << " d";
    } else if (longest >= 3600) {
      time << std::fixed << std::setprecision(1) << static_cast<double>(longest) / 3600 << " h";
    } else {
      time << longest / 60 << " min";
    }
    std::string contained_text = std::to_string(contained) + "/" + std::to_string(r.accounts.size());
    if (r.needs_source) contained_text += r.source_contained ? " +src" : " -src";
    os << std::left << std::setw(28) << r.name << std::right << std::setw(9) << r.accounts.size()
       << std::setw(11) << contained_text << std::setw(10) << requests << std::setw(9) << step_ups
       << std::setw(12) << worst << std::setw(13) << total << std::setw(10) << canaries
       << std::setw(8) << ((r.bound_total ? "Σ" : "") + std::to_string(r.bound)) << std::setw(11)
       << time.str() << "\n";
  }
  const Verdicts v = Judge(scenarios_, strategies_);
  os << "\nacceptance: " << (v.pass ? "PASS" : "FAIL") << "\n";
  for (const std::string& f : v.failures) os << "  " << f << "\n";
}

int Simulation::Run() {
  Status s = Setup();
  if (!s.ok()) {
    err_ << "medvault: " << s.message() << "\n";
    return s.code() == Code::kInvalidArgument ? 1 : 2;
  }
  std::string binary = options_.server_binary;
  if (binary.empty()) {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) {
      err_ << "medvault: cannot find this executable; pass --server\n";
      return 2;
    }
    binary.assign(buf, static_cast<size_t>(n));
  }
  auto port = server_.Start(binary, options_.data_dir);
  if (!port.ok()) {
    err_ << "medvault: " << port.status().message() << "\n";
    return 2;
  }
  port_ = *port;
  control_ = std::make_unique<api::HttpClient>("127.0.0.1", port_, "127.0.0.1");
  try {
    SetClock(now_ + kSecond);
    for (size_t k = 0; k < days_.size(); ++k) {
      ScheduleDay(static_cast<int>(k));
      RunQueue();
    }
    if (options_.attacks) RunAttacks();
    server_.Stop();
    Finish();
  } catch (const SimError& e) {
    server_.Stop();
    err_ << "medvault: simulation stopped: " << e.message << "\n";
    return 2;
  }
  const json report = Report();
  if (options_.json_out == "-") {
    out_ << report.dump(1) << "\n";
  } else {
    PrintTables(out_);
    if (!options_.json_out.empty()) {
      std::ofstream f(options_.json_out);
      f << report.dump(1) << "\n";
      if (!f) {
        err_ << "medvault: cannot write " << options_.json_out << "\n";
        return 2;
      }
    }
  }
  if (options_.check && !report["acceptance"]["pass"].get<bool>()) return 1;
  return 0;
}

}  // namespace

int RunSimulate(const SimulateOptions& options, std::ostream& out, std::ostream& err) {
  Simulation sim(options, out, err);
  return sim.Run();
}

}  // namespace medvault::sim
