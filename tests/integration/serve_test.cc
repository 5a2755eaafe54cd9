// End-to-end tests of `gridwatch serve` (the real binary) against a real Mosquitto started on a
// free loopback port: readings in -> alert out on the alert topic; every reject -> a dead letter
// and its counter; the broker restarted mid-stream -> no QoS 1 reading lost; readiness; a clean
// SIGTERM with checkpoints that a restart restores; the usage API over a 15-minute meter; a
// worker's answer through the API reaching the household's model.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/time_util.h"
#include "tests/integration/gridwatch_process.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/temp_dir.h"

namespace gridwatch::test_support {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kT0 = 1'700'000'000 - 1'700'000'000 % 1800;  // a half-hour boundary (2023)

std::string Households() {
  return "household,meter,category,street,community,grid,address\n"
         "H1,M1,elderly_alone,S1,C1,G1,\"Building 1, Room 101\"\n"
         "H2,M2,elderly_alone,S1,C1,G1,\"Building 1, Room 102\"\n"
         "H3,M3,elderly_alone,S2,C9,G9,\"Building 9, Room 901\"\n";
}

std::string Config(const TempDir& dir, const MosquittoBroker& broker,
                   const std::string& extra = "") {
  return "households_csv: " + dir.File("households.csv") + "\n" + "data_dir: " + dir.File("data") +
         "\n" + "timezone: UTC\nclock: data\ncheckpoint_interval_s: 3600\n" +
         "mqtt:\n  broker: " + broker.url() + "\n  client_id: gw-it-" + std::to_string(::getpid()) +
         "\n  reconnect_min_s: 1\n  reconnect_max_s: 2\n" + "http:\n  port: 0\n" + extra;
}

std::string Reading(const std::string& meter, int64_t ts, double kwh) {
  return "{\"meter\":\"" + meter + "\",\"ts\":" + std::to_string(ts) +
         ",\"kwh\":" + std::to_string(kwh) + "}";
}

struct Fixture {
  TempDir dir{"gw-serve-test"};
  MosquittoBroker broker;
  explicit Fixture(MosquittoBrokerOptions opts = {}) : broker(opts) {
    dir.Write("households.csv", Households());
  }
};

bool HasMeterSilent(const std::vector<ReceivedMessage>& ms) {
  for (const auto& m : ms)
    if (m.payload.find("\"meter_silent\"") != std::string::npos) return true;
  return false;
}

// M1 reports for 6 hours of data time, then stops; M2 goes on: on data time M1 falls silent.
void PublishM1FallsSilent(MqttTestClient& meters) {
  for (int i = 1; i <= 24; ++i) {
    const int64_t ts = kT0 + i * 1800;
    if (i <= 12) meters.Publish("gridwatch/readings/M1", Reading("M1", ts, 0.1));
    meters.Publish("gridwatch/readings/M2", Reading("M2", ts, 0.2));
  }
}

TEST(ServeTest, ReadingsInAlertOutOnTheAlertTopic) {
  Fixture f;
  f.dir.Write("gridwatch.yaml", Config(f.dir, f.broker));
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15))) << gw.Stderr();

  MqttTestClient office(f.broker.url());
  office.Connect();
  office.Subscribe("gridwatch/alerts/S1/#");  // a street office's subscription
  MqttTestClient meters(f.broker.url());
  meters.Connect();
  PublishM1FallsSilent(meters);
  ASSERT_TRUE(office.WaitUntil(HasMeterSilent, seconds(20))) << gw.Stderr();
  bool found = false;
  for (const auto& m : office.Messages()) {
    if (m.payload.find("\"meter_silent\"") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(m.topic, "gridwatch/alerts/S1/C1/G1");
    EXPECT_EQ(m.qos, 1);
    for (const char* field : {"\"id\"", "\"household\":\"H1\"", "\"severity\"", "\"state\"",
                              "\"opened_at\"", "\"street\":\"S1\"", "\"community\":\"C1\"",
                              "\"grid\":\"G1\"", "\"zh-CN\"", "\"en\"", "\"evidence\""})
      EXPECT_NE(m.payload.find(field), std::string::npos) << field << " missing in " << m.payload;
    EXPECT_EQ(m.payload.find("Room 101"), std::string::npos) << "address on the shared topic";
  }
  EXPECT_TRUE(found);
  // No alert of street S2 reached S1's office.
  for (const auto& m : office.Messages())
    EXPECT_EQ(m.topic.find("gridwatch/alerts/S2"), std::string::npos);
  const std::string scrape = HttpGet(port, "/metrics").body;
  EXPECT_GE(MetricValue(scrape, "gridwatch_alerts_opened_total", "kind=\"meter_silent\""), 1);
  EXPECT_EQ(MetricValue(scrape, "gridwatch_readings_accepted_total"), 36);
  EXPECT_EQ(scrape.find("H1"), std::string::npos) << "a household id in a metric";
  EXPECT_EQ(gw.Terminate(), 0) << gw.Stderr();
}

// 8 hours of a 15-minute meter ending at `end`, each reading a different number of Wh: the usage
// API, asked for the last 9 hours of the service's clock (`clock`: wall or data), returns each.
void ExpectUsageApiReturnsEachReading(const std::string& clock, int64_t end) {
  Fixture f;
  constexpr const char* kToken = "street-s1-token-0123456789";
  f.dir.Write("tokens.csv", std::string("token,scope,scope_id\n") + kToken + ",street,S1\n");
  std::string config =
      Config(f.dir, f.broker, "alert:\n  tokens_csv: " + f.dir.File("tokens.csv") + "\n");
  config.replace(config.find("clock: data"), 11, "clock: " + clock);
  f.dir.Write("gridwatch.yaml", config);
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15))) << gw.Stderr();
  constexpr int kN = 32;
  std::map<int64_t, double> sent;
  MqttTestClient meters(f.broker.url());
  meters.Connect();
  // The meter's very first reading may come before its interval is known: then it is left out.
  const int64_t first = end - kN * 900;
  meters.Publish("gridwatch/readings/M1", Reading("M1", first, 0.5));
  for (int i = 0; i < kN; ++i) {
    const int64_t ts = end - (kN - 1 - i) * 900;
    sent[ts] = 0.100 + 0.007 * i;
    meters.Publish("gridwatch/readings/M1", Reading("M1", ts, sent[ts]));
  }
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", kN + 1, seconds(15)))
      << gw.Stderr();
  const std::string auth = std::string("Authorization: Bearer ") + kToken + "\r\n";
  // The API's points, by their RFC 3339 time: every reading sent must come back at its time.
  auto rfc3339 = [](int64_t t) { return FormatRfc3339Utc(t); };
  std::map<std::string, double> got;
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (attempt) std::this_thread::sleep_for(milliseconds(100));
    const HttpResult r = HttpGet(port, "/api/v1/households/H1/usage?hours=9", auth);
    ASSERT_EQ(r.status, 200) << r.body;
    got.clear();
    const nlohmann::json body = nlohmann::json::parse(r.body);
    for (const auto& p : body.at("points"))
      if (!p.at("kwh").is_null()) got[p.at("ts").get<std::string>()] = p.at("kwh").get<double>();
    if (got.size() >= sent.size() + got.count(rfc3339(first))) break;
  }
  // Exactly the readings sent, each at its own time: none elsewhere, none guessed. (The first
  // one is there when it reached detect in one batch with the second.)
  if (auto it = got.find(rfc3339(first)); it != got.end()) {
    EXPECT_NEAR(it->second, 0.5, 0.0006);
    got.erase(it);
  }
  EXPECT_EQ(got.size(), sent.size()) << "points with a reading";
  for (const auto& [ts, kwh] : sent) {
    auto it = got.find(rfc3339(ts));
    ASSERT_NE(it, got.end()) << "no reading at " << rfc3339(ts);
    EXPECT_NEAR(it->second, kwh, 0.0006) << rfc3339(ts);
  }
  EXPECT_EQ(gw.Terminate(), 0) << gw.Stderr();
}

// H1's routine (up 07-22 h, 0.3-0.6 kWh a half-hour; 0.05 at night) for 15 days from the UTC
// midnight `day0` (past the 14 learning days: its morning check is armed), then standby from
// 10:00 on day 15: the readings ending in (from, to].
constexpr int kQuietDay = 15;
void PublishQuietAfterRoutine(MqttTestClient& meters, int64_t day0, int64_t from, int64_t to) {
  const int64_t quiet = day0 + kQuietDay * 86400 + 10 * 3600;
  for (int64_t ts = day0 + 1800; ts <= to; ts += 1800) {
    if (ts <= from) continue;
    const int slot = static_cast<int>((ts - 1800 - day0) % 86400 / 1800);
    double kwh = slot < 14 || slot >= 44 ? 0.05 : (slot % 3 ? 0.3 : 0.6);
    if (ts > quiet) kwh = 0.05;
    meters.Publish("gridwatch/readings/M1", Reading("M1", ts, kwh));
  }
}

// The active alerts of street S1 through the API.
nlohmann::json ActiveAlerts(int port, const std::string& auth) {
  const HttpResult r = HttpGet(port, "/api/v1/alerts?state=active", auth);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? nlohmann::json::parse(r.body)["alerts"] : nlohmann::json::array();
}

// A worker's answer through the API reaches the household's model in `serve`. The home goes
// quiet at 10:00 and its inactivity alert opens at 22:30 (its own spells are not known yet: the
// cold length, 12 h); at 23:30 of data time the worker resolves it as `outcome`, and the home
// stays quiet until 14:00 the next day. resident_fine: the quiet is counted again from the
// answer, and pages again, inactivity 12 h after it (before the answer reached the model, the
// episode stayed open and never paged inactivity again). away: nothing pages within the day
// (before, the next morning's check did).
void ExpectAnAnswerReachesTheModel(const std::string& outcome) {
  Fixture f;
  constexpr const char* kToken = "street-s1-token-0123456789";
  f.dir.Write("tokens.csv", std::string("token,scope,scope_id\n") + kToken + ",street,S1\n");
  f.dir.Write("gridwatch.yaml",
              Config(f.dir, f.broker, "alert:\n  tokens_csv: " + f.dir.File("tokens.csv") + "\n"));
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15))) << gw.Stderr();
  const std::string auth = std::string("Authorization: Bearer ") + kToken + "\r\n";
  const int64_t day0 = kT0 - kT0 % 86400;
  const int64_t answer = day0 + kQuietDay * 86400 + 23 * 3600 + 1800;
  MqttTestClient meters(f.broker.url());
  meters.Connect();
  PublishQuietAfterRoutine(meters, day0, 0, answer);
  ASSERT_TRUE(
      WaitMetric(port, "gridwatch_alerts_opened_total", 1, seconds(20), "kind=\"inactivity\""))
      << gw.Stderr();
  ASSERT_TRUE(
      WaitMetric(port, "gridwatch_readings_accepted_total", (answer - day0) / 1800, seconds(20)))
      << gw.Stderr();
  const nlohmann::json open = ActiveAlerts(port, auth);
  ASSERT_EQ(open.size(), 1u) << open.dump();
  const std::string body = "{\"outcome\":\"" + outcome + "\"}";
  const std::string resp = HttpExchange(
      port, "POST /api/v1/alerts/" + std::to_string(open[0]["id"].get<int64_t>()) +
                "/resolve HTTP/1.0\r\nHost: 127.0.0.1\r\n" + auth +
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body);
  ASSERT_EQ(resp.rfind("HTTP/1.0 200", 0), 0u) << resp;
  // The answer is posted to the detector shard, which takes it with its next batch.
  std::this_thread::sleep_for(milliseconds(500));
  const int64_t end = day0 + (kQuietDay + 1) * 86400 + 14 * 3600;
  PublishQuietAfterRoutine(meters, day0, answer, end);
  ASSERT_TRUE(
      WaitMetric(port, "gridwatch_readings_accepted_total", (end - day0) / 1800, seconds(20)))
      << gw.Stderr();
  std::this_thread::sleep_for(milliseconds(1500));  // the findings of the last batch
  const nlohmann::json now = ActiveAlerts(port, auth);
  if (outcome == "resident_fine") {
    // (The morning check may open it first; inactivity then joins it.)
    ASSERT_EQ(now.size(), 1u) << "the quiet after the answer paged nothing: " << now.dump();
    EXPECT_NE(now[0]["kinds"].dump().find("inactivity"), std::string::npos) << now.dump();
    const nlohmann::json since = now[0]["evidence"]["since"];
    ASSERT_TRUE(since.is_string()) << now.dump();
    EXPECT_GE(since.get<std::string>(), FormatRfc3339Utc(answer)) << "not counted from the answer";
  } else {
    EXPECT_EQ(now.size(), 0u) << "the away home paged again within the day: " << now.dump();
  }
  EXPECT_EQ(gw.Terminate(), 0) << gw.Stderr();
}

TEST(ServeTest, AResidentFineAnswerCountsTheQuietAgainFromIt) {
  ExpectAnAnswerReachesTheModel("resident_fine");
}

TEST(ServeTest, AnAwayAnswerHoldsTheQuietHomeForTheDay) { ExpectAnAnswerReachesTheModel("away"); }

TEST(ServeTest, UsageApiReturnsEachReadingOfAFifteenMinuteMeter) {
  ExpectUsageApiReturnsEachReading("wall", std::time(nullptr) / 900 * 900);
}

// On the data clock (replay, a shifted or delayed stream) "the last hours" are the stream's: a
// day of 2023 comes back, not the empty hours before the wall clock's now.
TEST(ServeTest, OnTheDataClockTheUsageApiAnswersForTheStreamsLastHours) {
  ExpectUsageApiReturnsEachReading("data", kT0 + 86400 / 900 * 900);
}

// QoS 1 messages are acknowledged to the broker before gridwatch's callback sees them: a full
// ingest queue must hold the callback back (the broker keeps the rest), never drop. With a
// queue of one message and a burst of thousands, every reading arrives and none is dropped.
TEST(ServeTest, AFullIngestQueueBacksUpToTheBrokerAndLosesNothing) {
  Fixture f;
  f.dir.Write("gridwatch.yaml",
              Config(f.dir, f.broker,
                     "ingest:\n  message_queue_capacity: 1\ndetect:\n  queue_capacity: 1\n"));
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15))) << gw.Stderr();
  MqttTestClientOptions fast;
  fast.max_buffered_messages = 5000;
  MqttTestClient meters(f.broker.url(), fast);
  meters.Connect();
  constexpr int kPerMeter = 1500;
  for (int i = 1; i <= kPerMeter; ++i) {
    for (const char* m : {"M1", "M2", "M3"})
      meters.PublishAsync(std::string("gridwatch/readings/") + m, Reading(m, kT0 + i * 1800, 0.2));
    if (i % 250 == 0) {
      ASSERT_TRUE(meters.WaitForPublished(seconds(60)));  // the client's buffer
    }
  }
  ASSERT_TRUE(meters.WaitForPublished(seconds(60)));
  EXPECT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 3 * kPerMeter, seconds(60)))
      << gw.Stderr();
  const std::string scrape = HttpGet(port, "/metrics").body;
  EXPECT_EQ(MetricValue(scrape, "gridwatch_readings_accepted_total"), 3 * kPerMeter);
  EXPECT_EQ(MetricValue(scrape, "gridwatch_ingest_queue_dropped_total"), 0);
  // The queue was full and waited on: the burst did take the backpressure path.
  EXPECT_GT(MetricValue(scrape, "gridwatch_ingest_queue_full_total"), 0);
  EXPECT_EQ(gw.Terminate(), 0) << gw.Stderr();
}

// The alert store's write lock, held as a backup or an operator's sqlite3 would hold it.
class StoreWriteLock {
 public:
  explicit StoreWriteLock(const std::string& db_path) {
    if (sqlite3_open(db_path.c_str(), &db_) == SQLITE_OK)
      held_ = sqlite3_exec(db_, "BEGIN IMMEDIATE;", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~StoreWriteLock() {
    Release();
    sqlite3_close(db_);
  }
  bool held() const { return held_; }
  void Release() {
    if (held_) sqlite3_exec(db_, "COMMIT;", nullptr, nullptr, nullptr);
    held_ = false;
  }

 private:
  sqlite3* db_ = nullptr;
  bool held_ = false;
};

// gridwatch serve started on the fixture, ready, with the alert store locked, an office
// subscribed to every alert and M1 fallen silent.
struct LockedStoreRun {
  explicit LockedStoreRun(Fixture& f)
      : gw(std::make_unique<GridwatchProcess>(
            std::vector<std::string>{"serve", "--config", f.dir.File("gridwatch.yaml")},
            f.dir.path().string())),
        office(f.broker.url()),
        meters(f.broker.url()) {
    port = gw->WaitForPort();
    if (port <= 0 || !WaitReady(port, seconds(15))) return;
    lock = std::make_unique<StoreWriteLock>(f.dir.File("data") + "/alerts.db");
    office.Connect();
    office.Subscribe("gridwatch/alerts/#");
    meters.Connect();
    PublishM1FallsSilent(meters);
  }
  bool ok() const { return port > 0 && lock && lock->held(); }
  std::unique_ptr<GridwatchProcess> gw;
  int port = 0;
  std::unique_ptr<StoreWriteLock> lock;
  MqttTestClient office, meters;
};

TEST(ServeTest, AnAlertTheStoreRefusesIsRetriedNotLost) {
  // Another process holds the alert store's write lock past its busy timeout (a backup, an
  // operator's sqlite3): the alert's write is refused. It is retried until the store takes it;
  // it used to be logged and dropped.
  Fixture f;
  f.dir.Write("gridwatch.yaml", Config(f.dir, f.broker));
  LockedStoreRun run(f);
  ASSERT_TRUE(run.ok()) << run.gw->Stderr();
  // The store refuses the alert (its busy timeout is 5 s), and goes on refusing while locked.
  EXPECT_TRUE(WaitMetric(run.port, "gridwatch_alert_store_errors_total", 2, seconds(30)))
      << run.gw->Stderr();
  EXPECT_FALSE(HasMeterSilent(run.office.Messages())) << "an alert out that the store did not hold";
  run.lock->Release();
  // Released: the retried finding opens its alert.
  EXPECT_TRUE(run.office.WaitUntil(HasMeterSilent, seconds(20))) << run.gw->Stderr();
  const std::string scrape = HttpGet(run.port, "/metrics").body;
  EXPECT_EQ(MetricValue(scrape, "gridwatch_alerts_opened_total",
                        "kind=\"meter_silent\",severity=\"low\""),
            1);
  EXPECT_EQ(run.gw->Terminate(), 0) << run.gw->Stderr();
}

TEST(ServeTest, AStopWhileTheStoreRefusesLeavesTheAlertToTheNextStart) {
  // Stopped while the store still refuses the alert: the stop gives up on it within its bound,
  // exits 1 (not clean), and writes no checkpoint that would cover it; the next start replays the
  // write-ahead log and the alert opens then. (A checkpoint saved at the stop would hold M1's
  // meter as already reported, and the alert would never open.)
  Fixture f;
  f.dir.Write("gridwatch.yaml", Config(f.dir, f.broker));
  LockedStoreRun run(f);
  ASSERT_TRUE(run.ok()) << run.gw->Stderr();
  ASSERT_TRUE(WaitMetric(run.port, "gridwatch_alert_store_errors_total", 1, seconds(30)))
      << run.gw->Stderr();
  EXPECT_EQ(run.gw->Terminate(), 1) << run.gw->Stderr();
  EXPECT_NE(run.gw->Stderr().find("left to the write-ahead log"), std::string::npos)
      << run.gw->Stderr();
  EXPECT_FALSE(HasMeterSilent(run.office.Messages()));
  run.lock->Release();

  GridwatchProcess again({"serve", "--config", f.dir.File("gridwatch.yaml")},
                         f.dir.path().string());
  ASSERT_GT(again.WaitForPort(), 0) << again.Stderr();
  EXPECT_TRUE(run.office.WaitUntil(HasMeterSilent, seconds(20))) << again.Stderr();
  EXPECT_EQ(again.Terminate(), 0) << again.Stderr();
}

TEST(ServeTest, OnTheWallClockABacklogIsReadBeforeAnyMeterIsCalledSilent) {
  // After an outage the broker hands over hours of queued readings: until they are read, every
  // meter's newest reading is hours old on the wall clock, and calling them all silent would page
  // every grid worker of the city. Silence is judged at most an hour ahead of the newest reading
  // received; once the stream has caught up, a meter that really stopped is reported.
  Fixture f;
  std::string cfg = Config(f.dir, f.broker, "detect:\n  tick_s: 1\n");
  cfg.replace(cfg.find("clock: data"), 11, "clock: wall");
  f.dir.Write("gridwatch.yaml", cfg);
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15))) << gw.Stderr();
  MqttTestClient office(f.broker.url());
  office.Connect();
  office.Subscribe("gridwatch/alerts/#");
  MqttTestClient meters(f.broker.url());
  meters.Connect();
  const int64_t now = std::time(nullptr) / 1800 * 1800;
  // The backlog so far: both meters up to 3 h ago.
  for (int64_t ts = now - 6 * 3600; ts <= now - 3 * 3600; ts += 1800) {
    meters.Publish("gridwatch/readings/M1", Reading("M1", ts, 0.1));
    meters.Publish("gridwatch/readings/M2", Reading("M2", ts, 0.2));
  }
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 14, seconds(15)))
      << gw.Stderr();
  auto silent = [](const std::vector<ReceivedMessage>& ms, const std::string& household) {
    for (const auto& m : ms)
      if (m.payload.find("\"meter_silent\"") != std::string::npos &&
          m.payload.find("\"household\":\"" + household + "\"") != std::string::npos)
        return true;
    return false;
  };
  std::this_thread::sleep_for(seconds(4));  // several ticks
  EXPECT_FALSE(silent(office.Messages(), "H1")) << "M1 called silent while the backlog is read";
  EXPECT_FALSE(silent(office.Messages(), "H2")) << "M2 called silent while the backlog is read";
  // The rest of the backlog: only M2 goes on, up to now. M1 really stopped 3 h ago.
  for (int64_t ts = now - 3 * 3600 + 1800; ts <= now; ts += 1800)
    meters.Publish("gridwatch/readings/M2", Reading("M2", ts, 0.2));
  EXPECT_TRUE(office.WaitUntil(
      [&](const std::vector<ReceivedMessage>& ms) { return silent(ms, "H1"); }, seconds(15)))
      << gw.Stderr();
  EXPECT_FALSE(silent(office.Messages(), "H2"));
  EXPECT_EQ(gw.Terminate(), 0) << gw.Stderr();
}

TEST(ServeTest, EveryRejectIsDeadLetteredAndCounted) {
  Fixture f;
  f.dir.Write("gridwatch.yaml", Config(f.dir, f.broker));
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15)));
  MqttTestClient ops(f.broker.url());
  ops.Connect();
  ops.Subscribe("gridwatch/deadletter");
  MqttTestClient meter(f.broker.url());
  meter.Connect();
  const int64_t now =
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"malformed_json", "{\"meter\": \"M1\", \"ts\": "},
      {"missing_field", "{\"meter\":\"M1\",\"kwh\":0.1}"},
      {"unknown_meter", Reading("M404", kT0 + 1800, 0.1)},
      {"bad_timestamp", "{\"meter\":\"M1\",\"ts\":\"yesterday\",\"kwh\":0.1}"},
      {"future_timestamp", Reading("M1", now + 86400 * 30, 0.1)},
      {"negative_energy", Reading("M1", kT0 + 1800, -0.5)},
      {"not_finite",
       "{\"meter\":\"M1\",\"ts\":" + std::to_string(kT0 + 1800) + ",\"kwh\":\"NaN\"}"},
      {"implausible_energy", Reading("M1", kT0 + 1800, 5000.0)},
  };
  meter.Publish("gridwatch/readings/M1", Reading("M1", kT0 + 3600, 0.1));
  meter.Publish("gridwatch/readings/M1", Reading("M1", kT0 + 3600, 0.1));  // duplicate
  for (const auto& [reason, payload] : cases) meter.Publish("gridwatch/readings/M1", payload);
  ASSERT_TRUE(ops.WaitFor(cases.size() + 1, seconds(15))) << ops.MessageCount();
  auto dead = ops.Messages();
  auto has = [&](const std::string& reason, const std::string& payload_part) {
    for (const auto& m : dead)
      if (m.payload.find("\"reason\":\"" + reason + "\"") != std::string::npos &&
          (payload_part.empty() || m.payload.find(payload_part) != std::string::npos))
        return true;
    return false;
  };
  EXPECT_TRUE(has("duplicate", ""));
  for (const auto& [reason, payload] : cases) EXPECT_TRUE(has(reason, "")) << reason;
  EXPECT_TRUE(has("unknown_meter", "M404")) << "the original payload travels with the reason";
  const std::string scrape = HttpGet(port, "/metrics").body;
  for (const auto& [reason, payload] : cases)
    EXPECT_EQ(MetricValue(scrape, "gridwatch_readings_rejected_total", "reason=\"" + reason + "\""),
              1)
        << reason;
  EXPECT_EQ(MetricValue(scrape, "gridwatch_readings_rejected_total", "reason=\"duplicate\""), 1);
  EXPECT_EQ(MetricValue(scrape, "gridwatch_readings_accepted_total"), 1);
  EXPECT_EQ(gw.Terminate(), 0);
}

// Publishes n readings, M2 and M1 in turn, half-hourly from kT0, continuing after *sent.
void PublishAlternating(MqttTestClient& head_end, int* sent, int n) {
  for (int i = 0; i < n; ++i, ++*sent) {
    const std::string meter = *sent % 2 ? "M1" : "M2";
    head_end.PublishAsync("gridwatch/readings/" + meter,
                          Reading(meter, kT0 + (*sent / 2 + 1) * 1800, 0.1));
  }
}

TEST(ServeTest, BrokerRestartMidStreamLosesNoQos1Reading) {
  MosquittoBrokerOptions opts;
  opts.persistence = true;
  Fixture f(opts);
  f.dir.Write("gridwatch.yaml", Config(f.dir, f.broker));
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15)));

  MqttTestClientOptions popts;
  popts.client_id = "meter-head-end";
  popts.clean_session = false;
  popts.automatic_reconnect = true;
  popts.max_buffered_messages = 1000;
  MqttTestClient head_end(f.broker.url(), popts);
  head_end.Connect();
  int sent = 0;
  auto publish = [&](int n) { PublishAlternating(head_end, &sent, n); };
  publish(40);
  ASSERT_TRUE(head_end.WaitForPublished(seconds(10)));
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 40, seconds(10)));
  f.broker.Stop();
  ASSERT_TRUE(WaitMetric(port, "gridwatch_mqtt_connected", 0, seconds(1)) ||
              MetricValue(HttpGet(port, "/metrics").body, "gridwatch_mqtt_connected") == 0);
  EXPECT_EQ(HttpGet(port, "/readyz").status, 503);
  publish(30);  // buffered by the head-end while the broker is down
  f.broker.Start();
  ASSERT_TRUE(head_end.WaitConnected(true, seconds(15)));
  publish(30);
  ASSERT_TRUE(head_end.WaitForPublished(seconds(15)));
  ASSERT_TRUE(WaitReady(port, seconds(20))) << "service did not reconnect: " << gw.Stderr();
  EXPECT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 100, seconds(20)));
  const std::string scrape = HttpGet(port, "/metrics").body;
  EXPECT_EQ(MetricValue(scrape, "gridwatch_readings_accepted_total"), 100) << "lost or doubled";
  EXPECT_GE(MetricValue(scrape, "gridwatch_mqtt_reconnects_total"), 1);
  EXPECT_EQ(gw.Terminate(), 0);
}

TEST(ServeTest, AServiceFrozenPastItsKeepaliveReconnectsAndLosesNoQos1Reading) {
  // The whole process stops (a VM paused, a host swapping, SIGSTOP) for longer than 1.5 x the
  // keepalive: the broker drops the connection and keeps what arrives for the persistent
  // session. On waking, the service must notice the dead connection, reconnect and take every
  // queued reading exactly once (a redelivered QoS 1 message is deduplicated on meter and ts).
  Fixture f;
  std::string config = Config(f.dir, f.broker);
  const std::string reconnect = "  reconnect_min_s: 1\n";
  config.replace(config.find(reconnect), reconnect.size(), "  keepalive_s: 1\n" + reconnect);
  f.dir.Write("gridwatch.yaml", config);
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15))) << gw.Stderr();

  MqttTestClient head_end(f.broker.url());
  head_end.Connect();
  int sent = 0;
  auto publish = [&](int n) {
    PublishAlternating(head_end, &sent, n);
    return head_end.WaitForPublished(seconds(10));
  };
  ASSERT_TRUE(publish(40));
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 40, seconds(10)));

  gw.Signal(SIGSTOP);
  std::this_thread::sleep_for(milliseconds(600));
  ASSERT_TRUE(publish(30));  // reaches the broker; the frozen service cannot take it
  // Mosquitto drops a client 1.5 x its keepalive after its last packet, checked at a coarse tick
  // (a 5-s keepalive is dropped about 10 s after): 6 s of silence are enough for a 1-s one.
  std::this_thread::sleep_for(seconds(6));
  ASSERT_TRUE(publish(30));  // queued by the broker for the service's session
  gw.Signal(SIGCONT);

  EXPECT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 100, seconds(20)))
      << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(20))) << "service did not reconnect: " << gw.Stderr();
  std::this_thread::sleep_for(milliseconds(500));  // a doubled delivery would land by now
  const std::string scrape = HttpGet(port, "/metrics").body;
  EXPECT_EQ(MetricValue(scrape, "gridwatch_readings_accepted_total"), 100) << "lost or doubled";
  EXPECT_GE(MetricValue(scrape, "gridwatch_mqtt_reconnects_total"), 1)
      << "the broker should have dropped a client silent for 6 s with a 1 s keepalive\n"
      << f.broker.ReadLog();
  EXPECT_EQ(gw.Terminate(), 0) << gw.Stderr();
}

TEST(ServeTest, ReadyOnlyWithTheBrokerAndCleanStopWithCheckpointsRestored) {
  MosquittoBrokerOptions opts;
  opts.start = false;
  Fixture f(opts);
  f.dir.Write("gridwatch.yaml", Config(f.dir, f.broker));
  auto gw = std::make_unique<GridwatchProcess>(
      std::vector<std::string>{"serve", "--config", f.dir.File("gridwatch.yaml")},
      f.dir.path().string());
  const int port = gw->WaitForPort();
  ASSERT_GT(port, 0) << gw->Stderr();
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  const HttpResult not_ready = HttpGet(port, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("reason"), std::string::npos);
  f.broker.Start();
  ASSERT_TRUE(WaitReady(port, seconds(20))) << gw->Stderr();
  MqttTestClient meter(f.broker.url());
  meter.Connect();
  for (int i = 1; i <= 10; ++i)
    meter.Publish("gridwatch/readings/M1", Reading("M1", kT0 + i * 1800, 0.1));
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 10, seconds(10)));
  EXPECT_EQ(gw->Terminate(), 0) << gw->Stderr();
  bool ckpt = false;
  for (const auto& e : std::filesystem::directory_iterator(f.dir.File("data")))
    if (e.path().extension() == ".ckpt") ckpt = true;
  EXPECT_TRUE(ckpt) << "no checkpoint written on SIGTERM";
  // A restart restores the model state.
  gw = std::make_unique<GridwatchProcess>(
      std::vector<std::string>{"serve", "--config", f.dir.File("gridwatch.yaml")},
      f.dir.path().string());
  ASSERT_GT(gw->WaitForPort(), 0);
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (gw->Stderr().find("restored from checkpoints") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(50));
  EXPECT_NE(gw->Stderr().find("restored from checkpoints"), std::string::npos) << gw->Stderr();
  EXPECT_EQ(gw->Terminate(), 0);
}

TEST(ServeTest, SighupReloadsTheRegistryAndKeepsState) {
  Fixture f;
  f.dir.Write("gridwatch.yaml", Config(f.dir, f.broker));
  GridwatchProcess gw({"serve", "--config", f.dir.File("gridwatch.yaml")}, f.dir.path().string());
  const int port = gw.WaitForPort();
  ASSERT_GT(port, 0) << gw.Stderr();
  ASSERT_TRUE(WaitReady(port, seconds(15)));
  MqttTestClient meter(f.broker.url());
  meter.Connect();
  for (int i = 1; i <= 4; ++i) {
    meter.Publish("gridwatch/readings/M1", Reading("M1", kT0 + i * 1800, 0.1));
    meter.Publish("gridwatch/readings/M2", Reading("M2", kT0 + i * 1800, 0.1));
  }
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 8, seconds(10)));
  ASSERT_TRUE(WaitMetric(port, "gridwatch_households_tracked", 2, seconds(10)));

  // A broken registry is refused and the service goes on with the old one.
  f.dir.Write("households.csv", Households() + "H4,M1,elderly_alone,S1,C1,G1,x\n");
  gw.Signal(SIGHUP);
  auto wait_log = [&](const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (gw.Stderr().find(text) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(50));
    return gw.Stderr().find(text) != std::string::npos;
  };
  EXPECT_TRUE(wait_log("nothing reloaded")) << gw.Stderr();
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);

  // A good one (a new home appended) is taken; the two homes' state is kept.
  f.dir.Write("households.csv", Households() + "H4,M4,elderly_alone,S1,C1,G1,x\n");
  gw.Signal(SIGHUP);
  EXPECT_TRUE(wait_log("reloaded 4 households")) << gw.Stderr();
  meter.Publish("gridwatch/readings/M1", Reading("M1", kT0 + 5 * 1800, 0.1));
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 9, seconds(10)));
  // The new home's meter is known to ingest now (it was unknown_meter before the reload).
  meter.Publish("gridwatch/readings/M4", Reading("M4", kT0 + 5 * 1800, 0.1));
  ASSERT_TRUE(WaitMetric(port, "gridwatch_readings_accepted_total", 10, seconds(10)));
  EXPECT_EQ(MetricValue(HttpGet(port, "/metrics").body, "gridwatch_readings_rejected_total",
                        "reason=\"unknown_meter\""),
            0);
  std::this_thread::sleep_for(milliseconds(1500));  // the gauges refresh once a second
  EXPECT_EQ(MetricValue(HttpGet(port, "/metrics").body, "gridwatch_households_tracked"), 3);
  EXPECT_EQ(gw.Terminate(), 0) << gw.Stderr();
}

TEST(ServeTest, BadConfigNamesFileAndLineAndExitsTwo) {
  TempDir dir("gw-badcfg");
  dir.Write("bad.yaml", "mqtt:\n  qos_typo: 1\n");
  GridwatchProcess gw({"serve", "--config", dir.File("bad.yaml")}, dir.path().string());
  EXPECT_EQ(gw.WaitExit(10000), 2);
  EXPECT_NE(gw.Stderr().find("bad.yaml:2"), std::string::npos) << gw.Stderr();
}

}  // namespace
}  // namespace gridwatch::test_support
