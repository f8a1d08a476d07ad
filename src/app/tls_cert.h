#pragma once
// A self-signed TLS certificate for a new vault (ECDSA P-256, SAN localhost and 127.0.0.1, valid
// 825 days): enough for a practice's LAN or a reverse proxy; production deployments replace the
// two PEM files with a certificate from their CA.
#include <string>

#include "core/status.h"

namespace medvault::app {

Status CreateSelfSignedCertificate(const std::string& cert_path, const std::string& key_path);

}  // namespace medvault::app
