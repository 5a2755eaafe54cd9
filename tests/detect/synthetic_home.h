// SyntheticHome: a deterministic single-occupant routine at a fixed interval for detector unit
// tests: fridge-cycling standby at night, a wake-up with jitter, breakfast, lunch, an evening
// with TV and cooking, bed. Tests bend it (late risers, storage heating, holidays) and inject
// incidents by overriding readings.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "detect/reading.h"

namespace gridwatch::testing {

struct HomeSpec {
  int interval_s = 1800;
  double standby_kwh_per_h = 0.12;
  double wake_h = 7.0;  // weekday wake-up (local = UTC in these tests)
  double weekend_wake_h = 7.0;
  double bed_h = 22.5;
  double night_heating_kwh_per_h = 0.0;  // storage heating 00–07 h
  uint32_t seed = 1;
};

// Readings for `days` days from `start_s` (a UTC midnight), one household.
inline std::vector<Reading> MakeRoutine(const HomeSpec& spec, int64_t start_s, int days,
                                        HouseholdIndex h = 0) {
  std::mt19937 rng(spec.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<Reading> out;
  const double ih = spec.interval_s / 3600.0;
  for (int64_t t = start_s + spec.interval_s; t <= start_s + int64_t{days} * 86400;
       t += spec.interval_s) {
    const int64_t day = (t - spec.interval_s / 2) / 86400;
    const double hour = ((t - spec.interval_s / 2) % 86400) / 3600.0;
    const int weekday = static_cast<int>((day + 3) % 7);  // 0 = Monday
    const double wake = (weekday >= 5 ? spec.weekend_wake_h : spec.wake_h) + (u(rng) - 0.5) * 0.8;
    double kwh = spec.standby_kwh_per_h * ih * (0.8 + 0.4 * u(rng));  // fridge cycling
    if (hour < 7) kwh += spec.night_heating_kwh_per_h * ih;
    const bool awake = hour >= wake && hour < spec.bed_h;
    if (awake) {
      kwh += (0.15 + 0.25 * u(rng)) * ih;                         // lights, radio, moving about
      if (u(rng) < 0.35) kwh += (0.5 + 1.5 * u(rng)) * ih * 0.5;  // kettle, cooking, washing
      if (hour >= 18 && hour < 22) kwh += 0.12 * ih;              // TV
    }
    out.push_back(Reading{t, static_cast<float>(kwh), h});
  }
  return out;
}

}  // namespace gridwatch::testing
