// Witnessing, end to end: a real `medvault witness serve`, a vault whose `serve` pushes its
// checkpoints to it, `audit verify` checking the cosignatures, and a forged fork refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/vault_context.h"
#include "audit/merkle.h"
#include "audit/note.h"
#include "core/testing/temp_dir.h"
#include "crypto/sign.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_log_store.h"
#include "tests/e2e/harness.h"

namespace medvault::e2e {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `medvault ARGS` as a child process printing `listening on HOST:PORT`; stdout and stderr go to
// files in `dir`. Stopped with SIGTERM.
class Daemon {
 public:
  Daemon(std::string dir, std::vector<std::string> args)
      : dir_(std::move(dir)), args_(std::move(args)) {}
  ~Daemon() { Stop(); }

  // Starts it and waits for the `listening on` line; the port, or 0.
  int Start() {
    const char* env_bin = std::getenv("MEDVAULT_BIN");
    const std::string bin = env_bin != nullptr ? env_bin : "build/medvault";
    std::vector<char*> argv = {const_cast<char*>(bin.c_str())};
    for (const std::string& a : args_) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string out_path = dir_ + "/daemon.out";
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = open(ErrPath().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(out, 1);
      dup2(err, 2);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    int port = 0;
    WaitFor(
        [&] {
          std::istringstream lines(ReadText(out_path));
          std::string line;
          while (std::getline(lines, line)) {
            if (line.rfind("listening on ", 0) == 0) {
              port = std::stoi(line.substr(line.rfind(':') + 1));
            }
          }
          int status = 0;
          return port > 0 || waitpid(pid_, &status, WNOHANG) == pid_;
        },
        60'000, 20);
    return port;
  }

  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    const bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, 30'000);
    if (!exited) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string Errors() const { return ReadText(ErrPath()); }

 private:
  std::string ErrPath() const { return dir_ + "/daemon.err"; }
  std::string dir_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

// The value of `key=` on the line of `out` starting with `line_prefix`, or -1.
int64_t Field(const std::string& out, const std::string& line_prefix, const std::string& key) {
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(line_prefix, 0) != 0) continue;
    const size_t at = line.find(key + "=");
    if (at != std::string::npos) return std::stoll(line.substr(at + key.size() + 1));
  }
  return -1;
}

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    practice_ = vault_.AddPractice("Cabinet Témoin");
    doctor_ = vault_.AddUser(practice_, "dr.witness", "practitioner");
    CommandResult init =
        RunMedvault({"witness", "init", "--state", witness_dir_.path(), "--name", "witness.test"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    witness_key_ = Trim(init.out);
    ASSERT_TRUE(audit::ParseWitnessKey(witness_key_).ok()) << witness_key_;

    auto ctx = app::VaultContext::Open(vault_.dir());
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    auto seed = (*ctx)->keyring().LogSigningSeed();
    ASSERT_TRUE(seed.ok());
    log_key_ = std::make_unique<crypto::SigningKey>(crypto::SigningKey::FromSeed(*seed));
    origin_ = (*ctx)->config().log_origin;
  }

  audit::NoteSigner LogSigner() const { return audit::NoteSigner(origin_, *log_key_); }

  // Starts the witness following this vault's log; its port.
  int StartWitness() {
    witness_ = std::make_unique<Daemon>(
        witness_dir_.path(),
        std::vector<std::string>{"witness", "serve", "--state", witness_dir_.path(), "--listen",
                                 "127.0.0.1:0", "--log-key",
                                 audit::FormatVerifierKey(LogSigner().verifier())});
    return witness_->Start();
  }

  Vault vault_;
  testing::TempDir witness_dir_;
  std::string practice_;
  User doctor_;
  std::string witness_key_;
  std::unique_ptr<crypto::SigningKey> log_key_;
  std::string origin_;
  std::unique_ptr<Daemon> witness_;
};

TEST_F(WitnessTest, ServedVaultPushesCheckpointsAndVerifyChecksTheCosignatures) {
  const int port = StartWitness();
  ASSERT_GT(port, 0) << witness_->Errors();
  vault_.SetConfig("witnesses", "[\"http://127.0.0.1:" + std::to_string(port) + "\"]");
  vault_.SetConfig("witness_keys", "[\"" + witness_key_ + "\"]");

  vault_.Serve();
  const std::string token = vault_.Login(doctor_);
  auto client = vault_.Client();
  HttpResponse created =
      client->Send("POST", "/fhir/Patient", SamplePatient("Morel", "Claire").dump(),
                   {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json().value("id", "");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client->Send("GET", "/fhir/Patient/" + id, "", {{"Authorization", "Bearer " + token}})
                  .status,
              200);
  }
  // The checkpoint covering these requests is signed within about a second, then pushed.
  const bool cosigned = WaitFor(
      [&] {
        CommandResult v = RunMedvault({"audit", "verify", "--data", vault_.dir()});
        return v.exit_code == 0 && Field(v.out, "cosigned ", "tree_size") >= 7;
      },
      30'000, 500);
  EXPECT_TRUE(cosigned) << vault_.ServerOutput() << witness_->Errors();
  EXPECT_EQ(vault_.StopServer(), 0) << vault_.ServerOutput();

  CommandResult verify = RunMedvault({"audit", "verify", "--data", vault_.dir()});
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("cosignature witness=witness.test"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find(" verified\n"), std::string::npos) << verify.out;
  EXPECT_GE(Field(verify.out, "cosignatures ", "checked"), 1) << verify.out;
  const int64_t witnessed = Field(verify.out, "cosigned ", "tree_size");
  ASSERT_GT(witnessed, 0);

  // A fork: another root for the size the witness holds, signed with the log's own key.
  audit::Checkpoint fork{origin_, static_cast<uint64_t>(witnessed),
                         audit::HashLeaf(AsBytes(std::string("forged")))};
  const std::string forged = LogSigner().Sign(audit::FormatCheckpointText(fork));
  HttpClient witness_client("127.0.0.1", port, false);
  HttpResponse refused = witness_client.Send("POST", "/add-checkpoint",
                                             "old " + std::to_string(witnessed) + "\n\n" + forged);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.Header("content-type"), "text/x.tlog.size");
  EXPECT_EQ(refused.body, std::to_string(witnessed) + "\n");
  EXPECT_NE(witness_->Errors().find("POST /add-checkpoint 409 " + std::to_string(witnessed)),
            std::string::npos)
      << witness_->Errors();

  // A cosignature that does not verify under the configured witness key fails verification.
  {
    store::PostgresOptions pg;
    pg.url = vault_.pg_url();
    auto log = pg.url.empty() ? store::OpenSqliteLogStore(vault_.dir() + "/log.db")
                              : store::OpenPostgresLogStore(pg);
    ASSERT_TRUE(log.ok());
    auto latest = (*log)->LatestCheckpoint();
    ASSERT_TRUE(latest.ok() && latest->has_value());
    const crypto::SigningKey impostor = crypto::SigningKey::Generate();
    auto text = audit::ParseNote((*latest)->note);
    ASSERT_TRUE(text.ok());
    const std::string line = audit::CosignatureLine("witness.test", impostor, 1, text->text);
    ASSERT_TRUE((*log)->AddCosignature({(*latest)->tree_size, "witness.test", line}).ok());
  }
  CommandResult bad = RunMedvault({"audit", "verify", "--data", vault_.dir()});
  EXPECT_EQ(bad.exit_code, 3) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("cosignature by witness.test"), std::string::npos) << bad.err;
}

TEST_F(WitnessTest, VaultReportsASplitViewWhenTheWitnessHoldsAnotherRoot) {
  const int port = StartWitness();
  ASSERT_GT(port, 0) << witness_->Errors();
  // The witness first sees a forged tree of size 1 (no proof is needed from size 0).
  audit::Checkpoint fork{origin_, 1, audit::HashLeaf(AsBytes(std::string("forged")))};
  HttpClient witness_client("127.0.0.1", port, false);
  HttpResponse accepted = witness_client.Send(
      "POST", "/add-checkpoint", "old 0\n\n" + LogSigner().Sign(audit::FormatCheckpointText(fork)));
  ASSERT_EQ(accepted.status, 200) << accepted.body;

  vault_.SetConfig("witnesses", "[\"http://127.0.0.1:" + std::to_string(port) + "\"]");
  vault_.Serve();
  (void)vault_.Login(doctor_);  // the log grows past size 1; its real tree is not the forged one
  const bool reported = WaitFor(
      [&] { return vault_.ServerOutput().find("split view") != std::string::npos; }, 30'000, 100);
  EXPECT_TRUE(reported) << vault_.ServerOutput() << witness_->Errors();
  EXPECT_EQ(vault_.StopServer(), 0);
  // Nothing was cosigned: `audit verify` holds no cosignature, and still verifies the log.
  CommandResult verify = RunMedvault({"audit", "verify", "--data", vault_.dir()});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(verify.out.find("cosignature witness="), std::string::npos) << verify.out;
}

}  // namespace
}  // namespace medvault::e2e
