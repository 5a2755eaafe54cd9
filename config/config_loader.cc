// YAML -> Config. Each section is a table of (key, setter); a key not in the table is an error
// with a "did you mean" hint. yaml-cpp stays in this file.
#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>

#include "common/time_util.h"
#include "common/time_zone.h"
#include "config/config_error.h"
#include "config/registry.h"

namespace gridwatch {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPasswordEnv = "GRIDWATCH_MQTT_PASSWORD";

int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ", ";
    s += x;
  }
  return s;
}

// Checks "YYYY-MM-DD" with a real calendar date.
bool IsIsoDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  const unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  int y2;
  unsigned m2, d2;
  CivilFromDays(DaysFromCivil(y, m, d), &y2, &m2, &d2);
  return y2 == y && m2 == m && d2 == d;
}

// "HH:MM-HH:MM".
bool IsTimeRange(std::string_view s) {
  auto hm = [](std::string_view t) {
    if (t.size() != 5 || t[2] != ':') return false;
    for (size_t i : {0, 1, 3, 4})
      if (t[i] < '0' || t[i] > '9') return false;
    const int h = (t[0] - '0') * 10 + (t[1] - '0');
    const int m = (t[3] - '0') * 10 + (t[4] - '0');
    return h < 24 && m < 60;
  };
  return s.size() == 11 && s[5] == '-' && hm(s.substr(0, 5)) && hm(s.substr(6, 5));
}

class Loader {
 public:
  using Setter = std::function<void(const YAML::Node& value, const std::string& path)>;
  struct Field {
    std::string name;
    Setter set;
  };

  explicit Loader(std::string file) : file_(std::move(file)) {
    base_dir_ = fs::path(file_).parent_path();
  }

  [[noreturn]] void Fail(const YAML::Node& n, const std::string& msg) const {
    throw ConfigError(file_, LineOf(n), msg);
  }

  // Walks the mapping `map` (null = empty) and dispatches each key to its field.
  // `what` names an unknown key in the message ("key", "detector kind"); `known` is appended.
  void Section(const YAML::Node& map, const std::string& prefix, const std::vector<Field>& fields,
               const std::string& what = "key", const std::string& known = "") {
    if (!map || map.IsNull()) return;
    if (!map.IsMap()) Fail(map, (prefix.empty() ? "top level" : prefix) + ": expected a mapping");
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = KeyOf(kv.first, prefix);
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!seen.insert(key).second) Fail(kv.first, path + ": duplicate key");
      auto it =
          std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == key; });
      if (it == fields.end()) {
        std::vector<std::string> names;
        for (const auto& f : fields) names.push_back(f.name);
        Fail(kv.first, "unknown " + what + " '" + path + "'" + known + Suggest(key, names, prefix));
      }
      it->set(kv.second, path);
    }
  }

  std::string KeyOf(const YAML::Node& k, const std::string& prefix) const {
    if (!k.IsScalar()) Fail(k, (prefix.empty() ? "top level" : prefix) + ": keys must be scalars");
    return k.Scalar();
  }

  static std::string Suggest(const std::string& key, const std::vector<std::string>& names,
                             const std::string& prefix) {
    int best = std::numeric_limits<int>::max();
    std::string best_name;
    for (const auto& n : names) {
      const int d = EditDistance(key, n);
      if (d < best) {
        best = d;
        best_name = n;
      }
    }
    const int limit = std::max<int>(2, static_cast<int>(key.size()) / 3);
    if (best_name.empty() || best > limit) return "";
    return "; did you mean '" + (prefix.empty() ? best_name : prefix + "." + best_name) + "'?";
  }

  // ---- typed scalar readers ----
  std::string Str(const YAML::Node& n, const std::string& path) const {
    if (n.IsNull()) return "";
    if (!n.IsScalar()) Fail(n, path + ": expected a string");
    return n.Scalar();
  }
  std::string NonEmptyStr(const YAML::Node& n, const std::string& path) const {
    std::string s = Str(n, path);
    if (s.empty()) Fail(n, path + ": must not be empty");
    return s;
  }
  bool Bool(const YAML::Node& n, const std::string& path) const {
    bool b;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b))
      Fail(n, path + ": expected true or false" + Got(n));
    return b;
  }
  int64_t Int(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi) const {
    int64_t v;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v))
      Fail(n, path + ": expected an integer" + Got(n));
    if (v < lo || v > hi) {
      std::string range;
      if (hi == std::numeric_limits<int64_t>::max())
        range = "must be >= " + std::to_string(lo);
      else
        range = "must be in " + std::to_string(lo) + ".." + std::to_string(hi);
      Fail(n, path + ": " + range + Got(n));
    }
    return v;
  }
  int Int32(const YAML::Node& n, const std::string& path, int lo, int hi) const {
    return static_cast<int>(Int(n, path, lo, hi));
  }
  // Durations in seconds: non-negative integers.
  int64_t Seconds(const YAML::Node& n, const std::string& path) const {
    return Int(n, path, 0, std::numeric_limits<int64_t>::max());
  }
  double Double(const YAML::Node& n, const std::string& path) const {
    double v;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v))
      Fail(n, path + ": expected a finite number" + Got(n));
    return v;
  }
  double Positive(const YAML::Node& n, const std::string& path) const {
    double v = Double(n, path);
    if (!(v > 0)) Fail(n, path + ": must be > 0" + Got(n));
    return v;
  }
  double NonNegative(const YAML::Node& n, const std::string& path) const {
    double v = Double(n, path);
    if (v < 0) Fail(n, path + ": must be >= 0" + Got(n));
    return v;
  }
  std::vector<std::string> StrList(const YAML::Node& n, const std::string& path) const {
    std::vector<std::string> out;
    if (n.IsNull()) return out;
    if (n.IsScalar()) return {n.Scalar()};
    if (!n.IsSequence()) Fail(n, path + ": expected a list of strings");
    for (const auto& e : n) {
      if (!e.IsScalar()) Fail(e, path + ": expected a list of strings");
      out.push_back(e.Scalar());
    }
    return out;
  }
  // A path: relative ones are resolved against the config file's directory.
  std::string Path(const YAML::Node& n, const std::string& path) const {
    return Resolve(Str(n, path));
  }
  std::string Resolve(const std::string& p) const {
    if (p.empty() || fs::path(p).is_absolute() || base_dir_.empty()) return p;
    return (base_dir_ / p).lexically_normal().string();
  }
  static std::string Got(const YAML::Node& n) {
    if (n.IsScalar()) return " (got '" + n.Scalar() + "')";
    if (n.IsNull()) return " (got nothing)";
    if (n.IsSequence()) return " (got a list)";
    if (n.IsMap()) return " (got a mapping)";
    return "";
  }

  // ---- sections ----
  void Mqtt(const YAML::Node& n, const std::string& p, MqttOptions* o) {
    Section(
        n, p,
        {
            {"broker",
             [&](auto& v, auto& path) {
               o->broker = NonEmptyStr(v, path);
               if (!o->broker.starts_with("tcp://") && !o->broker.starts_with("ssl://") &&
                   !o->broker.starts_with("mqtt://") && !o->broker.starts_with("mqtts://"))
                 Fail(v, path + ": expected tcp://host:port or ssl://host:port" + Got(v));
             }},
            {"client_id", [&](auto& v, auto& path) { o->client_id = NonEmptyStr(v, path); }},
            {"username", [&](auto& v, auto& path) { o->username = Str(v, path); }},
            {"password", [&](auto& v, auto& path) { o->password = Str(v, path); }},
            {"password_env",
             [&](auto& v, auto& path) {
               password_env_ = NonEmptyStr(v, path);
               password_env_node_ = v;
             }},
            {"readings_topics",
             [&](auto& v, auto& path) {
               o->readings_topics = StrList(v, path);
               if (o->readings_topics.empty()) Fail(v, path + ": needs at least one topic filter");
               for (const auto& t : o->readings_topics)
                 if (t.empty()) Fail(v, path + ": empty topic filter");
             }},
            {"readings_qos", [&](auto& v, auto& path) { o->readings_qos = Int32(v, path, 0, 2); }},
            {"alerts_topic_prefix",
             [&](auto& v, auto& path) { o->alerts_topic_prefix = NonEmptyStr(v, path); }},
            {"alerts_qos", [&](auto& v, auto& path) { o->alerts_qos = Int32(v, path, 0, 2); }},
            {"deadletter_topic", [&](auto& v, auto& path) { o->deadletter_topic = Str(v, path); }},
            {"clean_session", [&](auto& v, auto& path) { o->clean_session = Bool(v, path); }},
            {"keepalive_s",
             [&](auto& v, auto& path) { o->keepalive_s = Int32(v, path, 0, 65535); }},
            {"reconnect_min_s",
             [&](auto& v, auto& path) {
               o->reconnect_min_s = Int32(v, path, 1, 3600);
               reconnect_node_ = v;
             }},
            {"reconnect_max_s",
             [&](auto& v, auto& path) {
               o->reconnect_max_s = Int32(v, path, 1, 86400);
               reconnect_node_ = v;
             }},
            {"max_inflight",
             [&](auto& v, auto& path) { o->max_inflight = Int32(v, path, 1, 1 << 20); }},
            {"ca_file", [&](auto& v, auto& path) { o->ca_file = Path(v, path); }},
            {"cert_file", [&](auto& v, auto& path) { o->cert_file = Path(v, path); }},
            {"key_file", [&](auto& v, auto& path) { o->key_file = Path(v, path); }},
        });
    if (o->reconnect_max_s < o->reconnect_min_s)
      Fail(reconnect_node_, p + ".reconnect_max_s: must be >= reconnect_min_s (" +
                                std::to_string(o->reconnect_max_s) + " < " +
                                std::to_string(o->reconnect_min_s) + ")");
  }

  void Ingest(const YAML::Node& n, const std::string& p, IngestOptions* o) {
    Section(
        n, p,
        {
            {"late_window_s", [&](auto& v, auto& path) { o->late_window_s = Seconds(v, path); }},
            {"max_future_s", [&](auto& v, auto& path) { o->max_future_s = Seconds(v, path); }},
            {"reorder_hold_s", [&](auto& v, auto& path) { o->reorder_hold_s = Seconds(v, path); }},
            {"max_kwh_per_hour",
             [&](auto& v, auto& path) { o->max_kwh_per_hour = Positive(v, path); }},
            {"message_queue_capacity",
             [&](auto& v, auto& path) {
               o->message_queue_capacity = Int32(v, path, 1, std::numeric_limits<int>::max());
             }},
        });
  }

  void Params(const YAML::Node& n, const std::string& p, DetectorParams* o) {
    if (n.IsNull()) return;  // "inactivity:" alone = all model defaults
    Section(
        n, p,
        {
            {"enabled", [&](auto& v, auto& path) { o->enabled = Bool(v, path) ? 1 : 0; }},
            {"threshold", [&](auto& v, auto& path) { o->threshold = Double(v, path); }},
            {"min_hours", [&](auto& v, auto& path) { o->min_hours = NonNegative(v, path); }},
            {"margin_hours", [&](auto& v, auto& path) { o->margin_hours = NonNegative(v, path); }},
            {"min_kw", [&](auto& v, auto& path) { o->min_kw = NonNegative(v, path); }},
            {"factor", [&](auto& v, auto& path) { o->factor = Positive(v, path); }},
        });
  }

  // kind -> DetectorParams, keys restricted to KnownDetectorKinds().
  void Kinds(const YAML::Node& n, const std::string& p, std::map<std::string, DetectorParams>* o) {
    std::vector<Field> fields;
    for (const auto& kind : KnownDetectorKinds())
      fields.push_back(
          {kind, [this, o, kind](auto& v, auto& path) { Params(v, path, &(*o)[kind]); }});
    Section(n, p, fields, "detector kind", " (known kinds: " + Join(KnownDetectorKinds()) + ")");
  }

  void Detect(const YAML::Node& n, const std::string& p, DetectOptions* o) {
    Section(
        n, p,
        {
            {"worker_threads",
             [&](auto& v, auto& path) { o->worker_threads = Int32(v, path, 1, 1024); }},
            {"queue_capacity",
             [&](auto& v, auto& path) {
               o->queue_capacity = Int32(v, path, 1, std::numeric_limits<int>::max());
             }},
            {"half_life_days", [&](auto& v, auto& path) { o->half_life_days = Positive(v, path); }},
            {"min_learning_days",
             [&](auto& v, auto& path) { o->min_learning_days = Int32(v, path, 0, 3650); }},
            {"gate_z",
             [&](auto& v, auto& path) {
               o->gate_z = NonNegative(v, path);
               if (o->gate_z > 20) Fail(v, path + ": must be in [0, 20]" + Got(v));
             }},
            {"tick_s", [&](auto& v, auto& path) { o->tick_s = Int32(v, path, 1, 86400); }},
            {"detectors", [&](auto& v, auto& path) { Kinds(v, path, &o->detectors); }},
            {"category_overrides",
             [&](auto& v, auto& path) {
               std::vector<Field> fields;
               for (const auto& cat : KnownCategories())
                 fields.push_back({cat, [this, o, cat](auto& v2, auto& path2) {
                                     Kinds(v2, path2, &o->category_overrides[cat]);
                                   }});
               Section(v, path, fields, "category",
                       " (known categories: " + Join(KnownCategories()) + ")");
             }},
            {"holidays",
             [&](auto& v, auto& path) {
               o->holidays = StrList(v, path);
               for (const auto& d : o->holidays)
                 if (!IsIsoDate(d)) Fail(v, path + ": '" + d + "' is not a YYYY-MM-DD date");
             }},
            {"holidays_file",
             [&](auto& v, auto& path) {
               o->holidays_file = Path(v, path);
               holidays_file_node_ = v;
             }},
        });
    if (!o->holidays_file.empty()) ReadHolidays(o);
  }

  // Appends the first-column dates of detect.holidays_file (header line skipped).
  void ReadHolidays(DetectOptions* o) {
    std::ifstream in(o->holidays_file, std::ios::binary);
    if (!in)
      Fail(holidays_file_node_, "detect.holidays_file: cannot open '" + o->holidays_file + "'");
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (lineno == 1) continue;  // header
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      std::string date = line.substr(0, line.find(','));
      if (date.size() >= 2 && date.front() == '"' && date.back() == '"')
        date = date.substr(1, date.size() - 2);
      if (!IsIsoDate(date))
        throw ConfigError(o->holidays_file, lineno, "'" + date + "' is not a YYYY-MM-DD date");
      o->holidays.push_back(date);
    }
  }

  void Alert(const YAML::Node& n, const std::string& p, AlertOptions* o) {
    Section(
        n, p,
        {
            {"auto_resolve_after_s",
             [&](auto& v, auto& path) { o->auto_resolve_after_s = Seconds(v, path); }},
            {"escalate_critical_s",
             [&](auto& v, auto& path) { o->escalate_critical_s = Seconds(v, path); }},
            {"escalate_high_s",
             [&](auto& v, auto& path) { o->escalate_high_s = Seconds(v, path); }},
            {"escalate_medium_s",
             [&](auto& v, auto& path) { o->escalate_medium_s = Seconds(v, path); }},
            {"escalate_low_s", [&](auto& v, auto& path) { o->escalate_low_s = Seconds(v, path); }},
            {"max_repeats", [&](auto& v, auto& path) { o->max_repeats = Int32(v, path, 0, 1000); }},
            {"quiet_hours",
             [&](auto& v, auto& path) {
               o->quiet_hours = Str(v, path);
               if (!o->quiet_hours.empty() && !IsTimeRange(o->quiet_hours))
                 Fail(v, path + ": expected HH:MM-HH:MM or empty" + Got(v));
             }},
            {"lang", [&](auto& v, auto& path) { o->lang = NonEmptyStr(v, path); }},
            {"ack_base_url",
             [&](auto& v, auto& path) {
               o->ack_base_url = NonEmptyStr(v, path);
               if (!o->ack_base_url.starts_with("http://") &&
                   !o->ack_base_url.starts_with("https://"))
                 Fail(v, path + ": expected an http:// or https:// URL" + Got(v));
             }},
            {"sms_url_template",
             [&](auto& v, auto& path) {
               o->sms_url_template = Str(v, path);
               if (!o->sms_url_template.empty() &&
                   ((!o->sms_url_template.starts_with("http://") &&
                     !o->sms_url_template.starts_with("https://")) ||
                    o->sms_url_template.find("{to}") == std::string::npos ||
                    o->sms_url_template.find("{text}") == std::string::npos))
                 Fail(v, path + ": expected an http(s) URL with {to} and {text}" + Got(v));
             }},
            {"sms_method",
             [&](auto& v, auto& path) {
               o->sms_method = NonEmptyStr(v, path);
               if (o->sms_method != "GET" && o->sms_method != "POST")
                 Fail(v, path + ": must be GET or POST" + Got(v));
             }},
            {"max_attempts",
             [&](auto& v, auto& path) { o->max_attempts = Int32(v, path, 1, 1000); }},
            {"retry_initial_s",
             [&](auto& v, auto& path) {
               o->retry_initial_s = Int(v, path, 1, std::numeric_limits<int64_t>::max());
             }},
            {"retry_max_s",
             [&](auto& v, auto& path) {
               o->retry_max_s = Int(v, path, 1, std::numeric_limits<int64_t>::max());
               retry_node_ = v;
             }},
            {"contacts_csv", [&](auto& v, auto& path) { o->contacts_csv = Path(v, path); }},
            {"tokens_csv", [&](auto& v, auto& path) { o->tokens_csv = Path(v, path); }},
        });
    if (o->retry_max_s < o->retry_initial_s)
      Fail(retry_node_, p + ".retry_max_s: must be >= retry_initial_s");
  }

  void Http(const YAML::Node& n, const std::string& p, HttpOptions* o) {
    Section(n, p,
            {
                {"bind", [&](auto& v, auto& path) { o->bind = NonEmptyStr(v, path); }},
                {"port", [&](auto& v, auto& path) { o->port = Int32(v, path, 0, 65535); }},
            });
  }

  void Log(const YAML::Node& n, const std::string& p, LogOptions* o) {
    static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    Section(n, p,
            {
                {"level",
                 [&](auto& v, auto& path) {
                   o->level = Str(v, path);
                   if (std::find(kLevels.begin(), kLevels.end(), o->level) == kLevels.end())
                     Fail(v, path + ": unknown log level '" + o->level +
                                 "' (known: " + Join(kLevels) + ")");
                 }},
                {"json", [&](auto& v, auto& path) { o->json = Bool(v, path); }},
            });
  }

  void Wal(const YAML::Node& n, const std::string& p, WalOptions* o) {
    Section(n, p,
            {
                {"enabled", [&](auto& v, auto& path) { o->enabled = Bool(v, path); }},
                {"fsync_interval_ms",
                 [&](auto& v, auto& path) { o->fsync_interval_ms = Int(v, path, 0, 3600000); }},
                {"segment_mb", [&](auto& v, auto& path) { o->segment_mb = Int(v, path, 1, 4096); }},
            });
  }

  Config Load() {
    YAML::Node root;
    try {
      std::ifstream in(file_, std::ios::binary);
      if (!in) throw ConfigError(file_, 0, "cannot open config file");
      root = YAML::Load(in);
    } catch (const YAML::Exception& e) {
      throw ConfigError(file_, e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML: " + e.msg);
    }
    Config c;
    c.source = file_;
    Section(
        root, "",
        {
            {"mqtt", [&](auto& v, auto& path) { Mqtt(v, path, &c.mqtt); }},
            {"ingest", [&](auto& v, auto& path) { Ingest(v, path, &c.ingest); }},
            {"detect", [&](auto& v, auto& path) { Detect(v, path, &c.detect); }},
            {"alert", [&](auto& v, auto& path) { Alert(v, path, &c.alert); }},
            {"http", [&](auto& v, auto& path) { Http(v, path, &c.http); }},
            {"log", [&](auto& v, auto& path) { Log(v, path, &c.log); }},
            {"wal", [&](auto& v, auto& path) { Wal(v, path, &c.wal); }},
            {"timezone",
             [&](auto& v, auto& path) {
               c.timezone = NonEmptyStr(v, path);
               try {
                 TimeZone::Load(c.timezone);
               } catch (const std::exception& e) {
                 Fail(v, path + ": unknown time zone '" + c.timezone + "' (" + e.what() + ")");
               }
             }},
            {"data_dir", [&](auto& v, auto& path) { c.data_dir = Resolve(NonEmptyStr(v, path)); }},
            {"households_csv", [&](auto& v, auto& path) { c.households_csv = Path(v, path); }},
            {"checkpoint_interval_s",
             [&](auto& v, auto& path) {
               c.checkpoint_interval_s = Int(v, path, 1, std::numeric_limits<int64_t>::max());
             }},
            {"clock",
             [&](auto& v, auto& path) {
               c.clock = NonEmptyStr(v, path);
               if (c.clock != "wall" && c.clock != "data")
                 Fail(v, path + ": must be wall or data" + Got(v));
             }},
        });
    if (!password_env_.empty()) {
      const char* pw = std::getenv(password_env_.c_str());
      if (pw == nullptr)
        Fail(password_env_node_,
             "mqtt.password_env: environment variable " + password_env_ + " is not set");
      c.mqtt.password = pw;
    } else if (const char* pw = std::getenv(kPasswordEnv)) {
      c.mqtt.password = pw;
    }
    return c;
  }

 private:
  std::string file_;
  fs::path base_dir_;
  std::string password_env_;
  YAML::Node password_env_node_;
  YAML::Node reconnect_node_;
  YAML::Node retry_node_;
  YAML::Node holidays_file_node_;
};

}  // namespace

Config LoadConfig(const std::string& path) { return Loader(path).Load(); }

Config DefaultConfig() {
  Config c;
  c.source = "<defaults>";
  if (const char* pw = std::getenv(kPasswordEnv)) c.mqtt.password = pw;
  return c;
}

const std::vector<std::string>& KnownDetectorKinds() {
  static const std::vector<std::string> k = {"inactivity", "no_morning_activity", "frozen",
                                             "high_usage", "low_daily_usage",     "no_power",
                                             "decline",    "meter_silent"};
  return k;
}

int EditDistance(std::string_view a, std::string_view b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace gridwatch
