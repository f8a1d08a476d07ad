#include "core/in_flight.h"

#include <system_error>
#include <utility>

namespace medvault {

void InFlight::Start(std::function<Status()> work) {
  try {
    // A copy: if no thread can be had, `work` is still whole to run here.
    running_ = std::async(std::launch::async, work);
  } catch (const std::system_error&) {
    done_ = work();
  }
}

Status InFlight::Wait() {
  Status status = std::move(done_);
  done_ = Status::Ok();
  if (running_.valid()) status = running_.get();
  return status;
}

}  // namespace medvault
