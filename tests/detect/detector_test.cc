// Unit tests of the detectors on constructed traces: each fires when it must and stays quiet
// when it must (late risers, storage heating, holidays), state survives a checkpoint, and the
// same input gives the same findings.
#include "detect/detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "common/time_util.h"
#include "tests/detect/synthetic_home.h"

namespace gridwatch {
namespace {

using testing::HomeSpec;
using testing::MakeRoutine;

constexpr int64_t kStart = 1'700'000'000 - 1'700'000'000 % 86400;  // a UTC midnight (Tuesday)

std::shared_ptr<const Registry> OneHome(const std::string& category = "elderly_alone") {
  return Registry::FromHouseholds({Household{"H1", "M1", category, "S1", "C1", "G1", "addr"}});
}

struct Trace {
  std::vector<Finding> findings;
  std::vector<Finding> Raised(AlertKind k) const {
    std::vector<Finding> out;
    for (const auto& f : findings)
      if (f.kind == k && f.state == FindingState::kRaised) out.push_back(f);
    return out;
  }
  std::vector<Finding> RaisedWelfareAfter(int64_t t) const {
    std::vector<Finding> out;
    for (const auto& f : findings)
      if (IsWelfare(f.kind) && f.state == FindingState::kRaised && f.at_ts >= t) out.push_back(f);
    return out;
  }
};

// Feeds readings in order with a data-clock tick every 15 minutes, as replay does.
Trace Feed(Detector& d, const std::vector<Reading>& readings) {
  Trace run;
  int64_t next_tick = readings.empty() ? 0 : readings.front().ts_s + 900;
  for (const auto& r : readings) {
    while (next_tick < r.ts_s) {
      d.AdvanceTo(next_tick, &run.findings);
      next_tick += 900;
    }
    d.Observe(r, &run.findings);
  }
  return run;
}

Detector MakeDetector(DetectOptions opts = {}) {
  return Detector(opts, TimeZone::Fixed(0), OneHome());
}

// Replaces readings in [from, to) with the home's night standby (a collapse: nobody up).
void InjectCollapse(std::vector<Reading>* rs, int64_t from, int64_t to, double standby_kwh) {
  for (auto& r : *rs)
    if (r.ts_s > from && r.ts_s <= to) r.energy_kwh = static_cast<float>(standby_kwh);
}

TEST(DetectorTest, RoutineHomeStaysQuietForWeeks) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 70);
  Trace run = Feed(d, rs);
  // After the learning weeks, an unchanging routine raises no welfare alert.
  EXPECT_TRUE(run.RaisedWelfareAfter(kStart + 35 * 86400).empty());
  EXPECT_EQ(d.stats().households_ready, 1u);
}

TEST(DetectorTest, DaytimeCollapseRaisesInactivityWithinHours) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  const int64_t fall = kStart + 50 * 86400 + 10 * 3600;  // 10:00 on day 50
  InjectCollapse(&rs, fall, fall + 48 * 3600, 0.12 * 0.5);
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kInactivity);
  auto it =
      std::find_if(hits.begin(), hits.end(), [&](const Finding& f) { return f.at_ts >= fall; });
  ASSERT_NE(it, hits.end()) << "no inactivity after the fall";
  EXPECT_LE(it->at_ts - fall, 12 * 3600) << "too late: " << (it->at_ts - fall) / 3600.0 << " h";
  EXPECT_GE(it->evidence.since_ts, fall - 3600);
  EXPECT_GE(it->severity, Severity::kHigh);
  EXPECT_NE(it->summary_zh.find("无用电活动"), std::string::npos);
  EXPECT_EQ(it->evidence.spikes, 0) << "no reading of the fall was above the night's high";
  // Nothing before the fall.
  EXPECT_TRUE(std::none_of(hits.begin(), hits.end(), [&](const Finding& f) {
    return f.at_ts >= kStart + 35 * 86400 && f.at_ts < fall;
  }));
}

// A daytime fall at 10:00 on day 50, with one reading (12:30–13:00) just above the night's high
// that the quiet spell tolerates.
std::vector<Reading> FallWithABriefRise(int64_t* fall, int64_t* rise) {
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  *fall = kStart + 50 * 86400 + 10 * 3600;
  *rise = *fall + 3 * 3600;
  InjectCollapse(&rs, *fall, *fall + 48 * 3600, 0.06);
  for (auto& r : rs)
    if (r.ts_s == *rise) r.energy_kwh = 0.1f;
  return rs;
}

std::optional<Finding> FirstRaisedAfter(const std::vector<Finding>& hits, int64_t t) {
  auto it = std::find_if(hits.begin(), hits.end(), [&](const Finding& f) { return f.at_ts >= t; });
  if (it == hits.end()) return std::nullopt;
  return *it;
}

TEST(DetectorTest, ABriefRiseInAQuietSpellIsReportedAsTheLastSignOfSomeoneUp) {
  int64_t fall = 0, rise = 0;
  auto rs = FallWithABriefRise(&fall, &rise);
  auto d = MakeDetector();
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kInactivity);
  const std::optional<Finding> f = FirstRaisedAfter(hits, fall);
  ASSERT_TRUE(f.has_value()) << "the brief rise must not hide the fall";
  EXPECT_LE(f->evidence.since_ts, fall + 1800) << "the rise restarted the quiet";
  EXPECT_EQ(f->evidence.spikes, 1);
  EXPECT_EQ(f->evidence.last_spike_ts, rise);
  EXPECT_NE(f->summary_en.find("only 1 brief rise in use, the last at 13:00"), std::string::npos)
      << f->summary_en;
  EXPECT_NE(f->summary_zh.find("其间仅 1 次短暂用电，最近一次 13:00"), std::string::npos)
      << f->summary_zh;
}

TEST(DetectorTest, Format005To008CheckpointsLoadWithTheNewFieldsZeroed) {
  // Formats 006 to 009 put the spell's spikes, the decline's descent, the step CUSUM's low of
  // the day and an away hold in what was the model's padding: a 005 to 008 checkpoint (same
  // model size) loads, with them zeroed rather than read from the padding's bytes.
  int64_t fall = 0, rise = 0;
  auto rs = FallWithABriefRise(&fall, &rise);
  const auto cut =
      std::find_if(rs.begin(), rs.end(), [&](const Reading& r) { return r.ts_s > rise + 3600; });
  std::vector<Reading> first(rs.begin(), cut), second(cut, rs.end());
  auto before = MakeDetector();
  Feed(before, first);
  std::stringstream out;
  before.Save(out);
  const std::string saved = out.str();
  ASSERT_EQ(saved.substr(0, 8), "GWDET009");
  for (const auto& [magic, spikes] : {std::pair<std::string, int>{"GWDET009", 1},
                                      {"GWDET008", 1},
                                      {"GWDET007", 1},
                                      {"GWDET006", 1},
                                      {"GWDET005", 0}}) {
    std::string bytes = saved;
    bytes.replace(0, 8, magic);
    std::stringstream in(bytes);
    auto after = MakeDetector();
    ASSERT_TRUE(after.Load(in)) << magic;
    Trace rest = Feed(after, second);
    const std::optional<Finding> f = FirstRaisedAfter(rest.Raised(AlertKind::kInactivity), fall);
    ASSERT_TRUE(f.has_value()) << magic;
    EXPECT_EQ(f->evidence.spikes, spikes) << magic;
  }
  std::string old = saved;
  old.replace(0, 8, "GWDET004");
  std::stringstream in(old);
  auto after = MakeDetector();
  EXPECT_FALSE(after.Load(in)) << "format 004 has another model layout";
}

TEST(DetectorTest, AnAlertAtAnHourTheHomeSleepsThroughSaysHowOftenItIsUpInTheQuietsHours) {
  // A fall at 19:00, found in the night: at the alert's own hour the home is asleep on every
  // day, and "active at this time on 0 of 28 days" would read as if the quiet were usual. The
  // explanation speaks of the hours the quiet has run through, the evening among them.
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  const int64_t fall = kStart + 50 * 86400 + 19 * 3600;
  InjectCollapse(&rs, fall, fall + 48 * 3600, 0.06);
  Trace run = Feed(d, rs);
  const std::optional<Finding> f = FirstRaisedAfter(run.Raised(AlertKind::kInactivity), fall);
  ASSERT_TRUE(f.has_value());
  const int hour = static_cast<int>(f->at_ts % 86400 / 3600);
  ASSERT_TRUE(hour >= 23 || hour < 6) << "the alert came at " << hour << ":00, not in the night";
  EXPECT_GE(f->evidence.days_usual, f->evidence.days_seen - 2) << f->summary_en;
}

TEST(DetectorTest, NightCollapseIsCaughtWhenTheMorningNeverComes) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  const int64_t fall = kStart + 50 * 86400 + 23 * 3600;
  InjectCollapse(&rs, fall, fall + 48 * 3600, 0.06);
  Trace run = Feed(d, rs);
  auto hits = run.RaisedWelfareAfter(fall);
  ASSERT_FALSE(hits.empty());
  EXPECT_LE(hits.front().at_ts - fall, 20 * 3600);
}

TEST(DetectorTest, OneLateMorningDoesNotDisarmTheMorningCheck) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  // Day 40: nobody up until 14:00 (back from a night away). With the latest first activity of
  // four weeks as the usual time, this one day turned the morning check off until day 68.
  const int64_t late = kStart + 40 * 86400;
  InjectCollapse(&rs, late, late + 14 * 3600, 0.06);
  // Ten days later a night collapse: the morning routine never comes.
  const int64_t fall = kStart + 49 * 86400 + 23 * 3600;
  InjectCollapse(&rs, fall, fall + 48 * 3600, 0.06);
  Trace run = Feed(d, rs);
  auto morning = run.Raised(AlertKind::kNoMorningActivity);
  auto it = std::find_if(morning.begin(), morning.end(),
                         [&](const Finding& f) { return f.at_ts >= fall; });
  ASSERT_NE(it, morning.end()) << "the morning check was disarmed by one late day";
  // Usual wake-up 07:00 ± 0.4 h, plus the 3.5 h margin.
  EXPECT_LE(it->at_ts - fall, 13 * 3600) << (it->at_ts - fall) / 3600.0 << " h";
  EXPECT_EQ(it->evidence.days_usual, it->evidence.days_seen - 1);
  EXPECT_NE(it->summary_en.find("of the last"), std::string::npos) << it->summary_en;
}

// Days 36 and 42 begin after noon (back from nights away), then a night collapse on day 49.
std::vector<Reading> TwoLateDaysThenANightFall(const HomeSpec& spec, int64_t* fall) {
  auto rs = MakeRoutine(spec, kStart, 60);
  for (int day : {36, 42}) {
    const int64_t late = kStart + day * 86400;
    InjectCollapse(&rs, late, late + 14 * 3600, 0.06);
  }
  *fall = kStart + 49 * 86400 + 23 * 3600;
  InjectCollapse(&rs, *fall, *fall + 48 * 3600, 0.06);
  return rs;
}

TEST(DetectorTest, TwoLateDaysDoNotDisarmTheMorningCheckOfAHomeUpByDay) {
  // With the second-latest first activity of four weeks as the usual time, two days that began
  // at 14:00 turned the check off for four weeks. In a home that is up by day they were not
  // mornings at home and are left out.
  int64_t fall = 0;
  auto rs = TwoLateDaysThenANightFall(HomeSpec{}, &fall);
  auto d = MakeDetector();
  Trace run = Feed(d, rs);
  const std::optional<Finding> f =
      FirstRaisedAfter(run.Raised(AlertKind::kNoMorningActivity), fall);
  ASSERT_TRUE(f.has_value()) << "two late days disarmed the morning check";
  EXPECT_LE(f->at_ts - fall, 13 * 3600) << (f->at_ts - fall) / 3600.0 << " h";
}

TEST(DetectorTest, AHomeOutByDayKeepsItsMorningCheckConservative) {
  // The same days in a home that is empty on weekdays 08–18 (out at work): days that begin late
  // are its weekends away, and the check stays off while two of them are in its four weeks.
  int64_t fall = 0;
  auto rs = TwoLateDaysThenANightFall(HomeSpec{}, &fall);
  for (auto& r : rs) {
    const int64_t day = (r.ts_s - 900) / 86400, hour = (r.ts_s - 900) % 86400 / 3600;
    if ((day + 3) % 7 < 5 && hour >= 8 && hour < 18) r.energy_kwh = 0.06f;
  }
  auto d = MakeDetector();
  Trace run = Feed(d, rs);
  EXPECT_FALSE(FirstRaisedAfter(run.Raised(AlertKind::kNoMorningActivity), fall).has_value());
  // The fall is still caught, by the length of the quiet.
  const std::optional<Finding> f = FirstRaisedAfter(run.Raised(AlertKind::kInactivity), fall);
  ASSERT_TRUE(f.has_value());
  EXPECT_LE(f->at_ts - fall, 24 * 3600);
}

TEST(DetectorTest, AnAbsenceWithApplianceBlipsIsOneEpisodeUntilActivityReturns) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 75);
  const int64_t from = kStart + 50 * 86400 + 10 * 3600;  // 10:00 on day 50, for three days
  const int64_t to = from + 72 * 3600;
  InjectCollapse(&rs, from, to, 0.06);
  // Six days after the return, a fall: a new incident, which the closed episode must not hide.
  const int64_t fall = to + 6 * 86400;  // 10:00 on day 59
  InjectCollapse(&rs, fall, fall + 24 * 3600, 0.06);
  // A timer or a freezer's defrost draws 0.25 kWh for one interval every 8 hours: each breaks
  // the quiet spell, none is the resident.
  for (auto& r : rs)
    if (r.ts_s > from && r.ts_s <= to && (r.ts_s - from) % (8 * 3600) == 0) r.energy_kwh = 0.25f;
  Trace run = Feed(d, rs);
  // (A low day's total may be raised too: a kind of its own, merged into the same alert.)
  auto idle = [](AlertKind k) { return k == AlertKind::kInactivity || k == AlertKind::kFrozen; };
  auto raised = run.RaisedWelfareAfter(from);
  raised.erase(std::remove_if(raised.begin(), raised.end(),
                              [&](const Finding& f) { return f.at_ts > to || !idle(f.kind); }),
               raised.end());
  ASSERT_FALSE(raised.empty()) << "three days at standby raised nothing";
  EXPECT_EQ(raised.size(), 1u) << "the blips reopened the episode " << raised.size() << " times";

  // It closes once the resident is back (the routine after `to`), not at a blip.
  std::vector<int64_t> cleared;
  for (const auto& f : run.findings)
    if (f.state == FindingState::kCleared && idle(f.kind) && f.at_ts >= from)
      cleared.push_back(f.at_ts);
  ASSERT_FALSE(cleared.empty()) << "the episode never closed";
  EXPECT_GT(cleared.front(), to);
  EXPECT_LT(cleared.front(), to + 36 * 3600);
  const auto later = run.RaisedWelfareAfter(fall);
  EXPECT_TRUE(std::any_of(later.begin(), later.end(), [&](const Finding& f) {
    return idle(f.kind) && f.at_ts < fall + 24 * 3600;
  })) << "the fall after the absence raised nothing";
}

TEST(DetectorTest, AnEpisodeWithoutActivityOrQuietClosesAfterADayAndCannotHideANewFall) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  // 10:00 on day 50: a quiet spell of 20 h opens an inactivity episode.
  const int64_t first = kStart + 50 * 86400 + 10 * 3600;
  const int64_t odd_from = first + 20 * 3600;  // 06:00 on day 51
  const int64_t odd_to = odd_from + 72 * 3600;
  InjectCollapse(&rs, first, odd_to, 0.06);
  // Then three days that are neither the resident back nor an alert-worthy quiet spell: every
  // 2 h a timer draws 0.3 kWh for one interval (each ends the spell; too little to count as an
  // hour of activity), standby in between.
  for (auto& r : rs)
    if (r.ts_s > odd_from && r.ts_s <= odd_to && (r.ts_s - odd_from) % (2 * 3600) == 1800)
      r.energy_kwh = 0.3f;
  // 10:00 on day 53, within those days: a fall. A day after the last alert-worthy quiet spell
  // the episode must have closed, so that the fall opens an alert of its own.
  const int64_t fall = kStart + 53 * 86400 + 10 * 3600;
  InjectCollapse(&rs, fall, fall + 24 * 3600, 0.06);
  Trace run = Feed(d, rs);
  auto idle = [](AlertKind k) { return k == AlertKind::kInactivity || k == AlertKind::kFrozen; };
  const auto opened = run.RaisedWelfareAfter(first);
  auto it = std::find_if(opened.begin(), opened.end(),
                         [&](const Finding& f) { return idle(f.kind) && f.at_ts < odd_from; });
  ASSERT_NE(it, opened.end()) << "the 20-h spell raised nothing";
  int64_t closed = 0;
  for (const auto& f : run.findings)
    if (f.state == FindingState::kCleared && idle(f.kind) && f.at_ts > it->at_ts) {
      closed = f.at_ts;
      break;
    }
  ASSERT_NE(closed, 0) << "the episode never closed";
  // Not at the timer's first draws (that is not the resident), but a day after the spell ended.
  EXPECT_GE(closed, odd_from + 24 * 3600);
  EXPECT_LE(closed, odd_from + 26 * 3600);
  EXPECT_TRUE(std::any_of(opened.begin(), opened.end(), [&](const Finding& f) {
    return idle(f.kind) && f.at_ts > fall && f.at_ts < fall + 24 * 3600;
  })) << "the fall was hidden by the stale episode";
}

TEST(DetectorTest, OneLongDayOutDoesNotSetTheQuietThresholdForMonths) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 200);
  // Out every week from 10:00 to 15:00: this home's usual longest quiet spell at that time of
  // day is 5 h. Once, on day 170, out until 17:30.
  for (int day = 2; day < 200; day += 7) {
    const int64_t out = kStart + day * 86400 + 10 * 3600;
    InjectCollapse(&rs, out, out + (day == 170 ? 7.5 : 5.0) * 3600, 0.06);
  }
  // Two weeks later, a fall at 10:00 on a day without an outing.
  const int64_t fall = kStart + 185 * 86400 + 10 * 3600;
  InjectCollapse(&rs, fall, fall + 24 * 3600, 0.06);
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kInactivity);
  auto it =
      std::find_if(hits.begin(), hits.end(), [&](const Finding& f) { return f.at_ts >= fall; });
  ASSERT_NE(it, hits.end()) << "no inactivity after the fall";
  // Judged against the spells this home has about once in 12 weeks (5 h, + 1 h margin), not
  // against the one long day: the longest of the last 12 weeks (7.5 h + 1 h) would wait 8.5 h.
  EXPECT_LE(it->at_ts - fall, 7 * 3600) << (it->at_ts - fall) / 3600.0 << " h";
  EXPECT_LE(it->evidence.threshold, 6.5) << it->evidence.threshold;
  // The long day itself was out of the ordinary, and said so.
  const int64_t long_out = kStart + 170 * 86400 + 10 * 3600;
  EXPECT_TRUE(std::any_of(hits.begin(), hits.end(), [&](const Finding& f) {
    return f.at_ts > long_out && f.at_ts <= long_out + 7.5 * 3600;
  }));
  // The weekly outings of the last months are the home's routine: no alert on them.
  EXPECT_TRUE(std::none_of(hits.begin(), hits.end(), [&](const Finding& f) {
    return f.at_ts >= kStart + 100 * 86400 && f.at_ts < long_out;
  }));
}

TEST(DetectorTest, AYoungHomeIsJudgedPartlyByTheColdLengthUntilItsOwnLevelIsKnown) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 180);
  // Out every week from 10:00 to 15:00; twice, on days 23 and 170, out until 17:30.
  for (int day = 2; day < 180; day += 7) {
    const int64_t out = kStart + day * 86400 + 10 * 3600;
    InjectCollapse(&rs, out, out + (day == 23 || day == 170 ? 7.5 : 5.0) * 3600, 0.06);
  }
  // A fall at 10:00 on day 33, a day without an outing.
  const int64_t fall = kStart + 33 * 86400 + 10 * 3600;
  InjectCollapse(&rs, fall, fall + 24 * 3600, 0.06);
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kInactivity);
  auto within = [&](int64_t from, double hours) {
    return std::find_if(hits.begin(), hits.end(), [&](const Finding& f) {
      return f.at_ts > from && f.at_ts <= from + hours * 3600;
    });
  };
  // Day 23: three weeks of spells known, whose longest (5 h) runs short of what this home does
  // about once in 12 weeks. The cold length (12 h) still holds two thirds of the way (8 h + 1 h
  // margin): the long outing is no alarm. Judged by its own 3 weeks alone (5 h + 1 h), it was.
  const int64_t young_out = kStart + 23 * 86400 + 10 * 3600;
  EXPECT_EQ(within(young_out, 7.5), hits.end()) << "alarm on a young home's long outing";
  // The fall is still caught, by that 9 h.
  auto it = within(fall, 24);
  ASSERT_NE(it, hits.end()) << "no inactivity after the fall";
  EXPECT_LE(it->at_ts - fall, 9.5 * 3600) << (it->at_ts - fall) / 3600.0 << " h";
  EXPECT_GE(it->evidence.threshold, 8.5) << it->evidence.threshold;
  // Day 170: 24 weeks of the home's own spells; the cold length is long gone, the outing of day
  // 23 is one of two in 24 weeks, and the same outing is out of this home's ordinary, and said so.
  const int64_t old_out = kStart + 170 * 86400 + 10 * 3600;
  EXPECT_NE(within(old_out, 7.5), hits.end()) << "the cold length still holds after 24 weeks";
}

TEST(DetectorTest, LowDailyUsageIsTheBackstopNotASecondPage) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  // Day 45: hardly any use, but never quiet for long — a kettle's worth every two hours.
  const int64_t low_day = kStart + 45 * 86400;
  InjectCollapse(&rs, low_day + 7 * 3600, low_day + 24 * 3600, 0.06);
  for (auto& r : rs)
    if (r.ts_s > low_day + 7 * 3600 && r.ts_s <= low_day + 22 * 3600 && r.ts_s % 7200 == 0)
      r.energy_kwh += 0.1f;
  // Day 52: quiet from 07:00 to midnight, which the quiet-spell detectors report.
  const int64_t quiet_day = kStart + 52 * 86400;
  InjectCollapse(&rs, quiet_day + 7 * 3600, quiet_day + 24 * 3600, 0.06);
  Trace run = Feed(d, rs);
  auto raised_in = [&](AlertKind k, int64_t from, int64_t to) {
    auto all = run.Raised(k);
    return std::count_if(all.begin(), all.end(),
                         [&](const Finding& f) { return f.at_ts > from && f.at_ts <= to; });
  };
  // The low day is seen by the daily total alone, at the day's end.
  EXPECT_EQ(raised_in(AlertKind::kInactivity, low_day, low_day + 86400), 0);
  EXPECT_EQ(raised_in(AlertKind::kLowDailyUsage, low_day, low_day + 86400 + 3600), 1);
  // The quiet day is already with the grid worker: one page, not a second for its low total.
  EXPECT_EQ(raised_in(AlertKind::kInactivity, quiet_day, quiet_day + 86400), 1);
  EXPECT_EQ(raised_in(AlertKind::kLowDailyUsage, quiet_day, quiet_day + 86400 + 3600), 0);
}

TEST(DetectorTest, FrozenUseIsReportedAsFrozen) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  const int64_t fall = kStart + 50 * 86400 + 9 * 3600;
  // Standby plus a 300 W lamp and heater left on: flat, above standby.
  InjectCollapse(&rs, fall, fall + 48 * 3600, 0.06 + 0.15);
  Trace run = Feed(d, rs);
  auto hits = run.RaisedWelfareAfter(fall);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits.front().kind, AlertKind::kFrozen);
  EXPECT_LE(hits.front().at_ts - fall, 24 * 3600);
}

// A home out every weekday 08:00–23:30 (at standby: a family at work, then out for the evening):
// its quiet spells from the morning run to the next morning, so its own idle threshold for them
// is about a day. Then, on day 50, a steady 300 W left on from 09:00, or (other == true) the
// same hours at standby, as on any weekday.
std::vector<Reading> LongDaysOutHome(bool frozen, int64_t* fall) {
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  for (int day = 0; day < 60; ++day)
    if ((day + 1) % 7 < 5) {  // kStart is a Tuesday: weekdays
      const int64_t out = kStart + day * 86400 + 8 * 3600;
      InjectCollapse(&rs, out, out + 15 * 3600 + 1800, 0.06);
    }
  *fall = kStart + 50 * 86400 + 9 * 3600;  // a Thursday
  InjectCollapse(&rs, *fall, *fall + 48 * 3600, frozen ? 0.06 + 0.15 : 0.06);
  return rs;
}

TEST(DetectorTest, AFrozenFallIsNotJudgedByTheHomesLongDaysOut) {
  int64_t fall = 0;
  auto rs = LongDaysOutHome(true, &fall);
  auto d = MakeDetector();
  Trace run = Feed(d, rs);
  auto hits = run.RaisedWelfareAfter(fall);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits.front().kind, AlertKind::kFrozen);
  // The cold length (inactivity.threshold, 12 h) bounds the wait, not the day-long spells out.
  EXPECT_LE(hits.front().at_ts - fall, 13 * 3600) << (hits.front().at_ts - fall) / 3600.0 << " h";
  EXPECT_DOUBLE_EQ(hits.front().evidence.threshold, 12.0);
}

TEST(DetectorTest, AQuietDayOutIsStillJudgedByTheHomesOwnDaysOut) {
  // The cap is for steady use above the night's level only: the same 12 h and more at standby
  // is this home's ordinary weekday.
  int64_t fall = 0;
  auto rs = LongDaysOutHome(false, &fall);
  auto d = MakeDetector();
  Trace run = Feed(d, rs);
  for (const auto& f : run.RaisedWelfareAfter(fall))
    EXPECT_GT(f.at_ts - fall, 15 * 3600)
        << AlertKindName(f.kind) << " after " << (f.at_ts - fall) / 3600.0 << " h";
}

TEST(DetectorTest, SundayLateRiserIsNotAnAlarm) {
  HomeSpec spec;
  spec.weekend_wake_h = 10.5;  // every weekend, up at half past ten
  auto d = MakeDetector();
  auto rs = MakeRoutine(spec, kStart, 84);
  Trace run = Feed(d, rs);
  EXPECT_TRUE(run.RaisedWelfareAfter(kStart + 42 * 86400).empty());
}

TEST(DetectorTest, StorageHeatingNightsAreNotHighUsage) {
  HomeSpec spec;
  spec.night_heating_kwh_per_h = 2.5;  // storage heaters charge 00–07 every night
  auto d = MakeDetector();
  auto rs = MakeRoutine(spec, kStart, 70);
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kHighUsage);
  EXPECT_TRUE(std::none_of(hits.begin(), hits.end(),
                           [&](const Finding& f) { return f.at_ts >= kStart + 35 * 86400; }));
}

TEST(DetectorTest, HeaterLeftOnAtNightIsHighUsage) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  const int64_t on = kStart + 50 * 86400 + 1 * 3600;
  for (auto& r : rs)
    if (r.ts_s > on && r.ts_s <= on + 8 * 3600) r.energy_kwh += 2.0f * 0.5f;  // 2 kW
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kHighUsage);
  auto it = std::find_if(hits.begin(), hits.end(), [&](const Finding& f) { return f.at_ts > on; });
  ASSERT_NE(it, hits.end());
  EXPECT_LE(it->at_ts - on, 6 * 3600);
  EXPECT_EQ(it->severity, Severity::kHigh);  // at night
  EXPECT_GT(it->evidence.observed_kwh, 2.0);
}

TEST(DetectorTest, AHeaterLeftOnInAHomeOfVariedUseIsWeighedByItsSize) {
  // A home whose daytime use varies a great deal (log-normal, sigma 1.3: a few hundred watts
  // most half-hours, now and then two or three kilowatts for one) and a 2 kW heater left on at
  // 13:00 for four and a half hours. Weighed as "the least load that counts (1.1 kW) on top of
  // usual use", each of its readings is barely unusual in such a home and the evidence crawls;
  // weighed by the size the readings show (the lower of two in a row, above the hour's usual use),
  // it is the heater it is. A kettle's single reading is still only the least load.
  std::mt19937 rng(7);
  std::normal_distribution<double> n(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<Reading> rs;
  for (int64_t t = kStart + 1800; t <= kStart + 60 * 86400; t += 1800) {
    const double hour = ((t - 900) % 86400) / 3600.0;
    double kw = 0.1 + 0.04 * u(rng);
    if (hour >= 7 && hour < 23) kw += std::min(4.0, 0.3 * std::exp(1.3 * n(rng)));
    rs.push_back(Reading{t, static_cast<float>(kw * 0.5), 0});
  }
  const int64_t on = kStart + 50 * 86400 + 13 * 3600;
  for (auto& r : rs)
    if (r.ts_s > on && r.ts_s <= on + 9 * 1800) r.energy_kwh += 2.0f * 0.5f;
  auto d = MakeDetector();
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kHighUsage);
  auto it = std::find_if(hits.begin(), hits.end(), [&](const Finding& f) { return f.at_ts > on; });
  ASSERT_NE(it, hits.end()) << "the heater was not found";
  EXPECT_LE(it->at_ts - on, 9 * 1800) << "found only after it was switched off";
  EXPECT_EQ(it->severity, Severity::kMedium);  // by day
  EXPECT_NEAR(it->evidence.load_kw, 2.0, 0.6) << "the alert says how big the load is";
}

TEST(DetectorTest, HolidayWeekCountsAsWeekend) {
  HomeSpec spec;
  spec.weekend_wake_h = 10.5;
  // Five weekdays of late rising declared as public holidays: learned as weekend days, no alarm.
  DetectOptions opts;
  for (int d = 63; d < 68; ++d) {
    int y;
    unsigned m, dd;
    CivilFromDays(kStart / 86400 + d, &y, &m, &dd);
    char b[16];
    std::snprintf(b, sizeof b, "%04d-%02u-%02u", y, m, dd);
    opts.holidays.push_back(b);
  }
  auto rs = MakeRoutine(spec, kStart, 70);
  // Late rising on the holiday days too.
  std::vector<Reading> mixed;
  for (size_t i = 0; i < rs.size(); ++i) {
    const int64_t day = (rs[i].ts_s - 1) / 86400 - kStart / 86400;
    Reading r = rs[i];
    if (day >= 63 && day < 68) {
      const double hour = ((rs[i].ts_s - 900) % 86400) / 3600.0;
      if (hour < 10.5) r.energy_kwh = std::min(r.energy_kwh, 0.07f);
    }
    mixed.push_back(r);
  }
  Detector with(opts, TimeZone::Fixed(0), OneHome());
  Trace run = Feed(with, mixed);
  auto morning = run.Raised(AlertKind::kNoMorningActivity);
  EXPECT_TRUE(std::none_of(morning.begin(), morning.end(), [&](const Finding& f) {
    return f.at_ts >= kStart + 63 * 86400 && f.at_ts < kStart + 68 * 86400;
  }));
}

TEST(DetectorTest, MeterSilenceOpensAndClears) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 40);
  const int64_t gap_from = kStart + 30 * 86400 + 12 * 3600;
  std::vector<Reading> with_gap;
  for (const auto& r : rs)
    if (r.ts_s <= gap_from || r.ts_s > gap_from + 10 * 3600) with_gap.push_back(r);
  Trace run = Feed(d, with_gap);
  auto silent = run.Raised(AlertKind::kMeterSilent);
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_GE(silent[0].at_ts, gap_from + 2 * 3600);
  EXPECT_LE(silent[0].at_ts, gap_from + 3 * 3600);
  EXPECT_FALSE(IsWelfare(silent[0].kind));
  const bool cleared = std::any_of(run.findings.begin(), run.findings.end(), [](const Finding& f) {
    return f.kind == AlertKind::kMeterSilent && f.state == FindingState::kCleared;
  });
  EXPECT_TRUE(cleared);
}

TEST(DetectorTest, MeterSilenceIsSeenWhenTicksFallOnReadingTimes) {
  // Two 15-minute meters; the data-clock tick (every 15 min) coincides with reading times, so
  // readings of one home must not stop the other's silence from being noticed.
  auto registry =
      Registry::FromHouseholds({Household{"H1", "M1", "elderly_alone", "S", "C", "G", ""},
                                Household{"H2", "M2", "elderly_alone", "S", "C", "G", ""}});
  Detector d(DetectOptions{}, TimeZone::Fixed(0), registry);
  HomeSpec spec;
  spec.interval_s = 900;
  auto a = MakeRoutine(spec, kStart, 20, 0), b = MakeRoutine(spec, kStart, 20, 1);
  const int64_t gap_from = kStart + 15 * 86400;
  std::vector<Reading> all;
  for (const auto& r : a)
    if (r.ts_s <= gap_from || r.ts_s > gap_from + 9 * 3600) all.push_back(r);
  all.insert(all.end(), b.begin(), b.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const Reading& x, const Reading& y) { return x.ts_s < y.ts_s; });
  Trace run = Feed(d, all);
  auto silent = run.Raised(AlertKind::kMeterSilent);
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_EQ(silent[0].household, 0u);
  EXPECT_LE(silent[0].at_ts - gap_from, 3 * 3600);
}

TEST(DetectorTest, ExactZerosWhereStandbyNeverIsZeroIsNoPower) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 40);
  const int64_t cut = kStart + 32 * 86400 + 15 * 3600;
  for (auto& r : rs)
    if (r.ts_s > cut && r.ts_s <= cut + 5 * 3600) r.energy_kwh = 0.0f;
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kNoPower);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_LE(hits[0].at_ts - cut, 2 * 3600);
  EXPECT_NE(hits[0].summary_en.find("zero"), std::string::npos);
}

TEST(DetectorTest, DeclineOverAWeekIsReported) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 70);
  const int64_t from = kStart + 50 * 86400;
  for (auto& r : rs) {
    if (r.ts_s <= from) continue;
    const double days = (r.ts_s - from) / 86400.0;
    const double keep = days < 7 ? 1.0 - 0.75 * days / 7 : 0.25;
    const double standby = 0.06;
    r.energy_kwh = static_cast<float>(standby + std::max(0.0, r.energy_kwh - standby) * keep);
  }
  Trace run = Feed(d, rs);
  auto hits = run.Raised(AlertKind::kDecline);
  ASSERT_FALSE(hits.empty());
  EXPECT_GE(hits[0].at_ts, from);
  EXPECT_LE(hits[0].at_ts, from + 14 * 86400);
}

TEST(DetectorTest, UseThatFallsFromOneDayToTheNextIsPagedAtOnceAndIsNoDecline) {
  // From day 50 the home uses a sixth of its usual active energy, from one day to the next, for
  // a week: away with a timer on, or ill in bed. That is paged at once, by the daily total or a
  // quiet-spell alert; a decline is a slope over days, and a second page three days later
  // that calls the same drop a "decline" only repeats it.
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 70);
  const int64_t from = kStart + 50 * 86400;
  for (auto& r : rs) {
    if (r.ts_s <= from || r.ts_s > from + 7 * 86400) continue;
    const double standby = 0.06;
    r.energy_kwh = static_cast<float>(standby + std::max(0.0, r.energy_kwh - standby) / 6);
  }
  Trace run = Feed(d, rs);
  auto first_day = [&](AlertKind k) {
    auto all = run.Raised(k);
    return std::count_if(all.begin(), all.end(), [&](const Finding& f) {
      return f.at_ts > from && f.at_ts <= from + 86400 + 3600;
    });
  };
  EXPECT_GE(first_day(AlertKind::kLowDailyUsage) + first_day(AlertKind::kInactivity) +
                first_day(AlertKind::kFrozen) + first_day(AlertKind::kNoMorningActivity),
            1)
      << "the drop was not paged on its first day";
  EXPECT_TRUE(run.Raised(AlertKind::kDecline).empty());
}

TEST(DetectorTest, TwoDaysAwayAreNoDecline) {
  auto d = MakeDetector();
  auto rs = MakeRoutine(HomeSpec{}, kStart, 70);
  // Away for two days from 07:00 on day 50 (not registered), then back to the routine.
  const int64_t away = kStart + 50 * 86400 + 7 * 3600;
  InjectCollapse(&rs, away, away + 48 * 3600, 0.06);
  Trace run = Feed(d, rs);
  // The quiet days are the acute detectors' (an inactivity alert); the days after them are the
  // home's usual ones, and the recent level still dragged down by the absence is no trend.
  EXPECT_FALSE(run.Raised(AlertKind::kInactivity).empty());
  EXPECT_TRUE(run.Raised(AlertKind::kDecline).empty());
}

TEST(DetectorTest, OutOfOrderReadingsAreIgnoredAndCounted) {
  auto d = MakeDetector();
  std::vector<Finding> out;
  d.Observe(Reading{kStart + 1800, 0.1f, 0}, &out);
  d.Observe(Reading{kStart + 3600, 0.1f, 0}, &out);
  d.Observe(Reading{kStart + 1800, 0.1f, 0}, &out);
  EXPECT_EQ(d.stats().readings, 2u);
  EXPECT_EQ(d.stats().out_of_order, 1u);
}

TEST(DetectorTest, SameInputSameFindings) {
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  InjectCollapse(&rs, kStart + 50 * 86400 + 36000, kStart + 52 * 86400, 0.06);
  auto a = MakeDetector();
  auto b = MakeDetector();
  Trace ra = Feed(a, rs), rb = Feed(b, rs);
  ASSERT_EQ(ra.findings.size(), rb.findings.size());
  for (size_t i = 0; i < ra.findings.size(); ++i) {
    EXPECT_EQ(ra.findings[i].at_ts, rb.findings[i].at_ts);
    EXPECT_EQ(ra.findings[i].kind, rb.findings[i].kind);
    EXPECT_EQ(ra.findings[i].summary_en, rb.findings[i].summary_en);
  }
}

TEST(DetectorTest, CheckpointRestoreContinuesIdentically) {
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  InjectCollapse(&rs, kStart + 50 * 86400 + 36000, kStart + 52 * 86400, 0.06);
  const size_t half = rs.size() * 3 / 4;
  std::vector<Reading> first(rs.begin(), rs.begin() + half), second(rs.begin() + half, rs.end());

  auto whole = MakeDetector();
  Trace all = Feed(whole, rs);

  auto before = MakeDetector();
  Feed(before, first);
  std::stringstream ckpt;
  before.Save(ckpt);
  auto after = MakeDetector();
  ASSERT_TRUE(after.Load(ckpt));
  Trace rest = Feed(after, second);
  std::vector<Finding> tail;
  for (const auto& f : all.findings)
    if (f.at_ts > first.back().ts_s) tail.push_back(f);
  ASSERT_EQ(rest.findings.size(), tail.size());
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_EQ(rest.findings[i].at_ts, tail[i].at_ts);
    EXPECT_EQ(rest.findings[i].kind, tail[i].kind);
  }
}

TEST(DetectorTest, LoadRejectsForeignData) {
  auto d = MakeDetector();
  std::stringstream junk("not a checkpoint at all, just text");
  EXPECT_FALSE(d.Load(junk));
  Detector other(DetectOptions{}, TimeZone::Fixed(0), OneHome(), 1, 2);
  std::stringstream ckpt;
  d.Save(ckpt);
  EXPECT_FALSE(other.Load(ckpt)) << "a checkpoint of another shard must not load";
}

TEST(DetectorTest, ResidentFineFeedbackMakesInactivityLessSensitive) {
  auto rs = MakeRoutine(HomeSpec{}, kStart, 60);
  const int64_t quiet = kStart + 50 * 86400 + 10 * 3600;
  InjectCollapse(&rs, quiet, quiet + 30 * 3600, 0.06);
  std::vector<Reading> before, after;
  for (const auto& r : rs) (r.ts_s <= kStart + 48 * 86400 ? before : after).push_back(r);
  auto plain = MakeDetector();
  auto tuned = MakeDetector();
  Feed(plain, before);
  Feed(tuned, before);
  // A worker closed earlier inactivity alerts of this home as "resident fine".
  tuned.AdjustSensitivity(0, AlertKind::kInactivity, 3);
  Trace a = Feed(plain, after), b = Feed(tuned, after);
  auto first_after = [&](const Trace& t) {
    for (const auto& f : t.Raised(AlertKind::kInactivity))
      if (f.at_ts >= quiet) return f.at_ts;
    return int64_t{0};
  };
  ASSERT_NE(first_after(a), 0);
  const int64_t tb = first_after(b);
  EXPECT_TRUE(tb == 0 || tb > first_after(a)) << "feedback did not delay the alert";
}

// The usual routine for `days` days, at standby from 10:00 of each (day, hours) given.
std::vector<Reading> RoutineQuietFrom10(int days,
                                        std::initializer_list<std::pair<int, int>> quiet) {
  auto rs = MakeRoutine(HomeSpec{}, kStart, days);
  for (const auto& [day, hours] : quiet) {
    const int64_t from = kStart + day * 86400 + 10 * 3600;
    InjectCollapse(&rs, from, from + hours * 3600, 0.06);
  }
  return rs;
}

// A person answers the first inactivity alert raised after `from`, `after_s` later: the time
// of the alert (0 if there was none), the findings of the answer, and what followed it.
struct Answered {
  int64_t alert = 0, at = 0;
  std::vector<Finding> at_answer;
  Trace rest;
};
Answered AnswerFirstQuietAlert(const std::vector<Reading>& rs, int64_t from, int64_t after_s,
                               Answer answer) {
  Answered a;
  auto probe = MakeDetector();
  const std::optional<Finding> alert =
      FirstRaisedAfter(Feed(probe, rs).Raised(AlertKind::kInactivity), from);
  if (!alert) return a;
  a.alert = alert->at_ts;
  a.at = a.alert + after_s;
  std::vector<Reading> before, rest;
  for (const auto& r : rs) (r.ts_s <= a.at ? before : rest).push_back(r);
  auto d = MakeDetector();
  Feed(d, before);
  d.Answered(0, a.at, answer, &a.at_answer);
  a.rest = Feed(d, rest);
  return a;
}

TEST(DetectorTest, AnAnswerThatTheResidentIsAwayHoldsTheQuietKindsForADay) {
  // 10:00 on day 50 the home goes quiet for 40 h (a day out and a night away, unregistered).
  // Its inactivity alert is answered "away" two hours after it opened: for a day the next
  // morning's check must not page again for the same quiet home; a twin detector that got no
  // answer shows the page the answer saves. The resident is back on day 52 and falls on day 56:
  // that is paged.
  const auto rs = RoutineQuietFrom10(60, {{50, 40}, {56, 24}});
  const int64_t out = kStart + 50 * 86400 + 10 * 3600;
  const int64_t fall = kStart + 56 * 86400 + 10 * 3600;
  const Answered a = AnswerFirstQuietAlert(rs, out, 2 * 3600, Answer::kAway);
  ASSERT_NE(a.alert, 0) << "the quiet day raised nothing";
  ASSERT_LT(a.alert, out + 20 * 3600);
  auto quiet_kind = [](AlertKind k) {
    return k == AlertKind::kInactivity || k == AlertKind::kFrozen ||
           k == AlertKind::kNoMorningActivity || k == AlertKind::kLowDailyUsage;
  };
  auto count_quiet = [&](const Trace& t, int64_t from, int64_t to) {
    return std::count_if(t.findings.begin(), t.findings.end(), [&](const Finding& f) {
      return f.state == FindingState::kRaised && quiet_kind(f.kind) && f.at_ts > from &&
             f.at_ts <= to;
    });
  };
  // Without an answer, something pages again before the home is active (else the test shows
  // nothing: the morning check is what an unanswered home raises next).
  auto plain = MakeDetector();
  const int64_t held_to = a.at + Detector::kAwayHoldH * 3600;
  ASSERT_GT(count_quiet(Feed(plain, rs), a.at, held_to), 0)
      << "nothing pages again for the same quiet home: this trace cannot show the hold";
  EXPECT_TRUE(a.at_answer.empty()) << "an away answer closed the episode";
  EXPECT_EQ(count_quiet(a.rest, a.at, held_to - 1), 0)
      << "the away home paged again within the day";
  EXPECT_TRUE(std::any_of(a.rest.findings.begin(), a.rest.findings.end(), [&](const Finding& f) {
    return f.state == FindingState::kCleared && f.kind == AlertKind::kInactivity &&
           f.at_ts > out + 40 * 3600 && f.at_ts < out + 48 * 3600;
  })) << "the held episode did not close when the resident came back";
  const std::optional<Finding> later =
      FirstRaisedAfter(a.rest.Raised(AlertKind::kInactivity), fall);
  ASSERT_TRUE(later.has_value()) << "the fall after the return was not paged";
  EXPECT_LT(later->at_ts, fall + 24 * 3600);
}

TEST(DetectorTest, AnAwayHoldEndsAfterADayEvenIfTheHomeStaysQuiet) {
  // The same quiet home, quiet for four days: an away answer holds one day, not the absence
  // (a longer one is registered as an absence); after it the home's quiet pages again.
  const auto rs = RoutineQuietFrom10(60, {{50, 96}});
  const int64_t out = kStart + 50 * 86400 + 10 * 3600;
  const Answered a = AnswerFirstQuietAlert(rs, out, 3600, Answer::kAway);
  ASSERT_NE(a.alert, 0);
  const auto again = a.rest.RaisedWelfareAfter(a.at);
  ASSERT_FALSE(again.empty()) << "four quiet days after the answer paged nothing";
  EXPECT_GE(again.front().at_ts, a.at + Detector::kAwayHoldH * 3600);
  EXPECT_LT(again.front().at_ts, out + 96 * 3600);
}

TEST(DetectorTest, AnAnswerThatTheResidentIsFineCountsTheQuietAgainFromIt) {
  // A 48-h quiet spell alerts; a worker finds the resident well two hours later (dozing, the
  // television off). The episode closes at the answer, and the same quiet pages again only
  // when, counted from the answer, it is as long as this home's own spells allow: not at once,
  // and not never (without the answer the open episode would never page again).
  const auto rs = RoutineQuietFrom10(60, {{50, 48}});
  const int64_t quiet = kStart + 50 * 86400 + 10 * 3600;
  const Answered a = AnswerFirstQuietAlert(rs, quiet, 2 * 3600, Answer::kSeenWell);
  ASSERT_NE(a.alert, 0);
  ASSERT_EQ(a.at_answer.size(), 1u) << "the open episode did not close at the answer";
  EXPECT_EQ(a.at_answer[0].kind, AlertKind::kInactivity);
  EXPECT_EQ(a.at_answer[0].state, FindingState::kCleared);
  const std::optional<Finding> again =
      FirstRaisedAfter(a.rest.Raised(AlertKind::kInactivity), a.at);
  ASSERT_TRUE(again.has_value()) << "the quiet went on 30 h after the answer and paged nothing";
  EXPECT_GE(again->evidence.since_ts, a.at) << "the spell was not counted from the answer";
  EXPECT_GE(again->at_ts - a.at, static_cast<int64_t>(3 * 3600));
  EXPECT_LT(again->at_ts, quiet + 48 * 3600);
}

TEST(DetectorTest, AQuietSpellAnsweredSeenWellIsLearnedAndOneAttendedIsNot) {
  // Day 40 (past the four weeks before a home's own spells count): quiet from 10:00 for 16 h,
  // longer than any spell of this routine. Its alert is answered an hour later. Seen well: that
  // quiet was this home's life, and a spell as long at the same hour on day 43 does not page,
  // or pages later; attended (someone had to come): nothing is learned, and day 43 pages as day
  // 40 did.
  const auto rs = RoutineQuietFrom10(50, {{40, 16}, {43, 16}});
  const int64_t first = kStart + 40 * 86400 + 10 * 3600;
  const int64_t again = kStart + 43 * 86400 + 10 * 3600;
  const Answered well = AnswerFirstQuietAlert(rs, first, 3600, Answer::kSeenWell);
  const Answered came = AnswerFirstQuietAlert(rs, first, 3600, Answer::kAttended);
  ASSERT_NE(well.alert, 0) << "the first long quiet raised nothing";
  ASSERT_LT(well.alert, first + 15 * 3600) << "no hour left to answer it in";
  const std::optional<Finding> after_came =
      FirstRaisedAfter(came.rest.Raised(AlertKind::kInactivity), again);
  ASSERT_TRUE(after_came.has_value()) << "attended: the second quiet did not page";
  const std::optional<Finding> after_well =
      FirstRaisedAfter(well.rest.Raised(AlertKind::kInactivity), again);
  EXPECT_TRUE(!after_well.has_value() || after_well->at_ts > after_came->at_ts)
      << "seen well: the same quiet paged as soon as before";
}

TEST(DetectorTest, ExpectedBandFollowsTheRoutine) {
  auto d = MakeDetector();
  Feed(d, MakeRoutine(HomeSpec{}, kStart, 40));
  const int64_t day = kStart + 40 * 86400;
  auto band = d.ExpectedBand(0, day, day + 86400);
  ASSERT_EQ(band.size(), 48u);
  const auto& night = band[6];     // 03:00
  const auto& evening = band[39];  // 19:30
  EXPECT_GT(evening.expected_kwh, night.expected_kwh);
  EXPECT_LE(night.low_kwh, night.expected_kwh);
  EXPECT_LE(evening.expected_kwh, evening.high_kwh);
}

}  // namespace
}  // namespace gridwatch
