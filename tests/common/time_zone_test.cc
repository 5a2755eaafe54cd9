#include "common/time_zone.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "common/time_util.h"

namespace gridwatch {
namespace {

int64_t T(const char* s) { return *ParseRfc3339(s); }

TEST(TimeZoneTest, EuropeLondonSwitchesForSummerTime) {
  auto tz = TimeZone::Load("Europe/London");
  EXPECT_EQ(tz->name(), "Europe/London");
  EXPECT_EQ(tz->OffsetAt(T("2013-01-15T12:00:00Z")), 0);
  EXPECT_EQ(tz->OffsetAt(T("2013-07-15T12:00:00Z")), 3600);
  // BST 2013 began 2013-03-31 01:00 UTC.
  EXPECT_EQ(tz->OffsetAt(T("2013-03-31T00:59:59Z")), 0);
  EXPECT_EQ(tz->OffsetAt(T("2013-03-31T01:00:00Z")), 3600);
  EXPECT_EQ(tz->ToLocal(T("2013-07-15T12:00:00Z")), T("2013-07-15T13:00:00Z"));
}

TEST(TimeZoneTest, AsiaShanghaiIsUtcPlus8) {
  auto tz = TimeZone::Load("Asia/Shanghai");
  EXPECT_EQ(tz->OffsetAt(T("2013-01-15T12:00:00Z")), 28800);
  EXPECT_EQ(tz->OffsetAt(T("2026-07-15T12:00:00Z")), 28800);
}

TEST(TimeZoneTest, UtcAndFixed) {
  auto utc = TimeZone::Load("UTC");
  EXPECT_EQ(utc->OffsetAt(0), 0);
  EXPECT_EQ(utc->OffsetAt(T("2013-07-15T12:00:00Z")), 0);
  auto fixed = TimeZone::Fixed(-18000, "EST");
  EXPECT_EQ(fixed->name(), "EST");
  EXPECT_EQ(fixed->OffsetAt(T("2013-07-15T12:00:00Z")), -18000);
}

TEST(TimeZoneTest, UnknownZoneThrowsNamingIt) {
  try {
    TimeZone::Load("Mars/Olympus");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Mars/Olympus"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gridwatch
