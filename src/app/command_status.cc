#include "app/command_status.h"

#include <charconv>
#include <ostream>

namespace medvault::app {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return 0;
    case Code::kIntegrity: return 3;
    case Code::kInternal:
    case Code::kUnavailable: return 2;
    default: return 1;
  }
}

int ReportFailure(std::ostream& err, const Status& status) {
  err << "medvault: " << status.message() << "\n";
  return ExitCodeFor(status);
}

Status ParseListen(const std::string& listen, std::string* host, uint16_t* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("--listen: expected HOST:PORT");
  }
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  unsigned value = 0;
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || first == last || value > 65535) {
    return InvalidArgument("--listen: invalid port");
  }
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

}  // namespace medvault::app
