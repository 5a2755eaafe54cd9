#include "ingest/payload_parser.h"

#include <simdjson.h>

#include <cmath>
#include <string>

#include "common/time_util.h"

namespace gridwatch {
namespace {

std::string_view TypeName(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY:
      return "array";
    case T::OBJECT:
      return "object";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
      return "number";
    case T::STRING:
      return "string";
    case T::BOOL:
      return "bool";
    case T::NULL_VALUE:
      return "null";
  }
  return "?";
}

bool IsNumber(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  return t == T::INT64 || t == T::UINT64 || t == T::DOUBLE;
}

double AsDouble(simdjson::dom::element e) {
  using T = simdjson::dom::element_type;
  switch (e.type()) {
    case T::INT64:
      return static_cast<double>(int64_t(e));
    case T::UINT64:
      return static_cast<double>(uint64_t(e));
    default:
      return double(e);
  }
}

// Parses one reading object; appends to out->readings or out->rejects.
void ParseItem(simdjson::dom::element item, int index, ParseResult* out) {
  auto reject = [&](RejectReason r, std::string detail) {
    out->rejects.push_back({r, std::move(detail), index});
  };
  simdjson::dom::object obj;
  if (item.get_object().get(obj) != simdjson::SUCCESS) {
    reject(RejectReason::kBadType,
           "reading is a " + std::string(TypeName(item.type())) + ", not an object");
    return;
  }
  ParsedReading r;
  r.index = index;

  simdjson::dom::element meter;
  if (obj["meter"].get(meter) != simdjson::SUCCESS) {
    reject(RejectReason::kMissingField, "missing \"meter\"");
    return;
  }
  std::string_view meter_sv;
  if (meter.get_string().get(meter_sv) != simdjson::SUCCESS) {
    reject(RejectReason::kBadType, "\"meter\" is a " + std::string(TypeName(meter.type())));
    return;
  }
  if (meter_sv.empty()) {
    reject(RejectReason::kMissingField, "\"meter\" is empty");
    return;
  }
  r.meter.assign(meter_sv);

  simdjson::dom::element ts;
  if (obj["ts"].get(ts) != simdjson::SUCCESS) {
    reject(RejectReason::kMissingField, "missing \"ts\"");
    return;
  }
  if (ts.is_string()) {
    std::string_view s = ts.get_string().value_unsafe();
    auto parsed = ParseTimestamp(s);
    if (!parsed) {
      reject(RejectReason::kBadTimestamp, "\"ts\" is not RFC 3339 or epoch seconds");
      return;
    }
    r.ts_s = *parsed;
  } else if (IsNumber(ts.type())) {
    double d = AsDouble(ts);
    // Epoch seconds; fractions are truncated like RFC 3339 fractions.
    if (!std::isfinite(d) || d < 0 || d > 253402300799.0) {
      reject(RejectReason::kBadTimestamp, "\"ts\" number out of range");
      return;
    }
    r.ts_s = static_cast<int64_t>(d);
  } else {
    reject(RejectReason::kBadType, "\"ts\" is a " + std::string(TypeName(ts.type())));
    return;
  }

  simdjson::dom::element value;
  if (obj["kwh"].get(value) == simdjson::SUCCESS) {
    r.is_register = false;
  } else if (obj["register_kwh"].get(value) == simdjson::SUCCESS) {
    r.is_register = true;
  } else {
    reject(RejectReason::kMissingField, "missing \"kwh\" or \"register_kwh\"");
    return;
  }
  if (value.is_string()) {
    // JSON has no NaN/Infinity; firmware that wants to say so sends a string.
    std::string_view v = value.get_string().value_unsafe();
    if (v == "NaN" || v == "nan" || v == "Infinity" || v == "-Infinity" || v == "inf" ||
        v == "-inf") {
      reject(RejectReason::kNotFinite,
             std::string(r.is_register ? "\"register_kwh\"" : "\"kwh\"") + " is " + std::string(v));
      return;
    }
  }
  if (!IsNumber(value.type())) {
    reject(RejectReason::kBadType, std::string(r.is_register ? "\"register_kwh\"" : "\"kwh\"") +
                                       " is a " + std::string(TypeName(value.type())));
    return;
  }
  r.value_kwh = AsDouble(value);
  out->readings.push_back(std::move(r));
}

}  // namespace

struct PayloadParser::Impl {
  simdjson::dom::parser parser;
};

PayloadParser::PayloadParser() : impl_(std::make_unique<Impl>()) {}
PayloadParser::~PayloadParser() = default;

void PayloadParser::Parse(std::string_view payload, ParseResult* out) {
  out->Clear();
  simdjson::dom::element root;
  auto error = impl_->parser.parse(payload.data(), payload.size(), true).get(root);
  if (error != simdjson::SUCCESS) {
    out->rejects.push_back(
        {RejectReason::kMalformedJson, std::string(simdjson::error_message(error)), -1});
    return;
  }
  simdjson::dom::array items;
  if (root.is_object()) {
    simdjson::dom::element batch;
    if (root["readings"].get(batch) != simdjson::SUCCESS) {
      ParseItem(root, 0, out);
      return;
    }
    if (batch.get_array().get(items) != simdjson::SUCCESS) {
      out->rejects.push_back(
          {RejectReason::kBadType, "\"readings\" is a " + std::string(TypeName(batch.type())), -1});
      return;
    }
  } else if (root.get_array().get(items) != simdjson::SUCCESS) {
    out->rejects.push_back(
        {RejectReason::kMalformedJson,
         "top level is a " + std::string(TypeName(root.type())) + ", not an object or array", -1});
    return;
  }
  int index = 0;
  for (simdjson::dom::element item : items) ParseItem(item, index++, out);
}

}  // namespace gridwatch
