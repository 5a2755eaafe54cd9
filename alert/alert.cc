#include "alert/alert.h"

#include <array>

namespace gridwatch {
namespace {
constexpr std::array<std::string_view, 4> kStateNames = {"open", "notified", "acknowledged",
                                                         "resolved"};
constexpr std::array<std::string_view, 9> kOutcomeNames = {
    "",         "resident_fine", "away",  "assisted",         "hospital",
    "deceased", "false_reading", "other", "activity_returned"};
constexpr std::array<std::string_view, 6> kChannelNames = {"webhook", "wecom", "dingtalk",
                                                           "sms",     "ntfy",  "mqtt"};
constexpr std::array<std::string_view, 4> kDeliveryStateNames = {"pending", "sent", "dead",
                                                                 "cancelled"};
}  // namespace

std::string_view AlertStateName(AlertState s) { return kStateNames[static_cast<size_t>(s)]; }

std::optional<AlertState> ParseAlertState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == name) return static_cast<AlertState>(i);
  return std::nullopt;
}

std::string_view OutcomeName(Outcome o) { return kOutcomeNames[static_cast<size_t>(o)]; }

Answer AnswerOf(Outcome o) {
  if (o == Outcome::kResidentFine) return Answer::kSeenWell;
  if (o == Outcome::kAway || o == Outcome::kHospital || o == Outcome::kDeceased)
    return Answer::kAway;
  return Answer::kAttended;
}

std::optional<Outcome> ParseHumanOutcome(std::string_view name) {
  for (size_t i = 1; i + 1 < kOutcomeNames.size(); ++i)
    if (kOutcomeNames[i] == name) return static_cast<Outcome>(i);
  return std::nullopt;
}

std::optional<Outcome> ParseAnyOutcome(std::string_view name) {
  for (size_t i = 0; i < kOutcomeNames.size(); ++i)
    if (kOutcomeNames[i] == name) return static_cast<Outcome>(i);
  return std::nullopt;
}

std::string_view ChannelName(Channel c) { return kChannelNames[static_cast<size_t>(c)]; }

std::optional<Channel> ParseChannel(std::string_view name) {
  for (size_t i = 0; i < kChannelNames.size(); ++i)
    if (kChannelNames[i] == name) return static_cast<Channel>(i);
  return std::nullopt;
}

std::string_view DeliveryStateName(DeliveryState s) {
  return kDeliveryStateNames[static_cast<size_t>(s)];
}

std::string Contact::Key() const {
  return scope + "/" + scope_id + "/" + name + "/" + std::string(ChannelName(channel));
}

}  // namespace gridwatch
