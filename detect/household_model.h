// HouseholdModel: what gridwatch knows of one home's routine and the running state of its
// detectors, as one flat, trivially copyable struct (≈1 KiB) so that a shard's homes sit in one
// array, checkpoint as raw bytes and never allocate on the hot path.
//
// The routine, learned with exponential forgetting from whatever interval the meter has:
//  * night distribution: a ring of recent 01–05 h readings; its quantiles give the standby
//    level (q10, fridges cycle), the "night high" above which an interval shows someone awake
//    and the spread of readings that nobody touches;
//  * per day type (weekday / weekend+holiday) and half-hour slot: how likely an interval is to
//    show activity (above the night high) and to show change (a step larger than the spread);
//  * per slot, the upper level of use (for high usage);
//  * per home, the most surprising quiet stretches of recent days: each detector's threshold
//    is calibrated to the home's own history (the k-th largest daily peak, times a margin).
//
// No linear algebra library: a reading touches one hour's 16 bytes of routine and a few scalars,
// and the day's recalibration sorts small rings for quantiles; nothing is arithmetic over all the
// slots at once, which is where Eigen would help.
//
// Confined to the owning Detector's thread. Internal to detect.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace gridwatch {

inline constexpr int kSlots = 48;        // half-hour slots of the local day (upper level)
inline constexpr int kHours = 24;        // hourly slots of the routine's distributions
inline constexpr int kBins = 3;          // reading bins relative to the night distribution
inline constexpr int kDayTypes = 2;      // 0 = weekday, 1 = weekend or public holiday
inline constexpr int kNightRing = 96;    // recent 01–05 h readings kept
inline constexpr int kHistoryDays = 42;  // days of daily peaks kept per detector
inline constexpr int kFirstActivityDays = 28;
inline constexpr int kIdleCells = 12;     // periods of idle-run maxima kept
inline constexpr int kIdleCellDays = 28;  // days per period: 12 x 4 weeks = 48 weeks of memory
inline constexpr int kIdleBuckets = 6;    // start-time buckets of idle runs (24 h / 6, from 22 h)

// Daily peaks of a detector's score, quantized to uint8 (score * 2, saturating at 127.5).
struct PeakHistory {
  std::array<uint8_t, kHistoryDays> peaks{};
  uint8_t next = 0;
  uint8_t count = 0;
  void Push(float v);
  // The peak exceeded on a share `p_day` of days, from a Gumbel tail fitted robustly (median
  // and interquartile range) to the stored peaks: median + beta * (ln(1/p_day) - 0.3665).
  // Returns 0 when fewer than 4 peaks are stored.
  float GumbelLevel(float tail_z) const;
};

struct alignas(64) HouseholdModel {
  // ---- Hot: touched by every reading (kept together, first cache lines).
  int64_t last_ts = 0;     // end of the newest reading (epoch s); 0 = never seen
  int64_t idle_since = 0;  // start of the current idle spell
  int64_t high_since = 0;  // start of the current high-use excess
  int64_t zero_since = 0;  // start of the current run of zero readings
  int32_t interval_s = 0;  // inferred interval (smallest gap seen)
  int32_t cur_day = 0;     // local day number of the newest reading
  float prev_kwh = -1;     // previous interval's energy (-1 = none or after a gap)
  // Night distribution summaries (recomputed daily from the ring).
  float standby_kwh = 0;    // q10 of the night ring
  float night_hi_kwh = 0;   // q95 of the night ring, with a margin: above = activity
  float night_max_kwh = 0;  // max of the night ring, with a margin: above = surely awake
  float spread_kwh = 0;     // q90 - q10 of the night ring, with a margin: the idle band
  float night_mu = 0, night_sigma = 1;            // log energy at night (median, robust sigma)
  float night_step_mu = 0, night_step_sigma = 1;  // log step at night
  // Idle spell: use inside a band as narrow as the night's own fluctuation.
  float idle_lo = 0, idle_hi = 0, idle_sum = 0;
  // Evidence gates: likelihood-ratio CUSUMs (nobody up vs this home at this hour) on levels
  // and on steps, their running daily peaks and calibrated thresholds.
  float s_quiet = 0, t_quiet = 0, quiet_day_peak = 0;
  float s_flat = 0, t_flat = 0, flat_day_peak = 0;
  // High usage: CUSUM of the log-likelihood ratio "a load left on, on top of this home's use
  // at this hour" vs "this home's use", its threshold and daily peak; energy above the usual
  // level since the episode began (for the explanation).
  float cusum_high = 0, t_high = 0, high_day_peak = 0, high_kwh = 0;
  // The day so far; zero share; typical long gap.
  float day_kwh = 0;                   // energy so far today
  float day_hours = 0;                 // hours of data so far today
  float p_zero = 0;                    // share of readings that are exactly zero (EWMA)
  float long_gap_s = 0;                // the meter's recent longest gap, decaying
  uint16_t days_seen = 0;              // local days with data
  uint16_t night_stats_day_count = 0;  // nights summarized so far
  uint16_t idle_n = 0;
  uint16_t zero_run = 0;
  uint16_t recover_min = 0;        // open idle episode: minutes of recent activity (leaky)
  uint16_t open_mask = 0;          // kinds with a raised, not yet cleared finding
  uint16_t alerted_today = 0;      // kinds raised (or still open) during the current local day
  uint16_t open_at_day_start = 0;  // kinds open when the current local day began
  int16_t today_first_act_min = -1;
  int16_t morning_deadline_min = -1;  // today's deadline (-1 = not armed)
  uint8_t learning_ready = 0;
  uint8_t idle_blip = 0;
  uint8_t idle_bucket = 0;
  uint8_t idle_alerted = 0;
  uint8_t night_next = 0;
  uint8_t night_count = 0;
  uint8_t open_severity[8] = {};
  // The step CUSUM's lowest value since the day began: the day's peak for the step gate's
  // history (flat_day_peak) is how far the CUSUM rose above it within the day, not the value it
  // carried in. In what was the hot lines' padding up to checkpoint format 007 (the routine
  // still starts at byte 192): zeroed on loading one.
  float flat_day_base = 0;
  // A person said the resident is away (an alert resolved `away`, `hospital` or `deceased`): the
  // quiet-spell kinds, the daily ones and decline stay silent until the home is active again or
  // this time passes (epoch minutes; 0 = no hold). Read with every reading, so among the hot
  // fields: in what was their padding up to checkpoint format 008 (zeroed on loading one).
  uint32_t away_until_min = 0;

  // ---- Routine: per day type and local hour, log energy and (one day type) log step,
  // as a robust location and scale (fixed point, value * 1000): mean and mean absolute
  // deviation learned with exponential forgetting. One entry of each per reading.
  struct LogDist {
    int16_t mu = -2000;  // mean of log(kWh + eps) * 1000
    int16_t dev = 1000;  // mean |log - mu| * 1000
  };
  // Hour-major, 16 bytes an hour, so that a reading touches one cache line of the routine.
  struct HourStats {
    std::array<LogDist, kDayTypes> level;  // log energy, per day type
    LogDist step;                          // log step from the previous reading
    std::array<uint16_t, 2> high;          // upper level of use per half-hour slot (kWh * 1e4)
  };
  static_assert(sizeof(HourStats) == 16);
  alignas(16) std::array<HourStats, kHours> hours{};

  // ---- Cold: touched at night, at the end of a spell or once a day.
  std::array<uint8_t, kNightRing> night{};  // recent 01–05 h readings, log scale (ToNight8)
  // Idle spells' lengths per start-time bucket as the longest of each 4-week period of the last
  // 48 weeks: the home's own survival curve of quiet spells, and each bucket's threshold in hours.
  std::array<std::array<uint8_t, kIdleCells>, kIdleBuckets> idle_cell_max{};  // hours * 4
  int32_t idle_cell = 0;  // period number (local day / kIdleCellDays) of the current column
  uint8_t idle_cells_seen = 0;
  // Per bucket, the usual longest spell (hours * 4) that the threshold is made of: the k-th
  // largest of idle_cell_max[bucket], refreshed whenever a cell or idle_cells_seen changes so
  // that a reading inside a spell does not sort.
  std::array<uint8_t, kIdleBuckets> idle_usual{};
  PeakHistory quiet_hist;
  PeakHistory flat_hist;
  PeakHistory high_hist;
  // No morning activity: first activity of recent days.
  std::array<uint8_t, kFirstActivityDays> first_act{};  // minutes after midnight / 5
  uint8_t first_act_next = 0;
  uint8_t first_act_count = 0;
  // Daily totals: low daily usage and decline.
  float log_active_long = 0;    // EWMA of log(daily active energy) (half-life ~ weeks)
  float log_active_short = 0;   // EWMA over ~3 days
  uint16_t active_days = 0;     // days that entered the daily EWMAs
  uint8_t decline_days = 0;     // consecutive days below the decline ratio
  int8_t sensitivity[8] = {};   // feedback notches per kind (+ = less sensitive)
  int32_t sensitivity_day = 0;  // day of the last decay step
  uint32_t idle_quiet_min = 0;  // open idle episode: last alert-worthy quiet (epoch minutes)
  // Idle spell at the night's level: the readings above the night's high that it tolerated
  // (single spikes inside the band's allowance) and the newest one's time (epoch minutes; 0 =
  // none). The explanation reports them: the last sign of someone up. (In what was tail padding
  // up to checkpoint format 005: Load zeroes them in a 005 checkpoint.)
  uint32_t idle_spike_min = 0;
  uint8_t idle_spikes = 0;
  // Decline: consecutive days whose active energy was below the midpoint (geometric) between
  // the long-run level and the decline level — the slope a decline comes down. (Tail padding up
  // to checkpoint format 006: zeroed on loading one.)
  uint8_t descent_days = 0;
};

static_assert(std::is_trivially_copyable_v<HouseholdModel>);
// The hot fields fill the first three cache lines; the routine begins after them. (Fields added
// in the padding keep a checkpoint's layout: see Detector::Load.)
static_assert(offsetof(HouseholdModel, hours) == 192);

}  // namespace gridwatch
