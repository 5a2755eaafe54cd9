#include "detect/model_params.h"

#include <cmath>

namespace gridwatch {
namespace {

void Apply(const DetectorParams& p, KindParams* k) {
  if (p.enabled >= 0) k->enabled = p.enabled != 0;
  if (!std::isnan(p.threshold)) k->threshold = p.threshold;
  if (!std::isnan(p.min_hours)) k->min_hours = p.min_hours;
  if (!std::isnan(p.margin_hours)) k->margin_hours = p.margin_hours;
  if (!std::isnan(p.factor)) k->factor = p.factor;
  if (!std::isnan(p.min_kw)) k->min_kw = p.min_kw;
}

}  // namespace

ModelParams DefaultModelParams() {
  ModelParams m;
  auto set = [&](AlertKind kind, bool enabled, double threshold, double min_hours,
                 double margin_hours, double factor) {
    m.kind[static_cast<int>(kind)] = {enabled, threshold, min_hours, margin_hours, factor};
  };
  // inactivity (idle spells: use inside a band as narrow as the night's own fluctuation, at
  // standby): threshold = hours before the home's own spells are known (the category's prior;
  // it fades out, as a floor under the home's own length, over the first 12 weeks); then an alert
  // when a spell outlasts, times factor plus margin_hours (and at least min_hours), the length that
  // spells under way at the same time of day reached about once in 12 weeks (the k-th longest
  // of 48 weeks' 4-weekly maxima, k = weeks kept / 12) — if the evidence gate
  // (detect.gate_z) agrees.
  set(AlertKind::kInactivity, true, 12.0, 3.0, 1.0, 1.0);
  // frozen: the same spells at a level above the night's high (lights or a heater on, nobody
  // changing anything); shares inactivity's spell threshold, and alerts no later than
  // inactivity's cold length (its `threshold`), whatever the home's long quiet spells; factor =
  // the Gumbel level z of the step CUSUM's daily rises that such a spell must reach
  // (exceeded on a share e^-z of days; the idle spells at standby need detect.gate_z); enabled
  // turns this kind on or off.
  set(AlertKind::kFrozen, true, 0, 0, 0, 1.0);
  // no_morning_activity: margin_hours after the second-latest first activity of the last 4 weeks.
  set(AlertKind::kNoMorningActivity, true, 0, 0, 3.5, 0);
  // high_usage: min_kw = the least load left on that counts (a heater, a hob ring, an oven);
  // threshold = least evidence (nats, CUSUM of the log-likelihood ratio "this home's use plus
  // a load of at least min_kw, sized by the readings" vs "this home's use" at the hour, at most
  // 3 a half-hour: 24 in the shortest episode); factor = Gumbel level z of the home's daily
  // peaks of that CUSUM (exceeded on a share e^-z of days); min_hours = shortest episode.
  set(AlertKind::kHighUsage, true, 22.0, 4.0, 0, 5.0);
  m.kind[static_cast<int>(AlertKind::kHighUsage)].min_kw = 1.1;
  // low_daily_usage: factor = share of the usual daily active energy below which a day alerts
  // (only a day without a quiet-spell alert raised or open: it is the backstop).
  set(AlertKind::kLowDailyUsage, true, 0, 20.0, 0, 0.15);
  // no_power: min_hours of exact zeros where standby is never zero.
  set(AlertKind::kNoPower, true, 0, 1.0, 0, 0);
  // decline: factor = ratio of recent (and of the day's own) to usual active energy;
  // threshold = days in a row.
  set(AlertKind::kDecline, true, 3.0, 0, 0, 0.4);
  // meter_silent: min_hours floor; factor x the meter's usual long gap; threshold = cap (h).
  set(AlertKind::kMeterSilent, true, 6.0, 2.0, 0, 1.5);
  return m;
}

ModelParams ResolveModelParams(const DetectOptions& options, const std::string& category) {
  ModelParams m = DefaultModelParams();
  for (int i = 0; i < kNumAlertKinds; ++i) {
    const std::string name(AlertKindName(static_cast<AlertKind>(i)));
    if (auto it = options.detectors.find(name); it != options.detectors.end())
      Apply(it->second, &m.kind[i]);
    if (auto c = options.category_overrides.find(category); c != options.category_overrides.end())
      if (auto it = c->second.find(name); it != c->second.end()) Apply(it->second, &m.kind[i]);
  }
  return m;
}

}  // namespace gridwatch
