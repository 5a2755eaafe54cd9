#include "app/replay.h"

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
#include "app/readings_csv.h"
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

}  // namespace

int RunReplay(const Config& config, const ReplayArgs& args) {
  try {
    auto registry = Registry::LoadCsv(args.households_csv);
    auto tz = TimeZone::Load(args.timezone.empty() ? config.timezone : args.timezone);
    Detector detector(config.detect, tz, registry, 0, 1);
    std::vector<Finding> findings;
    if (!args.history_csv.empty()) {
      ReadingsFile hist = ReadReadingsCsv(args.history_csv, *registry);
      for (const Reading& r : hist.readings) {
        detector.Observe(r, &findings);
        findings.clear();
      }
    }
    ReadingsFile data = ReadReadingsCsv(args.readings_csv, *registry);
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
