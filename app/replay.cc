#include "app/replay.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/time_util.h"
#include "common/time_zone.h"
#include "config/config_error.h"
#include "config/registry.h"
#include "detect/detector.h"
#include "detect/finding.h"

namespace gridwatch {
namespace {

constexpr int64_t kTickS = 900;  // data-clock tick: silence is checked every 15 min of data time

// Reads meter,ts,kwh rows from a .csv or .csv.gz file (zlib reads both). Unknown meters are
// counted and skipped; a malformed row throws ConfigError with the file and line.
struct ReadingsFile {
  std::vector<Reading> readings;
  uint64_t unknown_meter = 0;
};

ReadingsFile ReadReadings(const std::string& path, const Registry& registry) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw ConfigError(path, 0, "cannot open readings file");
  gzbuffer(f, 1 << 20);
  ReadingsFile out;
  std::vector<char> line(4096);
  int lineno = 0;
  std::string last_meter;
  std::optional<HouseholdIndex> last_h;
  while (gzgets(f, line.data(), static_cast<int>(line.size()))) {
    ++lineno;
    std::string_view s(line.data());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    if (s.empty()) continue;
    if (lineno == 1) {
      if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
      if (s != "meter,ts,kwh") {
        gzclose(f);
        throw ConfigError(path, 1, "header must be 'meter,ts,kwh'");
      }
      continue;
    }
    const size_t c1 = s.find(','), c2 = s.find(',', c1 == std::string_view::npos ? 0 : c1 + 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos) {
      gzclose(f);
      throw ConfigError(path, lineno, "expected 3 columns meter,ts,kwh");
    }
    const std::string_view meter = s.substr(0, c1);
    const auto ts = ParseTimestamp(s.substr(c1 + 1, c2 - c1 - 1));
    const std::string kwh_s(s.substr(c2 + 1));
    char* end = nullptr;
    const double kwh = std::strtod(kwh_s.c_str(), &end);
    if (!ts || end == kwh_s.c_str() || *end != '\0' || !(kwh >= 0) || kwh > 1e6) {
      gzclose(f);
      throw ConfigError(path, lineno, "bad timestamp or energy: '" + std::string(s) + "'");
    }
    if (meter != last_meter) {
      last_meter = std::string(meter);
      last_h = registry.FindMeter(meter);
    }
    if (!last_h) {
      ++out.unknown_meter;
      continue;
    }
    out.readings.push_back(Reading{*ts, static_cast<float>(kwh), *last_h});
  }
  gzclose(f);
  // Data time order; within one instant, household order: deterministic.
  std::stable_sort(out.readings.begin(), out.readings.end(),
                   [](const Reading& a, const Reading& b) {
                     return a.ts_s != b.ts_s ? a.ts_s < b.ts_s : a.household < b.household;
                   });
  return out;
}

struct Absence {
  int64_t from_s, to_s;
};

std::map<HouseholdIndex, std::vector<Absence>> ReadAbsences(const std::string& path,
                                                            const Registry& registry) {
  std::map<HouseholdIndex, std::vector<Absence>> out;
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, "cannot open absences file");
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 || line.empty()) continue;
    std::vector<std::string> cols;
    size_t start = 0;
    for (int i = 0; i < 3; ++i) {
      const size_t c = line.find(',', start);
      if (c == std::string::npos)
        throw ConfigError(path, lineno, "expected household,from,to,reason");
      cols.push_back(line.substr(start, c - start));
      start = c + 1;
    }
    const auto h = registry.FindHousehold(cols[0]);
    if (!h) throw ConfigError(path, lineno, "unknown household '" + cols[0] + "'");
    const auto from = ParseTimestamp(cols[1]), to = ParseTimestamp(cols[2]);
    if (!from || !to || *to <= *from) throw ConfigError(path, lineno, "bad from/to");
    out[*h].push_back({*from, *to});
  }
  return out;
}

nlohmann::json EvidenceJson(const Evidence& e) {
  nlohmann::json j;
  j["since"] = FormatRfc3339Utc(e.since_ts);
  j["duration_h"] = std::round(e.duration_h * 100) / 100;
  auto opt = [&](const char* k, double v) {
    if (v >= 0) j[k] = std::round(v * 10000) / 10000;
  };
  opt("observed_kwh", e.observed_kwh);
  opt("expected_kwh", e.expected_kwh);
  opt("expected_low_kwh", e.expected_low_kwh);
  opt("expected_high_kwh", e.expected_high_kwh);
  opt("probability", e.probability);
  opt("level_kwh_per_h", e.level_kwh_per_h);
  if (e.score != 0 || e.threshold != 0) {
    j["score"] = std::round(e.score * 100) / 100;
    j["threshold"] = std::round(e.threshold * 100) / 100;
  }
  if (e.days_seen >= 0) j["days_seen"] = e.days_seen;
  if (e.days_usual >= 0) j["days_usual"] = e.days_usual;
  if (e.usual_first_activity_min >= 0) j["usual_first_activity_min"] = e.usual_first_activity_min;
  j["interval_s"] = e.interval_s;
  j["days_learned"] = e.days_learned;
  return j;
}

// One alert per household episode: at most one open alert per household and class (acute,
// trend, ops); findings on an open alert update it; it resolves when all its kinds have cleared.
class EpisodeTracker {
 public:
  EpisodeTracker(const Registry& registry, std::map<HouseholdIndex, std::vector<Absence>> absences,
                 std::ostream& out)
      : registry_(registry), absences_(std::move(absences)), out_(out) {}

  void Handle(const Finding& f) {
    auto& open = open_[{f.household, static_cast<int>(ClassOf(f.kind))}];
    const uint16_t bit = 1u << static_cast<int>(f.kind);
    if (f.state == FindingState::kCleared) {
      open &= ~bit;
      return;
    }
    if (f.state == FindingState::kUpdated || open) {
      open |= bit;
      return;
    }
    if (IsWelfare(f.kind) && Absent(f.household, f.at_ts)) {
      ++suppressed_;
      return;
    }
    open |= bit;
    const Household& hh = registry_.at(f.household);
    nlohmann::json j;
    j["household"] = hh.id;
    j["kind"] = std::string(AlertKindName(f.kind));
    j["opened_at"] = FormatRfc3339Utc(f.at_ts);
    j["severity"] = std::string(SeverityName(f.severity));
    j["learning"] = std::string(LearningStateName(f.learning));
    j["street"] = hh.street;
    j["community"] = hh.community;
    j["grid"] = hh.grid;
    j["summary"] = {{"zh-CN", f.summary_zh}, {"en", f.summary_en}};
    j["evidence"] = EvidenceJson(f.evidence);
    out_ << j.dump() << '\n';
    ++opened_;
  }

  uint64_t opened() const { return opened_; }
  uint64_t suppressed() const { return suppressed_; }

 private:
  bool Absent(HouseholdIndex h, int64_t t) const {
    auto it = absences_.find(h);
    if (it == absences_.end()) return false;
    for (const auto& a : it->second)
      if (t >= a.from_s && t < a.to_s) return true;
    return false;
  }

  const Registry& registry_;
  std::map<HouseholdIndex, std::vector<Absence>> absences_;
  std::ostream& out_;
  std::map<std::pair<HouseholdIndex, int>, uint16_t> open_;
  uint64_t opened_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace

int RunReplay(const Config& config, const ReplayArgs& args) {
  try {
    auto registry = Registry::LoadCsv(args.households_csv);
    auto tz = TimeZone::Load(args.timezone.empty() ? config.timezone : args.timezone);
    std::map<HouseholdIndex, std::vector<Absence>> absences;
    if (!args.absences_csv.empty()) absences = ReadAbsences(args.absences_csv, *registry);
    Detector detector(config.detect, tz, registry, 0, 1);
    std::vector<Finding> findings;
    if (!args.history_csv.empty()) {
      ReadingsFile hist = ReadReadings(args.history_csv, *registry);
      for (const Reading& r : hist.readings) {
        detector.Observe(r, &findings);
        findings.clear();
      }
    }
    ReadingsFile data = ReadReadings(args.readings_csv, *registry);
    std::ofstream out(args.alerts_jsonl, std::ios::trunc);
    if (!out) throw ConfigError(args.alerts_jsonl, 0, "cannot write alerts file");
    EpisodeTracker tracker(*registry, std::move(absences), out);
    int64_t next_tick =
        data.readings.empty() ? 0 : FloorDiv(data.readings.front().ts_s, kTickS) * kTickS + kTickS;
    for (const Reading& r : data.readings) {
      while (next_tick < r.ts_s) {
        detector.AdvanceTo(next_tick, &findings);
        next_tick += kTickS;
      }
      detector.Observe(r, &findings);
      for (const Finding& f : findings) tracker.Handle(f);
      findings.clear();
    }
    out.flush();
    if (!out) throw ConfigError(args.alerts_jsonl, 0, "write failed");
    const DetectorStats st = detector.stats();
    std::fprintf(stderr,
                 "replay: %zu readings (%llu unknown meter), %llu households, %llu alerts opened, "
                 "%llu suppressed by absences\n",
                 data.readings.size(), static_cast<unsigned long long>(data.unknown_meter),
                 static_cast<unsigned long long>(st.households_tracked),
                 static_cast<unsigned long long>(tracker.opened()),
                 static_cast<unsigned long long>(tracker.suppressed()));
    return 0;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "gridwatch replay: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gridwatch replay: %s\n", e.what());
    return 2;
  }
}

}  // namespace gridwatch
