#pragma once
// One piece of work at a time on a thread of its own, so that its owner can prepare the next one
// meanwhile: the batch writers of the stores insert or COPY one batch while their caller fills the
// next. The work must not touch what the owner uses while it runs (the writers hand it the
// connection and the rows of the batch being sent).
// Thread-safety: used by one owner thread.
#include <functional>
#include <future>

#include "core/status.h"

namespace medvault {

class InFlight {
 public:
  InFlight() = default;
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  ~InFlight() { Wait().IgnoreError(); }
  // Starts `work`. REQUIRES: nothing in flight (Wait first). Runs it at once, on the calling
  // thread, if no thread can be started.
  void Start(std::function<Status()> work);
  // Waits for the work in flight and returns its status; OK when nothing is in flight.
  Status Wait();

 private:
  std::future<Status> running_;
  Status done_;  // the status of work that ran on the calling thread
};

}  // namespace medvault
