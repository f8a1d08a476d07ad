#pragma once
// `medvault import`: a FHIR R4 Bundle of Patient entries, or NDJSON with one Patient a line.
// All or nothing: the first bad record aborts everything with its position ("entry 3" in a Bundle,
// "line 3" in NDJSON) and the field at fault. NDJSON is streamed, so memory stays flat whatever the
// file size; a Bundle is parsed whole.
#include <string>

#include "core/status.h"
#include "vault/patients.h"

namespace medvault::app {

Result<int64_t> ImportPatientsFile(vault::Patients& patients, const std::string& practice_id,
                                   const std::string& path);

}  // namespace medvault::app
