#include "tests/e2e/harness.h"

#include <fcntl.h>
#include <liboath/oath.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "store/postgres/pg_testing.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace medvault::e2e {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string Bin() {
  const char* bin = std::getenv("MEDVAULT_BIN");
  return bin != nullptr ? bin : "build/medvault";
}

std::vector<char*> Argv(const std::string& bin, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

CommandResult RunMedvault(const std::vector<std::string>& args, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
  const std::string bin = Bin();
  std::vector<char*> argv = Argv(bin, args);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) {
    ssize_t w = write(in[1], input.data(), input.size());
    (void)w;
  }
  close(in[1]);
  CommandResult r;
  // stderr is small for these commands; read stdout first, then stderr.
  r.out = ReadAll(out[0]);
  r.err = ReadAll(err[0]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

nlohmann::json HttpResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
  std::string host;
  int port = 0;
  bool tls = false;
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::function<void(const HttpResponse&)> observer;

  void Connect() {
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port));
    buffer.clear();
    if (tls) {
      secure.emplace(ioc, ctx);
      beast::get_lowest_layer(*secure).connect(results);
      secure->handshake(ssl::stream_base::client);
    } else {
      plain.emplace(ioc);
      plain->connect(results);
    }
  }
  bool Connected() const { return tls ? secure.has_value() : plain.has_value(); }
  void Reset() {
    plain.reset();
    secure.reset();
  }

  HttpResponse Exchange(http::request<http::string_body>& req) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    // A server refusing an oversized body answers and closes before it has read it all: the
    // write may fail, and the answer is still there to read.
    beast::error_code write_ec;
    if (tls) {
      http::write(*secure, req, write_ec);
      http::read(*secure, buffer, parser);
    } else {
      http::write(*plain, req, write_ec);
      http::read(*plain, buffer, parser);
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) Reset();
    return out;
  }
};

HttpClient::HttpClient(std::string host, int port, bool tls, std::string ca_file)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->tls = tls;
  if (tls) {
    impl_->ctx.load_verify_file(ca_file);
    impl_->ctx.set_verify_mode(ssl::verify_peer);
  }
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Send(const std::string& method, const std::string& target,
                              const std::string& body,
                              const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->host);
  req.keep_alive(true);
  if (!body.empty()) req.set(http::field::content_type, "application/fhir+json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->Connected()) impl_->Connect();
      HttpResponse r = impl_->Exchange(req);
      if (impl_->observer) impl_->observer(r);
      return r;
    } catch (const std::exception&) {
      impl_->Reset();
      if (attempt == 1) throw;
    }
  }
  return {};
}

void HttpClient::SetObserver(std::function<void(const HttpResponse&)> observer) {
  impl_->observer = std::move(observer);
}

std::string HttpClient::SendRaw(const std::string& bytes) {
  impl_->Reset();
  tcp::socket s(impl_->ioc);
  tcp::resolver resolver(impl_->ioc);
  net::connect(s, resolver.resolve(impl_->host, std::to_string(impl_->port)));
  net::write(s, net::buffer(bytes));
  std::string out;
  beast::error_code ec;
  char buf[4096];
  for (;;) {
    const size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

int64_t CurrentTotpStep() { return static_cast<int64_t>(std::time(nullptr)) / 30; }

std::string TotpCode(const std::string& base32_secret, int64_t step) {
  static const int init = oath_init();
  (void)init;
  char* raw = nullptr;
  size_t raw_len = 0;
  if (oath_base32_decode(base32_secret.c_str(), base32_secret.size(), &raw, &raw_len) != OATH_OK) {
    return "";
  }
  char code[7] = {};
  oath_totp_generate(raw, raw_len, static_cast<time_t>(step * 30), 30, 0, 6, code);
  std::free(raw);
  return code;
}

std::string User::NextCode() {
  const bool ready = WaitFor([&] { return last_step + 1 <= CurrentTotpStep() + 1; }, 35'000, 100);
  EXPECT_TRUE(ready) << "no usable TOTP step for " << login;
  // The server accepts the previous, current and next step. The previous one saves a wait when a
  // user logs in twice within a step, but only early in the step: late in it, a login slowed by
  // load (password hashing under sanitizers) could reach the server two steps on and be refused.
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const int64_t current = now / 30;
  int64_t step = std::max(last_step + 1, current - 1);
  if (step < current && now % 30 >= 10) step = current;
  last_step = step;
  return TotpCode(secret, last_step);
}

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string IssueCode(const HttpResponse& r) {
  const nlohmann::json j = r.Json();
  if (!j.is_object() || j.value("resourceType", "") != "OperationOutcome" ||
      !j.contains("issue") || !j["issue"].is_array() || j["issue"].empty()) {
    return "";
  }
  return j["issue"][0].value("code", "");
}

bool WaitFor(const std::function<bool()>& condition, int timeout_ms, int poll_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

bool PostgresBackend() {
  const char* backend = std::getenv("MEDVAULT_E2E_BACKEND");
  return backend != nullptr && std::string(backend) == "postgres";
}

namespace {

// A fresh database in the test cluster, named after `key`; its URL, or "" after a test failure.
std::string CreateTestDatabase(const std::string& key) {
  const std::string base = store::testing::PostgresTestUrl();
  if (base.empty()) {
    ADD_FAILURE() << store::testing::kNoPostgres;
    return {};
  }
  const std::string name = "e2e_" + store::testing::PostgresTestSchema(key);
  // The cluster's URL ends with its maintenance database: /postgres.
  const std::string command = "psql '" + base + "' -v ON_ERROR_STOP=1 -q -c 'CREATE DATABASE " +
                              name + "' >/dev/null";
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "cannot create the test database " << name;
    return {};
  }
  return base.substr(0, base.rfind('/') + 1) + name;
}

}  // namespace

Vault::Vault() {
  std::vector<std::string> args = {"init", "--data", dir_.path()};
  if (PostgresBackend()) {
    pg_url_ = CreateTestDatabase(dir_.path());
    args.insert(args.end(), {"--backend", "postgres", "--pg", pg_url_});
  }
  CommandResult r = RunMedvault(args);
  if (r.exit_code != 0) ADD_FAILURE() << "medvault init failed: " << r.err;
  SetConfig("argon2_ops", "1");
  SetConfig("argon2_mem_mib", "8");
}

Vault::~Vault() { StopServer(); }

std::string Vault::AddPractice(const std::string& name) {
  CommandResult r = RunMedvault({"practice", "add", "--data", dir(), "--name", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  return id;
}

User Vault::AddUser(const std::string& practice, const std::string& login,
                    const std::string& role, const std::string& display_name) {
  User u;
  u.login = login;
  u.password = "correct horse battery " + login;
  std::vector<std::string> args = {"user", "add", "--data", dir(), "--login", login, "--role", role};
  if (!practice.empty()) {
    args.push_back("--practice");
    args.push_back(practice);
  }
  if (!display_name.empty()) {
    args.push_back("--name");
    args.push_back(display_name);
  }
  CommandResult r = RunMedvault(args, u.password + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const size_t at = r.out.find("secret=");
  if (at != std::string::npos) {
    const size_t end = r.out.find_first_of("&\n", at);
    u.secret = r.out.substr(at + 7, end - at - 7);
  }
  EXPECT_FALSE(u.secret.empty()) << r.out;
  return u;
}

void Vault::SetConfig(const std::string& key, const std::string& value) {
  const std::string path = dir() + "/medvault.toml";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const size_t at = text.find("\n" + key + " =");
  ASSERT_NE(at, std::string::npos) << key;
  const size_t end = text.find('\n', at + 1);
  text.replace(at + 1, end - at - 1, key + " = " + value);
  std::ofstream(path) << text;
}

void Vault::LockAccount(const std::string& login) {
  store::PostgresOptions pg;
  pg.url = pg_url_;
  Result<std::unique_ptr<store::DataStore>> store =
      pg_url_.empty() ? store::OpenSqliteDataStore(dir() + "/medvault.db", store::SqliteOptions{})
                      : store::OpenPostgresDataStore(pg);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const Status s = (*store)->SetUserLocked(login, true);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

void Vault::Serve(bool tls) {
  server_ = std::make_unique<ServerProcess>(dir(), "server", tls);
  ASSERT_GT(server_->Start(), 0) << "the server did not print `listening on`: "
                                 << server_->Output();
}

int Vault::StopServer() {
  if (!server_ || !server_->running()) return -1;
  return server_->Stop();
}

bool Vault::serving() const { return server_ && server_->running(); }

int Vault::port() const { return server_ ? server_->port() : 0; }

std::string Vault::ServerOutput() const { return server_ ? server_->Output() : ""; }

std::unique_ptr<HttpClient> Vault::Client() const { return server_->Client(); }

ServerProcess::ServerProcess(std::string data_dir, std::string name, bool tls)
    : dir_(std::move(data_dir)), name_(std::move(name)), tls_(tls) {}

ServerProcess::~ServerProcess() { Kill(); }

int ServerProcess::Start() {
  const std::string bin = Bin();
  const std::string out_path = dir_ + "/" + name_ + ".out";
  const std::string err_path = dir_ + "/" + name_ + ".err";
  std::remove(out_path.c_str());
  std::vector<std::string> args = {"serve", "--data", dir_, "--listen", "127.0.0.1:0"};
  if (!tls_) args.push_back("--http");
  std::vector<char*> argv = Argv(bin, args);
  pid_ = fork();
  if (pid_ == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& [name, value] : env_) setenv(name.c_str(), value.c_str(), 1);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  port_ = 0;
  WaitFor(
      [&] {
        std::ifstream in(out_path);
        std::string line;
        while (std::getline(in, line)) {
          if (line.rfind("listening on ", 0) == 0) {
            port_ = std::stoi(line.substr(line.rfind(':') + 1));
          }
        }
        int status = 0;
        return port_ > 0 || waitpid(pid_, &status, WNOHANG) == pid_;
      },
      60'000, 20);
  return port_;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

// The stack of every thread of a running process, function names only (no argument values, which
// could hold patient fields), or why there is none. Used when a server does not stop, so that the
// failure shows where it hangs.
static std::string ThreadStacks(pid_t pid) {
  const std::string command = "gdb -p " + std::to_string(pid) +
                              " -batch -nx -ex 'set print frame-arguments none'"
                              " -ex 'thread apply all bt' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "(gdb could not be started)";
  std::string out;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0 && out.find("Thread ") == std::string::npos) {
    return "(no thread stacks: gdb exited with " + std::to_string(status) + ")\n" + out;
  }
  return out;
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  const bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, 90'000);
  if (!exited) {
    ADD_FAILURE() << name_ << " did not stop on SIGTERM; its threads:\n" << ThreadStacks(pid_);
    Kill();
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ServerProcess::Output() const {
  std::string all;
  for (const char* ext : {".out", ".err"}) {
    std::ifstream in(dir_ + "/" + name_ + ext);
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  return all;
}

std::unique_ptr<HttpClient> ServerProcess::Client() const {
  return std::make_unique<HttpClient>("127.0.0.1", port_, tls_, dir_ + "/tls/cert.pem");
}


std::string Vault::Login(User& user) {
  auto client = Client();
  nlohmann::json body = {{"login", user.login}, {"password", user.password},
                         {"totp", user.NextCode()}};
  HttpResponse r = client->Send("POST", "/auth/login", body.dump(),
                                {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
  nlohmann::json j = r.Json();
  return j.is_object() && j.contains("token") ? j["token"].get<std::string>() : "";
}

std::string NirWithKey(const std::string& nir13) {
  const long long n = std::stoll(nir13);
  const int key = static_cast<int>(97 - n % 97);
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02d", key);
  return nir13 + buf;
}

nlohmann::json SamplePatient(const std::string& family, const std::string& given,
                             const std::string& nir13) {
  return {{"resourceType", "Patient"},
          {"identifier",
           {{{"system", "urn:oid:1.2.250.1.213.1.4.8"}, {"value", NirWithKey(nir13)}}}},
          {"name", {{{"family", family}, {"given", {given}}}}},
          {"gender", "female"},
          {"birthDate", "1984-12-03"},
          {"telecom", {{{"system", "phone"}, {"value", "+33 6 12 34 56 78"}}}},
          {"address", {{{"line", {"3 rue des Lilas"}}, {"postalCode", "75011"}, {"city", "Paris"}}}},
          {"extension", {{{"url", "urn:medvault:regime"}, {"valueCode", "01"}}}}};
}

}  // namespace medvault::e2e
