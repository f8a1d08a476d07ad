#pragma once
// `medvault demo`: a demonstration vault with one practice of 2,000 synthetic patients, a
// practitioner and a secretary (passwords and TOTP provisioning URIs printed, and kept in
// DIR/DEMO-CREDENTIALS.txt, mode 0600, since they cannot be shown again), then `serve`.
// Synthetic data only: never load real patients into a demo vault.
#include <iosfwd>
#include <string>

namespace medvault::app {

struct DemoOptions {
  std::string data_dir = "demo-vault";
  std::string listen = "127.0.0.1:8443";
  int patients = 2000;
  bool plain_http = false;
};

int RunDemo(const DemoOptions& options, std::ostream& out, std::ostream& err);

}  // namespace medvault::app
