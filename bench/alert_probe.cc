// gridwatch-alert-probe: measures alert latency end to end, from the publication of the reading
// that opens an alert to the alert's arrival on the alert topic, both on this process's clock.
//
// Trigger homes (meters T0000000.., households HT0000000..) are taught a routine first, then made
// to open a `no_power` alert at a known reading: no_power is raised by the reading itself (not by
// a clock tick) once a home whose standby is never zero shows exact zeros for min_hours (1 h by
// default = four 15-minute readings).
//
//   gridwatch-alert-probe --households-out FILE --homes N
//       writes the registry rows of the trigger homes (with a header; append them without it).
//   gridwatch-alert-probe --warmup --broker URL --homes N --end-ts E [--metrics-url URL]
//       publishes, for every trigger home, 48 h of 15-minute readings with a varying standby
//       at night (so the night's standby is learned and never zero) and use 07–22 h UTC (a
//       lived-in home: no quiet-spell alert is open), then three zero readings (45 min:
//       below no_power's 1 h), ending at E - 900; batched, QoS 1. With --metrics-url, waits
//       until gridwatch accepted all of them.
//   gridwatch-alert-probe --broker URL --homes N --end-ts E [--rate R] [--delay S]
//       subscribes to gridwatch/alerts/#, then publishes each home's fourth zero (ts E, the
//       opener, one reading per message on gridwatch/readings/probe/{meter}, QoS 1, on a
//       connection of its own) at R per second, noting when; each `opened` no_power alert of a
//       trigger home is matched to its opener (household, and opened_at = E). Prints JSON:
//       count, missing, p50/p90/p99/max in ms, the wall-clock span of the openers (to check that
//       they overlapped a background load), and the broker hop alone: the probe also subscribes
//       to its openers and times their way publisher -> broker -> subscriber.
//
// Exit codes: 0 every alert came, 1 some did not (the JSON says how many), 2 usage, 3 broker.
#include <dirent.h>
#include <mqtt/async_client.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/acks.h"
#include "bench/metrics_scrape.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string MeterId(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "T%07llu", static_cast<unsigned long long>(i));
  return b;
}
std::string HouseholdId(uint64_t i) { return "H" + MeterId(i); }

// Counts acknowledgements (QoS 1 window) and, for the subscriber, receives alerts.
class Callbacks : public gridwatch::PahoAcks {
 public:
  Callbacks() : PahoAcks("alert-probe") {}
  void message_arrived(mqtt::const_message_ptr msg) override {
    const auto at = Clock::now();
    std::lock_guard lock(mu);
    arrived.push_back({at, msg->get_topic(), msg->get_payload_str()});
    cv.notify_all();
  }
  struct Arrived {
    Clock::time_point at;
    std::string topic, payload;
  };
  std::vector<Arrived> arrived;  // guarded by mu
};

// The string value of "key" in a flat JSON object, or "" (the alert payload is ours: no escapes
// in the fields read here).
std::string Field(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  const size_t p = json.find(k);
  if (p == std::string::npos) return "";
  const size_t b = p + k.size(), e = json.find('"', b);
  return e == std::string::npos ? "" : json.substr(b, e - b);
}

std::string Rfc3339Utc(int64_t ts) {
  const std::time_t t = ts;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(pos);
  const double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

// Paho C does not set TCP_NODELAY; Nagle's algorithm would hold a small write while an earlier
// one is unacknowledged, and the peer delays its ACK (up to 40 ms). The instrument must not add
// that, so every TCP socket of this process gets TCP_NODELAY (failures on other fds ignored).
void NoDelayOnAllSockets() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return;
  const int one = 1;
  while (dirent* e = readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd > 2) (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  closedir(d);
}

std::unique_ptr<mqtt::async_client> Connect(const std::string& broker, const std::string& id,
                                            Callbacks* cb) {
  auto cli = std::make_unique<mqtt::async_client>(
      broker, id + "-" + std::to_string(::getpid()),
      mqtt::create_options_builder().max_buffered_messages(100000).finalize());
  cli->set_callback(*cb);
  auto opts = mqtt::connect_options_builder()
                  .clean_session(true)
                  .max_inflight(4000)
                  .keep_alive_interval(std::chrono::seconds(30))
                  .finalize();
  cli->connect(opts)->wait();
  NoDelayOnAllSockets();
  return cli;
}

// Publishes with at most `window` messages unacknowledged.
void Publish(mqtt::async_client& cli, Callbacks& cb, uint64_t* published, const std::string& topic,
             const std::string& payload, uint64_t window = 2000) {
  {
    std::unique_lock lock(cb.mu);
    cb.cv.wait(lock, [&] { return *published - cb.acked.load() < window; });
  }
  cli.publish(topic, payload.data(), payload.size(), 1, false);
  ++*published;
}

bool WaitAcked(Callbacks& cb, uint64_t published) {
  return cb.WaitUntil(std::chrono::seconds(120), [&] { return cb.acked >= published; });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures alert latency: trigger homes open no_power alerts at a known reading."};
  std::string broker = "tcp://127.0.0.1:1883", households_out, metrics_url;
  std::string readings_prefix = "gridwatch/readings", alerts_filter = "gridwatch/alerts/#";
  uint64_t homes = 500;
  int64_t end_ts = 0;
  bool warmup = false;
  double rate = 50, delay_s = 1, timeout_s = 60;
  app.add_option("--broker", broker, "broker URL");
  app.add_option("--homes", homes, "trigger homes (one alert each)")->check(CLI::PositiveNumber);
  app.add_option("--households-out", households_out, "write the trigger homes' registry rows");
  app.add_flag("--warmup", warmup, "publish the routine and the first three zeros");
  app.add_option("--end-ts", end_ts, "epoch seconds of the opener (a multiple of 900)");
  app.add_option("--metrics-url", metrics_url, "warm-up: wait until gridwatch accepted it all");
  app.add_option("--rate", rate, "openers per second")->check(CLI::PositiveNumber);
  app.add_option("--delay", delay_s, "seconds before the first opener");
  app.add_option("--timeout", timeout_s, "seconds to wait for the alerts after the last opener");
  app.add_option("--readings-prefix", readings_prefix, "readings go to PREFIX/{meter}");
  app.add_option("--alerts-filter", alerts_filter, "alert topic filter");
  CLI11_PARSE(app, argc, argv);

  if (!households_out.empty()) {
    std::ofstream out(households_out);
    out << "household,meter,category,street,community,grid,address\n";
    for (uint64_t i = 0; i < homes; ++i)
      out << HouseholdId(i) << "," << MeterId(i) << ",elderly_alone,S" << i % 20 << ",C" << i % 200
          << ",G" << i % 2000 << ",Probe " << i << "\n";
    if (!out) {
      std::fprintf(stderr, "alert-probe: cannot write %s\n", households_out.c_str());
      return 2;
    }
    return 0;
  }
  if (end_ts <= 0 || end_ts % 900 != 0) {
    std::fprintf(stderr, "alert-probe: --end-ts must be a positive multiple of 900\n");
    return 2;
  }

  Callbacks pub_cb;
  std::unique_ptr<mqtt::async_client> pub;
  try {
    pub = Connect(broker, "gridwatch-alert-probe-pub", &pub_cb);
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "alert-probe: cannot connect to %s: %s\n", broker.c_str(), e.what());
    return 3;
  }
  uint64_t published = 0;

  if (warmup) {
    constexpr int kHistory = 48 * 4;  // 48 h of 15-minute readings
    constexpr int kZeros = 3;
    constexpr size_t kPerMessage = 200;
    const double before =
        metrics_url.empty()
            ? 0
            : gridwatch::ScrapeCounter(metrics_url, "gridwatch_readings_accepted_total");
    const auto t0 = Clock::now();
    uint64_t readings = 0;
    std::string payload;
    char item[128];
    for (int k = 0; k < kHistory + kZeros; ++k) {
      const int64_t ts = end_ts - static_cast<int64_t>(kHistory + kZeros - k) * 900;
      for (uint64_t h = 0; h < homes;) {
        payload = "{\"readings\":[";
        for (size_t n = 0; n < kPerMessage && h < homes; ++n, ++h, ++readings) {
          // A lived-in home: a varying standby at night, someone up and about 07–22 h (UTC, the
          // time zone of broker_bench.sh's gridwatch), so that no quiet-spell alert is open when
          // the opener comes.
          const uint64_t spread = (h * 7919 + static_cast<uint64_t>(k) * 104729) % 300;
          const int hour = static_cast<int>(((ts - 1) % 86400 + 86400) % 86400 / 3600);
          const double kwh = k >= kHistory ? 0.0
                             : (hour >= 7 && hour < 22)
                                 ? 0.15 + 0.001 * static_cast<double>(spread)
                                 : 0.05 + 0.0001 * static_cast<double>(spread);
          std::snprintf(item, sizeof item, "%s{\"meter\":\"%s\",\"ts\":%lld,\"kwh\":%.3f}",
                        n ? "," : "", MeterId(h).c_str(), static_cast<long long>(ts), kwh);
          payload += item;
        }
        payload += "]}";
        Publish(*pub, pub_cb, &published, readings_prefix + "/probe", payload);
      }
    }
    if (!WaitAcked(pub_cb, published)) {
      std::fprintf(stderr, "alert-probe: warm-up not acknowledged\n");
      return 3;
    }
    double accepted = -1;
    if (!metrics_url.empty()) {
      const auto deadline = Clock::now() + std::chrono::seconds(120);
      do {
        accepted =
            gridwatch::ScrapeCounter(metrics_url, "gridwatch_readings_accepted_total") - before;
        if (accepted >= static_cast<double>(readings)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      } while (Clock::now() < deadline);
    }
    std::printf("{\"warmup_readings\": %llu, \"accepted\": %.0f, \"seconds\": %.3f}\n",
                static_cast<unsigned long long>(readings), accepted,
                std::chrono::duration<double>(Clock::now() - t0).count());
    pub->disconnect()->wait();
    return metrics_url.empty() || accepted >= static_cast<double>(readings) ? 0 : 1;
  }

  // --- measure
  Callbacks sub_cb;
  std::unique_ptr<mqtt::async_client> sub;
  try {
    sub = Connect(broker, "gridwatch-alert-probe-sub", &sub_cb);
    sub->subscribe(alerts_filter, 1)->wait();
    sub->subscribe(readings_prefix + "/probe/#", 1)->wait();
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "alert-probe: cannot subscribe on %s: %s\n", broker.c_str(), e.what());
    return 3;
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(delay_s));
  std::vector<Clock::time_point> sent_at(homes);
  const auto t0 = Clock::now();
  const auto epoch = [](Clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
               .count() -
           std::chrono::duration<double>(Clock::now() - t).count();
  };
  char item[128];
  for (uint64_t h = 0; h < homes; ++h) {
    const auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(static_cast<double>(h) / rate));
    std::this_thread::sleep_until(due);
    std::snprintf(item, sizeof item, "{\"meter\":\"%s\",\"ts\":%lld,\"kwh\":0}", MeterId(h).c_str(),
                  static_cast<long long>(end_ts));
    sent_at[h] = Clock::now();
    Publish(*pub, pub_cb, &published, readings_prefix + "/probe/" + MeterId(h), item);
  }
  const auto last = Clock::now();
  const std::string opened_at = Rfc3339Utc(end_ts);
  std::vector<double> latency_ms, hop_ms;
  std::vector<bool> seen(homes, false), hop_seen(homes, false);
  const std::string opener_topic = readings_prefix + "/probe/";
  uint64_t mismatched = 0;
  size_t read = 0;
  const auto deadline =
      last + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  while (latency_ms.size() < homes) {
    std::vector<Callbacks::Arrived> batch;
    {
      std::unique_lock lock(sub_cb.mu);
      sub_cb.cv.wait_until(lock, deadline, [&] { return sub_cb.arrived.size() > read; });
      batch.assign(sub_cb.arrived.begin() + static_cast<std::ptrdiff_t>(read),
                   sub_cb.arrived.end());
      read = sub_cb.arrived.size();
    }
    for (const auto& [at, topic, payload] : batch) {
      if (topic.rfind(opener_topic, 0) == 0) {  // our own opener, back from the broker
        const uint64_t h = std::strtoull(topic.c_str() + opener_topic.size() + 1, nullptr, 10);
        if (h < homes && !hop_seen[h]) {
          hop_seen[h] = true;
          hop_ms.push_back(std::chrono::duration<double, std::milli>(at - sent_at[h]).count());
        }
        continue;
      }
      const std::string hh = Field(payload, "household");
      if (Field(payload, "event") != "opened" || hh.size() != 9 || hh.rfind("HT", 0) != 0) continue;
      const uint64_t h = std::strtoull(hh.c_str() + 2, nullptr, 10);
      if (h >= homes || seen[h]) continue;
      if (Field(payload, "kind") != "no_power" || Field(payload, "opened_at") != opened_at) {
        ++mismatched;
        continue;
      }
      seen[h] = true;
      latency_ms.push_back(std::chrono::duration<double, std::milli>(at - sent_at[h]).count());
    }
    if (batch.empty() && Clock::now() >= deadline) break;
  }
  try {
    sub->disconnect()->wait();
    pub->disconnect()->wait();
  } catch (const mqtt::exception&) {
  }
  const uint64_t missing = homes - latency_ms.size();
  std::printf(
      "{\"alerts\": %zu, \"missing\": %llu, \"mismatched\": %llu, \"p50_ms\": %.2f, "
      "\"p90_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"openers_first_epoch\": %.3f, "
      "\"openers_last_epoch\": %.3f, \"openers_per_s\": %.1f, \"broker_hop_p50_ms\": %.2f, "
      "\"broker_hop_p99_ms\": %.2f}\n",
      latency_ms.size(), static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(mismatched), Quantile(latency_ms, 0.5),
      Quantile(latency_ms, 0.9), Quantile(latency_ms, 0.99), Quantile(latency_ms, 1.0), epoch(t0),
      epoch(last),
      static_cast<double>(homes) / std::max(1e-9, std::chrono::duration<double>(last - t0).count()),
      Quantile(hop_ms, 0.5), Quantile(hop_ms, 0.99));
  return missing == 0 ? 0 : 1;
}
