// Fuzz target for the guard's record codec (records read back from a shared store). Properties:
// no crash (nor sanitizer report) on any bytes; a record that decodes encodes back to the same
// bytes; one that does not is left fresh.
#include <cstdint>
#include <cstdlib>

#include "guard/codec.h"

namespace {

template <typename Record>
void Check(medvault::ByteView in) {
  Record r;
  if (medvault::guard::Decode(in, &r)) {
    const medvault::Bytes again = medvault::guard::Encode(r);
    if (again.size() != in.size() || !std::equal(again.begin(), again.end(), in.begin())) {
      std::abort();
    }
  } else if (medvault::guard::Encode(r) != medvault::guard::Encode(Record{})) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const medvault::ByteView in(data, size);
  Check<medvault::guard::AccountRecord>(in);
  Check<medvault::guard::SessionRecord>(in);
  Check<medvault::guard::PracticeRecord>(in);
  Check<medvault::guard::SourceRecord>(in);
  return 0;
}
