// gridwatch: the command line. `serve` runs the service, `replay` runs recorded readings through
// the same detection and alert code on data time (EVALUATION.md), `feed` publishes a readings
// file as live meters (the demo). See README.md.
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string_view>

#include "app/feed.h"
#include "app/replay.h"
#include "app/service.h"
#include "config/config_error.h"
#include "config/config_loader.h"

namespace {

constexpr const char* kVersion = "0.1.0";

constexpr const char* kExitCodes =
    "Exit codes: 0 ok; 1 runtime failure; 2 bad usage, configuration or input file (the message "
    "names the file and line); 3 the HTTP port cannot be bound.";

// %j in a pattern: the log message escaped for a JSON string (quotes, backslashes, controls).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto put = [&dest](std::string_view sv) { dest.append(sv.data(), sv.data() + sv.size()); };
    for (const char c : msg.payload) {
      switch (c) {
        case '"':
          put("\\\"");
          break;
        case '\\':
          put("\\\\");
          break;
        case '\n':
          put("\\n");
          break;
        case '\r':
          put("\\r");
          break;
        case '\t':
          put("\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            put(buf);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

void SetUpLogging(const std::string& level, bool json) {
  auto logger = spdlog::stderr_logger_mt("gridwatch");
  spdlog::set_default_logger(logger);
  if (json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%j"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

void OnStop(int) { gridwatch::Service::RequestStop(); }
void OnReload(int) { gridwatch::Service::RequestReload(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridwatch: watches over elderly people living alone through their smart meter."};
  app.footer(kExitCodes);
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  // serve
  auto* serve = app.add_subcommand("serve", "Run the service: MQTT readings in, alerts out.");
  std::string config_path, broker, households, data_dir, contacts, tokens, history, log_level;
  int http_port = -1;
  bool log_json = false;
  serve->add_option("--config", config_path, "configuration file (default: built-in defaults)");
  serve->add_option("--broker", broker, "override mqtt.broker, e.g. tcp://127.0.0.1:1883");
  serve->add_option("--households", households, "override households_csv");
  serve->add_option("--data-dir", data_dir, "override data_dir (SQLite store, checkpoints)");
  serve->add_option("--http-port", http_port, "override http.port (0 = a free port, printed)")
      ->check(CLI::Range(0, 65535));
  serve->add_option("--contacts", contacts, "override alert.contacts_csv");
  serve->add_option("--tokens", tokens, "override alert.tokens_csv");
  serve->add_option("--history", history, "readings CSV (replay format) to learn from first");
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error");
  serve->add_flag("--log-json", log_json, "log JSON lines");
  serve->footer(kExitCodes);

  // replay
  auto* replay =
      app.add_subcommand("replay", "Replay recorded readings on data time (EVALUATION.md).");
  gridwatch::ReplayArgs rargs;
  std::string replay_config;
  replay->add_option("--households", rargs.households_csv, "households.csv")->required();
  replay->add_option("--readings", rargs.readings_csv, "readings.csv[.gz]: meter,ts,kwh")
      ->required();
  replay->add_option("--absences", rargs.absences_csv, "absences.csv: household,from,to,reason");
  replay->add_option("--timezone", rargs.timezone, "IANA time zone of the homes (default: config)");
  replay->add_option("--config", replay_config, "configuration file");
  replay->add_option("--alerts", rargs.alerts_jsonl, "output: one JSON line per alert opened")
      ->required();
  replay->add_option("--history", rargs.history_csv, "readings to learn from first (no alerts)");
  replay->add_option("--outcomes", rargs.outcomes_json,
                     "an evaluation set's labels.json: a grid worker answers every welfare alert "
                     "from it, and the answers feed back to the detector as in serve");
  replay
      ->add_option("--answer-after-h", rargs.answer_after_h,
                   "with --outcomes: hours from an alert to the worker's answer (default 2)")
      ->check(CLI::Range(0.0, 72.0));
  replay->add_flag("--answer-fine-only", rargs.answer_fine_only,
                   "with --outcomes: the worker answers every false alarm resident_fine (default: "
                   "away for the kinds that report a quiet home)");
  replay->footer(kExitCodes);

  // feed
  auto* feed = app.add_subcommand("feed", "Publish a readings CSV as live meters (demo).");
  gridwatch::FeedArgs fargs;
  feed->add_option("--broker", fargs.broker, "broker URL");
  feed->add_option("--readings", fargs.readings_csv, "readings.csv[.gz]")->required();
  feed->add_option("--topic-prefix", fargs.topic_prefix, "readings go to PREFIX/{meter}");
  feed->add_option("--speed", fargs.speed,
                   "data seconds per wall second (0 = as fast as possible)");
  feed->add_option("--shift", fargs.shift_s, "seconds added to every ts");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*serve) {
      gridwatch::Config cfg =
          config_path.empty() ? gridwatch::DefaultConfig() : gridwatch::LoadConfig(config_path);
      if (!broker.empty()) cfg.mqtt.broker = broker;
      if (!households.empty()) cfg.households_csv = households;
      if (!data_dir.empty()) cfg.data_dir = data_dir;
      if (http_port >= 0) cfg.http.port = http_port;
      if (!contacts.empty()) cfg.alert.contacts_csv = contacts;
      if (!tokens.empty()) cfg.alert.tokens_csv = tokens;
      if (!log_level.empty()) cfg.log.level = log_level;
      if (log_json) cfg.log.json = true;
      SetUpLogging(cfg.log.level, cfg.log.json);
      std::signal(SIGTERM, OnStop);
      std::signal(SIGINT, OnStop);
      std::signal(SIGHUP, OnReload);
      std::signal(SIGPIPE, SIG_IGN);
      gridwatch::ServeArgs sargs;
      sargs.history_csv = history;
      sargs.version = kVersion;
      return gridwatch::Service(std::move(cfg), sargs).Run();
    }
    if (*replay) {
      gridwatch::Config cfg =
          replay_config.empty() ? gridwatch::DefaultConfig() : gridwatch::LoadConfig(replay_config);
      return gridwatch::RunReplay(cfg, rargs);
    }
    if (*feed) return gridwatch::RunFeed(fargs);
  } catch (const gridwatch::ConfigError& e) {
    std::fprintf(stderr, "gridwatch: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gridwatch: %s\n", e.what());
    return 1;
  }
  return 2;
}
