// RejectReason: why ingest refused a reading (or a whole message). Each reason has a stable
// snake_case name that is the `reason` label of gridwatch_readings_rejected_total and the
// "reason" field of dead-letter messages; never rename one.
//
// Plain enum and pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace gridwatch {

enum class RejectReason : uint8_t {
  kMalformedJson,      // the payload is not JSON, or not an object/array of objects
  kMissingField,       // meter, ts, or kwh/register_kwh absent
  kBadType,            // a field of the wrong JSON type (meter not a string, kwh a string, ...)
  kUnknownMeter,       // the meter is not in the households registry
  kBadTimestamp,       // ts unparsable, or before 2000-01-01
  kFutureTimestamp,    // ts further than IngestOptions::max_future_s ahead of the wall clock
  kNegativeEnergy,     // kwh or register_kwh < 0
  kNotFinite,          // NaN or infinity
  kImplausibleEnergy,  // kwh above max_kwh_per_hour over the meter's interval
  kDuplicate,          // the same (meter, ts) was already taken
  kTooLate,            // older than the newest reading of the meter minus late_window_s
  kOutOfOrder,         // older than a reading of the meter already handed to detect
  kRegisterReset,      // a register went backwards or jumped implausibly: new baseline
  kCount
};

inline constexpr std::size_t kRejectReasonCount = static_cast<std::size_t>(RejectReason::kCount);

// The stable label ("malformed_json", ...).
std::string_view RejectReasonName(RejectReason reason);

// Every reason, in enum order (for pre-creating metric series).
const std::array<RejectReason, kRejectReasonCount>& AllRejectReasons();

}  // namespace gridwatch
