#pragma once
// What every command shares: how a Status becomes an exit code and a message (CONTRACT.md: 0 ok,
// 1 usage or input error, 2 internal error, 3 integrity failure), and how --listen is read.
#include <cstdint>
#include <iosfwd>
#include <string>

#include "core/status.h"

namespace medvault::app {

int ExitCodeFor(const Status& status);
// Writes "medvault: MESSAGE" on `err`; returns ExitCodeFor(status).
int ReportFailure(std::ostream& err, const Status& status);
// "HOST:PORT" or "[IPV6]:PORT"; port 0 means any free port.
Status ParseListen(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace medvault::app
