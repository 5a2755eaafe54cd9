// PayloadParser: single, array and batch messages; ts forms; every malformed form.
#include "ingest/payload_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "common/time_util.h"

namespace gridwatch {
namespace {

class PayloadParserTest : public ::testing::Test {
 protected:
  ParseResult Parse(std::string_view payload) {
    ParseResult r;
    parser_.Parse(payload, &r);
    return r;
  }
  PayloadParser parser_;
};

TEST_F(PayloadParserTest, SingleReadingWithRfc3339Offset) {
  auto r = Parse(R"({"meter":"M1","ts":"2026-11-27T08:15:00+08:00","kwh":0.125})");
  ASSERT_EQ(r.rejects.size(), 0u);
  ASSERT_EQ(r.readings.size(), 1u);
  EXPECT_EQ(r.readings[0].meter, "M1");
  EXPECT_EQ(r.readings[0].ts_s, *ParseRfc3339("2026-11-27T00:15:00Z"));
  EXPECT_DOUBLE_EQ(r.readings[0].value_kwh, 0.125);
  EXPECT_FALSE(r.readings[0].is_register);
  EXPECT_EQ(r.readings[0].index, 0);
}

TEST_F(PayloadParserTest, EpochSecondsAsIntegerFloatAndString) {
  auto r = Parse(R"([{"meter":"M1","ts":1795852800,"kwh":1},
                     {"meter":"M1","ts":1795853700.9,"kwh":2},
                     {"meter":"M1","ts":"1795854600","kwh":3}])");
  ASSERT_EQ(r.rejects.size(), 0u);
  ASSERT_EQ(r.readings.size(), 3u);
  EXPECT_EQ(r.readings[0].ts_s, 1795852800);
  EXPECT_EQ(r.readings[1].ts_s, 1795853700);  // truncated
  EXPECT_EQ(r.readings[2].ts_s, 1795854600);
  EXPECT_EQ(r.readings[2].index, 2);
}

TEST_F(PayloadParserTest, UtcAndNegativeOffsetsAgree) {
  auto r = Parse(R"([{"meter":"M1","ts":"2026-11-27T00:15:00Z","kwh":1},
                     {"meter":"M1","ts":"2026-11-26T19:15:00-05:00","kwh":1}])");
  ASSERT_EQ(r.readings.size(), 2u);
  EXPECT_EQ(r.readings[0].ts_s, r.readings[1].ts_s);
}

TEST_F(PayloadParserTest, RegisterReading) {
  auto r = Parse(R"({"meter":"M9","ts":1795852800,"register_kwh":12345.67,"extra":true})");
  ASSERT_EQ(r.readings.size(), 1u);
  EXPECT_TRUE(r.readings[0].is_register);
  EXPECT_DOUBLE_EQ(r.readings[0].value_kwh, 12345.67);
}

TEST_F(PayloadParserTest, BatchKeepsGoodItemsAndRejectsBadOnes) {
  auto r = Parse(R"({"readings":[
      {"meter":"M1","ts":1795852800,"kwh":0.1},
      {"meter":"M2","kwh":0.1},
      {"meter":"M3","ts":"yesterday","kwh":0.1},
      {"meter":"M4","ts":1795852800,"kwh":"0.1"},
      42,
      {"meter":"M5","ts":1795852800,"register_kwh":7}]})");
  ASSERT_EQ(r.readings.size(), 2u);
  EXPECT_EQ(r.readings[0].meter, "M1");
  EXPECT_EQ(r.readings[1].meter, "M5");
  EXPECT_EQ(r.readings[1].index, 5);
  ASSERT_EQ(r.rejects.size(), 4u);
  EXPECT_EQ(r.rejects[0].reason, RejectReason::kMissingField);
  EXPECT_EQ(r.rejects[0].index, 1);
  EXPECT_EQ(r.rejects[1].reason, RejectReason::kBadTimestamp);
  EXPECT_EQ(r.rejects[1].index, 2);
  EXPECT_EQ(r.rejects[2].reason, RejectReason::kBadType);
  EXPECT_EQ(r.rejects[2].index, 3);
  EXPECT_EQ(r.rejects[3].reason, RejectReason::kBadType);
  EXPECT_EQ(r.rejects[3].index, 4);
}

TEST_F(PayloadParserTest, EmptyArrayIsNothing) {
  auto r = Parse("[]");
  EXPECT_TRUE(r.readings.empty());
  EXPECT_TRUE(r.rejects.empty());
}

struct Malformed {
  const char* payload;
  RejectReason reason;
  int index;
};

class MalformedTest : public PayloadParserTest, public ::testing::WithParamInterface<Malformed> {};

TEST_P(MalformedTest, RejectsWithReason) {
  auto r = Parse(GetParam().payload);
  EXPECT_TRUE(r.readings.empty()) << GetParam().payload;
  ASSERT_EQ(r.rejects.size(), 1u) << GetParam().payload;
  EXPECT_EQ(RejectReasonName(r.rejects[0].reason), RejectReasonName(GetParam().reason))
      << GetParam().payload << " detail: " << r.rejects[0].detail;
  EXPECT_EQ(r.rejects[0].index, GetParam().index);
  EXPECT_FALSE(r.rejects[0].detail.empty());
}

INSTANTIATE_TEST_SUITE_P(
    AllForms, MalformedTest,
    ::testing::Values(
        Malformed{"", RejectReason::kMalformedJson, -1},
        Malformed{"not json", RejectReason::kMalformedJson, -1},
        Malformed{R"({"meter":"M1","ts":1795852800,"kwh":0.1)", RejectReason::kMalformedJson, -1},
        Malformed{R"({"meter":"M1","ts":1795852800,"kwh":NaN})", RejectReason::kMalformedJson, -1},
        Malformed{R"({"meter":"M1","ts":1795852800,"kwh":1e999})", RejectReason::kMalformedJson,
                  -1},
        Malformed{"\"a string\"", RejectReason::kMalformedJson, -1},
        Malformed{"12", RejectReason::kMalformedJson, -1},
        Malformed{"null", RejectReason::kMalformedJson, -1},
        Malformed{R"({"readings":{"meter":"M1"}})", RejectReason::kBadType, -1},
        Malformed{R"({"ts":1795852800,"kwh":0.1})", RejectReason::kMissingField, 0},
        Malformed{R"({"meter":"","ts":1795852800,"kwh":0.1})", RejectReason::kMissingField, 0},
        Malformed{R"({"meter":"M1","kwh":0.1})", RejectReason::kMissingField, 0},
        Malformed{R"({"meter":"M1","ts":1795852800})", RejectReason::kMissingField, 0},
        Malformed{R"({"meter":17,"ts":1795852800,"kwh":0.1})", RejectReason::kBadType, 0},
        Malformed{R"({"meter":"M1","ts":true,"kwh":0.1})", RejectReason::kBadType, 0},
        Malformed{R"({"meter":"M1","ts":1795852800,"kwh":null})", RejectReason::kBadType, 0},
        Malformed{R"({"meter":"M1","ts":1795852800,"register_kwh":[1]})", RejectReason::kBadType,
                  0},
        Malformed{R"({"meter":"M1","ts":"2026-11-27T08:15:00","kwh":0.1})",
                  RejectReason::kBadTimestamp, 0},
        Malformed{R"({"meter":"M1","ts":"2026-13-01T00:00:00Z","kwh":0.1})",
                  RejectReason::kBadTimestamp, 0},
        Malformed{R"({"meter":"M1","ts":-5,"kwh":0.1})", RejectReason::kBadTimestamp, 0},
        Malformed{R"([["M1",1795852800,0.1]])", RejectReason::kBadType, 0},
        Malformed{R"({"meter":"M1","ts":1795852800,"kwh":"NaN"})", RejectReason::kNotFinite, 0},
        Malformed{R"({"meter":"M1","ts":1795852800,"register_kwh":"-Infinity"})",
                  RejectReason::kNotFinite, 0}));

}  // namespace
}  // namespace gridwatch
