// TimeZone: a named IANA time zone ("Asia/Shanghai", "Europe/London") loaded once from the
// system's TZif files (/usr/share/zoneinfo), answering "what is the UTC offset at this instant"
// by binary search over its transitions. Detection needs local time of day and local dates;
// libstdc++ 12 has no std::chrono::tzdb, and localtime_r depends on the process-wide TZ.
//
// Immutable after Load; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gridwatch {

class TimeZone {
 public:
  // Loads `name` from `zoneinfo_dir`. "UTC" and "Z" always work, even without tzdata.
  // Throws std::runtime_error naming the zone if it cannot be read.
  static std::shared_ptr<const TimeZone> Load(
      const std::string& name, const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
  // A zone with a fixed offset (seconds east of UTC).
  static std::shared_ptr<const TimeZone> Fixed(int32_t offset_s, std::string name = "UTC");

  const std::string& name() const { return name_; }
  // Seconds east of UTC in force at `utc_s`.
  int32_t OffsetAt(int64_t utc_s) const;
  // Local wall-clock seconds (utc + offset): use FloorDiv(local, 86400) for the local day.
  int64_t ToLocal(int64_t utc_s) const { return utc_s + OffsetAt(utc_s); }

 private:
  std::string name_;
  std::vector<int64_t> transitions_;  // UTC instants, ascending
  std::vector<int32_t> offsets_;      // offsets_[i] in force from transitions_[i]
  int32_t initial_offset_ = 0;        // before the first transition
};

}  // namespace gridwatch
