// PayloadParser: turns one MQTT payload into meter readings (DESIGN.md "Readings over MQTT"): a
// single reading object, an array of them, or {"readings": [...]}. A reading is
// {"meter": string, "ts": RFC 3339 string or epoch seconds (number or digit string),
//  "kwh": number | "register_kwh": number}; other fields are ignored. Items are judged one by
// one: a batch with a bad item keeps the good ones. Uses simdjson (DOM) and reuses its buffers.
// JSON has no NaN/Infinity: a bare NaN or an overflowing number (1e999) makes the whole message
// malformed_json; the strings "NaN"/"Infinity"/"inf" as energy are not_finite.
//
// Confined to one thread (the ingest thread); results are plain values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/reject_reason.h"

namespace gridwatch {

struct ParsedReading {
  std::string meter;
  int64_t ts_s = 0;        // end of the interval, epoch seconds
  double value_kwh = 0.0;  // interval energy, or the cumulative register when is_register
  bool is_register = false;
  int index = 0;  // position in the message (0 for a single object)
};

struct ParseReject {
  RejectReason reason = RejectReason::kMalformedJson;
  std::string detail;  // human-readable, no personal data beyond the meter id
  int index = -1;      // item position, -1 when the whole message is refused
};

struct ParseResult {
  std::vector<ParsedReading> readings;
  std::vector<ParseReject> rejects;
  void Clear() {
    readings.clear();
    rejects.clear();
  }
};

class PayloadParser {
 public:
  PayloadParser();
  ~PayloadParser();
  PayloadParser(const PayloadParser&) = delete;
  PayloadParser& operator=(const PayloadParser&) = delete;

  // Parses `payload` into `out` (cleared first). Never throws; a message that is not JSON, or
  // whose top level is not an object/array, gives one whole-message reject (index -1).
  void Parse(std::string_view payload, ParseResult* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch
