// Alert rendering: the JSON of an alert on the shared MQTT topic and the REST API, the line
// `gridwatch replay` writes per alert opened (alerts.jsonl), and the human text of a
// notification (zh-CN by default, en on request). Shared-topic payloads carry ids and the
// address hierarchy, never names or phone numbers.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "alert/alert.h"
#include "common/time_zone.h"
#include "config/registry.h"
#include "detect/finding.h"

namespace gridwatch {

// The evidence of a finding as a JSON object ("since" RFC 3339 UTC, unused fields left out).
std::string EvidenceJson(const Evidence& e);

// The alert as a JSON object: id, household, kind, kinds, severity, state, learning,
// opened_at/updated_at/since (RFC 3339 UTC), street, community, grid, summary {"zh-CN","en"},
// evidence, escalation_level, outcome/note once resolved; plus "event" if not empty
// ("opened", "updated", "notified", "escalated", "acknowledged", "resolved").
// `include_people` adds acknowledged_by (the REST API; never the shared topic).
std::string AlertJson(const Alert& a, std::string_view event = {}, bool include_people = false);

// `{prefix}/{street}/{community}/{grid}`.
std::string AlertTopic(std::string_view prefix, const Alert& a);

// One alerts.jsonl line (no trailing newline) for an alert opened by `f` on household `h`:
// household, kind, opened_at (= f.at_ts, RFC 3339 UTC), severity, learning, street, community,
// grid, summary, evidence. Deterministic: same input, same bytes.
std::string OpenedJsonLine(const Household& h, const Finding& f);

struct NotificationText {
  std::string title;  // ASCII only (usable as an HTTP header value)
  std::string text;   // the message body in the contact's language
};

// What a contact reads on the phone: who (address, not phone), what was seen (the summary),
// since when (local time in `tz`), what to do first, and how to acknowledge. `event` is
// "opened", "escalated", "repeat" or "resolved" (an auto-resolve notice); `lang` "en" switches
// to English, anything else is zh-CN. `ack_url` is the contact's one-tap acknowledgement link;
// `escalate_after_s` is mentioned on escalations.
NotificationText RenderNotification(const Alert& a, std::string_view event,
                                    const std::string& address, std::string_view lang,
                                    const std::string& ack_url, const TimeZone& tz,
                                    int64_t escalate_after_s);

}  // namespace gridwatch
