// Replay: runs recorded readings through the same detect and alert code as `serve`, on data time
// only, and writes one JSON line per alert opened (EVALUATION.md, "The replay contract").
// Same input, same output, byte for byte.
//
// RunReplay is single-threaded and reentrant (no globals).
#pragma once

#include <string>

#include "config/options.h"

namespace gridwatch {

struct ReplayArgs {
  std::string households_csv;
  std::string readings_csv;  // meter,ts,kwh (.csv or .csv.gz)
  std::string absences_csv;  // optional: household,from,to,reason
  std::string timezone;      // empty = the config's
  std::string alerts_jsonl;  // output
  std::string history_csv;   // optional: readings to learn from first (no alerts)
};

// Returns a process exit code: 0 ok, 2 bad input (message on stderr names file and line).
int RunReplay(const Config& config, const ReplayArgs& args);

}  // namespace gridwatch
