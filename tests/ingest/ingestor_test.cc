// Ingestor: message in -> readings, dead-letter JSON and Prometheus counters out.
#include "ingest/ingestor.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "tests/ingest/metrics_reader.h"

namespace gridwatch {
namespace {

using testing_ingest::MetricValue;

constexpr int64_t kT0 = 1795824000;  // 2026-11-28T00:00:00Z
constexpr int64_t kNowMs = (kT0 + 3600) * 1000;

class IngestorTest : public ::testing::Test {
 protected:
  IngestorTest()
      : metrics_(registry_),
        ingestor_(Registry::FromHouseholds({{"H1", "M1", "elderly_alone", "S", "C", "G", "a"}}),
                  IngestOptions{}, &metrics_) {}

  void Handle(std::string_view payload, std::string_view topic = "gridwatch/readings/S/M1") {
    ingestor_.HandleMessage(topic, payload, kNowMs, &out_, &dead_);
  }
  double Rejected(RejectReason r) {
    return MetricValue(registry_, "gridwatch_readings_rejected_total", "reason",
                       std::string(RejectReasonName(r)))
        .value_or(-1);
  }

  prometheus::Registry registry_;
  IngestMetrics metrics_;
  Ingestor ingestor_;
  std::vector<Reading> out_;
  std::vector<std::string> dead_;
};

TEST_F(IngestorTest, EveryReasonIsPreCreatedAtZero) {
  for (RejectReason r : AllRejectReasons()) EXPECT_EQ(Rejected(r), 0.0) << RejectReasonName(r);
  EXPECT_EQ(MetricValue(registry_, "gridwatch_readings_accepted_total"), 0.0);
  EXPECT_EQ(MetricValue(registry_, "gridwatch_mqtt_connected"), 0.0);
  EXPECT_EQ(MetricValue(registry_, "gridwatch_deadletter_published_total"), 0.0);
}

TEST_F(IngestorTest, BatchWithOneBadItemKeepsTheGoodOnes) {
  const std::string payload = R"({"readings":[
      {"meter":"M1","ts":1795824000,"kwh":0.1},
      {"meter":"M7","ts":1795824000,"kwh":0.1},
      {"meter":"M1","ts":"2026-11-28T00:15:00Z","kwh":0.2}]})";
  Handle(payload);
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[1].ts_s, kT0 + 900);
  ASSERT_EQ(dead_.size(), 1u);
  auto j = nlohmann::json::parse(dead_[0]);
  EXPECT_EQ(j["reason"], "unknown_meter");
  EXPECT_EQ(j["index"], 1);
  EXPECT_EQ(j["topic"], "gridwatch/readings/S/M1");
  EXPECT_EQ(j["payload"], payload);
  EXPECT_EQ(j["received_at"], FormatRfc3339Utc(kT0 + 3600));
  EXPECT_NE(j["detail"].get<std::string>().find("M7"), std::string::npos);
  EXPECT_EQ(Rejected(RejectReason::kUnknownMeter), 1.0);
  EXPECT_EQ(MetricValue(registry_, "gridwatch_readings_accepted_total"), 2.0);
  EXPECT_EQ(ingestor_.counts().accepted, 2u);
  EXPECT_EQ(ingestor_.counts().rejected_for(RejectReason::kUnknownMeter), 1u);
}

TEST_F(IngestorTest, MalformedPayloadIsDeadLetteredVerbatimEvenIfNotUtf8) {
  const std::string payload = "{\"meter\":\"M1\",\xff\xfe";
  Handle(payload);
  EXPECT_TRUE(out_.empty());
  ASSERT_EQ(dead_.size(), 1u);
  auto j = nlohmann::json::parse(dead_[0]);
  EXPECT_EQ(j["reason"], "malformed_json");
  EXPECT_EQ(j["index"], -1);
  EXPECT_EQ(j["payload"].get<std::string>().substr(0, 12), payload.substr(0, 12));
  EXPECT_EQ(Rejected(RejectReason::kMalformedJson), 1.0);
}

TEST_F(IngestorTest, DuplicateMessageCountedOnce) {
  Handle(R"({"meter":"M1","ts":1795824000,"kwh":0.1})");
  Handle(R"({"meter":"M1","ts":1795824000,"kwh":0.1})");
  EXPECT_EQ(out_.size(), 1u);
  ASSERT_EQ(dead_.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(dead_[0])["reason"], "duplicate");
  EXPECT_EQ(Rejected(RejectReason::kDuplicate), 1.0);
  EXPECT_EQ(ingestor_.counts().messages, 2u);
}

TEST_F(IngestorTest, RegisterBaselineIsCountedNotRejected) {
  Handle(R"({"meter":"M1","ts":1795824000,"register_kwh":100})");
  Handle(R"({"meter":"M1","ts":1795824900,"register_kwh":100.5})");
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_FLOAT_EQ(out_[0].energy_kwh, 0.5f);
  EXPECT_TRUE(dead_.empty());
  EXPECT_EQ(MetricValue(registry_, "gridwatch_readings_baseline_total"), 1.0);
  EXPECT_EQ(ingestor_.counts().rejected_total(), 0u);
}

TEST_F(IngestorTest, FutureTimestampUsesTheGivenWallTime) {
  Handle(R"({"meter":"M1","ts":"2026-11-28T01:11:00Z","kwh":0.1})");  // now + 11 min
  ASSERT_EQ(dead_.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(dead_[0])["reason"], "future_timestamp");
  EXPECT_EQ(Rejected(RejectReason::kFutureTimestamp), 1.0);
}

}  // namespace
}  // namespace gridwatch
