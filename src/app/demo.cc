#include "app/demo.h"

#include <iostream>
#include <sstream>

#include "app/generator.h"
#include "app/serve.h"
#include "app/vault_context.h"
#include "core/bytes.h"
#include "core/file.h"

namespace medvault::app {
namespace {

constexpr const char* kCredentialsFile = "/DEMO-CREDENTIALS.txt";

std::string RandomPassword(Random& random) {
  uint8_t raw[12];
  random.Fill(raw);
  return Base32Encode(raw);
}

Status CreateDemoVault(const DemoOptions& options, std::string* credentials) {
  MV_RETURN_IF_ERROR(InitVault(options.data_dir, {}));
  MV_ASSIGN_OR_RETURN(auto ctx, VaultContext::Open(options.data_dir));
  MV_ASSIGN_OR_RETURN(std::string practice, ctx->AddPractice("Cabinet de démonstration"));
  Generator generator(2026);
  int remaining = options.patients;
  MV_ASSIGN_OR_RETURN(int64_t imported,
                      ctx->patients().Import(practice, [&]() -> Result<std::optional<vault::Patient>> {
                        if (remaining-- <= 0) return std::optional<vault::Patient>();
                        return std::optional<vault::Patient>(generator.NextPatient());
                      }));
  std::ostringstream text;
  text << "Demo vault: practice " << practice << ", " << imported << " synthetic patients.\n"
       << "Log in with POST /auth/login {\"login\", \"password\", \"totp\"}; add the TOTP URI\n"
       << "to an authenticator app (or compute the code from its secret).\n\n";
  struct Account {
    const char* login;
    Role role;
    const char* name;
  } accounts[] = {{"dr.demo", Role::kPractitioner, "Dr Camille Demo"},
                  {"secretariat.demo", Role::kSecretary, "Secrétariat"},
                  {"securite.demo", Role::kSecurity, "Délégué à la sécurité"}};
  for (const auto& a : accounts) {
    const std::string password = RandomPassword(ctx->random());
    MV_ASSIGN_OR_RETURN(vault::NewUser user,
                        ctx->users().Create(a.role == Role::kSecurity ? "" : practice, a.login,
                                            a.role, password, a.name));
    text << RoleName(a.role) << ":\n  login:    " << a.login << "\n  password: " << password
         << "\n  totp:     " << user.totp_uri << "\n";
  }
  *credentials = text.str();
  return WriteFileAtomic(options.data_dir + kCredentialsFile, *credentials, 0600);
}

}  // namespace

int RunDemo(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  std::string credentials;
  if (!PathExists(options.data_dir + "/medvault.toml")) {
    out << "creating a demo vault in " << options.data_dir << " (" << options.patients
        << " synthetic patients)..." << std::endl;
    Status s = CreateDemoVault(options, &credentials);
    if (!s.ok()) {
      err << "medvault: " << s.message() << "\n";
      return s.code() == Code::kInternal ? 2 : 1;
    }
  } else {
    auto text = ReadFile(options.data_dir + kCredentialsFile);
    credentials = text.ok() ? *text : "(no DEMO-CREDENTIALS.txt in this vault)\n";
  }
  out << credentials << "\n"
      << "The server uses the vault's self-signed certificate (" << options.data_dir
      << "/tls/cert.pem): curl --cacert " << options.data_dir << "/tls/cert.pem https://"
      << options.listen << "/health\n"
      << std::endl;
  ServeOptions serve;
  serve.data_dir = options.data_dir;
  serve.listen = options.listen;
  serve.plain_http = options.plain_http;
  return RunServe(serve, out, err);
}

}  // namespace medvault::app
