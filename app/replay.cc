#include "app/replay.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <tuple>
#include <vector>

#include "alert/alert_json.h"
#include "alert/alert_manager.h"
#include "alert/alert_store.h"
#include "alert/csv_files.h"
#include "app/readings_csv.h"
#include "app/replay_worker.h"
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

// What the worker of --outcomes did, for the closing line on stderr.
struct ReplayWorkerStats {
  uint64_t by_outcome[static_cast<int>(Outcome::kActivityReturned) + 1] = {};
  uint64_t notches = 0;
  uint64_t absences = 0;  // away answers that said until when (an absence registered)
  uint64_t resolved_itself = 0;
  unsigned long long Of(Outcome o) const { return by_outcome[static_cast<int>(o)]; }
};

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
    // --outcomes: a worker acknowledges each welfare alert `ack_after` after it opened (if it
    // has not resolved itself by then) and resolves it `answer_after` after, with what the
    // labels say was there. The answers reach the detector as in serve: Detector::Answered, and
    // resident_fine's notch.
    std::optional<ReplayWorker> worker;
    if (!args.outcomes_json.empty())
      worker = ReplayWorker::Load(args.outcomes_json, args.answer_fine_only);
    const int64_t answer_after_s = static_cast<int64_t>(args.answer_after_h * 3600);
    const int64_t ack_after_s = std::min<int64_t>(1800, answer_after_s / 2);
    // (due time, step: 0 acknowledge / 1 resolve, alert id, outcome, away until), earliest first.
    using Step = std::tuple<int64_t, int, int64_t, Outcome, int64_t>;
    std::priority_queue<Step, std::vector<Step>, std::greater<>> steps;
    ReplayWorkerStats answered;
    alerts.SetFeedbackCallback([&](HouseholdIndex h, AlertKind k, int notches) {
      detector.AdjustSensitivity(h, k, notches);
      ++answered.notches;
    });
    // Its findings (the answered episode's clearing) are applied at the answer's time.
    alerts.SetAnsweredCallback([&](HouseholdIndex h, Outcome o, int64_t at_s) {
      detector.Answered(h, at_s, AnswerOf(o), &findings);
    });
    uint64_t opened = 0;
    alerts.SetOpenedCallback([&](const Alert& a, const Finding& f) {
      out << OpenedJsonLine(registry->at(f.household), f) << '\n';
      ++opened;
      if (worker && f.kind != AlertKind::kMeterSilent) {
        const ReplayWorker::Reply reply = worker->Answer(a.household_id, f.kind, f.at_ts);
        steps.emplace(f.at_ts + ack_after_s, 0, a.id, reply.outcome, 0);
        steps.emplace(f.at_ts + answer_after_s, 1, a.id, reply.outcome, reply.away_until_s);
      }
    });
    auto apply = [&] {
      for (const Finding& f : findings)
        if (alerts.OnFinding(f) == FindingResult::kStoreError)
          throw std::runtime_error("alert store refused a write");
      findings.clear();
    };
    // The worker's steps due by `now_s`, each at its own time, before the detector sees now_s.
    auto answer = [&](int64_t now_s) {
      while (!steps.empty() && std::get<0>(steps.top()) <= now_s) {
        const auto [due, step, id, outcome, until] = steps.top();
        steps.pop();
        clock.SetMs(due * 1000);
        // Back by a day already past: nothing to register.
        const int64_t back = until > due ? until : 0;
        if (step == 0) {
          if (!alerts.Acknowledge(id, "replay-worker")) ++answered.resolved_itself;
        } else if (alerts.Resolve(id, outcome, "", "replay-worker", back)) {
          ++answered.by_outcome[static_cast<int>(outcome)];
          if (back) ++answered.absences;
        }
        apply();
      }
    };
    auto handle = [&](int64_t now_s) {
      clock.SetMs(now_s * 1000);
      apply();
    };
    int64_t next_tick =
        data.readings.empty() ? 0 : FloorDiv(data.readings.front().ts_s, kTickS) * kTickS + kTickS;
    for (const Reading& r : data.readings) {
      while (next_tick < r.ts_s) {
        answer(next_tick);
        detector.AdvanceTo(next_tick, &findings);
        handle(next_tick);
        next_tick += kTickS;
      }
      answer(r.ts_s);
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
    if (worker)
      std::fprintf(stderr,
                   "replay: the worker answered resident_fine %llu, assisted %llu, away %llu, "
                   "false_reading %llu (%llu notches fed back, %llu absences registered); %llu "
                   "alerts resolved themselves before the acknowledgement\n",
                   answered.Of(Outcome::kResidentFine), answered.Of(Outcome::kAssisted),
                   answered.Of(Outcome::kAway), answered.Of(Outcome::kFalseReading),
                   static_cast<unsigned long long>(answered.notches),
                   static_cast<unsigned long long>(answered.absences),
                   static_cast<unsigned long long>(answered.resolved_itself));
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
