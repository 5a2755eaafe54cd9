// Finding: what a household model concluded at a moment of data time — an episode of some
// alert kind starting, being updated with new evidence, or ending because normal activity
// returned. Findings carry structured evidence and a one-line explanation in zh-CN and en;
// the alert stage turns them into alerts (one per household episode) and never re-derives them.
//
// Plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/registry.h"

namespace gridwatch {

enum class AlertKind : uint8_t {
  kInactivity = 0,
  kNoMorningActivity,
  kFrozen,
  kHighUsage,
  kLowDailyUsage,
  kNoPower,
  kDecline,
  kMeterSilent,  // ops: missing data, not welfare
};
inline constexpr int kNumAlertKinds = 8;

// "inactivity", "no_morning_activity", ... as in alert payloads and config keys.
std::string_view AlertKindName(AlertKind k);
std::optional<AlertKind> ParseAlertKind(std::string_view name);
inline bool IsWelfare(AlertKind k) { return k != AlertKind::kMeterSilent; }

// Episodes are per household and class: an acute welfare episode (a collapse, heater left on,
// supply cut: hours), a trend episode (declining or low daily use: days) and an ops episode
// (meter silent) run independently, so that a slow decline that is still open does not swallow
// a fall. The alert stage keeps at most one open alert per household and class.
enum class AlertClass : uint8_t { kAcute = 0, kTrend, kOps };
inline AlertClass ClassOf(AlertKind k) {
  switch (k) {
    case AlertKind::kMeterSilent:
      return AlertClass::kOps;
    case AlertKind::kDecline:
    case AlertKind::kLowDailyUsage:
      return AlertClass::kTrend;
    default:
      return AlertClass::kAcute;
  }
}

enum class Severity : uint8_t { kLow = 0, kMedium, kHigh, kCritical };

// What a person's answer to an alert tells the household's model (Detector::Answered): the
// resident was found well at home (the quiet so far was this home's life), someone came and
// dealt with it (helped, a meter fault, ...: the quiet so far was not routine), or the resident
// is not at home (away, in hospital, deceased).
enum class Answer : uint8_t { kSeenWell = 0, kAttended, kAway };
inline constexpr int kNumSeverities = 4;
std::string_view SeverityName(Severity s);  // "low", "medium", "high", "critical"
std::optional<Severity> ParseSeverity(std::string_view name);

enum class FindingState : uint8_t {
  kRaised = 0,  // an episode starts: the alert stage opens (or updates) an alert
  kUpdated,     // the episode goes on with new evidence (e.g. longer, more severe)
  kCleared,     // normal activity returned: the episode is over
};
std::string_view FindingStateName(FindingState s);

// Whether the household's own routine is trusted yet (cold start) or only category priors.
enum class LearningState : uint8_t { kLearning = 0, kReady };
std::string_view LearningStateName(LearningState s);

// The numbers behind a finding. Which fields are meaningful depends on the kind; unused ones
// stay at their defaults and are left out of JSON.
struct Evidence {
  int64_t since_ts = 0;          // start of the anomalous stretch (epoch s)
  double duration_h = 0;         // length of the stretch so far
  double observed_kwh = -1;      // what was seen (total over the stretch, or per interval)
  double expected_kwh = -1;      // what this home usually uses in the same stretch
  double expected_low_kwh = -1;  // usual band (e.g. 10th..90th percentile)
  double expected_high_kwh = -1;
  double probability = -1;  // how likely the stretch is under the routine (0..1)
  double score = 0;         // the detector's own score vs its threshold
  double threshold = 0;
  int days_usual = -1;  // e.g. "26 of 28 days active at this time"
  int days_seen = -1;
  int usual_first_activity_min = -1;  // minutes after local midnight
  double interval_s = 0;              // the meter's inferred interval
  double days_learned = 0;            // how many days of data the model has
  int day_type = -1;                  // 0 = weekday, 1 = weekend or holiday (-1 = n/a)
  double level_kwh_per_h = -1;        // a steady level of use (frozen, high usage), kWh per hour
  double load_kw = -1;                // high usage: the load's size above usual use, kW
  int spikes = 0;             // inactivity: brief readings above the night's high in the stretch
  int64_t last_spike_ts = 0;  // ... the newest one's end (epoch s; 0 = none)
};

struct Finding {
  HouseholdIndex household = 0;
  AlertKind kind = AlertKind::kInactivity;
  Severity severity = Severity::kMedium;
  FindingState state = FindingState::kRaised;
  LearningState learning = LearningState::kLearning;
  int64_t at_ts = 0;  // data time at which the model concluded this
  Evidence evidence;
  std::string
      summary_zh;  // "自 06:30 起无用电活动（5.0 小时）；该户平日此时段 28 天中 26 天有活动"
  std::string summary_en;
};

}  // namespace gridwatch
