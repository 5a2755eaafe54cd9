#include "ingest/normalizer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/time_util.h"

namespace gridwatch {
namespace {

constexpr int64_t kUnsetTs = std::numeric_limits<int64_t>::min();
constexpr int64_t kMinIntervalS = 60;
constexpr int64_t kUnknownIntervalS = 3600;

}  // namespace

struct Normalizer::MeterState {
  int64_t newest_ts = kUnsetTs;        // newest accepted ts
  int64_t released_ts = kUnsetTs;      // newest ts handed to detect
  int64_t dedupe_floor_ts = kUnsetTs;  // history at or below this ts was dropped
  int64_t register_ts = kUnsetTs;
  double register_kwh = 0.0;
  int32_t interval_s = 0;  // smallest gap seen (>= kMinIntervalS); 0 = unknown
  bool has_register = false;
  bool listed_held = false;  // in with_held_
  // Accepted ts - kMinTsS (fits 32 bits until 2068; ts below kMinTsS never get here),
  // ascending, at most kMaxRecentTs.
  std::vector<uint32_t> recent;
  std::vector<Reading> held;  // ascending ts

  static uint32_t Key(int64_t ts) { return static_cast<uint32_t>(ts - kMinTsS); }
  static int64_t FromKey(uint32_t k) { return static_cast<int64_t>(k) + kMinTsS; }
  bool Seen(int64_t ts) const { return std::binary_search(recent.begin(), recent.end(), Key(ts)); }
  void Remember(int64_t ts, int64_t window_s) {
    recent.insert(std::upper_bound(recent.begin(), recent.end(), Key(ts)), Key(ts));
    // Entries that fell out of the window are too_late anyway; the cap bounds memory.
    const int64_t newest = std::max(newest_ts, ts);
    std::size_t drop = 0;
    while (drop < recent.size() && FromKey(recent[drop]) < newest - window_s) ++drop;
    if (recent.size() - drop > static_cast<std::size_t>(kMaxRecentTs)) {
      drop = recent.size() - kMaxRecentTs;
      dedupe_floor_ts = std::max(dedupe_floor_ts, FromKey(recent[drop - 1]));
    }
    recent.erase(recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  void Observe(int64_t ts) {
    if (newest_ts != kUnsetTs && ts > newest_ts) {
      int64_t gap = ts - newest_ts;
      if (gap >= kMinIntervalS && (interval_s == 0 || gap < interval_s))
        interval_s = static_cast<int32_t>(std::min<int64_t>(gap, 86400));
    }
    newest_ts = std::max(newest_ts, ts);
  }
};

Normalizer::Normalizer(std::shared_ptr<const Registry> registry, IngestOptions options)
    : registry_(std::move(registry)), options_(options), meters_(registry_->size()) {}

Normalizer::~Normalizer() = default;

void Normalizer::SetRegistry(std::shared_ptr<const Registry> registry) {
  registry_ = std::move(registry);
  if (meters_.size() < registry_->size()) meters_.resize(registry_->size());
}

Normalizer::Verdict Normalizer::Process(const ParsedReading& r, int64_t now_s,
                                        std::vector<Reading>* out, std::string* detail) {
  auto reject = [&](RejectReason reason, auto&& make_detail) {
    if (detail != nullptr) *detail = make_detail();
    return Verdict{Outcome::kRejected, reason};
  };
  auto h_opt = registry_->FindMeter(r.meter);
  if (!h_opt) {
    return reject(RejectReason::kUnknownMeter,
                  [&] { return "meter " + r.meter + " is not in the registry"; });
  }
  const HouseholdIndex h = *h_opt;
  MeterState& m = meters_[h];

  if (r.ts_s < kMinTsS) {
    return reject(RejectReason::kBadTimestamp,
                  [&] { return "ts " + std::to_string(r.ts_s) + " is before 2000-01-01"; });
  }
  if (r.ts_s > now_s + options_.max_future_s) {
    return reject(RejectReason::kFutureTimestamp, [&] {
      return "ts " + FormatRfc3339Utc(r.ts_s) + " is " + std::to_string(r.ts_s - now_s) +
             " s ahead of the clock (max " + std::to_string(options_.max_future_s) + ")";
    });
  }
  if (!std::isfinite(r.value_kwh)) {
    return reject(RejectReason::kNotFinite, [] { return std::string("energy is not finite"); });
  }
  if (r.value_kwh < 0) {
    return reject(RejectReason::kNegativeEnergy,
                  [&] { return "energy " + std::to_string(r.value_kwh) + " kWh is negative"; });
  }
  if (m.newest_ts != kUnsetTs && r.ts_s < m.newest_ts - options_.late_window_s) {
    return reject(RejectReason::kTooLate, [&] {
      return "ts " + FormatRfc3339Utc(r.ts_s) + " is " + std::to_string(m.newest_ts - r.ts_s) +
             " s behind the meter's newest reading (window " +
             std::to_string(options_.late_window_s) + " s)";
    });
  }
  if (m.Seen(r.ts_s)) {
    return reject(RejectReason::kDuplicate,
                  [&] { return "meter already has a reading at " + FormatRfc3339Utc(r.ts_s); });
  }
  if (r.ts_s <= m.dedupe_floor_ts) {
    return reject(RejectReason::kTooLate, [&] {
      return "ts " + FormatRfc3339Utc(r.ts_s) + " is older than the meter's dedupe history";
    });
  }

  Reading reading{r.ts_s, 0.0f, h};
  if (r.is_register) {
    if (!m.has_register) {
      m.has_register = true;
      m.register_kwh = r.value_kwh;
      m.register_ts = r.ts_s;
      m.Remember(r.ts_s, options_.late_window_s);
      m.Observe(r.ts_s);
      return Verdict{Outcome::kBaseline, RejectReason::kCount};
    }
    if (r.ts_s < m.register_ts) {
      return reject(RejectReason::kOutOfOrder, [&] {
        return "register at " + FormatRfc3339Utc(r.ts_s) + " is older than the last register at " +
               FormatRfc3339Utc(m.register_ts);
      });
    }
    const double delta = r.value_kwh - m.register_kwh;
    const double span_h = static_cast<double>(r.ts_s - m.register_ts) / 3600.0;
    const double limit = options_.max_kwh_per_hour * span_h;
    if (delta < 0 || delta > limit) {
      const double prev = m.register_kwh;
      m.register_kwh = r.value_kwh;
      m.register_ts = r.ts_s;
      m.Remember(r.ts_s, options_.late_window_s);
      m.Observe(r.ts_s);
      return reject(RejectReason::kRegisterReset, [&] {
        return "register " + std::to_string(prev) + " -> " + std::to_string(r.value_kwh) +
               " kWh over " + std::to_string(span_h) + " h; new baseline";
      });
    }
    m.register_kwh = r.value_kwh;
    m.register_ts = r.ts_s;
    reading.energy_kwh = static_cast<float>(delta);
  } else {
    const int64_t interval = m.interval_s > 0 ? m.interval_s : kUnknownIntervalS;
    const double limit = options_.max_kwh_per_hour * static_cast<double>(interval) / 3600.0;
    if (r.value_kwh > limit) {
      return reject(RejectReason::kImplausibleEnergy, [&] {
        return "energy " + std::to_string(r.value_kwh) + " kWh over " + std::to_string(interval) +
               " s exceeds " + std::to_string(limit) + " kWh";
      });
    }
    reading.energy_kwh = static_cast<float>(r.value_kwh);
  }

  if (r.ts_s <= m.released_ts) {
    return reject(RejectReason::kOutOfOrder, [&] {
      return "ts " + FormatRfc3339Utc(r.ts_s) + " is older than a reading already processed (" +
             FormatRfc3339Utc(m.released_ts) + ")";
    });
  }
  m.Remember(r.ts_s, options_.late_window_s);
  m.Observe(r.ts_s);

  const bool contiguous =
      m.released_ts == kUnsetTs || m.interval_s == 0 || r.ts_s - m.released_ts <= m.interval_s;
  Outcome outcome;
  if (options_.reorder_hold_s <= 0 ||
      (contiguous && (m.held.empty() || m.held.front().ts_s > r.ts_s))) {
    Release(h, &m, reading, out);
    outcome = Outcome::kReleased;
  } else {
    m.held.insert(
        std::upper_bound(m.held.begin(), m.held.end(), reading,
                         [](const Reading& a, const Reading& b) { return a.ts_s < b.ts_s; }),
        reading);
    ++held_total_;
    if (!m.listed_held) {
      m.listed_held = true;
      with_held_.push_back(h);
    }
    outcome = Outcome::kHeld;
    if (m.held.size() > static_cast<std::size_t>(kMaxHeld)) {
      Reading oldest = m.held.front();
      m.held.erase(m.held.begin());
      --held_total_;
      Release(h, &m, oldest, out);
    }
  }
  // Held readings that became contiguous, or whose hold expired in the meter's data time.
  ReleaseHeld(h, &m, m.newest_ts, out);
  return Verdict{outcome, RejectReason::kCount};
}

void Normalizer::Prime(const Reading& r) {
  if (r.household >= meters_.size() || r.ts_s < kMinTsS) return;
  MeterState& m = meters_[r.household];
  if (!m.Seen(r.ts_s) && r.ts_s > m.dedupe_floor_ts) m.Remember(r.ts_s, options_.late_window_s);
  m.Observe(r.ts_s);
  m.released_ts = std::max(m.released_ts, r.ts_s);
}

void Normalizer::Release(HouseholdIndex h, MeterState* m, const Reading& r,
                         std::vector<Reading>* out) {
  (void)h;
  out->push_back(r);
  m->released_ts = r.ts_s;
}

void Normalizer::ReleaseHeld(HouseholdIndex h, MeterState* m, int64_t due_s,
                             std::vector<Reading>* out) {
  std::size_t n = 0;
  while (n < m->held.size()) {
    const Reading& r = m->held[n];
    const bool contiguous = m->interval_s == 0 || r.ts_s - m->released_ts <= m->interval_s;
    const bool expired = due_s != kUnsetTs && r.ts_s <= due_s - options_.reorder_hold_s;
    if (!contiguous && !expired) break;
    Release(h, m, r, out);
    ++n;
  }
  if (n == 0) return;
  m->held.erase(m->held.begin(), m->held.begin() + static_cast<std::ptrdiff_t>(n));
  held_total_ -= n;
}

void Normalizer::ReleaseDue(int64_t now_s, std::vector<Reading>* out) {
  if (with_held_.empty()) return;
  std::size_t keep = 0;
  for (HouseholdIndex h : with_held_) {
    MeterState& m = meters_[h];
    ReleaseHeld(h, &m, now_s, out);
    if (m.held.empty()) {
      m.listed_held = false;
    } else {
      with_held_[keep++] = h;
    }
  }
  with_held_.resize(keep);
}

}  // namespace gridwatch
