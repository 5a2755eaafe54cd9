// Detector: the models of one shard of households and the detectors that run on them.
// Households with index % num_shards == shard belong to this shard; their models live in a flat
// array, owned by the one thread that calls this object. Pure: no I/O and no clock reads — time
// enters only through reading timestamps and AdvanceTo(), so `serve` (wall clock ticks) and
// `replay` (data clock ticks) run exactly the same code and replay is deterministic.
//
// Confined to one thread (the shard's worker).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <vector>

#include "common/huge_pages.h"
#include "common/time_zone.h"
#include "config/options.h"
#include "config/registry.h"
#include "detect/finding.h"
#include "detect/reading.h"

namespace gridwatch {

struct HouseholdModel;
struct ModelParams;
struct KindParams;

struct DetectorStats {
  uint64_t readings = 0;            // readings observed
  uint64_t out_of_order = 0;        // readings older than the model's last (ignored)
  uint64_t households_tracked = 0;  // households with at least one reading
  uint64_t households_learning = 0;
  uint64_t households_ready = 0;
  uint64_t findings[kNumAlertKinds] = {};  // raised findings by kind
};

// One point of a household's usual use, for the usage API and the web page.
struct ExpectedPoint {
  int64_t ts_s = 0;         // end of interval
  double expected_kwh = 0;  // typical (median) use in this slot
  double low_kwh = 0;       // usual band
  double high_kwh = 0;
};

class Detector {
 public:
  Detector(const DetectOptions& options, std::shared_ptr<const TimeZone> tz,
           std::shared_ptr<const Registry> registry, int shard = 0, int num_shards = 1);
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // Feeds one reading (household must belong to this shard). Readings of a household must come
  // in ts order; an older one is counted in stats().out_of_order and ignored. Findings the
  // reading causes are appended to `out`.
  void Observe(const Reading& reading, std::vector<Finding>* out);

  // The same as Observe for each reading in order, with the models of the readings a few places
  // ahead prefetched: at a city's scale the model array does not fit in cache and each reading
  // would otherwise wait for memory.
  void ObserveBatch(std::span<const Reading> readings, std::vector<Finding>* out);

  // Moves data time forward to `now_s` for every household of the shard: detects silence and
  // inactivity that no reading reports. Call it regularly (serve: every tick_s of wall time;
  // replay: as the data clock passes each tick). Time never goes back; an older now is ignored.
  void AdvanceTo(int64_t now_s, std::vector<Finding>* out);

  // Usual use of household `h` for intervals ending in (from_s, to_s], at its interval.
  std::vector<ExpectedPoint> ExpectedBand(HouseholdIndex h, int64_t from_s, int64_t to_s) const;
  // The interval (s) inferred for a household's meter; 0 before its second reading or when the
  // household is not this shard's.
  int32_t IntervalS(HouseholdIndex h) const;

  // Feedback from an alert's outcome: `notches` > 0 makes `kind` less sensitive for this home
  // (bounded; decays back over weeks), < 0 more.
  void AdjustSensitivity(HouseholdIndex h, AlertKind kind, int notches);

  // A person answered (resolved) an alert of household `h` at data time `at_s`. Seen well or
  // attended: the quiet spell under way ends there — learned into the home's spells if the
  // resident was seen well (this home's life, by the usual rule: under a day, and if it alerted,
  // within 1.5 x its threshold), not if someone had to come — the evidence gates' CUSUMs start
  // again, and an open quiet episode closes (its kCleared findings go to `out`): the same quiet
  // stretch alerts again only once it has gone on, counted from the answer, as long as this
  // home's own rules ask. Away: the episode goes on, but the kinds that report a quiet or
  // low-use home (inactivity, frozen, no_morning_activity, low_daily_usage, decline) are
  // withheld until the home is active again — the episode closes on an hour's worth of
  // activity, or with none open a reading surely someone up — or kAwayHoldH hours have passed:
  // the day answered for and the next morning, not days (a longer absence is registered as one).
  // high_usage and no_power still alert. After the hold, as after any answer, an episode raised
  // in it does not page again; a kind not yet raised pages as it comes (the morning check of the
  // day after).
  void Answered(HouseholdIndex h, int64_t at_s, Answer answer, std::vector<Finding>* out);
  static constexpr int kAwayHoldH = 24;

  // Registry reload: households are matched by index; new ones start learning.
  void SetRegistry(std::shared_ptr<const Registry> registry);

  DetectorStats stats() const;

  // Bytes of model state held (all households of the shard), and per household.
  size_t StateBytes() const;
  static size_t ModelBytes();

  // Checkpoint of every model of the shard (binary, versioned). Load returns false and leaves
  // the detector untouched if the data is not a checkpoint of a compatible shape.
  void Save(std::ostream& out) const;
  [[nodiscard]] bool Load(std::istream& in);

  int shard() const { return shard_; }
  int num_shards() const { return num_shards_; }
  bool Owns(HouseholdIndex h) const { return static_cast<int>(h % num_shards_) == shard_; }

 private:
  HouseholdModel* ModelFor(HouseholdIndex h);
  void InitModel(HouseholdModel* m);
  int DayType(int32_t local_day) const;
  int32_t OffsetAt(int64_t ts);
  float Sensitivity(const HouseholdModel& m, AlertKind k) const;
  void Recalibrate(HouseholdModel* m, const ModelParams& p);
  void RollDay(HouseholdIndex h, HouseholdModel* m, const ModelParams& p, int32_t day,
               int64_t at_ts, std::vector<Finding>* out);
  float IdleThresholdH(const HouseholdModel& m, const KindParams& kp, int bucket) const;
  // Learns the idle spell under way as ending at `end` (its length into its start bucket and,
  // from each bucket boundary it crossed, what remained into that bucket), if it is a routine to
  // learn: under a day, and if it alerted, within 1.5 x the threshold.
  void LearnSpell(HouseholdModel* m, const ModelParams& p, int64_t end);
  bool FrozenStepsStill(const HouseholdModel& m, const KindParams& kp) const;
  void Recover(HouseholdIndex h, HouseholdModel* m, int64_t ts, bool active,
               std::vector<Finding>* out);
  void ObserveIdle(HouseholdIndex h, HouseholdModel* m, const ModelParams& p, float x, int64_t ts,
                   int sod, int dt, int days_of_type, std::vector<Finding>* out);
  void Emit(HouseholdIndex h, HouseholdModel* m, AlertKind kind, FindingState state,
            Severity severity, int64_t at_ts, const Evidence& e, std::vector<Finding>* out);
  void Clear(HouseholdIndex h, HouseholdModel* m, AlertKind kind, int64_t at_ts,
             std::vector<Finding>* out);

  DetectOptions options_;
  std::shared_ptr<const TimeZone> tz_;
  std::shared_ptr<const Registry> registry_;
  int shard_;
  int num_shards_;
  int64_t now_s_ = 0;              // the latest AdvanceTo time (readings do not move it)
  std::vector<int32_t> holidays_;  // local day numbers, sorted
  // Local index = household / num_shards; backed by transparent huge pages where available.
  std::vector<HouseholdModel, HugePageAllocator<HouseholdModel>> models_;
  std::vector<uint8_t> category_;      // local index -> index into params_
  std::vector<ModelParams> params_;    // resolved parameters per category seen
  int64_t off_from_ = 1, off_to_ = 0;  // UTC offset cache [from, to)
  int32_t off_cached_ = 0;
  int32_t alpha_interval_ = -1;  // the interval alpha_forget_ was computed for
  float alpha_forget_[2] = {};   // per day type: 1 - 2^(-1 / half-life in observations)
  DetectorStats stats_;
};

}  // namespace gridwatch
