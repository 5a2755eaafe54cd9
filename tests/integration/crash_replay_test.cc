// Crash and replay of `gridwatch serve` (the real binary, a real Mosquitto on a free port, the
// real SQLite store): the shipped six-home sample's history is learnt (--history), then 19 days of
// its readings are fed as live meters on the data clock. One run takes them uninterrupted; the
// other is stopped cleanly once (a checkpoint with its WAL position), then SIGKILLed after more
// readings were accepted (and written to the write-ahead log) but long before the next
// checkpoint, restarted on the same data folder and fed the rest. Both end with the same alerts
// in their stores, field by field; the restart replayed readings from the log and took a
// redelivery of already accepted readings as duplicates. Without the log, the same crash forgets
// the readings accepted since the checkpoint.
//
// meter_silent is off in these runs: it is raised on the clock ticks, whose data time depends on
// when the 200 ms tick falls between the readings, so its opened_at differs from run to run with
// or without a crash. Every welfare kind is on.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/gridwatch_process.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/temp_dir.h"

namespace gridwatch::test_support {
namespace {

using std::chrono::seconds;

// The live window: as the demo's (after nine months of history).
constexpr const char* kLiveFrom = "2013-10-07T12:00:00Z";
constexpr const char* kLiveTo = "2013-10-26T12:00:00Z";

struct Row {
  std::string meter, ts, kwh;  // ts as in the file: RFC 3339 UTC, so text order is time order
};

// The sample's readings: the history part is written to `history_csv`, the live part returned in
// publishing order (ts, then file order, as `gridwatch feed` sends them).
std::vector<Row> SplitSample(const std::string& history_csv) {
  gzFile f = gzopen(GRIDWATCH_SAMPLE_DIR "/readings.csv.gz", "rb");
  EXPECT_NE(f, nullptr);
  std::vector<Row> live;
  std::string history;
  char buf[512];
  bool header = true;
  while (f && gzgets(f, buf, sizeof buf)) {
    std::string line(buf);
    if (header) {
      history += line;
      header = false;
      continue;
    }
    const size_t a = line.find(','), b = line.find(',', a + 1);
    Row r{line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)};
    while (!r.kwh.empty() && (r.kwh.back() == '\n' || r.kwh.back() == '\r')) r.kwh.pop_back();
    if (r.ts <= kLiveFrom) {
      history += line;
    } else if (r.ts <= kLiveTo) {
      live.push_back(std::move(r));
    }
  }
  if (f) gzclose(f);
  std::stable_sort(live.begin(), live.end(),
                   [](const Row& x, const Row& y) { return x.ts < y.ts; });
  FILE* out = std::fopen(history_csv.c_str(), "w");
  EXPECT_NE(out, nullptr);
  if (out) {
    std::fwrite(history.data(), 1, history.size(), out);
    std::fclose(out);
  }
  return live;
}

std::string Config(const std::string& data_dir, const MosquittoBroker& broker,
                   const std::string& client_id, bool wal, bool clean_session) {
  return std::string("households_csv: " GRIDWATCH_SAMPLE_DIR "/households.csv\n") +
         "data_dir: " + data_dir + "\ntimezone: Europe/London\nclock: data\n" +
         "checkpoint_interval_s: 3600\n" + "mqtt:\n  broker: " + broker.url() +
         "\n  client_id: " + client_id +
         "\n  clean_session: " + (clean_session ? "true" : "false") +
         "\n  reconnect_min_s: 1\n  reconnect_max_s: 2\n" +
         "detect:\n  detectors:\n    meter_silent: {enabled: false}\n" + "http:\n  port: 0\n" +
         "wal:\n  enabled: " + (wal ? "true" : "false") + "\n";
}

// One `gridwatch serve` on a run's data folder; each start logs into its own folder.
class Serve {
 public:
  Serve(const TempDir& dir, const std::string& name, int start) {
    const std::string logs = dir.File(name + "-start" + std::to_string(start));
    std::filesystem::create_directories(logs);
    process_ = std::make_unique<GridwatchProcess>(
        std::vector<std::string>{"serve", "--config", dir.File(name + ".yaml"), "--history",
                                 dir.File("history.csv")},
        logs);
    port_ = process_->WaitForPort();
  }
  int port() const { return port_; }
  // It printed its port and is connected and subscribed to the broker.
  ::testing::AssertionResult Up() {
    if (port_ > 0 && WaitReady(port_, seconds(15))) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "not up: " << process_->Stderr();
  }
  GridwatchProcess& process() { return *process_; }
  double Metric(const std::string& name, const std::string& filter = "") const {
    return MetricValue(HttpGet(port_, "/metrics").body, name, filter);
  }

 private:
  std::unique_ptr<GridwatchProcess> process_;
  int port_ = -1;
};

void Publish(MqttTestClient& meters, const std::vector<Row>& rows, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    const Row& r = rows[i];
    meters.PublishAsync(
        "gridwatch/readings/" + r.meter,
        "{\"meter\":\"" + r.meter + "\",\"ts\":\"" + r.ts + "\",\"kwh\":" + r.kwh + "}");
    if ((i - from) % 500 == 499) {
      ASSERT_TRUE(meters.WaitForPublished(seconds(30)));
    }
  }
  ASSERT_TRUE(meters.WaitForPublished(seconds(30)));
}

// Every alert in a store, one line per alert with the fields a person sees and what the
// episode's lifecycle did (no ids, no wall-clock times), sorted.
std::vector<std::string> StoredAlerts(const std::string& db_path) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db_path;
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "SELECT household_id, kind, opened_at, since, severity, state, outcome, kinds_seen, "
      "kinds_active, last_finding_at, street, community, grid, summary_en, summary_zh, evidence "
      "FROM alerts";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string line;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = sqlite3_column_text(st, c);
        line += (c ? " | " : "") + std::string(text ? reinterpret_cast<const char*>(text) : "");
      }
      out.push_back(std::move(line));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

struct Fixture {
  TempDir dir{"gw-crash-replay"};
  MosquittoBroker broker;
  std::vector<Row> live;
  Fixture() { live = SplitSample(dir.File("history.csv")); }
  static MqttTestClientOptions MeterOptions() {
    MqttTestClientOptions o;
    o.max_buffered_messages = 1000;  // Publish() waits for the acks every 500
    return o;
  }
  void WriteConfig(const std::string& name, bool wal, bool clean_session = false) {
    dir.Write(name + ".yaml",
              Config(dir.File(name + "-data"), broker, "gw-" + name, wal, clean_session));
  }
};

TEST(CrashReplayTest, AlertsAfterASigkillAndRestartEqualThoseOfAnUninterruptedRun) {
  Fixture f;
  ASSERT_GT(f.live.size(), 4000u);
  const size_t n = f.live.size();
  const size_t cut1 = n * 2 / 5;   // clean stop here (a checkpoint with its WAL position)
  const size_t cut2 = n * 7 / 10;  // SIGKILL once these are in the log
  MqttTestClient meters(f.broker.url(), Fixture::MeterOptions());
  meters.Connect();

  // The uninterrupted run.
  f.WriteConfig("whole", true);
  {
    Serve gw(f.dir, "whole", 1);
    ASSERT_TRUE(gw.Up());
    Publish(meters, f.live, 0, n);
    ASSERT_TRUE(WaitMetric(gw.port(), "gridwatch_readings_accepted_total", n, seconds(30)))
        << gw.Metric("gridwatch_readings_accepted_total");
    ASSERT_EQ(gw.process().Terminate(), 0) << gw.process().Stderr();
  }
  const std::vector<std::string> whole = StoredAlerts(f.dir.File("whole-data/alerts.db"));
  ASSERT_FALSE(whole.empty()) << "no alert in the window: the comparison would prove nothing";

  // The crashed run.
  f.WriteConfig("crash", true);
  {
    Serve gw(f.dir, "crash", 1);
    ASSERT_TRUE(gw.Up());
    Publish(meters, f.live, 0, cut1);
    ASSERT_TRUE(WaitMetric(gw.port(), "gridwatch_readings_accepted_total", cut1, seconds(30)));
    ASSERT_EQ(gw.process().Terminate(), 0) << gw.process().Stderr();
  }
  {
    Serve gw(f.dir, "crash", 2);
    ASSERT_TRUE(gw.Up());
    EXPECT_EQ(gw.Metric("gridwatch_wal_records_replayed_total"), 0)
        << "a clean stop checkpoints everything";
    Publish(meters, f.live, cut1, cut2);
    // In the log (written before detect sees them), not yet in any checkpoint: kill.
    ASSERT_TRUE(
        WaitMetric(gw.port(), "gridwatch_wal_records_written_total", cut2 - cut1, seconds(30)))
        << gw.Metric("gridwatch_wal_records_written_total");
    gw.process().Kill();
  }
  {
    Serve gw(f.dir, "crash", 3);
    ASSERT_TRUE(gw.Up());
    EXPECT_EQ(gw.Metric("gridwatch_wal_records_replayed_total"), cut2 - cut1)
        << gw.process().Stderr();
    EXPECT_EQ(gw.Metric("gridwatch_wal_records_skipped_total"), 0);
    EXPECT_NE(gw.process().Stderr().find("replayed into the models"), std::string::npos);
    EXPECT_TRUE(WaitMetric(gw.port(), "gridwatch_households_tracked", 6, seconds(10)))
        << "the models are back";
    // The broker sends some accepted readings again: duplicates, not second observations.
    Publish(meters, f.live, cut2 - 50, cut2);
    EXPECT_TRUE(WaitMetric(gw.port(), "gridwatch_readings_rejected_total", 50, seconds(10),
                           "reason=\"duplicate\""));
    Publish(meters, f.live, cut2, n);
    ASSERT_TRUE(WaitMetric(gw.port(), "gridwatch_readings_accepted_total", n - cut2, seconds(30)));
    EXPECT_EQ(gw.Metric("gridwatch_readings_accepted_total"), n - cut2);
    ASSERT_EQ(gw.process().Terminate(), 0) << gw.process().Stderr();
  }
  const std::vector<std::string> crashed = StoredAlerts(f.dir.File("crash-data/alerts.db"));
  EXPECT_EQ(Join(crashed), Join(whole));
}

TEST(CrashReplayTest, WithoutTheWalTheSameCrashForgetsAcceptedReadings) {
  Fixture f;
  const size_t n = 500;
  MqttTestClient meters(f.broker.url(), Fixture::MeterOptions());
  meters.Connect();
  // A clean session: the broker then sends nothing again after the kill (a persistent one may
  // redeliver the last readings whose acknowledgement the kill cut off, which would be accepted
  // before the test's own resend and make it out of order).
  f.WriteConfig("nowal", false, true);
  {
    Serve gw(f.dir, "nowal", 1);
    ASSERT_TRUE(gw.Up());
    Publish(meters, f.live, 0, n);
    ASSERT_TRUE(WaitMetric(gw.port(), "gridwatch_readings_accepted_total", n, seconds(30)));
    EXPECT_EQ(gw.Metric("gridwatch_wal_records_written_total"), 0);
    gw.process().Kill();
  }
  EXPECT_FALSE(std::filesystem::exists(f.dir.File("nowal-data/wal")));
  Serve gw(f.dir, "nowal", 2);
  ASSERT_TRUE(gw.Up());
  // The same readings again are all new to it: the crash took them (with the WAL they are
  // duplicates, as the test above shows).
  Publish(meters, f.live, 0, n);
  ASSERT_TRUE(WaitMetric(gw.port(), "gridwatch_readings_accepted_total", n, seconds(30)))
      << gw.Metric("gridwatch_readings_accepted_total");
  EXPECT_EQ(gw.Metric("gridwatch_readings_accepted_total"), n);
  EXPECT_EQ(gw.Metric("gridwatch_wal_records_replayed_total"), 0);
  EXPECT_EQ(gw.process().Terminate(), 0);
}

}  // namespace
}  // namespace gridwatch::test_support
