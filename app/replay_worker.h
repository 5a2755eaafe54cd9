// A grid worker for replay (`gridwatch replay --outcomes LABELS.json`): answers every welfare
// alert as the worker who went to the door would, from an evaluation set's labels
// (EVALUATION.md). Where the judge counts the alert a false alarm (outside every incident's
// window with its grace and every ambiguous window + 1 day): `away` for a kind that reports a
// quiet home now (inactivity, frozen, no_morning_activity) — in these homes such a false alarm
// is nearly always an empty home, a day out — unless `fine_only`, and `resident_fine` for the
// others (high use, a low day, a decline: the worker finds the resident in). In an incident's
// window `assisted` (`away` in a registered absence's, `false_reading` in a meter's silence); in an
// ambiguous window `away` until its end (the family says when the resident is back: an
// absence is registered). It measures the feedback loop of `serve` (an answer restarts the home's
// quiet spell, `away` holds the quiet kinds until the home is active, `resident_fine` makes the
// alert's kinds a notch less sensitive), which the replay contract alone never exercises.
//
// Immutable after Load; Answer is const and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "alert/alert.h"
#include "detect/finding.h"

namespace gridwatch {

class ReplayWorker {
 public:
  // Reads labels.json (gw_dataset.py's layout: "incidents" and "ambiguous", each with household,
  // type, start, end in RFC 3339). Throws ConfigError naming the file for unreadable or malformed
  // labels.
  static ReplayWorker Load(const std::string& labels_json, bool fine_only = false);

  // What the worker finds for an alert of `kind` opened at `opened_s` in `household_id`, and,
  // in an unregistered absence, when the resident is back (its end: the family knows; else 0).
  struct Reply {
    Outcome outcome;
    int64_t away_until_s = 0;
  };
  Reply Answer(const std::string& household_id, AlertKind kind, int64_t opened_s) const;

 private:
  struct Window {
    int64_t from_s;
    int64_t to_s;  // inclusive, grace included
    Outcome outcome;
    int64_t end_s;  // the window's own end, without its grace
  };
  std::map<std::string, std::vector<Window>> windows_;
  bool fine_only_ = false;
};

}  // namespace gridwatch
