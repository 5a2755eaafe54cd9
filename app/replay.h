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
  // optional: an evaluation set's labels.json, answered as a grid worker would (ReplayWorker)
  std::string outcomes_json;
  double answer_after_h = 2.0;    // with outcomes_json: hours from an alert to the worker's answer
  bool answer_fine_only = false;  // with outcomes_json: false alarms all resident_fine, none away
};

// Returns a process exit code: 0 ok, 2 bad input (message on stderr names file and line).
int RunReplay(const Config& config, const ReplayArgs& args);

}  // namespace gridwatch
