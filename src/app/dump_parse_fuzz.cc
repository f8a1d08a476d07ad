// Fuzz target for the leaked-dump reader of `medvault breach match`. Properties: no crash (nor
// sanitizer report); every row has exactly one cell per column; every cell of a column typed as a
// date, NIR, phone or e-mail that the lenient readers accept gives a value of that kind that is
// itself valid (a real date, a NIR with its key, ten national digits, a folded address); parsing
// is deterministic.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "app/dump_parse.h"
#include "vault/nir.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const medvault::app::ParsedDump dump = medvault::app::ParseDump(text);
  for (const auto& row : dump.rows) Check(row.size() == dump.columns.size());
  Check(dump.format == "csv" || dump.format == "jsonl");
  for (const auto& row : dump.rows) {
    for (const std::string& cell : row) {
      if (auto d = medvault::app::ReadLooseDate(cell)) Check(medvault::IsValidDate(*d));
      if (auto n = medvault::app::ReadLooseNir(cell)) Check(medvault::vault::ValidateNir(*n).ok());
      if (auto p = medvault::app::ReadLoosePhone(cell)) Check(p->size() == 10 && (*p)[0] == '0');
      if (auto e = medvault::app::ReadLooseEmail(cell)) Check(e->find('@') != std::string::npos);
    }
  }
  const medvault::app::ParsedDump again = medvault::app::ParseDump(text);
  Check(again.rows == dump.rows && again.columns.size() == dump.columns.size());
  return 0;
}
