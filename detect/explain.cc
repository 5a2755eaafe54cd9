#include "detect/explain.h"

#include <cstdio>
#include <string>

#include "common/time_util.h"

namespace gridwatch {
namespace {

std::string HhMm(const TimeZone& tz, int64_t ts) {
  const int64_t local = tz.ToLocal(ts);
  const int64_t sod = local - FloorDiv(local, 86400) * 86400;
  char b[8];
  std::snprintf(b, sizeof b, "%02d:%02d", static_cast<int>(sod / 3600),
                static_cast<int>(sod / 60 % 60));
  return b;
}

// "HH:MM" if `ts` is on the local day of `at`, else with its date: "1月30日 12:30" / "30 Jan
// 12:30" (a stretch of a day or more would otherwise read as today's).
std::string When(const TimeZone& tz, int64_t ts, int64_t at, bool zh) {
  const int64_t local = tz.ToLocal(ts);
  const int64_t day = FloorDiv(local, 86400);
  if (day == FloorDiv(tz.ToLocal(at), 86400)) return HhMm(tz, ts);
  int y = 0;
  unsigned mo = 0, d = 0;
  CivilFromDays(day, &y, &mo, &d);
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char b[32];
  if (zh)
    std::snprintf(b, sizeof b, "%u月%u日 %s", mo, d, HhMm(tz, ts).c_str());
  else
    std::snprintf(b, sizeof b, "%u %s %s", d, kMonths[(mo + 11) % 12], HhMm(tz, ts).c_str());
  return b;
}

std::string MinToHhMm(int m) {
  char b[8];
  std::snprintf(b, sizeof b, "%02d:%02d", (m / 60) % 24, m % 60);
  return b;
}

template <typename... A>
std::string F(const char* fmt, A... a) {
  char b[512];
  std::snprintf(b, sizeof b, fmt, a...);
  return b;
}

}  // namespace

void Explain(const TimeZone& tz, Finding* f) {
  const Evidence& e = f->evidence;
  const std::string since_zh = When(tz, e.since_ts, f->at_ts, true);
  const std::string since_en = When(tz, e.since_ts, f->at_ts, false);
  const bool weekend = e.day_type == 1;
  const char* zh_day = weekend ? "周末" : "平日";
  const char* en_day = weekend ? "at weekends" : "on weekdays";
  if (f->state == FindingState::kCleared) {
    switch (f->kind) {
      case AlertKind::kMeterSilent:
        f->summary_zh = "电表已恢复上报";
        f->summary_en = "The meter is reporting again";
        return;
      default:
        f->summary_zh = F("%s 起恢复正常用电", HhMm(tz, f->at_ts).c_str());
        f->summary_en = F("Normal use resumed at %s", HhMm(tz, f->at_ts).c_str());
        return;
    }
  }
  switch (f->kind) {
    case AlertKind::kInactivity: {
      // What was seen. Readings above the night's high that were too brief to end the quiet are
      // said, with the newest: it may be the last sign of the resident.
      std::string seen_zh = F("自 %s 起无用电活动（%.1f 小时）", since_zh.c_str(), e.duration_h);
      std::string seen_en =
          F("No electricity activity since %s (%.1f h)", since_en.c_str(), e.duration_h);
      if (e.spikes > 0) {
        seen_zh = F("自 %s 起无持续用电活动（%.1f 小时，其间仅 %d 次短暂用电，最近一次 %s）",
                    since_zh.c_str(), e.duration_h, e.spikes,
                    When(tz, e.last_spike_ts, f->at_ts, true).c_str());
        seen_en =
            F("No sustained electricity activity since %s (%.1f h; only %d brief rise%s in "
              "use, the last at %s)",
              since_en.c_str(), e.duration_h, e.spikes, e.spikes == 1 ? "" : "s",
              When(tz, e.last_spike_ts, f->at_ts, false).c_str());
      }
      if (f->learning == LearningState::kLearning) {
        f->summary_zh =
            seen_zh + F("；该户作息仍在学习中（已 %.0f 天），按保守规则提醒", e.days_learned);
        f->summary_en = seen_en + F("; this home's routine is still being learned (%.0f days), a "
                                    "conservative rule fired",
                                    e.days_learned);
        return;
      }
      f->summary_zh =
          seen_zh + F("；该户%s此时段 %d 天中 %d 天有活动", zh_day, e.days_seen, e.days_usual);
      f->summary_en = seen_en + F("; %s this home is active in these hours on %d of %d days",
                                  en_day, e.days_usual, e.days_seen);
      return;
    }
    case AlertKind::kFrozen:
      f->summary_zh =
          F("自 %s 起用电持续不变（约 %.0f 瓦，%.1f 小时），无人操作迹象；该户%s此时段 "
            "%d 天中 %d 天有变化",
            since_zh.c_str(), e.level_kwh_per_h * 1000, e.duration_h, zh_day, e.days_seen,
            e.days_usual);
      f->summary_en =
          F("Use unchanged since %s (about %.0f W for %.1f h), no sign of anyone "
            "switching anything; %s use changes in these hours on %d of %d days",
            since_en.c_str(), e.level_kwh_per_h * 1000, e.duration_h, en_day, e.days_usual,
            e.days_seen);
      return;
    case AlertKind::kNoMorningActivity:
      f->summary_zh = F("到 %s 仍无早间用电；该户近 %d 天中有 %d 天在 %s 前开始用电",
                        HhMm(tz, f->at_ts).c_str(), e.days_seen, e.days_usual,
                        MinToHhMm(e.usual_first_activity_min).c_str());
      f->summary_en =
          F("No morning activity by %s; on %d of the last %d days this home was up by %s",
            HhMm(tz, f->at_ts).c_str(), e.days_usual, e.days_seen,
            MinToHhMm(e.usual_first_activity_min).c_str());
      return;
    case AlertKind::kHighUsage: {
      // What was seen: with the size of what is on when known (a heater, an oven, a hob ring).
      std::string seen_zh, seen_en;
      if (e.load_kw > 0) {
        seen_zh =
            F("自 %s 起用电持续偏高：比平时多约 %.1f 千瓦，已 %.1f 小时（多用 %.1f 千瓦时），"
              "像是电暖器或炉灶未关",
              since_zh.c_str(), e.load_kw, e.duration_h, e.observed_kwh);
        seen_en =
            F("High use since %s: about %.1f kW above usual for %.1f h (%.1f kWh more), as "
              "from a heater or a cooker left on",
              since_en.c_str(), e.load_kw, e.duration_h, e.observed_kwh);
      } else {
        seen_zh = F("自 %s 起用电持续偏高（%.1f 小时多用 %.1f 千瓦时）", since_zh.c_str(),
                    e.duration_h, e.observed_kwh);
        seen_en = F("High use since %s (%.1f kWh more than usual over %.1f h)", since_en.c_str(),
                    e.observed_kwh, e.duration_h);
      }
      f->summary_zh = seen_zh + F("；该户此时段通常不超过 %.2f 千瓦时/小时", e.expected_high_kwh);
      f->summary_en = seen_en + F("; this home usually stays under %.2f kWh/h at this time",
                                  e.expected_high_kwh);
      return;
    }
    case AlertKind::kLowDailyUsage:
      f->summary_zh = F("当日活动用电仅 %.2f 千瓦时（不计待机），该户通常约 %.2f 千瓦时",
                        e.observed_kwh, e.expected_kwh);
      f->summary_en =
          F("The day's active use was only %.2f kWh (standby excluded); this home "
            "usually uses about %.2f kWh",
            e.observed_kwh, e.expected_kwh);
      return;
    case AlertKind::kNoPower:
      f->summary_zh = F("自 %s 起读数为零（%.1f 小时），该户待机用电从不为零：可能断电或预付费用尽",
                        since_zh.c_str(), e.duration_h);
      f->summary_en =
          F("Readings of zero since %s (%.1f h) where standby is never zero: supply "
            "cut or prepaid credit run out?",
            since_en.c_str(), e.duration_h);
      return;
    case AlertKind::kDecline:
      f->summary_zh =
          F("近 %d 天活动用电持续下降，仅为平时的 %.0f%%", e.days_usual, e.probability * 100);
      f->summary_en = F("Active use has declined for %d days in a row, to %.0f%% of usual",
                        e.days_usual, e.probability * 100);
      return;
    case AlertKind::kMeterSilent: {
      // A meter can be silent for weeks (a disconnected head-end, a moved tenant): in days then.
      const bool days = e.duration_h >= 48;
      const double n = days ? e.duration_h / 24 : e.duration_h;
      f->summary_zh = F("电表自 %s 起无数据（%.1f %s），该表通常每 %.0f 分钟上报", since_zh.c_str(),
                        n, days ? "天" : "小时", e.interval_s / 60);
      f->summary_en =
          F("No data from the meter since %s (%.1f %s); it usually reports every %.0f min",
            since_en.c_str(), n, days ? "days" : "h", e.interval_s / 60);
      return;
    }
  }
}

}  // namespace gridwatch
