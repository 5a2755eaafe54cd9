#include "detect/finding.h"

#include <array>

namespace gridwatch {
namespace {
constexpr std::array<std::string_view, kNumAlertKinds> kKindNames = {
    "inactivity", "no_morning_activity", "frozen", "high_usage", "low_daily_usage", "no_power",
    "decline",    "meter_silent"};
constexpr std::array<std::string_view, kNumSeverities> kSeverityNames = {"low", "medium", "high",
                                                                         "critical"};
}  // namespace

std::string_view AlertKindName(AlertKind k) { return kKindNames[static_cast<size_t>(k)]; }

std::optional<AlertKind> ParseAlertKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == name) return static_cast<AlertKind>(i);
  return std::nullopt;
}

std::string_view SeverityName(Severity s) { return kSeverityNames[static_cast<size_t>(s)]; }

std::optional<Severity> ParseSeverity(std::string_view name) {
  for (size_t i = 0; i < kSeverityNames.size(); ++i)
    if (kSeverityNames[i] == name) return static_cast<Severity>(i);
  return std::nullopt;
}

std::string_view FindingStateName(FindingState s) {
  switch (s) {
    case FindingState::kRaised:
      return "raised";
    case FindingState::kUpdated:
      return "updated";
    case FindingState::kCleared:
      return "cleared";
  }
  return "?";
}

std::string_view LearningStateName(LearningState s) {
  return s == LearningState::kReady ? "ready" : "learning";
}

}  // namespace gridwatch
