#include "ingest/reject_reason.h"

namespace gridwatch {

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMalformedJson:
      return "malformed_json";
    case RejectReason::kMissingField:
      return "missing_field";
    case RejectReason::kBadType:
      return "bad_type";
    case RejectReason::kUnknownMeter:
      return "unknown_meter";
    case RejectReason::kBadTimestamp:
      return "bad_timestamp";
    case RejectReason::kFutureTimestamp:
      return "future_timestamp";
    case RejectReason::kNegativeEnergy:
      return "negative_energy";
    case RejectReason::kNotFinite:
      return "not_finite";
    case RejectReason::kImplausibleEnergy:
      return "implausible_energy";
    case RejectReason::kDuplicate:
      return "duplicate";
    case RejectReason::kTooLate:
      return "too_late";
    case RejectReason::kOutOfOrder:
      return "out_of_order";
    case RejectReason::kRegisterReset:
      return "register_reset";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

const std::array<RejectReason, kRejectReasonCount>& AllRejectReasons() {
  static const auto k = [] {
    std::array<RejectReason, kRejectReasonCount> a{};
    for (std::size_t i = 0; i < kRejectReasonCount; ++i) a[i] = static_cast<RejectReason>(i);
    return a;
  }();
  return k;
}

}  // namespace gridwatch
