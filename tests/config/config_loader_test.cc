#include "config/config_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <string>

#include "config/config_error.h"
#include "config/registry.h"
#include "detect/finding.h"
#include "test_files.h"

namespace gridwatch {
namespace {

using testing::TempDir;

// Unsets GRIDWATCH_MQTT_PASSWORD for the test's duration, restoring it afterwards.
class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* p = getenv("GRIDWATCH_MQTT_PASSWORD")) saved_ = p;
    unsetenv("GRIDWATCH_MQTT_PASSWORD");
    unsetenv("GRIDWATCH_TEST_PW");
  }
  void TearDown() override {
    unsetenv("GRIDWATCH_MQTT_PASSWORD");
    unsetenv("GRIDWATCH_TEST_PW");
    if (saved_) setenv("GRIDWATCH_MQTT_PASSWORD", saved_->c_str(), 1);
  }

  // Loads `yaml` from a temp file; returns the ConfigError (fails the test if it loads).
  ConfigError Error(const std::string& yaml) {
    const std::string path = dir_.Write("gw.yaml", yaml);
    try {
      LoadConfig(path);
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.file(), path);
      return e;
    }
    ADD_FAILURE() << "loaded without error:\n" << yaml;
    return ConfigError(path, 0, "");
  }

  TempDir dir_;
  std::optional<std::string> saved_;
};

// Field-by-field comparison of everything but `source` and the paths that get resolved.
void ExpectSameOptions(const Config& a, const Config& b) {
  EXPECT_EQ(a.mqtt.broker, b.mqtt.broker);
  EXPECT_EQ(a.mqtt.client_id, b.mqtt.client_id);
  EXPECT_EQ(a.mqtt.username, b.mqtt.username);
  EXPECT_EQ(a.mqtt.password, b.mqtt.password);
  EXPECT_EQ(a.mqtt.readings_topics, b.mqtt.readings_topics);
  EXPECT_EQ(a.mqtt.readings_qos, b.mqtt.readings_qos);
  EXPECT_EQ(a.mqtt.alerts_topic_prefix, b.mqtt.alerts_topic_prefix);
  EXPECT_EQ(a.mqtt.alerts_qos, b.mqtt.alerts_qos);
  EXPECT_EQ(a.mqtt.deadletter_topic, b.mqtt.deadletter_topic);
  EXPECT_EQ(a.mqtt.clean_session, b.mqtt.clean_session);
  EXPECT_EQ(a.mqtt.keepalive_s, b.mqtt.keepalive_s);
  EXPECT_EQ(a.mqtt.reconnect_min_s, b.mqtt.reconnect_min_s);
  EXPECT_EQ(a.mqtt.reconnect_max_s, b.mqtt.reconnect_max_s);
  EXPECT_EQ(a.mqtt.max_inflight, b.mqtt.max_inflight);
  EXPECT_EQ(a.mqtt.ca_file, b.mqtt.ca_file);
  EXPECT_EQ(a.mqtt.cert_file, b.mqtt.cert_file);
  EXPECT_EQ(a.mqtt.key_file, b.mqtt.key_file);
  EXPECT_EQ(a.ingest.late_window_s, b.ingest.late_window_s);
  EXPECT_EQ(a.ingest.reorder_hold_s, b.ingest.reorder_hold_s);
  EXPECT_EQ(a.clock, b.clock);
  EXPECT_EQ(a.ingest.max_future_s, b.ingest.max_future_s);
  EXPECT_EQ(a.ingest.max_kwh_per_hour, b.ingest.max_kwh_per_hour);
  EXPECT_EQ(a.ingest.message_queue_capacity, b.ingest.message_queue_capacity);
  EXPECT_EQ(a.detect.worker_threads, b.detect.worker_threads);
  EXPECT_EQ(a.detect.queue_capacity, b.detect.queue_capacity);
  EXPECT_EQ(a.detect.half_life_days, b.detect.half_life_days);
  EXPECT_EQ(a.detect.min_learning_days, b.detect.min_learning_days);
  EXPECT_EQ(a.detect.gate_z, b.detect.gate_z);
  EXPECT_EQ(a.detect.tick_s, b.detect.tick_s);
  EXPECT_EQ(a.detect.detectors.size(), b.detect.detectors.size());
  EXPECT_EQ(a.detect.category_overrides.size(), b.detect.category_overrides.size());
  EXPECT_EQ(a.detect.holidays, b.detect.holidays);
  EXPECT_EQ(a.detect.holidays_file, b.detect.holidays_file);
  EXPECT_EQ(a.alert.auto_resolve_after_s, b.alert.auto_resolve_after_s);
  EXPECT_EQ(a.alert.escalate_critical_s, b.alert.escalate_critical_s);
  EXPECT_EQ(a.alert.escalate_high_s, b.alert.escalate_high_s);
  EXPECT_EQ(a.alert.escalate_medium_s, b.alert.escalate_medium_s);
  EXPECT_EQ(a.alert.escalate_low_s, b.alert.escalate_low_s);
  EXPECT_EQ(a.alert.max_repeats, b.alert.max_repeats);
  EXPECT_EQ(a.alert.quiet_hours, b.alert.quiet_hours);
  EXPECT_EQ(a.alert.lang, b.alert.lang);
  EXPECT_EQ(a.alert.ack_base_url, b.alert.ack_base_url);
  EXPECT_EQ(a.alert.max_attempts, b.alert.max_attempts);
  EXPECT_EQ(a.alert.retry_initial_s, b.alert.retry_initial_s);
  EXPECT_EQ(a.alert.retry_max_s, b.alert.retry_max_s);
  EXPECT_EQ(a.alert.contacts_csv, b.alert.contacts_csv);
  EXPECT_EQ(a.alert.tokens_csv, b.alert.tokens_csv);
  EXPECT_EQ(a.http.bind, b.http.bind);
  EXPECT_EQ(a.http.port, b.http.port);
  EXPECT_EQ(a.log.level, b.log.level);
  EXPECT_EQ(a.log.json, b.log.json);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.households_csv, b.households_csv);
  EXPECT_EQ(a.checkpoint_interval_s, b.checkpoint_interval_s);
  EXPECT_EQ(a.wal.enabled, b.wal.enabled);
  EXPECT_EQ(a.wal.fsync_interval_ms, b.wal.fsync_interval_ms);
  EXPECT_EQ(a.wal.segment_mb, b.wal.segment_mb);
}

TEST_F(ConfigLoaderTest, ShippedYamlLoadsToOptionsDefaults) {
  const std::string path = GRIDWATCH_SOURCE_DIR "/config/gridwatch.yaml";
  const Config c = LoadConfig(path);
  EXPECT_EQ(c.source, path);
  ExpectSameOptions(c, Config{});
  EXPECT_EQ(c.timezone, "Asia/Shanghai");
  // data_dir is relative in the file, so it is resolved against the file's directory.
  EXPECT_EQ(c.data_dir, GRIDWATCH_SOURCE_DIR "/config/gridwatch-data");
}

TEST_F(ConfigLoaderTest, DefaultConfigIsOptionsDefaults) {
  const Config c = DefaultConfig();
  EXPECT_EQ(c.source, "<defaults>");
  ExpectSameOptions(c, Config{});
  EXPECT_EQ(c.data_dir, Config{}.data_dir);
}

TEST_F(ConfigLoaderTest, EmptyFileGivesDefaults) {
  const Config c = LoadConfig(dir_.Write("empty.yaml", "# nothing\n"));
  ExpectSameOptions(c, Config{});
}

TEST_F(ConfigLoaderTest, EveryFieldIsSettable) {
  dir_.Write("hol.csv", "date,name\n2013-01-01,New Year\n");
  const Config c = LoadConfig(dir_.Write("all.yaml", R"(
timezone: Europe/London
data_dir: /var/lib/gw
households_csv: /etc/gw/households.csv
checkpoint_interval_s: 60
mqtt:
  broker: ssl://broker.example:8883
  client_id: gw-test
  username: alice
  password: secret
  readings_topics: [a/#, b/+/c]
  readings_qos: 2
  alerts_topic_prefix: x/alerts
  alerts_qos: 0
  deadletter_topic: x/dead
  clean_session: true
  keepalive_s: 10
  reconnect_min_s: 2
  reconnect_max_s: 20
  max_inflight: 5000
  ca_file: /ca.pem
  cert_file: /cert.pem
  key_file: /key.pem
ingest:
  late_window_s: 100
  reorder_hold_s: 900
  max_future_s: 5
  max_kwh_per_hour: 12.5
  message_queue_capacity: 10
detect:
  worker_threads: 4
  queue_capacity: 128
  half_life_days: 7.5
  min_learning_days: 3
  gate_z: 3.5
  tick_s: 5
  holidays: [2013-12-25]
  holidays_file: hol.csv
  detectors:
    inactivity: {enabled: false, threshold: 1.5, min_hours: 3, margin_hours: 1, factor: 2}
    meter_silent:
  category_overrides:
    elderly_couple:
      inactivity: {margin_hours: 4}
alert:
  auto_resolve_after_s: 7200
  escalate_critical_s: 1
  escalate_high_s: 2
  escalate_medium_s: 3
  escalate_low_s: 4
  max_repeats: 0
  quiet_hours: ""
  lang: en
  ack_base_url: https://gw.example
  max_attempts: 2
  retry_initial_s: 1
  retry_max_s: 2
  contacts_csv: /c.csv
  tokens_csv: /t.csv
http:
  bind: 0.0.0.0
  port: 0
log:
  level: debug
  json: true
wal:
  enabled: false
  fsync_interval_ms: 0
  segment_mb: 8
)"));
  EXPECT_EQ(c.timezone, "Europe/London");
  EXPECT_EQ(c.data_dir, "/var/lib/gw");
  EXPECT_EQ(c.households_csv, "/etc/gw/households.csv");
  EXPECT_EQ(c.checkpoint_interval_s, 60);
  EXPECT_EQ(c.mqtt.broker, "ssl://broker.example:8883");
  EXPECT_EQ(c.mqtt.client_id, "gw-test");
  EXPECT_EQ(c.mqtt.username, "alice");
  EXPECT_EQ(c.mqtt.password, "secret");
  EXPECT_EQ(c.mqtt.readings_topics, (std::vector<std::string>{"a/#", "b/+/c"}));
  EXPECT_EQ(c.mqtt.readings_qos, 2);
  EXPECT_EQ(c.mqtt.alerts_topic_prefix, "x/alerts");
  EXPECT_EQ(c.mqtt.alerts_qos, 0);
  EXPECT_EQ(c.mqtt.deadletter_topic, "x/dead");
  EXPECT_TRUE(c.mqtt.clean_session);
  EXPECT_EQ(c.mqtt.keepalive_s, 10);
  EXPECT_EQ(c.mqtt.reconnect_min_s, 2);
  EXPECT_EQ(c.mqtt.reconnect_max_s, 20);
  EXPECT_EQ(c.mqtt.max_inflight, 5000);
  EXPECT_EQ(c.mqtt.ca_file, "/ca.pem");
  EXPECT_EQ(c.mqtt.cert_file, "/cert.pem");
  EXPECT_EQ(c.mqtt.key_file, "/key.pem");
  EXPECT_EQ(c.ingest.late_window_s, 100);
  EXPECT_EQ(c.ingest.reorder_hold_s, 900);
  EXPECT_EQ(c.ingest.max_future_s, 5);
  EXPECT_EQ(c.ingest.max_kwh_per_hour, 12.5);
  EXPECT_EQ(c.ingest.message_queue_capacity, 10);
  EXPECT_EQ(c.detect.worker_threads, 4);
  EXPECT_EQ(c.detect.queue_capacity, 128);
  EXPECT_EQ(c.detect.half_life_days, 7.5);
  EXPECT_EQ(c.detect.min_learning_days, 3);
  EXPECT_EQ(c.detect.gate_z, 3.5);
  EXPECT_EQ(c.detect.tick_s, 5);
  EXPECT_EQ(c.detect.holidays, (std::vector<std::string>{"2013-12-25", "2013-01-01"}));
  EXPECT_EQ(c.detect.holidays_file, (dir_.path() / "hol.csv").string());
  ASSERT_EQ(c.detect.detectors.size(), 2u);
  const DetectorParams& in = c.detect.detectors.at("inactivity");
  EXPECT_EQ(in.enabled, 0);
  EXPECT_EQ(in.threshold, 1.5);
  EXPECT_EQ(in.min_hours, 3);
  EXPECT_EQ(in.margin_hours, 1);
  EXPECT_EQ(in.factor, 2);
  // A kind given with no fields keeps every field unset (model defaults).
  const DetectorParams& ms = c.detect.detectors.at("meter_silent");
  EXPECT_EQ(ms.enabled, -1);
  EXPECT_TRUE(std::isnan(ms.threshold));
  EXPECT_TRUE(std::isnan(ms.min_hours));
  const DetectorParams& ov = c.detect.category_overrides.at("elderly_couple").at("inactivity");
  EXPECT_EQ(ov.margin_hours, 4);
  EXPECT_EQ(ov.enabled, -1);
  EXPECT_TRUE(std::isnan(ov.factor));
  EXPECT_EQ(c.alert.auto_resolve_after_s, 7200);
  EXPECT_EQ(c.alert.escalate_critical_s, 1);
  EXPECT_EQ(c.alert.escalate_high_s, 2);
  EXPECT_EQ(c.alert.escalate_medium_s, 3);
  EXPECT_EQ(c.alert.escalate_low_s, 4);
  EXPECT_EQ(c.alert.max_repeats, 0);
  EXPECT_EQ(c.alert.quiet_hours, "");
  EXPECT_EQ(c.alert.lang, "en");
  EXPECT_EQ(c.alert.ack_base_url, "https://gw.example");
  EXPECT_EQ(c.alert.max_attempts, 2);
  EXPECT_EQ(c.alert.retry_initial_s, 1);
  EXPECT_EQ(c.alert.retry_max_s, 2);
  EXPECT_EQ(c.alert.contacts_csv, "/c.csv");
  EXPECT_EQ(c.alert.tokens_csv, "/t.csv");
  EXPECT_EQ(c.http.bind, "0.0.0.0");
  EXPECT_EQ(c.http.port, 0);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_TRUE(c.log.json);
  EXPECT_FALSE(c.wal.enabled);
  EXPECT_EQ(c.wal.fsync_interval_ms, 0);
  EXPECT_EQ(c.wal.segment_mb, 8);
}

TEST_F(ConfigLoaderTest, AbsentDetectorsMeanModelDefaults) {
  const Config c = LoadConfig(dir_.Write("d.yaml", "detect:\n  half_life_days: 10\n"));
  EXPECT_TRUE(c.detect.detectors.empty());
  EXPECT_TRUE(c.detect.category_overrides.empty());
}

TEST_F(ConfigLoaderTest, UnknownKeyNamesLineAndPathWithSuggestion) {
  const ConfigError e = Error("mqtt:\n  broker: tcp://h:1\n  qos_readings: 1\n  brokr: x\n");
  EXPECT_EQ(e.line(), 3);
  const std::string msg = e.what();
  EXPECT_NE(msg.find(":3: unknown key 'mqtt.qos_readings'"), std::string::npos) << msg;

  const ConfigError e2 = Error("mqtt:\n  brokr: tcp://h:1\n");
  EXPECT_EQ(e2.line(), 2);
  EXPECT_NE(std::string(e2.what()).find("unknown key 'mqtt.brokr'; did you mean 'mqtt.broker'?"),
            std::string::npos)
      << e2.what();

  const ConfigError e3 = Error("\n\ntimezon: UTC\n");
  EXPECT_EQ(e3.line(), 3);
  EXPECT_NE(std::string(e3.what()).find("did you mean 'timezone'?"), std::string::npos)
      << e3.what();

  const ConfigError e4 = Error("detect:\n  detectors:\n    inactivity:\n      treshold: 2\n");
  EXPECT_EQ(e4.line(), 4);
  EXPECT_NE(std::string(e4.what()).find(
                "unknown key 'detect.detectors.inactivity.treshold'; did you mean "
                "'detect.detectors.inactivity.threshold'?"),
            std::string::npos)
      << e4.what();
}

TEST_F(ConfigLoaderTest, FarOffUnknownKeyHasNoSuggestion) {
  const ConfigError e = Error("completely_unrelated: 1\n");
  EXPECT_EQ(e.line(), 1);
  EXPECT_EQ(std::string(e.what()).find("did you mean"), std::string::npos) << e.what();
}

TEST_F(ConfigLoaderTest, DuplicateKeyIsAnError) {
  const ConfigError e = Error("http:\n  port: 1\n  port: 2\n");
  EXPECT_EQ(e.line(), 3);
  EXPECT_NE(std::string(e.what()).find("http.port: duplicate key"), std::string::npos) << e.what();
}

TEST_F(ConfigLoaderTest, YamlSyntaxErrorHasLine) {
  const ConfigError e = Error("mqtt:\n  broker: [unclosed\n  x: 1\nfoo: bar\n");
  EXPECT_GT(e.line(), 0);
  EXPECT_NE(std::string(e.what()).find("YAML"), std::string::npos) << e.what();
}

TEST_F(ConfigLoaderTest, TopLevelMustBeAMapping) {
  const ConfigError e = Error("- mqtt\n- http\n");
  EXPECT_NE(std::string(e.what()).find("top level: expected a mapping"), std::string::npos)
      << e.what();
}

TEST_F(ConfigLoaderTest, MissingFileIsConfigError) {
  EXPECT_THROW(LoadConfig("/nonexistent/gridwatch.yaml"), ConfigError);
}

struct BadValue {
  std::string yaml;
  int line;
  std::string expect;  // substring of the message
};

TEST_F(ConfigLoaderTest, BadValuesNameLineAndReason) {
  const std::vector<BadValue> cases = {
      {"mqtt:\n  readings_qos: 3\n", 2, "mqtt.readings_qos: must be in 0..2 (got '3')"},
      {"mqtt:\n  alerts_qos: -1\n", 2, "mqtt.alerts_qos: must be in 0..2"},
      {"mqtt:\n  readings_qos: one\n", 2, "mqtt.readings_qos: expected an integer (got 'one')"},
      {"mqtt:\n  broker: localhost:1883\n", 2, "mqtt.broker: expected tcp://"},
      {"mqtt:\n  clean_session: maybe\n", 2, "mqtt.clean_session: expected true or false"},
      {"mqtt:\n  reconnect_min_s: 10\n  reconnect_max_s: 5\n", 3,
       "mqtt.reconnect_max_s: must be >= reconnect_min_s"},
      {"mqtt:\n  readings_topics: []\n", 2, "mqtt.readings_topics: needs at least one"},
      {"ingest:\n  late_window_s: -5\n", 2, "ingest.late_window_s: must be >= 0 (got '-5')"},
      {"ingest:\n  max_kwh_per_hour: 0\n", 2, "ingest.max_kwh_per_hour: must be > 0"},
      {"alert:\n  escalate_low_s: -1\n", 2, "alert.escalate_low_s: must be >= 0"},
      {"alert:\n  quiet_hours: 22-07\n", 2, "alert.quiet_hours: expected HH:MM-HH:MM"},
      {"alert:\n  ack_base_url: gw.example\n", 2, "alert.ack_base_url: expected an http"},
      {"alert:\n  retry_initial_s: 10\n  retry_max_s: 5\n", 3, "alert.retry_max_s: must be >="},
      {"http:\n  port: 70000\n", 2, "http.port: must be in 0..65535 (got '70000')"},
      {"http:\n  port: -1\n", 2, "http.port: must be in 0..65535"},
      {"log:\n  level: verbose\n", 2, "log.level: unknown log level 'verbose' (known: trace,"},
      {"timezone: Mars/Olympus\n", 1, "timezone: unknown time zone 'Mars/Olympus'"},
      {"checkpoint_interval_s: 0\n", 1, "checkpoint_interval_s: must be >= 1"},
      {"detect:\n  gate_z: 25\n", 2, "detect.gate_z: must be in [0, 20]"},
      {"alert:\n  sms_url_template: http://gw/send?to={to}\n", 2, "alert.sms_url_template"},
      {"alert:\n  sms_method: PUT\n", 2, "alert.sms_method: must be GET or POST"},
      {"detect:\n  gate_z: -1\n", 2, "detect.gate_z"},
      {"detect:\n  half_life_days: -3\n", 2, "detect.half_life_days: must be > 0 (got '-3')"},
      {"detect:\n  half_life_days: .nan\n", 2, "detect.half_life_days: expected a finite number"},
      {"detect:\n  worker_threads: 0\n", 2, "detect.worker_threads: must be in 1..1024"},
      {"detect:\n  holidays: [2013-02-30]\n", 2,
       "detect.holidays: '2013-02-30' is not a YYYY-MM-DD date"},
      {"detect:\n  detectors:\n    inactivity:\n      min_hours: -1\n", 4,
       "detect.detectors.inactivity.min_hours: must be >= 0"},
      {"detect:\n  detectors:\n    frozen:\n      enabled: 7\n", 4,
       "detect.detectors.frozen.enabled: expected true or false"},
      {"detect:\n  detectors: [inactivity]\n", 2, "detect.detectors: expected a mapping"},
      {"mqtt: tcp://x:1\n", 1, "mqtt: expected a mapping"},
      {"wal:\n  enabled: sometimes\n", 2, "wal.enabled: expected true or false"},
      {"wal:\n  fsync_interval_ms: -1\n", 2, "wal.fsync_interval_ms: must be in 0..3600000"},
      {"wal:\n  segment_mb: 0\n", 2, "wal.segment_mb: must be in 1..4096 (got '0')"},
      {"wal:\n  fsync_intervl_ms: 10\n", 2, "did you mean 'wal.fsync_interval_ms'?"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const ConfigError e = Error(c.yaml);
    EXPECT_EQ(e.line(), c.line) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
  }
}

TEST_F(ConfigLoaderTest, UnknownDetectorKindListsKnownKinds) {
  const ConfigError e = Error("detect:\n  detectors:\n    inactivty:\n      enabled: true\n");
  EXPECT_EQ(e.line(), 3);
  const std::string msg = e.what();
  EXPECT_NE(msg.find("unknown detector kind 'detect.detectors.inactivty'"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("known kinds: inactivity, no_morning_activity"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'detect.detectors.inactivity'?"), std::string::npos) << msg;
}

TEST_F(ConfigLoaderTest, UnknownCategoryInOverridesListsKnownCategories) {
  const ConfigError e =
      Error("detect:\n  category_overrides:\n    elderly:\n      inactivity: {}\n");
  EXPECT_EQ(e.line(), 3);
  const std::string msg = e.what();
  EXPECT_NE(msg.find("unknown category 'detect.category_overrides.elderly'"), std::string::npos)
      << msg;
  for (const auto& cat : KnownCategories()) EXPECT_NE(msg.find(cat), std::string::npos) << cat;
  const ConfigError e2 = Error("detect:\n  category_overrides:\n    rental:\n      sleepy: {}\n");
  EXPECT_EQ(e2.line(), 4);
  EXPECT_NE(std::string(e2.what()).find("unknown detector kind"), std::string::npos) << e2.what();
}

TEST_F(ConfigLoaderTest, DetectorKindsMatchDetectFinding) {
  ASSERT_EQ(KnownDetectorKinds().size(), static_cast<size_t>(kNumAlertKinds));
  for (int i = 0; i < kNumAlertKinds; ++i) {
    EXPECT_EQ(KnownDetectorKinds()[i], AlertKindName(static_cast<AlertKind>(i)));
    EXPECT_TRUE(ParseAlertKind(KnownDetectorKinds()[i]).has_value());
  }
}

TEST_F(ConfigLoaderTest, PasswordFromEnvironmentOverridesFile) {
  const std::string path = dir_.Write("pw.yaml", "mqtt:\n  password: from-file\n");
  EXPECT_EQ(LoadConfig(path).mqtt.password, "from-file");
  setenv("GRIDWATCH_MQTT_PASSWORD", "from-env", 1);
  EXPECT_EQ(LoadConfig(path).mqtt.password, "from-env");
  EXPECT_EQ(DefaultConfig().mqtt.password, "from-env");
}

TEST_F(ConfigLoaderTest, PasswordEnvNamesAnotherVariable) {
  setenv("GRIDWATCH_MQTT_PASSWORD", "generic", 1);
  setenv("GRIDWATCH_TEST_PW", "specific", 1);
  const std::string path =
      dir_.Write("pw.yaml", "mqtt:\n  password: file\n  password_env: GRIDWATCH_TEST_PW\n");
  EXPECT_EQ(LoadConfig(path).mqtt.password, "specific");
  unsetenv("GRIDWATCH_TEST_PW");
  const ConfigError e = Error("mqtt:\n  password_env: GRIDWATCH_TEST_PW\n");
  EXPECT_EQ(e.line(), 2);
  EXPECT_NE(std::string(e.what()).find("GRIDWATCH_TEST_PW is not set"), std::string::npos)
      << e.what();
}

TEST_F(ConfigLoaderTest, HolidaysFileIsReadRelativeToConfig) {
  dir_.Write("data/holidays.csv",
             "Bank holidays,Type\r\n2012-12-26,Boxing Day\r\n\"2013-01-01\",New Year\r\n");
  const std::string path = dir_.Write(
      "etc/gw.yaml", "detect:\n  holidays: [2014-05-05]\n  holidays_file: ../data/holidays.csv\n");
  const Config c = LoadConfig(path);
  EXPECT_EQ(c.detect.holidays,
            (std::vector<std::string>{"2014-05-05", "2012-12-26", "2013-01-01"}));
  EXPECT_EQ(c.detect.holidays_file, (dir_.path() / "data/holidays.csv").string());
}

TEST_F(ConfigLoaderTest, HolidaysFileErrors) {
  const ConfigError missing = Error("detect:\n  holidays_file: nope.csv\n");
  EXPECT_EQ(missing.line(), 2);
  EXPECT_NE(std::string(missing.what()).find("detect.holidays_file: cannot open"),
            std::string::npos)
      << missing.what();

  const std::string hol = dir_.Write("bad.csv", "date\n2013-01-01\n13/01/2013\n");
  const std::string path = dir_.Write("gw2.yaml", "detect:\n  holidays_file: bad.csv\n");
  try {
    LoadConfig(path);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), hol);
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(std::string(e.what()).find("'13/01/2013' is not a YYYY-MM-DD date"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ConfigLoaderTest, SharedUkBankHolidaysLoad) {
  const std::string csv = GRIDWATCH_SHARED_DATA_DIR "/london-lcl/uk_bank_holidays.csv";
  if (!std::filesystem::exists(csv)) GTEST_SKIP() << csv << " not present";
  const Config c = LoadConfig(dir_.Write("uk.yaml", "detect:\n  holidays_file: " + csv + "\n"));
  EXPECT_FALSE(c.detect.holidays.empty());
  EXPECT_NE(std::find(c.detect.holidays.begin(), c.detect.holidays.end(), "2012-12-25"),
            c.detect.holidays.end());
}

TEST_F(ConfigLoaderTest, RelativePathsResolveAgainstConfigDirectory) {
  const std::string path = dir_.Write("conf/gw.yaml", R"(
data_dir: state
households_csv: ../registry/households.csv
mqtt:
  ca_file: tls/ca.pem
  cert_file: /abs/cert.pem
  key_file: ""
alert:
  contacts_csv: contacts.csv
  tokens_csv: ./tokens.csv
)");
  const Config c = LoadConfig(path);
  const auto conf = dir_.path() / "conf";
  EXPECT_EQ(c.data_dir, (conf / "state").string());
  EXPECT_EQ(c.households_csv, (dir_.path() / "registry/households.csv").string());
  EXPECT_EQ(c.mqtt.ca_file, (conf / "tls/ca.pem").string());
  EXPECT_EQ(c.mqtt.cert_file, "/abs/cert.pem");
  EXPECT_EQ(c.mqtt.key_file, "");
  EXPECT_EQ(c.alert.contacts_csv, (conf / "contacts.csv").string());
  EXPECT_EQ(c.alert.tokens_csv, (conf / "tokens.csv").string());
}

TEST(EditDistanceTest, Basics) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("broker", "brokr"), 1);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("abc", ""), 3);
}

}  // namespace
}  // namespace gridwatch
