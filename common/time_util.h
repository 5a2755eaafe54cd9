// Time helpers shared by every stage: RFC 3339 parsing and formatting, civil-date arithmetic.
// Times are int64 epoch seconds (UTC). All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gridwatch {

// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" (a space instead of 'T' is accepted) into epoch
// seconds, truncating fractions. Returns nullopt for anything else, including out-of-range fields
// and a missing offset.
std::optional<int64_t> ParseRfc3339(std::string_view s);

// Parses either RFC 3339 or an integer number of epoch seconds.
std::optional<int64_t> ParseTimestamp(std::string_view s);

// "2026-11-27T00:15:00Z".
std::string FormatRfc3339Utc(int64_t epoch_s);

// "2026-11-27T08:15:00+08:00" for a local offset in seconds east of UTC.
std::string FormatRfc3339(int64_t epoch_s, int32_t offset_s);

// Days since 1970-01-01 for a civil date (proleptic Gregorian), and back.
int64_t DaysFromCivil(int y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int* y, unsigned* m, unsigned* d);

// Floor division for negative epoch values.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// 0 = Monday ... 6 = Sunday for a day number from DaysFromCivil.
inline int WeekdayFromDays(int64_t days) { return static_cast<int>(((days % 7) + 7 + 3) % 7); }

}  // namespace gridwatch
