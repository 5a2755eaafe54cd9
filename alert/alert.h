// Alert value types: an alert is one household episode of one class (acute, trend, ops; see
// detect/finding.h) with a lifecycle open -> notified -> acknowledged -> resolved (with an
// outcome). Also the records the alert store keeps next to alerts: transitions, absences and
// silences, contacts, and the deliveries of the outbox.
//
// Plain values; copy freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/registry.h"
#include "detect/finding.h"

namespace gridwatch {

enum class AlertState : uint8_t { kOpen = 0, kNotified, kAcknowledged, kResolved };
std::string_view AlertStateName(AlertState s);  // "open", "notified", "acknowledged", "resolved"
std::optional<AlertState> ParseAlertState(std::string_view name);

// How an alert ended. kNone while unresolved; kActivityReturned when it resolved by itself.
enum class Outcome : uint8_t {
  kNone = 0,
  kResidentFine,
  kAway,
  kAssisted,
  kHospital,
  kDeceased,
  kFalseReading,
  kOther,
  kActivityReturned,
};
std::string_view OutcomeName(Outcome o);  // "resident_fine", ..., "activity_returned", "" (none)
// What an outcome a person chose tells the household's model: resident_fine -> kSeenWell;
// away, hospital, deceased -> kAway; the others -> kAttended.
Answer AnswerOf(Outcome o);
// Parses an outcome a person may choose at resolve (not kNone, not kActivityReturned).
std::optional<Outcome> ParseHumanOutcome(std::string_view name);
// Parses any outcome name including "" and "activity_returned" (the store's column).
std::optional<Outcome> ParseAnyOutcome(std::string_view name);

struct Alert {
  int64_t id = 0;  // assigned by the store; also the short acknowledgement code
  HouseholdIndex household = 0;
  std::string household_id;  // registry id ("H0001"): an identifier, never a metric label
  AlertKind kind = AlertKind::kInactivity;  // the kind that opened it
  uint16_t kinds_active = 0;                // bit per AlertKind whose finding has not cleared
  uint16_t kinds_seen = 0;                  // bit per AlertKind seen in this episode
  Severity severity = Severity::kMedium;    // highest seen
  AlertState state = AlertState::kOpen;
  LearningState learning = LearningState::kLearning;
  int64_t opened_at_s = 0;   // data time of the finding that opened it
  int64_t updated_at_s = 0;  // time of the last change (clock)
  int64_t since_s = 0;       // start of the anomalous stretch (evidence)
  std::string street, community, grid;
  std::string summary_zh, summary_en;
  std::string evidence_json;       // the latest finding's evidence as a JSON object
  int escalation_level = 0;        // 0 = grid, 1 = community, 2 = street
  int repeats = 0;                 // notifications repeated at the top level
  int64_t next_escalation_ms = 0;  // 0 = none scheduled
  int64_t notified_at_ms = 0;
  int64_t acknowledged_at_ms = 0;
  std::string acknowledged_by;
  int64_t resolved_at_ms = 0;
  Outcome outcome = Outcome::kNone;
  std::string note;
  int64_t last_finding_at_s = 0;  // data time of the newest finding applied to it
};

struct Transition {
  int64_t alert_id = 0;
  AlertState from = AlertState::kOpen;
  AlertState to = AlertState::kOpen;
  std::string who;  // "system" or the token's scope ("street:S1") plus an optional name
  int64_t at_ms = 0;
  std::string detail;  // e.g. "escalated to level 1", "activity returned"
};

// A registered absence of a household, or a silence over a grid, community or street (a
// planned power cut). Active for from_s <= t < to_s (data time of the finding).
struct Absence {
  int64_t id = 0;
  std::string scope = "household";  // household | grid | community | street
  std::string scope_id;             // household id, or the grid/community/street name
  int64_t from_s = 0;
  int64_t to_s = 0;
  std::string reason;
  std::string created_by;
};

enum class Channel : uint8_t { kWebhook = 0, kWeCom, kDingTalk, kSms, kNtfy, kMqtt };
std::string_view ChannelName(Channel c);  // "webhook", "wecom", "dingtalk", "sms", "ntfy", "mqtt"
std::optional<Channel> ParseChannel(std::string_view name);

// One row of contacts.csv: who is told at which level of the address hierarchy.
struct Contact {
  std::string scope;     // grid | community | street
  std::string scope_id;  // the grid, community or street name as in households.csv
  std::string name;      // personal data: never logged at info level, never published
  Channel channel = Channel::kWebhook;
  std::string target;          // URL, phone number or MQTT topic
  std::string secret;          // HMAC key (webhook, dingtalk); may be empty
  std::string lang = "zh-CN";  // zh-CN | en
  // Stable key of the contact in the outbox: scope/scope_id/name/channel.
  std::string Key() const;
};

// kCancelled: not sent because the alert was acknowledged or resolved first.
enum class DeliveryState : uint8_t { kPending = 0, kSent, kDead, kCancelled };
std::string_view DeliveryStateName(DeliveryState s);

// One notification to one contact, written to the outbox before anything is sent.
struct Delivery {
  int64_t id = 0;
  int64_t alert_id = 0;
  std::string contact_key;  // Contact::Key()
  Channel channel = Channel::kWebhook;
  std::string target;
  std::string idempotency_key;  // stable: alert id + event + contact
  std::string payload;          // JSON: {"event","title","text","alert":{...}}
  int attempts = 0;
  int64_t created_ms = 0;
  int64_t not_before_ms = 0;  // first allowed send time (quiet hours may push it)
  int64_t next_attempt_ms = 0;
  DeliveryState state = DeliveryState::kPending;
  std::string last_error;
  int64_t sent_ms = 0;
};

}  // namespace gridwatch
