// Options: the plain structs that the YAML configuration (config/gridwatch.yaml) turns into.
// Every field has a default here that matches the commented default in gridwatch.yaml; the loader
// (config/config_loader.h) only overrides what the file sets. Stages take the struct they need
// and nothing else, so config depends on no stage.
//
// Plain values; immutable once loaded (copy freely).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace gridwatch {

struct MqttOptions {
  std::string broker = "tcp://127.0.0.1:1883";  // tcp:// or ssl://
  std::string client_id = "gridwatch-1";        // fixed: the persistent session hangs on it
  std::string username;                         // empty = anonymous
  std::string password;                         // or from env GRIDWATCH_MQTT_PASSWORD
  std::vector<std::string> readings_topics = {"gridwatch/readings/#"};
  int readings_qos = 1;
  std::string alerts_topic_prefix = "gridwatch/alerts";  // + /{street}/{community}/{grid}
  int alerts_qos = 1;
  std::string deadletter_topic = "gridwatch/deadletter";
  bool clean_session = false;
  int keepalive_s = 30;
  int reconnect_min_s = 1;
  int reconnect_max_s = 30;
  int max_inflight = 1000;
  // TLS (broker scheme ssl://)
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct IngestOptions {
  // Readings older than this behind the newest seen for their meter are rejected as too late.
  int64_t late_window_s = 6 * 3600;
  // Readings whose ts is further than this ahead of the wall clock (serve) are rejected.
  int64_t max_future_s = 600;
  // A reading's energy above this per hour of interval is rejected as implausible
  // (a register jump, a unit error): 30 kWh/h is a 130 A single-phase supply.
  double max_kwh_per_hour = 30.0;
  // Capacity of the queue between the MQTT callback and the parser, in messages.
  int message_queue_capacity = 100000;
  // Reordering: a reading that leaves a gap after the last one handed to detect for its meter
  // is held until the gap fills or the meter's data time (or the wall clock) passes its ts by
  // this much. 0 = hand every newer reading over at once (older ones are then out_of_order).
  // Contiguous readings are never held.
  int64_t reorder_hold_s = 0;
};

// Parameters of one detector kind. Not every detector uses every field; each detector's
// documentation in gridwatch.yaml names those it reads. A field left unset (NaN, or -1 for
// `enabled`) takes the model's built-in, tuned default; a category override replaces only the
// fields it sets.
struct DetectorParams {
  static constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();
  int enabled = -1;           // -1 = model default, 0 = off, 1 = on
  double threshold = kUnset;  // detector-specific score threshold
  double min_hours = kUnset;  // minimum duration before it can fire
  double margin_hours = kUnset;
  double factor = kUnset;  // detector-specific multiplier
  double min_kw = kUnset;  // least load (kW) that counts (high_usage)
};

struct DetectOptions {
  int worker_threads = 2;
  int queue_capacity = 65536;    // readings per shard queue
  double half_life_days = 28.0;  // exponential forgetting of the routine
  int min_learning_days = 14;    // days of data before the home's own model is trusted
  int tick_s = 60;               // serve: AdvanceTo period on the wall clock
  // Evidence gate of the inactivity and frozen detectors: a spell alerts only when its readings'
  // likelihood-ratio CUSUM (nobody up vs this home at this hour) exceeds the level that the home's
  // daily peaks reach on a share exp(-gate_z) of days (Gumbel fit). 0 turns the gate off.
  double gate_z = 2.0;
  // Per-kind parameters, keyed by alert kind ("inactivity", "frozen", ...).
  std::map<std::string, DetectorParams> detectors;
  // Per-category overrides: category -> kind -> params (fields given replace the kind's).
  std::map<std::string, std::map<std::string, DetectorParams>> category_overrides;
  std::vector<std::string> holidays;  // local dates YYYY-MM-DD treated as public holidays
  // CSV whose first column is a YYYY-MM-DD date (header skipped); the loader appends its dates
  // to `holidays`. Relative to the config file's directory. Empty = none.
  std::string holidays_file;
};

struct AlertOptions {
  // An alert that stays open this long without new findings auto-resolves (data time).
  int64_t auto_resolve_after_s = 0;  // 0 = only when normal activity returns
  // Escalation delays by severity (seconds without acknowledgement).
  int64_t escalate_critical_s = 15 * 60;
  int64_t escalate_high_s = 30 * 60;
  int64_t escalate_medium_s = 60 * 60;
  int64_t escalate_low_s = 4 * 3600;
  int max_repeats = 3;
  std::string quiet_hours = "22:00-07:00";  // low severity only
  std::string lang = "zh-CN";
  std::string ack_base_url = "http://127.0.0.1:8080";
  // SMS gateway over HTTP for contacts whose channel is sms and target a phone number: a URL
  // template with {to} and {text} (URL-encoded on substitution), e.g. Kannel's
  // "http://127.0.0.1:13013/cgi-bin/sendsms?username=u&password=p&to={to}&text={text}".
  std::string sms_url_template;
  std::string sms_method = "GET";  // GET, or POST (the text then also goes in the body)
  // Outbox
  int max_attempts = 10;
  int64_t retry_initial_s = 5;
  int64_t retry_max_s = 600;
  std::string contacts_csv;  // scope,scope_id,name,channel,target,secret,lang
  std::string tokens_csv;    // token,scope,scope_id
};

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0 = pick a free port and print it
};

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error
  bool json = false;           // JSON lines instead of text
};

// The write-ahead log of accepted readings (data_dir/wal): the readings accepted since the last
// checkpoint, replayed at start after a crash. See docs/operations.md.
struct WalOptions {
  bool enabled = true;
  // fdatasync of the log at most this often (milliseconds); 0 = after every batch of readings.
  // A killed process loses nothing written either way: this bounds what a power cut can take.
  int64_t fsync_interval_ms = 1000;
  // Segment files rotate at this size (MiB); a segment is deleted once every model checkpoint
  // holds all its readings.
  int64_t segment_mb = 64;
};

struct Config {
  std::string source;  // the file it came from, for messages ("<defaults>" if none)
  MqttOptions mqtt;
  IngestOptions ingest;
  DetectOptions detect;
  AlertOptions alert;
  HttpOptions http;
  LogOptions log;
  WalOptions wal;
  std::string timezone = "Asia/Shanghai";
  std::string data_dir = "./gridwatch-data";
  std::string households_csv;  // household,meter,category,street,community,grid,address
  int64_t checkpoint_interval_s = 300;
  // What moves detection time in serve: "wall" (the system clock: live meters) or "data" (the
  // newest reading's time: replayed or sped-up history, as the demo feeds).
  std::string clock = "wall";
};

}  // namespace gridwatch
