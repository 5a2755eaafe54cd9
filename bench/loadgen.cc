// gridwatch-loadgen: publishes meter readings through an MQTT broker as fast as it can (or at a
// set rate) and reports what it sent and how fast, as JSON on stdout. With --metrics-url it then
// polls gridwatch's /metrics until gridwatch_readings_accepted_total has grown by what was sent
// (counting on the receiving side, as the broker may drop) and reports gridwatch's own rate.
//
//   gridwatch-loadgen --broker tcp://127.0.0.1:1883 --meters 100000 --readings 1000000
//       [--batch 1] [--qos 1] [--publishers 1] [--client paho|raw] [--households-out FILE]
//       [--metrics-url http://127.0.0.1:8080/metrics] [--also-expect N]
//
// Meters are M0000000..; households.csv for them is written by --households-out so that the
// service's registry knows them. Readings are 15-minute intervals going forward from
// --start-ts (default: now minus enough intervals that the last one ends now), round by round
// (every meter once per round). --publishers P forks P processes, each with its own connection
// and a contiguous slice of the meters (so no (meter, ts) is sent twice); they connect first
// and start together, and the clock starts then. One process per connection because Paho C
// runs one send and one receive thread per process, whatever the number of clients.
// --client raw publishes with a minimal MQTT 3.1.1 client of our own on a plain socket (QoS 0/1,
// PUBACKs counted): far less CPU per message than Paho, so that on a 2-core machine the
// publishers leave room for the broker and the subscribers.
#include <mqtt/async_client.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/acks.h"
#include "bench/metrics_scrape.h"

namespace {

std::string MeterId(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "M%07llu", static_cast<unsigned long long>(i));
  return b;
}

// What one publisher process did (written to the parent through a pipe).
struct SliceResult {
  uint64_t sent = 0, messages = 0, acked = 0;
  int64_t end_ns = 0;  // steady clock when its last message was acknowledged
  int32_t ok = 0;
};

struct LoadSpec {
  std::string broker, topic_prefix;
  uint64_t meters = 0, readings = 0;
  int batch = 1, qos = 1, window = 4000;
  bool raw = false;  // a minimal MQTT 3.1.1 publisher on a plain socket instead of Paho
  double rate = 0;   // readings per second for this slice (0 = as fast as possible)
  int64_t start_ts = 0;
};

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A minimal MQTT 3.1.1 publisher (CONNECT, PUBLISH QoS 0/1, PUBACK, DISCONNECT) on a blocking
// socket: packets are built into a buffer and written in large chunks, a reader thread counts
// PUBACKs. It costs a small fraction of Paho's CPU per message, so that on a small machine the
// publishers leave the CPU to the broker and the subscribers.
class RawPublisher {
 public:
  ~RawPublisher() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  bool Connect(const std::string& url, const std::string& client_id) {
    std::string rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
    const size_t colon = rest.rfind(':');
    const std::string host = rest.substr(0, colon);
    const std::string port = colon == std::string::npos ? "1883" : rest.substr(colon + 1);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) return false;
    fd_ = ::socket(res->ai_family, SOCK_STREAM, 0);
    const bool ok = fd_ >= 0 && ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
    ::freeaddrinfo(res);
    if (!ok) return false;
    std::string body;
    body += std::string("\0\4MQTT\4\2\0\0", 10);  // protocol, level 4, clean session, no keepalive
    AppendString(&body, client_id);
    out_ += '\x10';
    AppendLength(&out_, body.size());
    out_ += body;
    if (!Flush()) return false;
    unsigned char ack[4];
    if (!ReadFull(ack, 4) || ack[0] != 0x20 || ack[3] != 0) return false;
    reader_ = std::thread([this] { ReadAcks(); });
    return true;
  }

  // Appends a PUBLISH; written by Flush() or when the buffer is large.
  bool Publish(const std::string& topic, const std::string& payload, int qos) {
    out_ += static_cast<char>(qos ? 0x32 : 0x30);
    AppendLength(&out_, 2 + topic.size() + (qos ? 2 : 0) + payload.size());
    AppendString(&out_, topic);
    if (qos) {
      next_id_ = static_cast<uint16_t>(next_id_ % 65535 + 1);
      out_ += static_cast<char>(next_id_ >> 8);
      out_ += static_cast<char>(next_id_ & 0xFF);
    }
    out_ += payload;
    return out_.size() < (64 << 10) || Flush();
  }

  bool Flush() {
    size_t off = 0;
    while (off < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    out_.clear();
    return true;
  }

  void Disconnect() {
    out_ += std::string("\xE0\0", 2);
    (void)Flush();
  }

  gridwatch::AckCount acks;  // PUBACKs read back

 private:
  static void AppendLength(std::string* s, size_t n) {
    do {
      char b = static_cast<char>(n % 128);
      n /= 128;
      if (n) b = static_cast<char>(b | 0x80);
      *s += b;
    } while (n);
  }
  static void AppendString(std::string* s, const std::string& v) {
    *s += static_cast<char>(v.size() >> 8);
    *s += static_cast<char>(v.size() & 0xFF);
    *s += v;
  }
  bool ReadFull(unsigned char* p, size_t n) {
    while (n) {
      const ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  // PUBACKs are 4 bytes (0x40 0x02 id id); anything else from the broker is skipped.
  void ReadAcks() {
    std::vector<unsigned char> buf(1 << 16);
    size_t have = 0;
    while (true) {
      const ssize_t r = ::recv(fd_, buf.data() + have, buf.size() - have, 0);
      if (r <= 0) break;
      have += static_cast<size_t>(r);
      size_t pos = 0;
      uint64_t n = 0;
      while (have - pos >= 2) {
        size_t len = 0, shift = 0, i = pos + 1;
        bool complete = false;
        while (i < have) {
          len |= static_cast<size_t>(buf[i] & 0x7F) << shift;
          shift += 7;
          if (!(buf[i++] & 0x80)) {
            complete = true;
            break;
          }
        }
        if (!complete || have - i < len) break;
        if ((buf[pos] & 0xF0) == 0x40) ++n;
        pos = i + len;
      }
      std::memmove(buf.data(), buf.data() + pos, have - pos);
      have -= pos;
      if (n) acks.Add(n);
    }
    acks.Notify();
  }

  int fd_ = -1;
  std::string out_;
  uint16_t next_id_ = 0;
  std::thread reader_;
};

// Publishes reading (r, m) for every meter m in [lo, hi) and round r with r * meters + m <
// readings. Connects, then writes one byte to `ready_fd` (if >= 0) and waits for `go_fd` to
// close before publishing.
SliceResult PublishSlice(const LoadSpec& spec, uint64_t lo, uint64_t hi, int ready_fd, int go_fd,
                         int index) {
  SliceResult res;
  const std::string client_id =
      "gridwatch-loadgen-" + std::to_string(::getpid()) + "-" + std::to_string(index);
  // One of the two clients; `acks` are the one in use's.
  std::unique_ptr<mqtt::async_client> paho;
  gridwatch::PahoAcks paho_acks("loadgen");
  RawPublisher raw;
  gridwatch::AckCount& acks = spec.raw ? raw.acks : static_cast<gridwatch::AckCount&>(paho_acks);
  bool connected = false;
  if (spec.raw) {
    connected = raw.Connect(spec.broker, client_id);
    if (!connected) std::fprintf(stderr, "loadgen: cannot connect to %s\n", spec.broker.c_str());
  } else {
    paho = std::make_unique<mqtt::async_client>(
        spec.broker, client_id,
        mqtt::create_options_builder().max_buffered_messages(100000).finalize());
    paho->set_callback(paho_acks);
    auto opts = mqtt::connect_options_builder()
                    .clean_session(true)
                    .max_inflight(std::max(spec.window, 1000))
                    .keep_alive_interval(std::chrono::seconds(30))
                    .finalize();
    try {
      paho->connect(opts)->wait();
      connected = true;
    } catch (const mqtt::exception& e) {
      std::fprintf(stderr, "loadgen: cannot connect to %s: %s\n", spec.broker.c_str(), e.what());
    }
  }
  if (ready_fd >= 0) (void)!::write(ready_fd, connected ? "r" : "x", 1);
  if (!connected) return res;
  if (go_fd >= 0) {
    char c;
    while (::read(go_fd, &c, 1) > 0) {
    }
  }
  const int64_t t0 = SteadyNs();
  const uint64_t rounds = (spec.readings + spec.meters - 1) / spec.meters;
  std::string payload, topic;
  payload.reserve(static_cast<size_t>(spec.batch) * 64 + 16);
  char item[128];
  for (uint64_t r = 0; r < rounds; ++r) {
    const int64_t ts = spec.start_ts + static_cast<int64_t>(r) * 900;
    for (uint64_t m = lo; m < hi && r * spec.meters + m < spec.readings;) {
      payload.clear();
      if (spec.batch > 1) payload += "{\"readings\":[";
      int in_msg = 0;
      for (; in_msg < spec.batch && m < hi && r * spec.meters + m < spec.readings;
           ++in_msg, ++m, ++res.sent) {
        const double kwh = 0.02 + 0.001 * static_cast<double>((m * 7919 + r * 104729) % 300);
        const int n =
            std::snprintf(item, sizeof item, "%s{\"meter\":\"%s\",\"ts\":%lld,\"kwh\":%.3f}",
                          in_msg ? "," : "", MeterId(m).c_str(), static_cast<long long>(ts), kwh);
        payload.append(item, static_cast<size_t>(n));
        if (in_msg == 0) topic = spec.topic_prefix + "/" + (spec.batch > 1 ? "batch" : MeterId(m));
      }
      if (spec.batch > 1) payload += "]}";
      auto window_open = [&] {
        return res.messages - acks.acked.load() < static_cast<uint64_t>(spec.window);
      };
      if (spec.qos > 0 && !window_open()) {
        if (spec.raw && !raw.Flush()) {
          std::fprintf(stderr, "loadgen: write failed\n");
          return res;
        }
        acks.Wait(window_open);
      }
      if (spec.raw) {
        if (!raw.Publish(topic, payload, spec.qos)) {
          std::fprintf(stderr, "loadgen: write failed\n");
          return res;
        }
      } else {
        try {
          paho->publish(topic, payload.data(), payload.size(), spec.qos, false);
        } catch (const mqtt::exception& e) {
          std::fprintf(stderr, "loadgen: publish failed: %s\n", e.what());
          return res;
        }
      }
      ++res.messages;
      if (spec.rate > 0) {
        if (spec.raw) (void)raw.Flush();
        const double due = static_cast<double>(res.sent) / spec.rate;
        const double el = static_cast<double>(SteadyNs() - t0) / 1e9;
        if (due > el) std::this_thread::sleep_for(std::chrono::duration<double>(due - el));
      }
    }
  }
  if (spec.raw && !raw.Flush()) return res;
  if (spec.qos > 0)
    acks.WaitUntil(std::chrono::seconds(300), [&] { return acks.acked.load() >= res.messages; });
  res.end_ns = SteadyNs();
  res.acked = spec.qos > 0 ? acks.acked.load() : res.messages;
  res.ok = 1;
  if (spec.raw) {
    raw.Disconnect();
  } else {
    try {
      paho->disconnect()->wait();
    } catch (const mqtt::exception&) {
    }
  }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Publishes meter readings through MQTT as fast as it can and reports the rate."};
  LoadSpec spec;
  spec.broker = "tcp://127.0.0.1:1883";
  spec.topic_prefix = "gridwatch/readings";
  spec.meters = 10000;
  spec.readings = 100000;
  std::string households_out, metrics_url;
  int publishers = 1;
  uint64_t also_expect = 0;
  double wait_s = 120;
  app.add_option("--broker", spec.broker, "broker URL");
  app.add_option("--topic-prefix", spec.topic_prefix, "readings go to PREFIX/{meter}");
  app.add_option("--meters", spec.meters, "number of meters")->check(CLI::PositiveNumber);
  app.add_option("--readings", spec.readings, "total readings to publish")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", spec.batch, "readings per message (1 = one JSON object per message)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--qos", spec.qos, "MQTT QoS")->check(CLI::Range(0, 2));
  app.add_option("--window", spec.window, "messages in flight at most per publisher (QoS > 0)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", spec.rate, "readings per second in all (0 = as fast as possible)");
  app.add_option("--publishers", publishers, "publisher processes (connections) in parallel")
      ->check(CLI::Range(1, 64));
  std::string client = "paho";
  app.add_option("--client", client,
                 "paho (Paho MQTT C++) or raw (a minimal MQTT 3.1.1 publisher: less CPU per "
                 "message, QoS 0/1)")
      ->check(CLI::IsMember({"paho", "raw"}));
  app.add_option("--start-ts", spec.start_ts, "epoch seconds of the first interval's end");
  app.add_option("--households-out", households_out, "write households.csv for the meters");
  app.add_option("--metrics-url", metrics_url, "poll this /metrics for accepted readings");
  app.add_option("--also-expect", also_expect,
                 "readings others publish meanwhile that the service accepts too (wait for them)");
  app.add_option("--wait", wait_s, "seconds to wait for the service to catch up");
  CLI11_PARSE(app, argc, argv);
  spec.raw = client == "raw";
  if (spec.raw && spec.qos > 1) {
    std::fprintf(stderr, "loadgen: --client raw publishes QoS 0 or 1\n");
    return 2;
  }

  if (!households_out.empty()) {
    std::ofstream out(households_out);
    out << "household,meter,category,street,community,grid,address\n";
    for (uint64_t i = 0; i < spec.meters; ++i)
      out << "H" << i << "," << MeterId(i) << ",elderly_alone,S" << i % 20 << ",C" << i % 200
          << ",G" << i % 2000 << ",Building " << i << "\n";
    if (!out) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", households_out.c_str());
      return 2;
    }
  }

  const uint64_t rounds = (spec.readings + spec.meters - 1) / spec.meters;
  if (spec.start_ts == 0) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    spec.start_ts = (now / 900) * 900 - static_cast<int64_t>(rounds) * 900;
  }
  publishers = static_cast<int>(std::min<uint64_t>(publishers, spec.meters));
  if (spec.rate > 0) spec.rate /= publishers;

  double accepted_before = -1;
  if (!metrics_url.empty())
    accepted_before = gridwatch::ScrapeCounter(metrics_url, "gridwatch_readings_accepted_total");

  // Fork the publishers (before any thread exists in this process), let them connect, then
  // start them together.
  int ready_pipe[2], go_pipe[2], result_pipe[2];
  if (::pipe(ready_pipe) || ::pipe(go_pipe) || ::pipe(result_pipe)) {
    std::perror("loadgen: pipe");
    return 1;
  }
  std::vector<pid_t> children;
  for (int i = 0; i < publishers; ++i) {
    const uint64_t lo = spec.meters * i / publishers, hi = spec.meters * (i + 1) / publishers;
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("loadgen: fork");
      return 1;
    }
    if (pid == 0) {
      ::close(ready_pipe[0]);
      ::close(go_pipe[1]);
      ::close(result_pipe[0]);
      const SliceResult r = PublishSlice(spec, lo, hi, ready_pipe[1], go_pipe[0], i);
      (void)!::write(result_pipe[1], &r, sizeof r);
      std::fflush(nullptr);
      ::_exit(r.ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  ::close(ready_pipe[1]);
  ::close(go_pipe[0]);
  ::close(result_pipe[1]);
  bool connected = true;
  for (int i = 0; i < publishers; ++i) {
    char c = 0;
    if (::read(ready_pipe[0], &c, 1) != 1 || c != 'r') connected = false;
  }
  const int64_t t0 = SteadyNs();
  const double start_epoch =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  ::close(go_pipe[1]);  // go
  SliceResult total;
  int64_t end_ns = t0;
  int done = 0;
  for (SliceResult r; ::read(result_pipe[0], &r, sizeof r) == sizeof r; ++done) {
    total.sent += r.sent;
    total.messages += r.messages;
    total.acked += r.acked;
    end_ns = std::max(end_ns, r.end_ns);
    if (!r.ok) connected = false;
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) connected = false;
  }
  if (!connected || done != publishers) {
    std::fprintf(stderr, "loadgen: a publisher failed\n");
    return 3;
  }
  const double pub_s = static_cast<double>(end_ns - t0) / 1e9;

  // The service's time: until it accepted as many readings as were sent (with --also-expect,
  // a few of those may be the others' readings: the rate is then off by at most that many).
  // The count for `lost` waits for the others' readings too.
  double svc_s = -1, accepted = -1;
  if (!metrics_url.empty()) {
    const double expect = static_cast<double>(total.sent + also_expect);
    const int64_t deadline = t0 + static_cast<int64_t>(wait_s * 1e9);
    while (true) {
      accepted = gridwatch::ScrapeCounter(metrics_url, "gridwatch_readings_accepted_total") -
                 accepted_before;
      if (svc_s < 0 && accepted >= static_cast<double>(total.sent))
        svc_s = static_cast<double>(SteadyNs() - t0) / 1e9;
      if (accepted >= expect || SteadyNs() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (svc_s < 0) svc_s = static_cast<double>(SteadyNs() - t0) / 1e9;
    accepted -= static_cast<double>(also_expect);
  }
  std::printf(
      "{\"readings_sent\": %llu, \"messages\": %llu, \"acked\": %llu, \"publishers\": %d, "
      "\"client\": \"%s\", "
      "\"start_epoch\": %.3f, \"publish_seconds\": %.3f, \"publish_readings_per_s\": %.0f, "
      "\"service_accepted\": %.0f, \"service_seconds\": %.3f, \"service_readings_per_s\": %.0f, "
      "\"lost\": %.0f}\n",
      static_cast<unsigned long long>(total.sent), static_cast<unsigned long long>(total.messages),
      static_cast<unsigned long long>(total.acked), publishers, client.c_str(), start_epoch, pub_s,
      total.sent / pub_s, accepted, svc_s, svc_s > 0 ? accepted / svc_s : -1.0,
      svc_s > 0 ? static_cast<double>(total.sent) - accepted : -1.0);
  return 0;
}
