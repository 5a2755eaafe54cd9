#include "alert/alert_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/time_util.h"

namespace gridwatch {
namespace {

using nlohmann::json;

std::string_view KindNameZh(AlertKind k) {
  switch (k) {
    case AlertKind::kInactivity:
      return "长时间无用电活动";
    case AlertKind::kNoMorningActivity:
      return "早晨无用电活动";
    case AlertKind::kFrozen:
      return "用电长时间不变";
    case AlertKind::kHighUsage:
      return "用电异常偏高";
    case AlertKind::kLowDailyUsage:
      return "日用电量偏低";
    case AlertKind::kNoPower:
      return "疑似断电";
    case AlertKind::kDecline:
      return "用电持续下降";
    case AlertKind::kMeterSilent:
      return "电表无数据";
  }
  return "异常";
}

std::string_view KindNameEn(AlertKind k) {
  switch (k) {
    case AlertKind::kInactivity:
      return "no activity";
    case AlertKind::kNoMorningActivity:
      return "no morning activity";
    case AlertKind::kFrozen:
      return "use frozen";
    case AlertKind::kHighUsage:
      return "unusually high use";
    case AlertKind::kLowDailyUsage:
      return "low daily use";
    case AlertKind::kNoPower:
      return "possible power cut";
    case AlertKind::kDecline:
      return "declining use";
    case AlertKind::kMeterSilent:
      return "meter silent";
  }
  return "anomaly";
}

std::string_view SeverityZh(Severity s) {
  switch (s) {
    case Severity::kLow:
      return "低";
    case Severity::kMedium:
      return "中";
    case Severity::kHigh:
      return "高";
    case Severity::kCritical:
      return "紧急";
  }
  return "";
}

// "2026-11-27 08:15" in the zone.
std::string LocalMinute(int64_t utc_s, const TimeZone& tz) {
  std::string s = FormatRfc3339(utc_s, tz.OffsetAt(utc_s));
  if (s.size() >= 16) {
    s = s.substr(0, 16);
    s[10] = ' ';
  }
  return s;
}

json KindsArray(uint16_t mask) {
  json arr = json::array();
  for (int k = 0; k < kNumAlertKinds; ++k)
    if (mask & (1u << k)) arr.push_back(std::string(AlertKindName(static_cast<AlertKind>(k))));
  return arr;
}

}  // namespace

std::string EvidenceJson(const Evidence& e) {
  json j;
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
  opt("load_kw", e.load_kw);
  if (e.score != 0 || e.threshold != 0) {
    j["score"] = std::round(e.score * 100) / 100;
    j["threshold"] = std::round(e.threshold * 100) / 100;
  }
  if (e.days_seen >= 0) j["days_seen"] = e.days_seen;
  if (e.days_usual >= 0) j["days_usual"] = e.days_usual;
  if (e.usual_first_activity_min >= 0) j["usual_first_activity_min"] = e.usual_first_activity_min;
  if (e.day_type >= 0) j["day_type"] = e.day_type == 0 ? "weekday" : "weekend_or_holiday";
  if (e.spikes > 0) {
    j["spikes"] = e.spikes;
    j["last_spike"] = FormatRfc3339Utc(e.last_spike_ts);
  }
  j["interval_s"] = e.interval_s;
  j["days_learned"] = e.days_learned;
  return j.dump();
}

std::string AlertJson(const Alert& a, std::string_view event, bool include_people) {
  json j;
  j["id"] = a.id;
  if (!event.empty()) j["event"] = std::string(event);
  j["household"] = a.household_id;
  j["kind"] = std::string(AlertKindName(a.kind));
  j["kinds"] = KindsArray(a.kinds_seen);
  j["kinds_active"] = KindsArray(a.kinds_active);
  j["severity"] = std::string(SeverityName(a.severity));
  j["state"] = std::string(AlertStateName(a.state));
  j["learning"] = std::string(LearningStateName(a.learning));
  j["opened_at"] = FormatRfc3339Utc(a.opened_at_s);
  j["updated_at"] = FormatRfc3339Utc(a.updated_at_s);
  j["since"] = FormatRfc3339Utc(a.since_s);
  j["street"] = a.street;
  j["community"] = a.community;
  j["grid"] = a.grid;
  j["summary"] = {{"zh-CN", a.summary_zh}, {"en", a.summary_en}};
  j["evidence"] = json::parse(a.evidence_json.empty() ? "{}" : a.evidence_json, nullptr, false);
  if (j["evidence"].is_discarded()) j["evidence"] = json::object();
  j["escalation_level"] = a.escalation_level;
  if (a.acknowledged_at_ms > 0) {
    j["acknowledged_at"] = FormatRfc3339Utc(a.acknowledged_at_ms / 1000);
    if (include_people) j["acknowledged_by"] = a.acknowledged_by;
  }
  if (a.state == AlertState::kResolved) {
    j["resolved_at"] = FormatRfc3339Utc(a.resolved_at_ms / 1000);
    j["outcome"] = std::string(OutcomeName(a.outcome));
    if (include_people) j["note"] = a.note;
  }
  return j.dump();
}

std::string AlertTopic(std::string_view prefix, const Alert& a) {
  std::string t(prefix);
  t += '/';
  t += a.street;
  t += '/';
  t += a.community;
  t += '/';
  t += a.grid;
  return t;
}

std::string OpenedJsonLine(const Household& hh, const Finding& f) {
  json j;
  j["household"] = hh.id;
  j["kind"] = std::string(AlertKindName(f.kind));
  j["opened_at"] = FormatRfc3339Utc(f.at_ts);
  j["severity"] = std::string(SeverityName(f.severity));
  j["learning"] = std::string(LearningStateName(f.learning));
  j["street"] = hh.street;
  j["community"] = hh.community;
  j["grid"] = hh.grid;
  j["summary"] = {{"zh-CN", f.summary_zh}, {"en", f.summary_en}};
  j["evidence"] = json::parse(EvidenceJson(f.evidence));
  return j.dump();
}

NotificationText RenderNotification(const Alert& a, std::string_view event,
                                    const std::string& address, std::string_view lang,
                                    const std::string& ack_url, const TimeZone& tz,
                                    int64_t escalate_after_s) {
  const bool en = lang == "en";
  const std::string where = address.empty() ? a.street + " " + a.community + " " + a.grid : address;
  NotificationText out;
  out.title = "gridwatch #" + std::to_string(a.id) + " " + std::string(AlertKindName(a.kind)) +
              " (" + std::string(SeverityName(a.severity)) + ")";
  std::string t;
  if (en) {
    if (event == "resolved") {
      t = "[Resolved] Alert #" + std::to_string(a.id) + " closed by itself: normal activity " +
          "returned at " + where + ". No visit needed unless you have other concerns.";
      out.text = std::move(t);
      return out;
    }
    if (event == "escalated")
      t +=
          "[Escalated: not acknowledged within " + std::to_string(escalate_after_s / 60) + " min] ";
    else if (event == "repeat")
      t += "[Reminder: still not acknowledged] ";
    t += "gridwatch alert #" + std::to_string(a.id) + " (" + std::string(SeverityName(a.severity)) +
         "): " + std::string(KindNameEn(a.kind)) + "\n";
    t += "Where: " + where + " (household " + a.household_id + ")\n";
    t += "Seen: " + (a.summary_en.empty() ? a.summary_zh : a.summary_en) + "\n";
    t += "Since: " + LocalMinute(a.since_s ? a.since_s : a.opened_at_s, tz) + "\n";
    t += "First: call first, then visit.\n";
    t += "Acknowledge: " + ack_url + " (code " + std::to_string(a.id) + ")";
  } else {
    if (event == "resolved") {
      t = "【已自动解除】告警 #" + std::to_string(a.id) + "：" + where +
          " 的用电活动已恢复正常，无需上门（如有其他疑虑请自行联系）。";
      out.text = std::move(t);
      return out;
    }
    if (event == "escalated")
      t += "【升级：" + std::to_string(escalate_after_s / 60) + " 分钟内无人确认】";
    else if (event == "repeat")
      t += "【提醒：仍未确认】";
    t += "gridwatch 告警 #" + std::to_string(a.id) + "（" + std::string(SeverityZh(a.severity)) +
         "）：" + std::string(KindNameZh(a.kind)) + "\n";
    t += "地址：" + where + "（户号 " + a.household_id + "）\n";
    t += "情况：" + (a.summary_zh.empty() ? a.summary_en : a.summary_zh) + "\n";
    t += "开始时间：" + LocalMinute(a.since_s ? a.since_s : a.opened_at_s, tz) + "\n";
    t += "处置：请先致电，再上门查看。\n";
    t += "确认：" + ack_url + "（确认码 " + std::to_string(a.id) + "）";
  }
  out.text = std::move(t);
  return out;
}

}  // namespace gridwatch
