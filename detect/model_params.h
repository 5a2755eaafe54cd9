// ModelParams: every detector's parameters resolved for one household category — the model's
// built-in tuned defaults, overridden by detect.detectors in the configuration, overridden again
// by detect.category_overrides for the category. Internal to detect.
//
// Immutable after construction.
#pragma once

#include <array>
#include <string>

#include "config/options.h"
#include "detect/finding.h"

namespace gridwatch {

struct KindParams {
  bool enabled = true;
  double threshold = 0;
  double min_hours = 0;
  double margin_hours = 0;
  double factor = 0;
  double min_kw = 0;
};

struct ModelParams {
  std::array<KindParams, kNumAlertKinds> kind;
  const KindParams& operator[](AlertKind k) const { return kind[static_cast<int>(k)]; }
};

// The built-in defaults (documented in config/gridwatch.yaml).
ModelParams DefaultModelParams();

// Defaults, then options.detectors, then options.category_overrides[category].
ModelParams ResolveModelParams(const DetectOptions& options, const std::string& category);

}  // namespace gridwatch
