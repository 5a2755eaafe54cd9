#include "detect/detector.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>

#include "common/time_util.h"
#include "detect/explain.h"
#include "detect/household_model.h"
#include "detect/model_params.h"

namespace gridwatch {
namespace {

constexpr float kNightScale = 1e4f;   // uint16 night ring: kWh * 1e4
constexpr float kEpsKwhPerH = 0.01f;  // added before logs: zeros and tiny readings
constexpr float kGateFloor = 3.0f;
constexpr float kMaxLearnedSpellH = 30.0f;
constexpr int kDescentDays = 2;   // decline: days on the way down before the low days
constexpr int kColdRingDays = 7;  // peaks needed before a home's own threshold is used
constexpr int kRecoverMin = 60;   // activity that closes an idle episode (minutes)
constexpr int64_t kEpisodeMaxQuietGapMin = 24 * 60;  // ... or a day without alert-worthy quiet

constexpr int KindBit(AlertKind k) { return 1 << static_cast<int>(k); }
// The kinds of an idle episode (a quiet spell at standby or at a steady level).
constexpr int kIdleKinds = KindBit(AlertKind::kInactivity) | KindBit(AlertKind::kFrozen);
// The kinds that report a quiet home: an idle episode, no morning activity, no power.
constexpr int kQuietKinds =
    kIdleKinds | KindBit(AlertKind::kNoMorningActivity) | KindBit(AlertKind::kNoPower);

// The kinds withheld while a person has said the resident is away (Detector::Answered): those
// that report a quiet or low-use home. high_usage (a heater left on in an empty home) and
// no_power (a supply cut) still alert.
constexpr int kAwayHeldKinds = kIdleKinds | KindBit(AlertKind::kNoMorningActivity) |
                               KindBit(AlertKind::kLowDailyUsage) | KindBit(AlertKind::kDecline);

// Night ring: uint8 on a log scale, 5 % steps from 1 Wh to hundreds of kWh per interval.
uint8_t ToNight8(float kwh) {
  return static_cast<uint8_t>(std::clamp(20.0f * std::log1p(kwh * 1000.0f) + 0.5f, 0.0f, 255.0f));
}
const std::array<float, 256>& Night8Table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int v = 0; v < 256; ++v) t[v] = std::expm1(v / 20.0f) / 1000.0f;
    return t;
  }();
  return table;
}
float FromNight8(uint8_t v) { return Night8Table()[v]; }

uint16_t ToKwh16(float kwh) {
  return static_cast<uint16_t>(std::clamp(kwh * kNightScale + 0.5f, 0.0f, 65535.0f));
}

// Prior probability of activity by local half-hour slot before a home has its own routine:
// asleep 00–06, rising 06–09, about the house by day, evening peak, winding down 22–24.
float PriorActive(int slot) {
  const float h = slot / 2.0f;
  if (h < 6) return 0.08f;
  if (h < 7) return 0.25f;
  if (h < 9) return 0.6f;
  if (h < 17) return 0.55f;
  if (h < 22) return 0.7f;
  return 0.3f;
}

// Calls f(bucket, boundary) for every idle-spell bucket boundary (22, 02, 06, 10, 14, 18 h
// local) after a spell's local start and before `end` (UTC; `off` its UTC offset), oldest first,
// until f returns true.
template <typename F>
void ForEachBoundary(int64_t start_local, int64_t off, int64_t end, F f) {
  constexpr int64_t kW = 86400 / kIdleBuckets;
  int64_t b = FloorDiv(start_local - 22 * 3600, kW) * kW + 22 * 3600 + kW;
  for (int k = 0; k < 6 * kIdleBuckets && b - off < end; ++k, b += kW) {
    const int bucket =
        static_cast<int>(FloorDiv(b - 22 * 3600, kW) % kIdleBuckets + kIdleBuckets) % kIdleBuckets;
    if (f(bucket, b - off)) return;
  }
}

}  // namespace

Detector::Detector(const DetectOptions& options, std::shared_ptr<const TimeZone> tz,
                   std::shared_ptr<const Registry> registry, int shard, int num_shards)
    : options_(options),
      tz_(tz ? std::move(tz) : TimeZone::Fixed(0)),
      shard_(shard),
      num_shards_(std::max(1, num_shards)) {
  for (const auto& d : options_.holidays) {
    int y = 0;
    unsigned m = 0, day = 0;
    if (std::sscanf(d.c_str(), "%d-%u-%u", &y, &m, &day) == 3)
      holidays_.push_back(static_cast<int32_t>(DaysFromCivil(y, m, day)));
  }
  std::sort(holidays_.begin(), holidays_.end());
  SetRegistry(std::move(registry));
}

Detector::~Detector() = default;

void Detector::SetRegistry(std::shared_ptr<const Registry> registry) {
  registry_ = std::move(registry);
  const size_t total = registry_ ? registry_->size() : 0;
  const size_t n =
      total > static_cast<size_t>(shard_) ? (total - shard_ + num_shards_ - 1) / num_shards_ : 0;
  const size_t old = models_.size();
  // A city's models do not fit in cache and are touched in random order: their storage comes
  // from HugePageAllocator (transparent huge pages save a TLB miss per reading).
  if (n > old) models_.resize(n);
  for (size_t i = old; i < n; ++i) InitModel(&models_[i]);
  category_.assign(n, 0);
  params_.clear();
  std::vector<std::string> cats;
  for (size_t i = 0; i < n; ++i) {
    const std::string& c =
        registry_->at(static_cast<HouseholdIndex>(i * num_shards_ + shard_)).category;
    auto it = std::find(cats.begin(), cats.end(), c);
    if (it == cats.end()) {
      cats.push_back(c);
      params_.push_back(ResolveModelParams(options_, c));
      it = cats.end() - 1;
    }
    category_[i] = static_cast<uint8_t>(std::min<size_t>(it - cats.begin(), 255));
  }
  if (params_.empty()) params_.push_back(ResolveModelParams(options_, ""));
}

void Detector::InitModel(HouseholdModel* m) {
  *m = HouseholdModel{};
  for (int d = 0; d < kDayTypes; ++d)
    for (int hr = 0; hr < kHours; ++hr) {
      const float a = PriorActive(hr * 2);
      m->hours[hr].level[d] = {static_cast<int16_t>(-2500 + 1500 * a), 800};
      m->hours[hr].step = {static_cast<int16_t>(-3500 + 1500 * a), 1000};
    }
}

HouseholdModel* Detector::ModelFor(HouseholdIndex h) {
  if (!Owns(h)) return nullptr;
  const size_t local = h / num_shards_;
  return local < models_.size() ? &models_[local] : nullptr;
}

int Detector::DayType(int32_t day) const {
  if (WeekdayFromDays(day) >= 5) return 1;
  return std::binary_search(holidays_.begin(), holidays_.end(), day) ? 1 : 0;
}

int32_t Detector::OffsetAt(int64_t ts) {
  if (ts >= off_from_ && ts < off_to_) return off_cached_;
  off_cached_ = tz_->OffsetAt(ts);
  // Cache for the surrounding hour-aligned day; offsets change at most a few times a year and
  // a changed offset at the cache edge is re-read on the next miss.
  off_from_ = ts - (ts % 3600);
  off_to_ = off_from_ + 3600;
  return off_cached_;
}

void Detector::Emit(HouseholdIndex h, HouseholdModel* m, AlertKind kind, FindingState state,
                    Severity severity, int64_t at_ts, const Evidence& e,
                    std::vector<Finding>* out) {
  const int bit = KindBit(kind);
  if (state == FindingState::kRaised) {
    m->open_mask |= bit;
    m->alerted_today |= bit;
    ++stats_.findings[static_cast<int>(kind)];
  } else if (state == FindingState::kCleared) {
    m->open_mask &= ~bit;
  }
  m->open_severity[static_cast<int>(kind)] = static_cast<uint8_t>(severity);
  // A person said the resident is away: the episode runs (so that it is one episode, and closes
  // on activity), but nobody is told of it.
  if ((bit & kAwayHeldKinds) && m->away_until_min != 0 &&
      at_ts / 60 < static_cast<int64_t>(m->away_until_min))
    return;
  Finding f;
  f.household = h;
  f.kind = kind;
  f.severity = severity;
  f.state = state;
  f.learning = m->learning_ready ? LearningState::kReady : LearningState::kLearning;
  f.at_ts = at_ts;
  f.evidence = e;
  f.evidence.interval_s = m->interval_s;
  f.evidence.days_learned = m->days_seen;
  Explain(*tz_, &f);
  out->push_back(std::move(f));
}

void Detector::Clear(HouseholdIndex h, HouseholdModel* m, AlertKind kind, int64_t at_ts,
                     std::vector<Finding>* out) {
  if (!(m->open_mask & KindBit(kind))) return;
  Evidence e;
  e.since_ts = at_ts;
  Emit(h, m, kind, FindingState::kCleared,
       static_cast<Severity>(m->open_severity[static_cast<int>(kind)]), at_ts, e, out);
}

float Detector::Sensitivity(const HouseholdModel& m, AlertKind k) const {
  return std::pow(1.25f, static_cast<float>(m.sensitivity[static_cast<int>(k)]));
}

// A home that is up by day, as an elderly person's home is (EVALUATION.md's at-home rule on the
// home's own routine): on weekdays, at least half of the hours 10–16 have their usual use (the
// hour's log-mean, about its median) above 1.5 x the night's median + 0.02 kWh a half-hour.
static bool UpByDay(const HouseholdModel& m) {
  const float ih = m.interval_s / 3600.0f;
  const float eps = kEpsKwhPerH * ih;
  const float up = std::log(1.5f * (std::exp(m.night_mu) - eps) + 0.04f * ih + eps);
  int n = 0;
  for (int hr = 10; hr < 16; ++hr) n += m.hours[hr].level[0].mu / 1000.0f > up;
  return n >= 3;
}

void Detector::Recalibrate(HouseholdModel* m, const ModelParams& p) {
  // Night distribution -> standby, night high, spread.
  if (m->night_count >= 8) {
    std::array<float, kNightRing> tmp;
    const int n = m->night_count;
    for (int i = 0; i < n; ++i) tmp[i] = FromNight8(m->night[i]);
    std::sort(tmp.begin(), tmp.begin() + n);
    auto q = [&](double f) { return tmp[std::min(n - 1, static_cast<int>(f * (n - 1) + 0.5))]; };
    const float ih = m->interval_s / 3600.0f;
    m->standby_kwh = q(0.10);
    m->night_hi_kwh = q(0.95) * 1.10f + 0.010f * ih;
    m->night_max_kwh = std::max(q(1.0) * 1.20f + 0.02f * ih, m->night_hi_kwh * 1.5f);
    m->spread_kwh = (q(0.90) - q(0.10)) * 1.25f + 0.010f * ih;
    // Night distribution of log energy and of log steps (ring order is time order), robustly:
    // median and half the 16–84 % range.
    // (log is monotone: the quantiles of the logs are the logs of the sorted values' quantiles,
    // so only three logarithms per distribution are taken.)
    const float eps = kEpsKwhPerH * ih;
    std::array<float, kNightRing> steps;
    int ns = 0;
    for (int i = 1; i < n; ++i) {
      const int a = (m->night_next - n + i - 1 + 2 * kNightRing) % kNightRing;
      const int b = (a + 1) % kNightRing;
      steps[ns++] = std::fabs(FromNight8(m->night[b]) - FromNight8(m->night[a]));
    }
    std::sort(steps.begin(), steps.begin() + ns);
    auto robust = [eps](const std::array<float, kNightRing>& v, int cnt, float* mu, float* sigma) {
      auto at = [&](double f) {
        return std::log(v[std::min(cnt - 1, static_cast<int>(f * (cnt - 1) + 0.5))] + eps);
      };
      *mu = at(0.5);
      *sigma = std::max(0.08f, (at(0.84) - at(0.16)) / 2);
    };
    robust(tmp, n, &m->night_mu, &m->night_sigma);
    robust(steps, ns, &m->night_step_mu, &m->night_step_sigma);
    ++m->night_stats_day_count;
  }
  auto threshold = [&](const PeakHistory& h, AlertKind k, float cold_factor) {
    const KindParams& kp = p[k];
    const float floor = static_cast<float>(kp.threshold);
    float t;
    if (h.count < kColdRingDays || !m->learning_ready)
      t = floor * cold_factor;
    else
      t = std::max(floor, h.GumbelLevel(static_cast<float>(kp.factor)));
    return t * Sensitivity(*m, k);
  };
  // The likelihood-ratio CUSUMs gate the idle-run detectors: a spell alerts only when it is both
  // longer than this home's spells at that time of day and made of readings this home rarely
  // shows at those hours. Their thresholds: the Gumbel level of the daily peaks at kGateZ.
  auto gate = [&](const PeakHistory& hist) {
    if (hist.count < kColdRingDays || !m->learning_ready) return kGateFloor;
    return std::max(kGateFloor, hist.GumbelLevel(static_cast<float>(options_.gate_z)));
  };
  m->t_quiet = gate(m->quiet_hist);
  m->t_flat = gate(m->flat_hist);
  m->t_high = threshold(m->high_hist, AlertKind::kHighUsage, 1.5f);
  // No morning activity: armed when mornings are regular (enough recorded days). The usual
  // time is the second-latest first activity of recent days: one odd day (back home at 14:00
  // from a night away) would otherwise disarm the check for four weeks. In a home that is up by
  // day (UpByDay), a day whose first activity came after noon was not a morning at home at all:
  // it is left out, and the check is armed while five days in seven (and 14 at least) began
  // before noon; two such days used to disarm it for four weeks, and with it the earliest
  // warning of a fall in the night.
  m->morning_deadline_min = -1;
  const bool up_by_day = UpByDay(*m);
  std::array<uint8_t, kFirstActivityDays> fa{};
  int n_fa = 0;
  for (int i = 0; i < m->first_act_count; ++i)
    if (!up_by_day || m->first_act[i] * 5 <= 12 * 60) fa[n_fa++] = m->first_act[i];
  if (m->learning_ready && m->first_act_count >= 14 && n_fa >= 14 &&
      (!up_by_day || 7 * n_fa >= 5 * m->first_act_count)) {
    const auto second = fa.begin() + n_fa - 2;
    std::nth_element(fa.begin(), second, fa.begin() + n_fa);
    const int latest = *second * 5;
    const int deadline =
        latest + static_cast<int>(p[AlertKind::kNoMorningActivity].margin_hours * 60);
    if (latest <= 12 * 60) m->morning_deadline_min = static_cast<int16_t>(deadline);
  }
}

void Detector::RollDay(HouseholdIndex h, HouseholdModel* m, const ModelParams& p, int32_t day,
                       int64_t at_ts, std::vector<Finding>* out) {
  // Close the day that ended: daily peaks, first activity, daily totals.
  const bool full_day = m->day_hours >= 20.0f;
  // A day's peak enters the history censored at the fit's 95 % level: the robust fit (median,
  // quartiles) is then unmoved by incidents, real absences or alerts, and moves only when such
  // days become common, as a changed routine makes them. (Capping at the threshold itself would
  // ratchet the threshold up with every alert.)
  auto censored = [&](const PeakHistory& hist, float peak, float t) {
    const float cap = hist.count >= 4 ? hist.GumbelLevel(3.0f) : t;
    return std::min(peak, std::min(cap, t));
  };
  // Before the home's own routine is learned the priors make every day look odd: those days
  // teach nothing. A day that an episode spanned from its start is an absence or an incident,
  // not a routine day, and is left out too.
  if (m->learning_ready) {
    const uint16_t carried = m->open_at_day_start;
    if (!(carried & KindBit(AlertKind::kInactivity)))
      m->quiet_hist.Push(censored(m->quiet_hist, m->quiet_day_peak, m->t_quiet));
    if (!(carried & KindBit(AlertKind::kFrozen)))
      m->flat_hist.Push(censored(m->flat_hist, m->flat_day_peak, m->t_flat));
    if (!(carried & KindBit(AlertKind::kHighUsage)))
      m->high_hist.Push(censored(m->high_hist, m->high_day_peak, m->t_high));
  }
  const uint16_t alerted_that_day = m->alerted_today;
  m->alerted_today = m->open_mask;
  m->open_at_day_start = m->open_mask;
  if (m->today_first_act_min >= 0) {
    m->first_act[m->first_act_next] =
        static_cast<uint8_t>(std::min(255, m->today_first_act_min / 5));
    m->first_act_next = static_cast<uint8_t>((m->first_act_next + 1) % kFirstActivityDays);
    if (m->first_act_count < kFirstActivityDays) ++m->first_act_count;
  }
  if (m->open_mask & KindBit(AlertKind::kNoMorningActivity))
    Clear(h, m, AlertKind::kNoMorningActivity, at_ts, out);
  if (full_day && m->night_stats_day_count > 0) {
    const float n_int = m->day_hours * 3600.0f / std::max(1, m->interval_s);
    const float active = std::max(0.0f, m->day_kwh - m->standby_kwh * n_int);
    const float la = std::log(std::max(active, 0.05f));
    if (m->active_days < 14) {
      const float a = 1.0f / (m->active_days + 1);
      m->log_active_long += a * (la - m->log_active_long);
      m->log_active_short = m->log_active_long;
    } else {
      const KindParams& lp = p[AlertKind::kLowDailyUsage];
      const float usual = std::exp(m->log_active_long);
      // The daily total is the backstop for what the hour-by-hour detectors missed: a day on
      // which a quiet-home alert (kQuietKinds) was raised or open is already with the grid
      // worker, and its low total is no second page.
      if (lp.enabled && m->learning_ready && usual >= 0.5f &&
          active <
              static_cast<float>(lp.factor) * usual / Sensitivity(*m, AlertKind::kLowDailyUsage)) {
        if (!(m->open_mask & KindBit(AlertKind::kLowDailyUsage)) &&
            !(alerted_that_day & kQuietKinds)) {
          Evidence e;
          e.since_ts = at_ts - static_cast<int64_t>(m->day_hours * 3600);
          e.duration_h = m->day_hours;
          e.observed_kwh = active;
          e.expected_kwh = usual;
          e.threshold = lp.factor * usual;
          Emit(h, m, AlertKind::kLowDailyUsage, FindingState::kRaised, Severity::kMedium, at_ts, e,
               out);
        }
      } else if (active >= 2 * lp.factor * usual) {
        Clear(h, m, AlertKind::kLowDailyUsage, at_ts, out);
      }
      m->log_active_short += 0.4f * (la - m->log_active_short);
      const KindParams& dp = p[AlertKind::kDecline];
      const float drop = m->log_active_short - m->log_active_long;
      // A day counts towards a decline when the recent level and the day itself are both below
      // factor x the long-run level: a day or two away drags the recent level down for days
      // after, but those days are not low themselves, and a home back to its routine is no trend.
      const float low_ratio = std::log(static_cast<float>(dp.factor));
      const bool low = drop < low_ratio && la - m->log_active_long < low_ratio;
      m->decline_days = low ? static_cast<uint8_t>(std::min(255, m->decline_days + 1)) : 0;
      // A decline is a slope: the low days must have been reached through days on the way down
      // (below the geometric midpoint of the long-run and the decline level), at least two of
      // them (one is what a day of leaving shows). Use that falls from one day to the next —
      // away, or ill in bed — is the acute detectors' and low_daily_usage's, already paged.
      const bool down = la - m->log_active_long < 0.5f * low_ratio;
      m->descent_days = down ? static_cast<uint8_t>(std::min(255, m->descent_days + 1)) : 0;
      // The long-run level learns only from days that do not look like a decline.
      if (drop > std::log(0.7f)) {
        m->log_active_long += 0.035f * (la - m->log_active_long);
      }
      if (dp.enabled && m->learning_ready && m->decline_days >= dp.threshold &&
          m->descent_days >= m->decline_days + kDescentDays &&
          !(m->open_mask & KindBit(AlertKind::kDecline))) {
        Evidence e;
        e.since_ts = at_ts - static_cast<int64_t>(m->decline_days) * 86400;
        e.duration_h = m->decline_days * 24.0;
        e.days_usual = m->decline_days;
        e.observed_kwh = std::exp(m->log_active_short);
        e.expected_kwh = std::exp(m->log_active_long);
        e.probability = std::exp(drop);
        e.threshold = dp.factor;
        Emit(h, m, AlertKind::kDecline, FindingState::kRaised, Severity::kLow, at_ts, e, out);
      } else if (drop > std::log(0.7f)) {
        Clear(h, m, AlertKind::kDecline, at_ts, out);
      }
    }
    ++m->active_days;
  }
  if (m->day_hours > 0) ++m->days_seen;
  m->learning_ready = m->days_seen >= options_.min_learning_days ? 1 : 0;
  // Feedback decays back one notch every two weeks.
  if (day - m->sensitivity_day >= 14) {
    for (auto& s : m->sensitivity) s = static_cast<int8_t>(s > 0 ? s - 1 : (s < 0 ? s + 1 : 0));
    m->sensitivity_day = day;
  }
  Recalibrate(m, p);
  m->cur_day = day;
  m->day_kwh = 0;
  m->day_hours = 0;
  m->quiet_day_peak = m->s_quiet;
  m->flat_day_base = m->s_flat;
  m->flat_day_peak = 0;
  m->high_day_peak = m->cusum_high;
  m->today_first_act_min = -1;
}

constexpr int kWeeksPerLevel = 12;  // the threshold's level: the longest spell of about 12 weeks
constexpr int kLevelCells = kWeeksPerLevel * 7 / kIdleCellDays;  // periods that span one level

// The length that spells under way at each time of day reached about once in 12 weeks: the k-th
// longest of the periods kept, k = weeks remembered / 12 (the longest of the first 12 weeks, the
// 4th longest of 48). The same level as "the longest of the last 12 weeks", but a single long
// day out no longer sets the threshold for 12 weeks, nor does a quiet quarter lower it: an order
// statistic of 48 weeks varies less than a maximum of 12.
static void RefreshIdleUsual(HouseholdModel* m) {
  const int k = std::clamp(m->idle_cells_seen / kLevelCells, 1, kIdleCells / kLevelCells);
  for (int b = 0; b < kIdleBuckets; ++b) {
    std::array<uint8_t, kIdleCells> cells = m->idle_cell_max[b];
    std::nth_element(cells.begin(), cells.begin() + (k - 1), cells.end(), std::greater<>());
    m->idle_usual[b] = cells[k - 1];
  }
}

// Whether the steps of a spell at a steady elevated level are still enough for frozen: the step
// CUSUM at the Gumbel level of the home's daily peaks at frozen's z, never above the idle gate's
// own (t_flat); the floor while the home is learning. The level is fitted (a sort of the peaks)
// only when the CUSUM lies between the floor and t_flat, where the answer depends on it.
bool Detector::FrozenStepsStill(const HouseholdModel& m, const KindParams& kp) const {
  if (m.s_flat >= m.t_flat) return true;
  if (m.s_flat < kGateFloor) return false;
  if (m.flat_hist.count < kColdRingDays || !m.learning_ready) return true;
  return m.s_flat >= m.flat_hist.GumbelLevel(static_cast<float>(kp.factor));
}

// The spell under way is over: the next reading begins a new one.
static void ForgetSpell(HouseholdModel* m) {
  m->idle_n = 0;
  m->idle_blip = 0;
  m->idle_spikes = 0;
  m->idle_spike_min = 0;
  m->idle_alerted = 0;
}

void Detector::LearnSpell(HouseholdModel* m, const ModelParams& p, int64_t end) {
  // A spell that alerted and then ended soon after was an ordinary long spell of this home's
  // life and is learned from; one that went on (an incident, an absence of days) is not. A spell
  // of a day or more is an absence or an incident, never a routine to learn.
  const float run_h = (end - m->idle_since) / 3600.0f;
  const bool learnable =
      run_h < kMaxLearnedSpellH &&
      (!m->idle_alerted ||
       run_h < 1.5f * IdleThresholdH(*m, p[AlertKind::kInactivity], m->idle_bucket));
  if (!learnable || m->night_stats_day_count < 3 || m->idle_n <= 1 || end <= m->idle_since) return;
  // The run's length enters its start bucket; for every bucket boundary (22, 02, 06, 10, 14,
  // 18 h local) that the run spanned, what remained of it from there enters that bucket too: a
  // spell begun at 02:30 is then judged against nights that were still quiet at 02:00.
  auto put = [&](int bucket, int64_t from) {
    const float len_h = (end - from) / 3600.0f;
    uint8_t& cell = m->idle_cell_max[bucket][m->idle_cell % kIdleCells];
    cell = static_cast<uint8_t>(
        std::max<int>(cell, std::min(255, static_cast<int>(len_h * 4 + 0.5f))));
  };
  put(m->idle_bucket, m->idle_since);
  ForEachBoundary(m->idle_since + OffsetAt(m->idle_since), OffsetAt(end), end,
                  [&](int bucket, int64_t b) {
                    put(bucket, b);
                    return false;
                  });
  RefreshIdleUsual(m);
}

float Detector::IdleThresholdH(const HouseholdModel& m, const KindParams& kp, int bucket) const {
  // Cold: a fixed, conservative length until the home's own spells of a period are known.
  if (!m.learning_ready || m.idle_cells_seen == 0) return static_cast<float>(kp.threshold);
  float usual_longest = m.idle_usual[bucket] / 4.0f;
  // Young: while fewer periods than one level spans are known, the longest spell seen is the
  // level of fewer weeks, which runs short (the longest of 4 weeks is shorter than the longest of
  // 12), so the cold length still holds part of the way: it fades out, a third per period, as
  // the home's own weeks come in.
  if (m.idle_cells_seen < kLevelCells)
    usual_longest = std::max(usual_longest, static_cast<float>(kp.threshold) *
                                                (kLevelCells - m.idle_cells_seen) / kLevelCells);
  return std::max(static_cast<float>(kp.min_hours), usual_longest * static_cast<float>(kp.factor) +
                                                        static_cast<float>(kp.margin_hours)) *
         Sensitivity(m, AlertKind::kInactivity);
}

// An idle episode (inactivity or frozen) closes when normal activity returns, not when a spell
// ends: a freezer's defrost or a timer breaks the spell but is not the resident coming back, so
// an absence of days with such blips stays one alert. Activity is use above the night's high
// level, or use that breaks or strains a quiet spell's band (for homes whose day never tops the
// night, as with night storage heating). It fills a leaky bucket — an interval's minutes in,
// half as many out for each quiet interval — and an hour's worth closes the episode.
void Detector::Recover(HouseholdIndex h, HouseholdModel* m, int64_t ts, bool active,
                       std::vector<Finding>* out) {
  if (!(m->open_mask & kIdleKinds) || m->idle_alerted) {
    m->recover_min = 0;
    return;
  }
  const int iv_min = std::max(1, m->interval_s / 60);
  const int r = active ? m->recover_min + iv_min : m->recover_min - (iv_min + 1) / 2;
  m->recover_min = static_cast<uint16_t>(std::clamp(r, 0, 65535));
  // A day with no alert-worthy quiet spell ends the episode too, whatever the activity looked
  // like: an episode left open would absorb the findings of a later, new incident.
  const bool stale = ts / 60 - static_cast<int64_t>(m->idle_quiet_min) >= kEpisodeMaxQuietGapMin;
  if (m->recover_min >= kRecoverMin || stale) {
    Clear(h, m, AlertKind::kInactivity, ts, out);
    Clear(h, m, AlertKind::kFrozen, ts, out);
    m->recover_min = 0;
    m->away_until_min = 0;
  }
}

void Detector::ObserveIdle(HouseholdIndex h, HouseholdModel* m, const ModelParams& p, float x,
                           int64_t ts, int sod, int dt, int days_of_type,
                           std::vector<Finding>* out) {
  const int32_t period = static_cast<int32_t>(FloorDiv(m->cur_day, kIdleCellDays));
  if (period != m->idle_cell) {
    const int steps = std::min<int>(kIdleCells, std::max(1, period - m->idle_cell));
    for (int i = 1; i <= steps; ++i)
      for (auto& b : m->idle_cell_max) b[(m->idle_cell + i) % kIdleCells] = 0;
    if (m->night_stats_day_count >= 3 && m->idle_cells_seen < 255) ++m->idle_cells_seen;
    m->idle_cell = period;
    RefreshIdleUsual(m);
  }
  const float band = m->spread_kwh;
  auto end_run = [&]() {
    LearnSpell(m, p, ts - m->interval_s);
    // The episode stays open across a spell's end: a fridge's or a timer's blip breaks the spell
    // but is not the resident's return. It closes once normal activity has come back (Recover).
    ForgetSpell(m);
    m->idle_since = ts;
    m->idle_bucket = static_cast<uint8_t>(((sod + 2 * 3600) % 86400) /
                                          (86400 / kIdleBuckets));  // 22–02 h is bucket 0
  };
  if (m->idle_since == 0) end_run();
  if (m->idle_n == 0) {
    m->idle_lo = m->idle_hi = x;
    m->idle_sum = x;
    m->idle_n = 1;
    m->idle_since = ts - m->interval_s;
    m->idle_bucket = static_cast<uint8_t>(((sod + 2 * 3600) % 86400) / (86400 / kIdleBuckets));
  } else {
    const float lo = std::min(m->idle_lo, x), hi = std::max(m->idle_hi, x);
    if (hi - lo <= band) {
      m->idle_lo = lo;
      m->idle_hi = hi;
      m->idle_sum += x;
      if (m->idle_n < 65535) ++m->idle_n;
      m->idle_blip = 0;
    } else if (m->idle_blip || x > m->idle_hi + 3 * band || x + 3 * band < m->idle_lo) {
      Recover(h, m, ts, true, out);
      end_run();
      return;
    } else {
      m->idle_blip = 1;
      Recover(h, m, ts, true, out);
    }
  }
  const float level = m->idle_sum / m->idle_n;
  const bool elevated = level > m->night_hi_kwh;  // a steady level above the night's, not standby
  // A reading above the night's high that the spell tolerated, in a spell at the night's level:
  // a brief sign of someone up (or an appliance), reported with the alert.
  if (x > m->night_hi_kwh && !elevated) {
    if (m->idle_spikes < 255) ++m->idle_spikes;
    m->idle_spike_min = static_cast<uint32_t>(ts / 60);
  }
  // Use above the night's high is activity, except the steady level of a frozen episode's own
  // spell: a light or a heater still on is not the resident back (a spell broken by a blip and
  // begun again at that level would otherwise close the episode, and page it again).
  if (m->idle_blip == 0)
    Recover(h, m, ts,
            x > m->night_hi_kwh && !(elevated && (m->open_mask & KindBit(AlertKind::kFrozen))),
            out);
  const KindParams& kp = p[AlertKind::kInactivity];
  const float len_h = (ts - m->idle_since) / 3600.0f;
  const float t_h = IdleThresholdH(*m, kp, m->idle_bucket);
#ifdef GRIDWATCH_MODEL_TRACE
  static const long trace_h =
      getenv("GRIDWATCH_TRACE_HOUSEHOLD") ? atol(getenv("GRIDWATCH_TRACE_HOUSEHOLD")) : -1;
  if (static_cast<long>(h) == trace_h)
    fprintf(stderr, "I %s x=%.3f lo=%.3f hi=%.3f band=%.3f blip=%d len=%.1f b=%d t=%.1f\n",
            FormatRfc3339Utc(ts).c_str(), x, m->idle_lo, m->idle_hi, band, m->idle_blip, len_h,
            m->idle_bucket, t_h);
#endif
  // The spell is judged against every time of day it has run through: from its start, against
  // the longest spell begun in that bucket; from each bucket boundary it crossed (22, 02, 06, 10,
  // 14, 18 h local), its remainder against the longest remainder that spells under way at that
  // boundary had — as end_run() learns them. A night spell that runs on past the morning is then
  // measured against this home's mornings, not only against its longest nights.
  float t_h_used = t_h;
  bool over = len_h >= t_h;
  // A spell at a steady level above the night's high (a light, a TV or a heater left on, nobody
  // changing anything) is judged against the cold length too, the per-category prior: a home's
  // long quiet spells at standby (nights, days out) say nothing about how long it leaves
  // something on unchanged, and waiting for them held frozen falls back in homes out by day.
  // (Whether nobody is changing anything is still the step gate's to say, below.)
  if (!over && elevated && p[AlertKind::kFrozen].enabled) {
    const float cold_h = static_cast<float>(kp.threshold) * Sensitivity(*m, AlertKind::kInactivity);
    if (len_h >= cold_h) {
      over = true;
      t_h_used = cold_h;
    }
  }
  if (!over && kp.enabled && len_h >= kp.min_hours) {
    ForEachBoundary(m->idle_since + OffsetAt(m->idle_since), OffsetAt(ts), ts,
                    [&](int bucket, int64_t b) {
                      const float tb = IdleThresholdH(*m, kp, bucket);
                      over = (ts - b) / 3600.0f >= tb;
                      if (over) t_h_used = tb;
                      return over;
                    });
  }
  if (!kp.enabled || !over) return;
  // Which evidence judges the spell: at the night's level, the level CUSUM (use like the night's
  // at hours when this home is up); more than one night-sigma above the night's median (a light,
  // a TV or a heater left on over the night's fluctuation), the step CUSUM (no change at hours
  // when this home changes things) — the level's evidence is spent on the constant load there.
  // A spell at a steady level above the night's high (frozen) is already rare evidence by its
  // level and its length (it has run as long as the cold length at most, not this home's own
  // longest spells): the step gate asks of it only steps as night-like as on an ordinary day of
  // this home, its daily peaks' Gumbel level at frozen's `factor` (z = 1: exceeded on about a
  // third of days), not the rare-day level (gate_z) that a spell at standby must reach. (At
  // gate_z, frozen collapses in homes with steady days waited for 20 h or were missed.)
  const bool above_night =
      level > std::exp(m->night_mu + m->night_sigma) - kEpsKwhPerH * m->interval_s / 3600.0f;
  if (options_.gate_z > 0) {
    const bool evidence = !above_night ? m->s_quiet >= m->t_quiet
                          : elevated   ? FrozenStepsStill(*m, p[AlertKind::kFrozen])
                                       : m->s_flat >= m->t_flat;
    if (!evidence) return;
  }
  const AlertKind kind = elevated ? AlertKind::kFrozen : AlertKind::kInactivity;
  if (elevated && !p[AlertKind::kFrozen].enabled) return;
  const Severity sev = len_h >= 12 || len_h >= 2 * t_h ? Severity::kCritical : Severity::kHigh;
  const bool open = m->open_mask & KindBit(kind);
  m->idle_alerted = 1;  // this spell is (still) alert-worthy: it keeps the episode open
  m->idle_quiet_min = static_cast<uint32_t>(ts / 60);
  if (open && static_cast<uint8_t>(sev) <= m->open_severity[static_cast<int>(kind)]) return;
  Evidence e;
  e.since_ts = m->idle_since;
  e.duration_h = len_h;
  e.score = len_h;
  e.threshold = t_h_used;
  e.days_seen = days_of_type;
  // Share of days on which this home is up at these hours: for each hour the spell has run
  // through (its last 24 at most), the share of days whose use then is above the night's usual
  // level (normal approx.), and the largest of them — a lower bound for being up at some point
  // of the stretch. (The hour of the alert alone can be one the home sleeps through: a spell
  // from 17:30 alerting at 19:00 the next day would read "active at this time on 0 days".)
  float pa = 0;
  for (int64_t t = std::max(m->idle_since, ts - 86400) + 1800; t <= ts + 1799; t += 3600) {
    const int64_t loc = t + OffsetAt(t);
    const int hr_t = static_cast<int>(loc - FloorDiv(loc, 86400) * 86400) / 3600;
    const HouseholdModel::LogDist& d = m->hours[hr_t].level[dt];
    const float mu = d.mu / 1000.0f, sig = std::max(0.1f, 1.2533f * d.dev / 1000.0f);
    pa = std::max(pa, 0.5f * std::erfc((m->night_mu + m->night_sigma - mu) / (sig * 1.41421356f)));
  }
  e.days_usual = static_cast<int>(pa * days_of_type + 0.5f);
  e.day_type = dt;
  e.observed_kwh = level;
  e.expected_low_kwh = m->standby_kwh;
  e.expected_high_kwh = m->night_hi_kwh;
  e.level_kwh_per_h = level * 3600.0f / m->interval_s;
  if (kind == AlertKind::kInactivity && m->idle_spikes > 0) {
    e.spikes = m->idle_spikes;
    e.last_spike_ts = static_cast<int64_t>(m->idle_spike_min) * 60;
  }
  Emit(h, m, kind, open ? FindingState::kUpdated : FindingState::kRaised, sev, ts, e, out);
}

void Detector::Observe(const Reading& r, std::vector<Finding>* out) {
  HouseholdModel* m = ModelFor(r.household);
  if (!m) return;
  if (r.ts_s <= m->last_ts) {
    ++stats_.out_of_order;
    return;
  }
  ++stats_.readings;
  const HouseholdIndex h = r.household;
  const ModelParams& p = params_[category_[h / num_shards_]];
  const float x = std::max(0.0f, r.energy_kwh);

  if (m->last_ts == 0) {
    ++stats_.households_tracked;
    m->last_ts = r.ts_s;
    m->prev_kwh = x;
    const int64_t local = r.ts_s + OffsetAt(r.ts_s);
    m->cur_day = static_cast<int32_t>(FloorDiv(local, 86400));
    m->sensitivity_day = m->cur_day;
    return;
  }
  const int64_t gap = r.ts_s - m->last_ts;
  if (m->open_mask & KindBit(AlertKind::kMeterSilent))
    Clear(h, m, AlertKind::kMeterSilent, r.ts_s, out);
  if (gap >= 60 && (m->interval_s == 0 || gap < m->interval_s)) {
    if (m->interval_s != 0 && gap * 2 <= m->interval_s) m->night_count = 0;  // new cadence
    m->interval_s = static_cast<int32_t>(gap);
  }
  if (gap > m->interval_s)
    m->long_gap_s = std::max(m->long_gap_s * 0.999f, static_cast<float>(gap));
  else
    m->long_gap_s *= 0.999f;
  const bool contiguous = gap <= m->interval_s;
  m->last_ts = r.ts_s;
  const float ih = m->interval_s / 3600.0f;

  // Local time of the interval's middle.
  const int64_t mid = r.ts_s - m->interval_s / 2;
  const int64_t local = mid + OffsetAt(mid);
  const int32_t day = static_cast<int32_t>(FloorDiv(local, 86400));
  const int sod = static_cast<int>(local - static_cast<int64_t>(day) * 86400);
  const int slot = std::min(kSlots - 1, sod / 1800);
  if (day != m->cur_day) RollDay(h, m, p, day, r.ts_s, out);
  const int dt = DayType(day);
  m->day_kwh += x;
  m->day_hours += ih;
  if (sod >= 3600 && sod < 5 * 3600) {
    m->night[m->night_next] = ToNight8(x);
    m->night_next = static_cast<uint8_t>((m->night_next + 1) % kNightRing);
    if (m->night_count < kNightRing) ++m->night_count;
  }
  const float prev = contiguous ? m->prev_kwh : -1.0f;
  m->prev_kwh = x;

  // No power: exact zeros where standby is never zero.
  const float zero = x == 0.0f ? 1.0f : 0.0f;
  {
    const KindParams& kp = p[AlertKind::kNoPower];
    if (zero > 0) {
      if (m->zero_run == 0) m->zero_since = r.ts_s - m->interval_s;
      if (m->zero_run < 65535) ++m->zero_run;
      if (kp.enabled && m->p_zero < 0.01f && m->standby_kwh > 0.004f * ih &&
          m->zero_run * ih >= kp.min_hours && !(m->open_mask & KindBit(AlertKind::kNoPower))) {
        Evidence e;
        e.since_ts = m->zero_since;
        e.duration_h = m->zero_run * ih;
        e.observed_kwh = 0;
        e.expected_low_kwh = m->standby_kwh;
        Emit(h, m, AlertKind::kNoPower, FindingState::kRaised, Severity::kHigh, r.ts_s, e, out);
      }
    } else {
      m->zero_run = 0;
      Clear(h, m, AlertKind::kNoPower, r.ts_s, out);
    }
    if (!(m->open_mask & KindBit(AlertKind::kNoPower))) m->p_zero += 0.002f * (zero - m->p_zero);
  }

  if (m->night_stats_day_count == 0) return;  // no notion of standby yet: learn only

  // Learning rate: half-life in days of this day type, in observations of this slot.
  const float days_frac = dt == 0 ? 5.0f / 7.0f : 2.0f / 7.0f;
  const float obs_per_day = std::max(1.0f, 1800.0f / std::max(1, m->interval_s));
  if (m->interval_s != alpha_interval_) {  // the forgetting rate, cached per interval
    for (int d = 0; d < kDayTypes; ++d) {
      const float hl_obs = static_cast<float>(options_.half_life_days) *
                           (d == 0 ? 5.0f / 7.0f : 2.0f / 7.0f) * obs_per_day;
      alpha_forget_[d] = 1.0f - std::exp2(-1.0f / hl_obs);
    }
    alpha_interval_ = m->interval_s;
  }
  const float alpha =
      std::max(alpha_forget_[dt], 1.0f / (m->days_seen * days_frac * obs_per_day + 1.0f));

  const bool active = x > m->night_hi_kwh;  // for first activity and the usage band
  // Home again after a person said the resident was away: the hold ends with the quiet episode
  // it was said of (Recover: an hour's worth of activity); with no such episode open, at a
  // reading that is surely someone up (above the night's maximum, or two in a row above its high).
  // Past the hold, a kind raised in it stays open, as after any answer (no page for the same
  // episode again), and the kinds not yet raised page as they come (the next morning's check).
  if (m->away_until_min != 0 && (r.ts_s / 60 >= static_cast<int64_t>(m->away_until_min) ||
                                 (!(m->open_mask & kIdleKinds) &&
                                  (x > m->night_max_kwh || (active && prev > m->night_hi_kwh)))))
    m->away_until_min = 0;
  const int hr = slot / 2;
  const float eps = kEpsKwhPerH * ih;
  const float lx = std::log(x + eps);
  const float step = prev >= 0 ? std::fabs(x - prev) : 0.0f;
  const float lstep = std::log(step + eps);

  // --- Routine: predictive log-likelihood ratios first, then learn from this interval.
  // log N(l; mu_night, s_night) - log N(l; mu_slot, s_slot), clipped: "nobody up" against "this
  // home at this hour".
  // One-sided under the night: use below the night's usual level is "nobody up" as much as at it.
  auto llr = [](float l, float mu0, float s0, float mu1, float s1) {
    const float z0 = std::max(0.0f, l - mu0) / s0, z1 = (std::max(l, mu0) - mu1) / s1;
    return std::clamp(-0.5f * z0 * z0 + 0.5f * z1 * z1 + std::log(s1 / s0), -4.0f, 3.0f);
  };
  HouseholdModel::LogDist& ld = m->hours[hr].level[dt];
  HouseholdModel::LogDist& sd = m->hours[hr].step;
  const float lmu = ld.mu / 1000.0f, lsig = std::max(0.1f, 1.2533f * ld.dev / 1000.0f);
  const float smu = sd.mu / 1000.0f, ssig = std::max(0.1f, 1.2533f * sd.dev / 1000.0f);
  const float llr_level = llr(lx, m->night_mu, m->night_sigma, lmu, lsig);
  const float llr_step = llr(lstep, m->night_step_mu, m->night_step_sigma, smu, ssig);
  auto learn = [&](HouseholdModel::LogDist& d, float l) {
    const float mu = d.mu / 1000.0f, dev = d.dev / 1000.0f;
    const float nmu = mu + alpha * (l - mu);
    const float ndev = dev + alpha * (std::fabs(l - mu) - dev);
    d.mu = static_cast<int16_t>(std::clamp(nmu * 1000.0f, -30000.0f, 30000.0f));
    d.dev = static_cast<int16_t>(std::clamp(ndev * 1000.0f, 1.0f, 30000.0f));
  };
  learn(ld, lx);
  if (prev >= 0) learn(sd, lstep);
  const int days_of_type =
      std::max(1, std::min(28, static_cast<int>(m->days_seen * days_frac + 0.5f)));

  // --- Evidence gates: CUSUMs of the log-likelihood ratio "this reading came from the home's
  // night (nobody up)" against "from its usual distribution at this hour", on the level and on
  // the step from the previous reading. They grow fastest where the home is reliably active and
  // reset when use shows someone is up; capped so that a long quiet stretch is forgotten within
  // hours of use returning.
  m->s_quiet = std::clamp(m->s_quiet + llr_level, 0.0f, 2.0f * std::max(m->t_quiet, 1.0f));
  m->quiet_day_peak = std::max(m->quiet_day_peak, m->s_quiet);
  if (prev >= 0)
    m->s_flat = std::clamp(m->s_flat + llr_step, 0.0f, 2.0f * std::max(m->t_flat, 1.0f));
  // The step gate's day peak is the CUSUM's largest rise within the day. A home whose steps stay
  // night-like for weeks (away with a heater on a timer, a steady regime) carries its CUSUM at
  // the cap from one day into the next; counted as each day's peak, that pinned half the history
  // at the threshold in force and ratcheted the threshold up by about one a day for as long as
  // the regime lasted, and then for six weeks the gate was beyond what a frozen fall shows
  // (dev-london-athome H0002: from 13–18 in July to 50 by September; its fall on 27 September
  // was never paged).
  m->flat_day_base = std::min(m->flat_day_base, m->s_flat);
  m->flat_day_peak = std::max(m->flat_day_peak, m->s_flat - m->flat_day_base);

  ObserveIdle(h, m, p, x, r.ts_s, sod, dt, days_of_type, out);

  // --- High usage: something drawing at least min_kw left on. A CUSUM of the log-likelihood
  // ratio of this reading under "this home's use at this hour plus a load L left on" against
  // "this home's use at this hour" (both the hour's log-normal): it climbs while use stays above
  // the load and higher than this home usually shows, and a reading below min_kw (nothing that
  // large is on) resets it. L is the load's size as the readings show it, at least min_kw: a
  // load left on lifts this reading and the one before by the same amount, so the lower of the
  // two stands about L above the hour's usual use (a generalised likelihood ratio; with L fixed
  // at min_kw, a 2.4 kW heater in a home of varied use scored barely more than a 1.1 kW one,
  // and a kettle's single reading still gets no more than min_kw). Increments are per half-hour
  // of data, so the threshold (nats) means the same at every interval; calibrated on the home's
  // daily peaks.
  {
    const KindParams& kp = p[AlertKind::kHighUsage];
    float hi = m->hours[hr].high[slot & 1] / kNightScale;
    if (hi <= 0) hi = std::max(x, m->night_hi_kwh);
    const float usual = std::exp(lmu);  // the hour's median use
    const float both = prev >= 0 ? std::min(x, prev) : x;
    const float load = std::max(static_cast<float>(kp.min_kw) * ih, both - usual);
    float inc = -4.0f;
    if (x > load) {
      const float l1 = std::log(x - load + eps);
      const float z0 = (l1 - lmu) / lsig, z1 = (lx - lmu) / lsig;
      inc = std::clamp(0.5f * (z1 * z1 - z0 * z0) + (lx - l1), -4.0f, 3.0f);
    }
    inc *= 2.0f * ih;
    const bool open = m->open_mask & KindBit(AlertKind::kHighUsage);
    if (m->cusum_high <= 0) {
      m->high_since = r.ts_s - m->interval_s;
      m->high_kwh = 0;
    }
    m->cusum_high = std::clamp(m->cusum_high + inc, 0.0f, 2.0f * std::max(m->t_high, 1.0f));
    if (m->cusum_high > 0) m->high_kwh += std::max(0.0f, x - usual);  // explanation
    if (m->cusum_high <= 0) {
      if (open) Clear(h, m, AlertKind::kHighUsage, r.ts_s, out);
    }
    m->high_day_peak = std::max(m->high_day_peak, m->cusum_high);
    const double hours = (r.ts_s - m->high_since) / 3600.0;
    if (kp.enabled && !open && m->cusum_high >= m->t_high && hours >= kp.min_hours) {
      Evidence e;
      e.since_ts = m->high_since;
      e.duration_h = hours;
      e.observed_kwh = m->high_kwh;
      e.expected_high_kwh = std::max(std::exp(lmu + lsig) - eps, m->night_hi_kwh) / ih;
      e.score = m->cusum_high;
      e.threshold = m->t_high;
      e.level_kwh_per_h = x / ih;
      e.load_kw = load / ih;
      const int hod = sod / 3600;
      Emit(h, m, AlertKind::kHighUsage, FindingState::kRaised,
           (hod >= 22 || hod < 6) ? Severity::kHigh : Severity::kMedium, r.ts_s, e, out);
    }
    // The slot's upper level (about its 90th percentile) learns only outside episodes.
    if (!(m->open_mask & KindBit(AlertKind::kHighUsage))) {
      const float g = std::max(0.04f, 1.0f / (m->days_seen + 1.0f));
      hi = x > hi ? hi * (1.0f + 0.9f * g) : hi * (1.0f - 0.1f * g);
      m->hours[hr].high[slot & 1] = ToKwh16(std::max(hi, 0.0001f));
    }
  }

#ifdef GRIDWATCH_MODEL_TRACE
  static const long trace_h =
      getenv("GRIDWATCH_TRACE_HOUSEHOLD") ? atol(getenv("GRIDWATCH_TRACE_HOUSEHOLD")) : -1;
  if (static_cast<long>(h) == trace_h)
    fprintf(stderr,
            "T %s x=%.3f lx=%.2f slot=%.2f/%.2f night=%.2f/%.2f llr=%.2f sq=%.2f tq=%.2f sf=%.2f "
            "tf=%.2f cus=%.2f th=%.2f md=%d fa=%d\n",
            FormatRfc3339Utc(r.ts_s).c_str(), x, lx, lmu, lsig, m->night_mu, m->night_sigma,
            llr_level, m->s_quiet, m->t_quiet, m->s_flat, m->t_flat, m->cusum_high, m->t_high,
            m->morning_deadline_min, m->today_first_act_min);
#endif
  // --- No morning activity: nothing by the usual first activity of recent weeks + margin,
  // when the evidence gate of the idle spells agrees (the hours since the night were ones in
  // which this home is rarely this quiet): a late riser's Sunday does not pass it.
  {
    const KindParams& kp = p[AlertKind::kNoMorningActivity];
    if (active && m->today_first_act_min < 0 && sod >= 4 * 3600)
      m->today_first_act_min = static_cast<int16_t>(sod / 60);
    if (active) Clear(h, m, AlertKind::kNoMorningActivity, r.ts_s, out);
    if (kp.enabled && m->morning_deadline_min >= 0 && m->today_first_act_min < 0 &&
        sod / 60 >= m->morning_deadline_min && sod < 15 * 3600 &&
        (options_.gate_z <= 0 || m->s_quiet >= m->t_quiet) &&
        !(m->open_mask & KindBit(AlertKind::kNoMorningActivity))) {
      Evidence e;
      e.since_ts = m->idle_since;
      e.duration_h = (r.ts_s - m->idle_since) / 3600.0;
      e.usual_first_activity_min = m->morning_deadline_min - static_cast<int>(kp.margin_hours * 60);
      e.days_seen = m->first_act_count;
      e.days_usual = m->first_act_count - 1;
      e.day_type = dt;
      Emit(h, m, AlertKind::kNoMorningActivity, FindingState::kRaised, Severity::kHigh, r.ts_s, e,
           out);
    }
  }
}

void Detector::ObserveBatch(std::span<const Reading> readings, std::vector<Finding>* out) {
  // Readings arrive in random household order: each model is a cache (and, without huge pages,
  // TLB) miss. Prefetch a few readings ahead the hot fields and the one line of the routine
  // (hours[]) that the reading's local hour will touch.
  constexpr size_t kAhead = 8;
  constexpr size_t kLines = (offsetof(HouseholdModel, hours) + 63) / 64;  // the hot fields
  auto prefetch = [&](const Reading& r) {
    if (!Owns(r.household)) return;
    const size_t local = r.household / num_shards_;
    if (local >= models_.size()) return;
    const char* p = reinterpret_cast<const char*>(&models_[local]);
    for (size_t l = 0; l < kLines; ++l) __builtin_prefetch(p + l * 64, 1, 1);
    // The interval's middle is in the same local hour as its last second for 15/30/60-min
    // meters (ts on the quarter hour); a wrong guess costs only a wasted prefetch.
    const int64_t t = r.ts_s - 1 + OffsetAt(r.ts_s - 1);
    const int hr = static_cast<int>(FloorDiv(t, 3600) % 24 + 24) % 24;
    __builtin_prefetch(&models_[local].hours[hr], 1, 1);
  };
  for (size_t i = 0; i < std::min(kAhead, readings.size()); ++i) prefetch(readings[i]);
  for (size_t i = 0; i < readings.size(); ++i) {
    if (i + kAhead < readings.size()) prefetch(readings[i + kAhead]);
    Observe(readings[i], out);
  }
}

void Detector::AdvanceTo(int64_t now_s, std::vector<Finding>* out) {
  if (now_s <= now_s_) return;
  now_s_ = now_s;
  for (size_t i = 0; i < models_.size(); ++i) {
    HouseholdModel& m = models_[i];
    if (m.last_ts == 0 || m.interval_s == 0 || (m.open_mask & KindBit(AlertKind::kMeterSilent)))
      continue;
    const KindParams& kp = params_[category_[i]][AlertKind::kMeterSilent];
    if (!kp.enabled) continue;
    const double limit_s = std::max(
        2.0 * m.interval_s,
        std::min(kp.threshold * 3600.0, std::max(kp.min_hours * 3600.0, kp.factor * m.long_gap_s)));
    if (now_s - m.last_ts >= limit_s) {
      Evidence e;
      e.since_ts = m.last_ts;
      e.duration_h = (now_s - m.last_ts) / 3600.0;
      e.threshold = limit_s / 3600.0;
      Emit(static_cast<HouseholdIndex>(i * num_shards_ + shard_), &m, AlertKind::kMeterSilent,
           FindingState::kRaised, Severity::kLow, now_s, e, out);
    }
  }
}

int32_t Detector::IntervalS(HouseholdIndex h) const {
  if (!Owns(h) || h / num_shards_ >= models_.size()) return 0;
  return models_[h / num_shards_].interval_s;
}

std::vector<ExpectedPoint> Detector::ExpectedBand(HouseholdIndex h, int64_t from_s,
                                                  int64_t to_s) const {
  std::vector<ExpectedPoint> pts;
  if (!Owns(h) || h / num_shards_ >= models_.size()) return pts;
  const HouseholdModel& m = models_[h / num_shards_];
  if (m.interval_s <= 0 || to_s <= from_s) return pts;
  const int64_t step = m.interval_s;
  for (int64_t t = from_s - FloorDiv(from_s, step) * step == 0
                       ? from_s + step
                       : (FloorDiv(from_s, step) + 1) * step;
       t <= to_s && pts.size() < 20000; t += step) {
    const int64_t mid = t - step / 2;
    const int64_t local = mid + tz_->OffsetAt(mid);
    const int32_t day = static_cast<int32_t>(FloorDiv(local, 86400));
    const int slot =
        std::min(kSlots - 1, static_cast<int>((local - static_cast<int64_t>(day) * 86400) / 1800));
    const HouseholdModel::LogDist& d = m.hours[slot / 2].level[DayType(day)];
    const float pa = std::clamp((d.mu / 1000.0f - m.night_mu) / 3.0f, 0.0f, 1.0f);
    const float hi = std::max(m.hours[slot / 2].high[slot & 1] / kNightScale, m.night_hi_kwh);
    ExpectedPoint p;
    p.ts_s = t;
    p.low_kwh = m.standby_kwh;
    p.high_kwh = hi;
    p.expected_kwh = m.standby_kwh + pa * (hi - m.standby_kwh) * 0.5f;
    pts.push_back(p);
  }
  return pts;
}

void Detector::AdjustSensitivity(HouseholdIndex h, AlertKind kind, int notches) {
  HouseholdModel* m = ModelFor(h);
  if (!m) return;
  int8_t& s = m->sensitivity[static_cast<int>(kind)];
  s = static_cast<int8_t>(std::clamp(s + notches, -2, 4));
}

void Detector::Answered(HouseholdIndex h, int64_t at_s, Answer answer, std::vector<Finding>* out) {
  HouseholdModel* m = ModelFor(h);
  // (A household dropped by a registry reload keeps its model but has no category any more.)
  if (!m || h / num_shards_ >= category_.size()) return;
  if (answer == Answer::kAway) {  // the episode goes on, unheard, until the home is active again
    m->away_until_min = static_cast<uint32_t>(at_s / 60 + kAwayHoldH * 60);
    return;
  }
  // The spell under way ends at the answer (learned if it was this home's life); the next
  // reading begins a new one. The gates' evidence starts again too.
  if (answer == Answer::kSeenWell) LearnSpell(m, params_[category_[h / num_shards_]], at_s);
  ForgetSpell(m);
  m->s_quiet = 0;
  m->s_flat = 0;
  for (AlertKind k : {AlertKind::kInactivity, AlertKind::kFrozen, AlertKind::kNoMorningActivity})
    Clear(h, m, k, at_s, out);
  m->recover_min = 0;
}

size_t Detector::StateBytes() const { return models_.size() * sizeof(HouseholdModel); }
size_t Detector::ModelBytes() { return sizeof(HouseholdModel); }

DetectorStats Detector::stats() const {
  DetectorStats s = stats_;
  s.households_learning = s.households_ready = 0;
  for (const auto& m : models_) {
    if (m.last_ts == 0) continue;
    (m.learning_ready ? s.households_ready : s.households_learning)++;
  }
  return s;
}

namespace {
// 004: an idle episode's state (recovery bucket, last alert-worthy quiet).
// 005: idle spells kept as 4-weekly maxima of 48 weeks (were weekly maxima of 12).
// 006: an idle spell's spikes (idle_spikes, idle_spike_min) in what was tail padding: a 005
//      checkpoint loads, with them zeroed.
// 007: the days of a decline's descent (descent_days) in what was tail padding: a 005 or 006
//      checkpoint loads, with it zeroed.
// 008: the step CUSUM's lowest value of the day (flat_day_base) in what was the hot fields'
//      padding: an older checkpoint loads with it zeroed (that day's peak is then the CUSUM's
//      value, as before).
// 009: a hold on the quiet kinds after a person said the resident is away (away_until_min) in
//      what was the hot fields' padding: an older checkpoint loads with it zeroed (no hold).
// The magic is "GWDET" and the format's number in three digits; Load reads kOldestFormat on.
constexpr int kFormat = 9;
constexpr int kOldestFormat = 5;
constexpr char kMagicPrefix[5] = {'G', 'W', 'D', 'E', 'T'};
struct CheckpointHeader {
  char magic[8];
  uint32_t model_size;
  int32_t shard;
  int32_t num_shards;
  uint32_t reserved;
  uint64_t count;
  int64_t now_s;
};

void SetMagic(CheckpointHeader* hd, int format) {
  std::memcpy(hd->magic, kMagicPrefix, sizeof kMagicPrefix);
  for (int i = 7, f = format; i >= 5; --i, f /= 10) hd->magic[i] = static_cast<char>('0' + f % 10);
}

// The format number of a checkpoint's magic; -1 if it is not one of ours.
int FormatOf(const CheckpointHeader& hd) {
  if (std::memcmp(hd.magic, kMagicPrefix, sizeof kMagicPrefix) != 0) return -1;
  int format = 0;
  for (int i = 5; i < 8; ++i) {
    if (hd.magic[i] < '0' || hd.magic[i] > '9') return -1;
    format = format * 10 + (hd.magic[i] - '0');
  }
  return format;
}
}  // namespace

void Detector::Save(std::ostream& out) const {
  CheckpointHeader hd{};
  SetMagic(&hd, kFormat);
  hd.model_size = sizeof(HouseholdModel);
  hd.shard = shard_;
  hd.num_shards = num_shards_;
  hd.count = models_.size();
  hd.now_s = now_s_;
  out.write(reinterpret_cast<const char*>(&hd), sizeof hd);
  out.write(reinterpret_cast<const char*>(&stats_), sizeof stats_);
  out.write(reinterpret_cast<const char*>(models_.data()),
            static_cast<std::streamsize>(models_.size() * sizeof(HouseholdModel)));
}

bool Detector::Load(std::istream& in) {
  CheckpointHeader hd{};
  if (!in.read(reinterpret_cast<char*>(&hd), sizeof hd)) return false;
  const int format = FormatOf(hd);
  if (format < kOldestFormat || format > kFormat || hd.model_size != sizeof(HouseholdModel) ||
      hd.shard != shard_ || hd.num_shards != num_shards_ || hd.count > models_.size())
    return false;
  DetectorStats st;
  if (!in.read(reinterpret_cast<char*>(&st), sizeof st)) return false;
  std::vector<HouseholdModel> loaded(hd.count);
  if (!in.read(reinterpret_cast<char*>(loaded.data()),
               static_cast<std::streamsize>(hd.count * sizeof(HouseholdModel))))
    return false;
  for (HouseholdModel& m : loaded) {  // fields added since, in what was padding
    if (format < 6) {
      m.idle_spike_min = 0;
      m.idle_spikes = 0;
    }
    if (format < 7) m.descent_days = 0;
    if (format < 8) m.flat_day_base = 0;
    if (format < 9) m.away_until_min = 0;
  }
  std::copy(loaded.begin(), loaded.end(), models_.begin());
  stats_ = st;
  now_s_ = hd.now_s;
  return true;
}

}  // namespace gridwatch
