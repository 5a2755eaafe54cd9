// HouseholdModel: what gridwatch knows of one home's routine, and the state of its detectors.
// Internal to detect (not part of the public surface).
//
// Confined to the owning Detector's thread.
#pragma once

#include <cstdint>
#include <vector>

#include "detect/finding.h"
#include "detect/reading.h"

namespace gridwatch {

class HouseholdModel {
 public:
  int64_t last_ts = 0;      // ts of the newest reading
  int64_t interval_s = 0;   // inferred interval
  bool silent_open = false;
};

}  // namespace gridwatch
