// ReadReadingsCsv: the replay/history readings file (`meter,ts,kwh`, ts = end of interval as
// RFC 3339 or epoch seconds; .csv or .csv.gz) mapped through the registry and sorted by data
// time (then household) — what `replay`, `serve --history` and the demo read.
//
// Pure function of its inputs; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/registry.h"
#include "detect/reading.h"

namespace gridwatch {

struct ReadingsFile {
  std::vector<Reading> readings;  // sorted by (ts, household)
  uint64_t unknown_meter = 0;     // rows whose meter is not in the registry (skipped)
};

// Throws ConfigError naming the file and line for a bad header or row, or an unreadable file.
ReadingsFile ReadReadingsCsv(const std::string& path, const Registry& registry);

}  // namespace gridwatch
