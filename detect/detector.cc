#include "detect/detector.h"

#include <istream>
#include <ostream>

#include "detect/household_model.h"

namespace gridwatch {

Detector::Detector(const DetectOptions& options, std::shared_ptr<const TimeZone> tz,
                   std::shared_ptr<const Registry> registry, int shard, int num_shards)
    : options_(options), tz_(std::move(tz)), shard_(shard), num_shards_(num_shards) {
  SetRegistry(std::move(registry));
}

Detector::~Detector() = default;

void Detector::SetRegistry(std::shared_ptr<const Registry> registry) {
  registry_ = std::move(registry);
  const size_t n = registry_ ? (registry_->size() + num_shards_ - 1 - shard_) / num_shards_ : 0;
  while (models_.size() < n) models_.push_back(std::make_unique<HouseholdModel>());
}

HouseholdModel* Detector::ModelFor(HouseholdIndex h) {
  const size_t local = h / num_shards_;
  return local < models_.size() ? models_[local].get() : nullptr;
}

void Detector::Observe(const Reading& r, std::vector<Finding>* out) {
  HouseholdModel* m = ModelFor(r.household);
  if (!m) return;
  if (r.ts_s <= m->last_ts) {
    ++stats_.out_of_order;
    return;
  }
  ++stats_.readings;
  if (m->last_ts == 0) ++stats_.households_tracked;
  if (m->last_ts != 0) {
    const int64_t gap = r.ts_s - m->last_ts;
    if (m->interval_s == 0 || gap < m->interval_s) m->interval_s = gap;
  }
  if (m->silent_open) {
    Finding f;
    f.household = r.household;
    f.kind = AlertKind::kMeterSilent;
    f.state = FindingState::kCleared;
    f.at_ts = r.ts_s;
    f.evidence.since_ts = m->last_ts;
    f.summary_en = "meter reporting again";
    f.summary_zh = "电表已恢复上报";
    out->push_back(std::move(f));
    m->silent_open = false;
  }
  m->last_ts = r.ts_s;
  if (r.ts_s > now_s_) now_s_ = r.ts_s;
}

void Detector::AdvanceTo(int64_t now_s, std::vector<Finding>* out) {
  if (now_s <= now_s_) return;
  now_s_ = now_s;
  for (size_t i = 0; i < models_.size(); ++i) {
    HouseholdModel& m = *models_[i];
    if (m.last_ts == 0 || m.silent_open) continue;
    const int64_t limit = std::max<int64_t>(4 * std::max<int64_t>(m.interval_s, 900), 2 * 3600);
    if (now_s - m.last_ts >= limit) {
      Finding f;
      f.household = static_cast<HouseholdIndex>(i * num_shards_ + shard_);
      f.kind = AlertKind::kMeterSilent;
      f.severity = Severity::kLow;
      f.at_ts = now_s;
      f.evidence.since_ts = m.last_ts;
      f.evidence.duration_h = (now_s - m.last_ts) / 3600.0;
      f.summary_en = "meter silent";
      f.summary_zh = "电表无数据";
      out->push_back(std::move(f));
      ++stats_.findings[static_cast<int>(AlertKind::kMeterSilent)];
      m.silent_open = true;
    }
  }
}

std::vector<ExpectedPoint> Detector::ExpectedBand(HouseholdIndex, int64_t, int64_t) const {
  return {};
}

void Detector::AdjustSensitivity(HouseholdIndex, AlertKind, int) {}

DetectorStats Detector::stats() const { return stats_; }

void Detector::Save(std::ostream&) const {}
bool Detector::Load(std::istream&) { return true; }

}  // namespace gridwatch
