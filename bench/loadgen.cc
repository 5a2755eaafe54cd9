// gridwatch-loadgen: publishes meter readings through an MQTT broker as fast as it can (or at a
// set rate) and reports what it sent and how fast, as JSON on stdout. With --metrics-url it then
// polls gridwatch's /metrics until gridwatch_readings_accepted_total has grown by what was sent
// (counting on the receiving side, as the broker may drop) and reports gridwatch's own rate.
//
//   gridwatch-loadgen --broker tcp://127.0.0.1:1883 --meters 100000 --readings 1000000
//       [--batch 1] [--qos 1] [--households-out FILE] [--metrics-url http://127.0.0.1:8080/metrics]
//
// Meters are M0000000..; households.csv for them is written by --households-out so that the
// service's registry knows them. Readings are 15-minute intervals going forward from
// --start-ts (default: now minus enough intervals that the last one ends now).
#include <mqtt/async_client.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "bench/metrics_scrape.h"

namespace {

class Acks : public mqtt::callback {
 public:
  void delivery_complete(mqtt::delivery_token_ptr) override {
    acked.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu);
    cv.notify_all();
  }
  void connection_lost(const std::string& cause) override {
    std::fprintf(stderr, "loadgen: connection lost: %s\n", cause.c_str());
  }
  std::atomic<uint64_t> acked{0};
  std::mutex mu;
  std::condition_variable cv;
};

std::string MeterId(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "M%07llu", static_cast<unsigned long long>(i));
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Publishes meter readings through MQTT as fast as it can and reports the rate."};
  std::string broker = "tcp://127.0.0.1:1883", topic_prefix = "gridwatch/readings";
  std::string households_out, metrics_url;
  uint64_t meters = 10000, readings = 100000;
  int batch = 1, qos = 1, window = 4000;
  double rate = 0;
  int64_t start_ts = 0;
  double wait_s = 120;
  app.add_option("--broker", broker, "broker URL");
  app.add_option("--topic-prefix", topic_prefix, "readings go to PREFIX/{meter}");
  app.add_option("--meters", meters, "number of meters")->check(CLI::PositiveNumber);
  app.add_option("--readings", readings, "total readings to publish")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "readings per message (1 = one JSON object per message)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--qos", qos, "MQTT QoS")->check(CLI::Range(0, 2));
  app.add_option("--window", window, "messages in flight at most (QoS > 0)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", rate, "readings per second (0 = as fast as possible)");
  app.add_option("--start-ts", start_ts, "epoch seconds of the first interval's end");
  app.add_option("--households-out", households_out, "write households.csv for the meters");
  app.add_option("--metrics-url", metrics_url, "poll this /metrics for accepted readings");
  app.add_option("--wait", wait_s, "seconds to wait for the service to catch up");
  CLI11_PARSE(app, argc, argv);

  if (!households_out.empty()) {
    std::ofstream out(households_out);
    out << "household,meter,category,street,community,grid,address\n";
    for (uint64_t i = 0; i < meters; ++i)
      out << "H" << i << "," << MeterId(i) << ",elderly_alone,S" << i % 20 << ",C" << i % 200
          << ",G" << i % 2000 << ",Building " << i << "\n";
    if (!out) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", households_out.c_str());
      return 2;
    }
  }

  const uint64_t rounds = (readings + meters - 1) / meters;
  if (start_ts == 0) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    start_ts = (now / 900) * 900 - static_cast<int64_t>(rounds) * 900;
  }

  double accepted_before = -1;
  if (!metrics_url.empty())
    accepted_before = gridwatch::ScrapeCounter(metrics_url, "gridwatch_readings_accepted_total");

  mqtt::async_client cli(broker, "gridwatch-loadgen-" + std::to_string(::getpid()),
                         mqtt::create_options_builder().max_buffered_messages(100000).finalize());
  Acks acks;
  cli.set_callback(acks);
  auto opts = mqtt::connect_options_builder()
                  .clean_session(true)
                  .max_inflight(std::max(window, 1000))
                  .keep_alive_interval(std::chrono::seconds(30))
                  .finalize();
  try {
    cli.connect(opts)->wait();
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "loadgen: cannot connect to %s: %s\n", broker.c_str(), e.what());
    return 3;
  }

  const auto t0 = std::chrono::steady_clock::now();
  uint64_t sent = 0, messages = 0;
  std::string payload;
  payload.reserve(static_cast<size_t>(batch) * 64 + 16);
  char item[128];
  for (uint64_t r = 0; r < rounds && sent < readings; ++r) {
    const int64_t ts = start_ts + static_cast<int64_t>(r) * 900;
    for (uint64_t m = 0; m < meters && sent < readings;) {
      payload.clear();
      std::string topic;
      if (batch > 1) payload += "{\"readings\":[";
      int in_msg = 0;
      for (; in_msg < batch && m < meters && sent < readings; ++in_msg, ++m, ++sent) {
        const double kwh = 0.02 + 0.001 * static_cast<double>((m * 7919 + r * 104729) % 300);
        const int n =
            std::snprintf(item, sizeof item, "%s{\"meter\":\"%s\",\"ts\":%lld,\"kwh\":%.3f}",
                          in_msg ? "," : "", MeterId(m).c_str(), static_cast<long long>(ts), kwh);
        payload.append(item, static_cast<size_t>(n));
        if (in_msg == 0) topic = topic_prefix + "/" + (batch > 1 ? "batch" : MeterId(m));
      }
      if (batch > 1) payload += "]}";
      if (qos > 0) {
        std::unique_lock lock(acks.mu);
        acks.cv.wait(lock,
                     [&] { return messages - acks.acked.load() < static_cast<uint64_t>(window); });
      }
      try {
        cli.publish(topic, payload.data(), payload.size(), qos, false);
      } catch (const mqtt::exception& e) {
        std::fprintf(stderr, "loadgen: publish failed: %s\n", e.what());
        return 1;
      }
      ++messages;
      if (rate > 0) {
        const double due = static_cast<double>(sent) / rate;
        const double el =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (due > el) std::this_thread::sleep_for(std::chrono::duration<double>(due - el));
      }
    }
  }
  if (qos > 0) {
    std::unique_lock lock(acks.mu);
    acks.cv.wait_for(lock, std::chrono::seconds(60), [&] { return acks.acked.load() >= messages; });
  }
  const double pub_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cli.disconnect()->wait();

  double svc_s = -1, accepted = -1;
  if (!metrics_url.empty()) {
    const auto deadline = t0 + std::chrono::duration<double>(wait_s);
    while (true) {
      accepted = gridwatch::ScrapeCounter(metrics_url, "gridwatch_readings_accepted_total") -
                 accepted_before;
      if (accepted >= static_cast<double>(sent) || std::chrono::steady_clock::now() > deadline)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    svc_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf(
      "{\"readings_sent\": %llu, \"messages\": %llu, \"acked\": %llu, \"publish_seconds\": %.3f, "
      "\"publish_readings_per_s\": %.0f, \"service_accepted\": %.0f, \"service_seconds\": %.3f, "
      "\"service_readings_per_s\": %.0f, \"lost\": %.0f}\n",
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(messages),
      static_cast<unsigned long long>(acks.acked.load()), pub_s, sent / pub_s, accepted, svc_s,
      svc_s > 0 ? accepted / svc_s : -1.0, svc_s > 0 ? static_cast<double>(sent) - accepted : -1.0);
  return 0;
}
