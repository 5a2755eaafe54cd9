#include "app/replay_worker.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "common/time_util.h"
#include "config/config_error.h"

namespace gridwatch {
namespace {

constexpr int64_t kHourS = 3600;
constexpr int64_t kDayS = 86400;

// EVALUATION.md: how long after an incident's end an alert still belongs to it, and what the
// worker finds there.
struct IncidentRule {
  std::string_view type;
  int64_t grace_s;
  Outcome outcome;
};
constexpr IncidentRule kRules[] = {
    {"collapse_day", kDayS, Outcome::kAssisted},
    {"collapse_frozen", kDayS, Outcome::kAssisted},
    {"collapse_night", kDayS, Outcome::kAssisted},
    {"high_usage", 6 * kHourS, Outcome::kAssisted},
    {"decline", 2 * kDayS, Outcome::kAssisted},
    {"meter_silent", 2 * kHourS, Outcome::kFalseReading},
    {"away_registered", 0, Outcome::kAway},
};
constexpr int64_t kAmbiguousGraceS = kDayS;

[[noreturn]] void Fail(const std::string& file, std::string_view list, std::string_view what) {
  std::string message(list);
  message += ": ";
  message += what;
  throw ConfigError(file, 0, message);
}

}  // namespace

ReplayWorker ReplayWorker::Load(const std::string& labels_json, bool fine_only) {
  auto fail = [&](std::string_view list, std::string_view what) { Fail(labels_json, list, what); };
  std::ifstream in(labels_json);
  if (!in) fail("labels", "cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("labels", e.what());
  }
  ReplayWorker w;
  w.fine_only_ = fine_only;
  for (const std::string_view list : {"incidents", "ambiguous"}) {
    const std::string key(list);
    if (!j.is_object() || !j.contains(key) || !j[key].is_array())
      fail(list, "missing or not a list");
    for (const auto& x : j[key]) {
      if (!x.is_object() || !x.contains("household") || !x["household"].is_string() ||
          !x.contains("start") || !x["start"].is_string() || !x.contains("end") ||
          !x["end"].is_string())
        fail(list, "an entry without household, start and end");
      const auto from = ParseRfc3339(x["start"].get<std::string>());
      const auto to = ParseRfc3339(x["end"].get<std::string>());
      if (!from || !to) fail(list, "a start or end is not RFC 3339");
      Window win{*from, *to + kAmbiguousGraceS, Outcome::kAway, *to};
      if (list == "incidents") {
        const std::string type = x.value("type", "");
        const IncidentRule* rule = nullptr;
        for (const IncidentRule& r : kRules)
          if (r.type == type) rule = &r;
        if (!rule) fail(list, "unknown type '" + type + "'");
        win = Window{*from, *to + rule->grace_s, rule->outcome, 0};
      }
      w.windows_[x["household"].get<std::string>()].push_back(win);
    }
  }
  return w;
}

ReplayWorker::Reply ReplayWorker::Answer(const std::string& household_id, AlertKind kind,
                                         int64_t opened_s) const {
  // An incident's finding outweighs an ambiguous stretch it overlaps.
  std::optional<Reply> away;
  if (auto it = windows_.find(household_id); it != windows_.end())
    for (const Window& w : it->second) {
      if (opened_s < w.from_s || opened_s > w.to_s) continue;
      if (w.outcome != Outcome::kAway) return {w.outcome, 0};
      if (!away || w.end_s > away->away_until_s) away = Reply{Outcome::kAway, w.end_s};
    }
  if (away) return *away;
  const bool quiet = kind == AlertKind::kInactivity || kind == AlertKind::kFrozen ||
                     kind == AlertKind::kNoMorningActivity;
  return {quiet && !fine_only_ ? Outcome::kAway : Outcome::kResidentFine, 0};
}

}  // namespace gridwatch
