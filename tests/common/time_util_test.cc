#include "common/time_util.h"

#include <gtest/gtest.h>

namespace gridwatch {
namespace {

TEST(TimeUtilTest, ParsesUtc) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("2013-01-01T00:30:00Z"), 1357000200);
  EXPECT_EQ(ParseRfc3339("2026-11-27T00:15:00Z"), 1795738500);
  // Space separator.
  EXPECT_EQ(ParseRfc3339("2013-01-01 00:30:00Z"), 1357000200);
}

TEST(TimeUtilTest, ParsesOffsets) {
  EXPECT_EQ(ParseRfc3339("2013-01-01T08:30:00+08:00"), 1357000200);
  EXPECT_EQ(ParseRfc3339("2012-12-31T19:00:00-05:30"), 1357000200);
  EXPECT_EQ(ParseRfc3339("2013-01-01T00:30:00+00:00"), 1357000200);
}

TEST(TimeUtilTest, TruncatesFractions) {
  EXPECT_EQ(ParseRfc3339("2013-01-01T00:30:00.999Z"), 1357000200);
  EXPECT_EQ(ParseRfc3339("2013-01-01T00:30:00.5+08:00"), 1357000200 - 8 * 3600);
  // Before the epoch, truncation is still to the whole second written.
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59.5Z"), -1);
}

TEST(TimeUtilTest, RejectsBadInput) {
  for (const char* bad :
       {"", "2013-01-01", "2013-01-01T00:30:00", "2013-13-01T00:00:00Z", "2013-02-30T00:00:00Z",
        "2013-01-01T24:00:00Z", "2013-01-01T00:60:00Z", "2013-01-01T00:00:00+25:00",
        "2013-01-01T00:00:00Zjunk", "garbage", "2013-1-1T00:00:00Z", "2013-01-01T00:00:00.Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(TimeUtilTest, ParseTimestampAcceptsEpochSeconds) {
  EXPECT_EQ(ParseTimestamp("1357000200"), 1357000200);
  EXPECT_EQ(ParseTimestamp("2013-01-01T00:30:00Z"), 1357000200);
  EXPECT_FALSE(ParseTimestamp("12abc").has_value());
  EXPECT_FALSE(ParseTimestamp("").has_value());
}

TEST(TimeUtilTest, Formats) {
  EXPECT_EQ(FormatRfc3339Utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Utc(1795738500), "2026-11-27T00:15:00Z");
  EXPECT_EQ(FormatRfc3339(1795738500, 8 * 3600), "2026-11-27T08:15:00+08:00");
  EXPECT_EQ(FormatRfc3339(1795738500, -(5 * 3600 + 1800)), "2026-11-26T18:45:00-05:30");
  EXPECT_EQ(FormatRfc3339Utc(-1), "1969-12-31T23:59:59Z");
}

TEST(TimeUtilTest, RoundTrips) {
  for (int64_t t : {int64_t{0}, int64_t{951782400} /* 2000-02-29 */, int64_t{1357000200},
                    int64_t{4102444799}}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339Utc(t)), t);
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(t, 3600)), t);
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(t, -7200)), t);
  }
}

TEST(TimeUtilTest, CivilDays) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  int y;
  unsigned m, d;
  CivilFromDays(11016, &y, &m, &d);
  EXPECT_EQ(y, 2000);
  EXPECT_EQ(m, 2u);
  EXPECT_EQ(d, 29u);
  EXPECT_EQ(WeekdayFromDays(0), 3);  // 1970-01-01 was a Thursday
  EXPECT_EQ(FloorDiv(-1, 86400), -1);
  EXPECT_EQ(FloorDiv(86399, 86400), 0);
}

}  // namespace
}  // namespace gridwatch
