#include "detect/explain.h"

#include <gtest/gtest.h>

#include "common/time_util.h"

namespace gridwatch {
namespace {

// A raised finding of a learned home: `kind` at `at` about a stretch since `since` (RFC 3339).
Finding Raised(AlertKind kind, const char* at, const char* since, double duration_h) {
  Finding f;
  f.kind = kind;
  f.state = FindingState::kRaised;
  f.learning = LearningState::kReady;
  f.at_ts = *ParseRfc3339(at);
  f.evidence.since_ts = *ParseRfc3339(since);
  f.evidence.duration_h = duration_h;
  return f;
}

TEST(ExplainTest, InactivityNamesSinceWhenAndWhatIsUsual) {
  // At 11:30 in Shanghai, since 06:30 local.
  Finding f = Raised(AlertKind::kInactivity, "2026-11-27T03:30:00Z", "2026-11-26T22:30:00Z", 5.0);
  f.evidence.days_seen = 28;
  f.evidence.days_usual = 26;
  f.evidence.day_type = 0;
  Explain(*TimeZone::Fixed(8 * 3600, "Asia/Shanghai"), &f);
  EXPECT_EQ(f.summary_zh, "自 06:30 起无用电活动（5.0 小时）；该户平日此时段 28 天中 26 天有活动");
  EXPECT_EQ(f.summary_en,
            "No electricity activity since 06:30 (5.0 h); on weekdays this home is active in these "
            "hours on 26 of 28 days");
}

TEST(ExplainTest, AQuietOfDaysGivesItsDateAndItsBriefRises) {
  // At 05:00 in London, since three days before.
  Finding f = Raised(AlertKind::kInactivity, "2013-02-02T05:00:00Z", "2013-01-30T12:30:00Z", 64.5);
  f.evidence.spikes = 3;
  f.evidence.last_spike_ts = *ParseRfc3339("2013-02-02T01:30:00Z");  // today
  f.evidence.days_seen = 28;
  f.evidence.days_usual = 27;
  f.evidence.day_type = 1;
  Explain(*TimeZone::Fixed(0, "Europe/London"), &f);
  EXPECT_EQ(f.summary_zh,
            "自 1月30日 12:30 起无持续用电活动（64.5 小时，其间仅 3 次短暂用电，最近一次 01:30）；"
            "该户周末此时段 28 天中 27 天有活动");
  EXPECT_EQ(f.summary_en,
            "No sustained electricity activity since 30 Jan 12:30 (64.5 h; only 3 brief rises in "
            "use, the last at 01:30); at weekends this home is active in these hours on 27 of 28 "
            "days");
  // Learning: the same account of what was seen, then the conservative rule.
  f.learning = LearningState::kLearning;
  f.evidence.days_learned = 5;
  Explain(*TimeZone::Fixed(0, "Europe/London"), &f);
  EXPECT_EQ(f.summary_en.rfind("No sustained electricity activity since 30 Jan 12:30", 0), 0u)
      << f.summary_en;
  EXPECT_NE(f.summary_zh.find("仍在学习中（已 5 天）"), std::string::npos) << f.summary_zh;
}

TEST(ExplainTest, AMeterSilentForWeeksIsCountedInDays) {
  Finding f =
      Raised(AlertKind::kMeterSilent, "2013-11-10T12:00:00Z", "2013-05-20T19:30:00Z", 4164.5);
  f.evidence.interval_s = 1800;
  Explain(*TimeZone::Fixed(0), &f);
  EXPECT_EQ(f.summary_zh, "电表自 5月20日 19:30 起无数据（173.5 天），该表通常每 30 分钟上报");
  EXPECT_EQ(f.summary_en,
            "No data from the meter since 20 May 19:30 (173.5 days); it usually reports every 30 "
            "min");
  f.evidence.since_ts = f.at_ts - 8 * 3600;
  f.evidence.duration_h = 8;
  Explain(*TimeZone::Fixed(0), &f);
  EXPECT_EQ(f.summary_en,
            "No data from the meter since 04:00 (8.0 h); it usually reports every 30 min");
}

TEST(ExplainTest, HighUsageSaysHowBigTheLoadLeftOnIs) {
  Finding f = Raised(AlertKind::kHighUsage, "2013-02-07T18:00:00Z", "2013-02-07T13:30:00Z", 4.5);
  f.evidence.observed_kwh = 10.84;
  f.evidence.expected_high_kwh = 0.62;
  f.evidence.load_kw = 2.37;
  Explain(*TimeZone::Fixed(0, "Europe/London"), &f);
  EXPECT_EQ(f.summary_zh,
            "自 13:30 起用电持续偏高：比平时多约 2.4 千瓦，已 4.5 小时（多用 10.8 千瓦时），"
            "像是电暖器或炉灶未关；该户此时段通常不超过 0.62 千瓦时/小时");
  EXPECT_EQ(f.summary_en,
            "High use since 13:30: about 2.4 kW above usual for 4.5 h (10.8 kWh more), as from "
            "a heater or a cooker left on; this home usually stays under 0.62 kWh/h at this time");
}

TEST(ExplainTest, LearningHomeSaysSo) {
  Finding f;
  f.kind = AlertKind::kInactivity;
  f.learning = LearningState::kLearning;
  f.at_ts = 1'700'000'000;
  f.evidence.since_ts = f.at_ts - 12 * 3600;
  f.evidence.duration_h = 12;
  f.evidence.days_learned = 3;
  Explain(*TimeZone::Fixed(0), &f);
  EXPECT_NE(f.summary_zh.find("学习中（已 3 天）"), std::string::npos) << f.summary_zh;
  EXPECT_NE(f.summary_en.find("still being learned (3 days)"), std::string::npos);
}

TEST(ExplainTest, EveryKindHasBothLanguages) {
  for (int k = 0; k < kNumAlertKinds; ++k) {
    for (auto state : {FindingState::kRaised, FindingState::kCleared}) {
      Finding f;
      f.kind = static_cast<AlertKind>(k);
      f.state = state;
      f.at_ts = 1'700'000'000;
      f.evidence.since_ts = 1'699'990'000;
      f.evidence.interval_s = 1800;
      Explain(*TimeZone::Fixed(0), &f);
      EXPECT_FALSE(f.summary_zh.empty()) << AlertKindName(f.kind);
      EXPECT_FALSE(f.summary_en.empty()) << AlertKindName(f.kind);
    }
  }
}

TEST(ExplainTest, KindNamesRoundTrip) {
  for (int k = 0; k < kNumAlertKinds; ++k) {
    const auto kind = static_cast<AlertKind>(k);
    EXPECT_EQ(ParseAlertKind(AlertKindName(kind)), kind);
  }
  EXPECT_FALSE(ParseAlertKind("nonsense").has_value());
  EXPECT_EQ(ClassOf(AlertKind::kDecline), AlertClass::kTrend);
  EXPECT_EQ(ClassOf(AlertKind::kMeterSilent), AlertClass::kOps);
  EXPECT_EQ(ClassOf(AlertKind::kInactivity), AlertClass::kAcute);
}

}  // namespace
}  // namespace gridwatch
