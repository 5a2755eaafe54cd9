#include "app/replay.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alert/alert_json.h"
#include "alert/alert_manager.h"
#include "alert/alert_store.h"
#include "alert/csv_files.h"
#include "common/clock.h"
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

}  // namespace

int RunReplay(const Config& config, const ReplayArgs& args) {
  try {
    auto registry = Registry::LoadCsv(args.households_csv);
    auto tz = TimeZone::Load(args.timezone.empty() ? config.timezone : args.timezone);
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

    // The same alert stage as `serve`, on data time, with an in-memory store and no contacts:
    // episodes, absences and suppression go through AlertManager exactly as live.
    FakeClock clock;
    auto store = AlertStore::Open(":memory:");
    AlertManagerDeps deps;
    deps.store = store.get();
    deps.registry = registry;
    deps.clock = &clock;
    deps.tz = tz;
    AlertOptions alert_options = config.alert;
    alert_options.contacts_csv.clear();
    AlertManager alerts(alert_options, std::move(deps));
    if (!args.absences_csv.empty())
      for (Absence& a : LoadAbsencesCsv(args.absences_csv, *registry)) {
        auto added = alerts.AddAbsence(std::move(a));
        if (!added) throw ConfigError(args.absences_csv, 0, added.error().reason);
      }
    uint64_t opened = 0;
    alerts.SetOpenedCallback([&](const Alert&, const Finding& f) {
      out << OpenedJsonLine(registry->at(f.household), f) << '\n';
      ++opened;
    });
    auto handle = [&](int64_t now_s) {
      clock.SetMs(now_s * 1000);
      for (const Finding& f : findings)
        if (alerts.OnFinding(f) == FindingResult::kStoreError)
          throw std::runtime_error("alert store refused a write");
      findings.clear();
    };
    int64_t next_tick =
        data.readings.empty() ? 0 : FloorDiv(data.readings.front().ts_s, kTickS) * kTickS + kTickS;
    for (const Reading& r : data.readings) {
      while (next_tick < r.ts_s) {
        detector.AdvanceTo(next_tick, &findings);
        handle(next_tick);
        next_tick += kTickS;
      }
      detector.Observe(r, &findings);
      handle(r.ts_s);
    }
    out.flush();
    if (!out) throw ConfigError(args.alerts_jsonl, 0, "write failed");
    const DetectorStats st = detector.stats();
    const AlertManagerStats as = alerts.stats();
    std::fprintf(stderr,
                 "replay: %zu readings (%llu unknown meter), %llu households, %llu alerts opened, "
                 "%llu findings suppressed by absences\n",
                 data.readings.size(), static_cast<unsigned long long>(data.unknown_meter),
                 static_cast<unsigned long long>(st.households_tracked),
                 static_cast<unsigned long long>(opened),
                 static_cast<unsigned long long>(as.suppressed_absence + as.suppressed_silence));
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
