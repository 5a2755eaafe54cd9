// MqttSource against a real Mosquitto started by the test: readings reach the sink, rejects go
// to the dead-letter topic and the counters, and a broker restart mid-stream loses nothing.
#include "ingest/mqtt_source.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "tests/ingest/metrics_reader.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"

namespace gridwatch {
namespace {

using std::chrono::milliseconds;
using test_support::MosquittoBroker;
using test_support::MqttTestClient;
using testing_ingest::MetricValue;

// Collects what the source hands to detect. Thread-safe.
class SinkRecorder {
 public:
  MqttSource::Sink AsSink() {
    return [this](std::span<const Reading> batch) {
      {
        std::lock_guard lock(mu_);
        readings_.insert(readings_.end(), batch.begin(), batch.end());
      }
      cv_.notify_all();
    };
  }
  bool WaitFor(std::size_t n, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return readings_.size() >= n; });
  }
  std::vector<Reading> readings() const {
    std::lock_guard lock(mu_);
    return readings_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Reading> readings_;
};

std::string ReadingJson(const std::string& meter, int64_t ts, double kwh) {
  return nlohmann::json{{"meter", meter}, {"ts", ts}, {"kwh", kwh}}.dump();
}

class MqttSourceTest : public ::testing::Test {
 protected:
  void StartSource(const MosquittoBroker& broker, const std::string& client_id) {
    MqttOptions m;
    m.broker = broker.url();
    m.client_id = client_id;
    m.reconnect_min_s = 1;
    m.reconnect_max_s = 2;
    m.keepalive_s = 5;
    source_ = std::make_unique<MqttSource>(
        m, IngestOptions{},
        Registry::FromHouseholds({{"H1", "M1", "elderly_alone", "S", "C", "G", "a"},
                                  {"H2", "M2", "elderly_alone", "S", "C", "G", "b"}}),
        &registry_, clock_, sink_.AsSink());
    source_->Start();
    ASSERT_TRUE(source_->WaitConnected(10000)) << broker.ReadLog();
  }
  double Metric(const std::string& name, const std::string& label = "",
                const std::string& value = "") {
    return MetricValue(registry_, name, label, value).value_or(-1);
  }

  SystemClock clock_;
  prometheus::Registry registry_;
  SinkRecorder sink_;
  std::unique_ptr<MqttSource> source_;
  // A base ts well inside the window and not in the future: 100 intervals before now.
  const int64_t t0_ = (clock_.NowS() / 900 - 100) * 900;
};

TEST_F(MqttSourceTest, PublishedReadingsArriveAtTheSink) {
  MosquittoBroker broker;
  StartSource(broker, "gw-ingest-arrive");
  EXPECT_EQ(Metric("gridwatch_mqtt_connected"), 1.0);
  MqttTestClient pub(broker.url());
  pub.Connect();
  pub.Publish("gridwatch/readings/S/M1", ReadingJson("M1", t0_, 0.1), 1);
  pub.Publish("gridwatch/readings/S/M2",
              R"({"readings":[)" + ReadingJson("M2", t0_, 0.2) + "," +
                  ReadingJson("M2", t0_ + 900, 0.3) + "]}",
              1);
  pub.Publish("other/topic", ReadingJson("M1", t0_ + 900, 0.4), 1);  // not subscribed
  ASSERT_TRUE(sink_.WaitFor(3, milliseconds(10000)));
  source_->Stop();
  auto got = sink_.readings();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].household, 0u);
  EXPECT_FLOAT_EQ(got[0].energy_kwh, 0.1f);
  EXPECT_EQ(got[2].household, 1u);
  EXPECT_EQ(got[2].ts_s, t0_ + 900);
  EXPECT_EQ(Metric("gridwatch_readings_accepted_total"), 3.0);
  EXPECT_EQ(Metric("gridwatch_mqtt_messages_received_total"), 2.0);
  EXPECT_EQ(source_->counts().accepted, 3u);
  EXPECT_EQ(Metric("gridwatch_mqtt_connected"), 0.0);
}

TEST_F(MqttSourceTest, BadPayloadsGoToTheDeadLetterTopic) {
  MosquittoBroker broker;
  MqttTestClient dl(broker.url());
  dl.Connect();
  dl.Subscribe("gridwatch/deadletter", 1);
  StartSource(broker, "gw-ingest-deadletter");
  MqttTestClient pub(broker.url());
  pub.Connect();
  const std::string bad_json = "{\"meter\": \"M1\", oops";
  const std::string unknown = ReadingJson("M999", t0_, 0.1);
  const std::string negative = ReadingJson("M1", t0_, -1.0);
  pub.Publish("gridwatch/readings/S/M1", bad_json, 1);
  pub.Publish("gridwatch/readings/S/M999", unknown, 1);
  pub.Publish("gridwatch/readings/S/M1", negative, 1);
  pub.Publish("gridwatch/readings/S/M1", ReadingJson("M1", t0_, 0.5), 1);
  ASSERT_TRUE(dl.WaitFor(3, milliseconds(10000)));
  ASSERT_TRUE(sink_.WaitFor(1, milliseconds(10000)));
  std::map<std::string, nlohmann::json> by_reason;
  for (const auto& m : dl.Messages()) {
    auto j = nlohmann::json::parse(m.payload);
    by_reason[j["reason"].get<std::string>()] = j;
  }
  ASSERT_EQ(by_reason.count("malformed_json"), 1u);
  EXPECT_EQ(by_reason["malformed_json"]["payload"], bad_json);
  EXPECT_EQ(by_reason["malformed_json"]["topic"], "gridwatch/readings/S/M1");
  EXPECT_FALSE(by_reason["malformed_json"]["received_at"].get<std::string>().empty());
  ASSERT_EQ(by_reason.count("unknown_meter"), 1u);
  EXPECT_EQ(by_reason["unknown_meter"]["payload"], unknown);
  ASSERT_EQ(by_reason.count("negative_energy"), 1u);
  EXPECT_EQ(by_reason["negative_energy"]["payload"], negative);
  source_->Stop();
  EXPECT_EQ(Metric("gridwatch_readings_rejected_total", "reason", "malformed_json"), 1.0);
  EXPECT_EQ(Metric("gridwatch_readings_rejected_total", "reason", "unknown_meter"), 1.0);
  EXPECT_EQ(Metric("gridwatch_readings_rejected_total", "reason", "negative_energy"), 1.0);
  EXPECT_EQ(Metric("gridwatch_readings_rejected_total", "reason", "duplicate"), 0.0);
  EXPECT_EQ(Metric("gridwatch_deadletter_published_total"), 3.0);
  EXPECT_EQ(Metric("gridwatch_readings_accepted_total"), 1.0);
}

TEST_F(MqttSourceTest, EveryRejectReasonIsDeadLetteredAndCounted) {
  MosquittoBroker broker;
  MqttTestClient dl(broker.url());
  dl.Connect();
  dl.Subscribe("gridwatch/deadletter", 1);
  StartSource(broker, "gw-ingest-every-reason");
  MqttTestClient pub(broker.url());
  pub.Connect();
  const std::string topic = "gridwatch/readings/S/M1";
  // Setup: M1 at t0 and t0+15min (interval 900 s), M2's register baseline.
  pub.Publish(topic, ReadingJson("M1", t0_, 0.1), 1);
  pub.Publish(topic, ReadingJson("M1", t0_ + 900, 0.1), 1);
  pub.Publish(topic, R"({"meter":"M2","ts":)" + std::to_string(t0_) + R"(,"register_kwh":500})", 1);
  ASSERT_TRUE(sink_.WaitFor(2, milliseconds(10000)));
  const std::string ts = std::to_string(t0_ + 1800);
  const std::map<std::string, std::string> cases = {
      {"malformed_json", "{oops"},
      {"missing_field", R"({"meter":"M1","kwh":0.1})"},
      {"bad_type", R"({"meter":"M1","ts":)" + ts + R"(,"kwh":"0.1"})"},
      {"unknown_meter", ReadingJson("M404", t0_ + 1800, 0.1)},
      {"bad_timestamp", R"({"meter":"M1","ts":"yesterday","kwh":0.1})"},
      {"future_timestamp", ReadingJson("M1", clock_.NowS() + 3600, 0.1)},
      {"negative_energy", ReadingJson("M1", t0_ + 1800, -0.1)},
      {"not_finite", R"({"meter":"M1","ts":)" + ts + R"(,"kwh":"NaN"})"},
      {"implausible_energy", ReadingJson("M1", t0_ + 1800, 100.0)},
      {"duplicate", ReadingJson("M1", t0_, 0.1)},
      {"too_late", ReadingJson("M1", t0_ - 7 * 3600, 0.1)},
      {"out_of_order", ReadingJson("M1", t0_ + 450, 0.1)},
      {"register_reset",
       R"({"meter":"M2","ts":)" + std::to_string(t0_ + 900) + R"(,"register_kwh":3})"},
  };
  ASSERT_EQ(cases.size(), kRejectReasonCount);
  for (const auto& [reason, payload] : cases) pub.Publish(topic, payload, 1);
  ASSERT_TRUE(dl.WaitFor(cases.size(), milliseconds(10000)))
      << "dead letters: " << dl.MessageCount();
  std::map<std::string, std::string> got;
  for (const auto& m : dl.Messages()) {
    auto j = nlohmann::json::parse(m.payload);
    EXPECT_EQ(j["topic"], topic);
    got[j["reason"].get<std::string>()] = j["payload"].get<std::string>();
  }
  EXPECT_EQ(got, cases);
  source_->Stop();
  for (RejectReason r : AllRejectReasons()) {
    EXPECT_EQ(
        Metric("gridwatch_readings_rejected_total", "reason", std::string(RejectReasonName(r))),
        1.0)
        << RejectReasonName(r);
  }
  EXPECT_EQ(Metric("gridwatch_deadletter_published_total"), static_cast<double>(cases.size()));
  EXPECT_EQ(Metric("gridwatch_readings_accepted_total"), 2.0);
  EXPECT_EQ(Metric("gridwatch_readings_baseline_total"), 1.0);
  EXPECT_EQ(sink_.readings().size(), 2u);
}

TEST_F(MqttSourceTest, FirstConnectIsRetriedUntilTheBrokerComesUp) {
  MosquittoBroker broker({.start = false});
  MqttOptions m;
  m.broker = broker.url();
  m.client_id = "gw-ingest-late-broker";
  m.reconnect_min_s = 1;
  m.reconnect_max_s = 1;
  MqttSource source(m, IngestOptions{},
                    Registry::FromHouseholds({{"H1", "M1", "elderly_alone", "S", "C", "G", "a"}}),
                    nullptr, clock_, sink_.AsSink());
  source.Start();
  EXPECT_FALSE(source.WaitConnected(1500));
  EXPECT_FALSE(source.ready());
  broker.Start();
  ASSERT_TRUE(source.WaitConnected(10000)) << broker.ReadLog();
  EXPECT_TRUE(source.connected());
  MqttTestClient pub(broker.url());
  pub.Connect();
  pub.Publish("gridwatch/readings/S/M1", ReadingJson("M1", t0_, 0.1), 1);
  ASSERT_TRUE(sink_.WaitFor(1, milliseconds(10000)));
  EXPECT_EQ(source.reconnects(), 0u);
}

TEST_F(MqttSourceTest, UsernameAndPasswordAreSent) {
  MosquittoBroker broker({.start = false});
  const std::string pw = broker.dir().File("passwd");
  ASSERT_EQ(std::system(("mosquitto_passwd -b -c " + pw + " gridwatch s3cret").c_str()), 0);
  const std::string conf = broker.dir().Read("mosquitto.conf");
  std::string patched = conf;
  patched.replace(patched.find("allow_anonymous true"), 20, "allow_anonymous false");
  broker.dir().Write("mosquitto.conf", patched + "password_file " + pw + "\n");
  broker.Start();
  auto make = [&](const std::string& password) {
    MqttOptions m;
    m.broker = broker.url();
    m.client_id = "gw-ingest-auth-" + password;
    m.username = "gridwatch";
    m.password = password;
    return std::make_unique<MqttSource>(
        m, IngestOptions{},
        Registry::FromHouseholds({{"H1", "M1", "elderly_alone", "S", "C", "G", "a"}}), nullptr,
        clock_, sink_.AsSink());
  };
  auto wrong = make("wrong");
  wrong->Start();
  auto right = make("s3cret");
  right->Start();
  ASSERT_TRUE(right->WaitConnected(10000)) << broker.ReadLog();
  EXPECT_FALSE(wrong->WaitConnected(500));
  EXPECT_FALSE(wrong->connected());
}

TEST_F(MqttSourceTest, TlsWithOurCaConnects) {
  test_support::TempDir certs("gw-ingest-tls");
  const std::string d = certs.path().string();
  certs.Write("san.ext", "subjectAltName=IP:127.0.0.1\n");
  const std::string cmd =
      "cd " + d +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
      " -subj /CN=gw-test-ca 2>/dev/null"
      " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr"
      " -subj /CN=127.0.0.1 2>/dev/null"
      " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
      " -out server.crt -days 2 -extfile san.ext 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  MosquittoBroker broker({.extra_config = "cafile " + d + "/ca.crt\ncertfile " + d +
                                          "/server.crt\nkeyfile " + d + "/server.key\n"});
  MqttOptions m;
  m.broker = "ssl://127.0.0.1:" + std::to_string(broker.port());
  m.client_id = "gw-ingest-tls";
  m.ca_file = d + "/ca.crt";
  MqttSource source(m, IngestOptions{},
                    Registry::FromHouseholds({{"H1", "M1", "elderly_alone", "S", "C", "G", "a"}}),
                    nullptr, clock_, sink_.AsSink());
  source.Start();
  ASSERT_TRUE(source.WaitConnected(10000)) << broker.ReadLog();
  // A reading goes through the TLS session (published by the source itself, to itself).
  ASSERT_TRUE(source.Publish("gridwatch/readings/S/M1", ReadingJson("M1", t0_, 0.1), 1));
  ASSERT_TRUE(sink_.WaitFor(1, milliseconds(10000)));
  EXPECT_EQ(sink_.readings()[0].ts_s, t0_);
}

TEST_F(MqttSourceTest, PublishReusesTheConnection) {
  MosquittoBroker broker;
  MqttTestClient sub(broker.url());
  sub.Connect();
  sub.Subscribe("gridwatch/alerts/#", 1);
  StartSource(broker, "gw-ingest-publish");
  ASSERT_TRUE(source_->Publish("gridwatch/alerts/S/C/G", R"({"id":"a1"})", 1));
  ASSERT_TRUE(sub.WaitFor(1, milliseconds(10000)));
  EXPECT_EQ(sub.Messages()[0].payload, R"({"id":"a1"})");
  source_->Stop();
  EXPECT_FALSE(source_->Publish("gridwatch/alerts/S/C/G", "{}", 1));
}

TEST_F(MqttSourceTest, BrokerRestartMidStreamLosesNothingAndDuplicatesNothing) {
  MosquittoBroker broker({.persistence = true});
  StartSource(broker, "gw-ingest-restart");
  MqttTestClient pub(broker.url(), {.client_id = "gw-ingest-restart-pub",
                                    .clean_session = false,
                                    .automatic_reconnect = true,
                                    .reconnect_min_ms = 100,
                                    .reconnect_max_ms = 500,
                                    .max_buffered_messages = 10000});
  pub.Connect();
  constexpr int kBefore = 30, kDuring = 30, kAfter = 20;
  auto payload = [&](int i) { return ReadingJson("M1", t0_ + i * 900, 0.01 * (i % 7)); };
  int i = 0;
  for (; i < kBefore; ++i) pub.PublishAsync("gridwatch/readings/S/M1", payload(i), 1);
  // Stop the broker while the first batch may still be in flight.
  broker.Stop();
  ASSERT_TRUE(pub.WaitConnected(false, milliseconds(10000)));
  for (; i < kBefore + kDuring; ++i) pub.PublishAsync("gridwatch/readings/S/M1", payload(i), 1);
  broker.Start();
  ASSERT_TRUE(pub.WaitForPublished(milliseconds(20000))) << broker.ReadLog();
  ASSERT_TRUE(pub.WaitConnected(true, milliseconds(10000)));
  for (; i < kBefore + kDuring + kAfter; ++i) pub.Publish("gridwatch/readings/S/M1", payload(i), 1);
  const std::size_t total = kBefore + kDuring + kAfter;
  ASSERT_TRUE(sink_.WaitFor(total, milliseconds(30000)))
      << "got " << sink_.readings().size() << "\n"
      << broker.ReadLog();
  source_->Stop();
  auto got = sink_.readings();
  ASSERT_EQ(got.size(), total);
  for (std::size_t k = 0; k < total; ++k) {
    EXPECT_EQ(got[k].ts_s, t0_ + static_cast<int64_t>(k) * 900) << k;  // once each, in order
  }
  EXPECT_GE(source_->reconnects(), 1u);
  EXPECT_GE(Metric("gridwatch_mqtt_reconnects_total"), 1.0);
  EXPECT_EQ(Metric("gridwatch_readings_accepted_total"), static_cast<double>(total));
  // Redeliveries (if any) were dropped as duplicates, never handed on twice.
  EXPECT_EQ(source_->counts().rejected_total(),
            source_->counts().rejected_for(RejectReason::kDuplicate));
}

}  // namespace
}  // namespace gridwatch
