#include "app/feed.h"

#include <mqtt/async_client.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/time_util.h"

namespace gridwatch {

int RunFeed(const FeedArgs& args) {
  struct Row {
    std::string meter;
    int64_t ts;
    std::string kwh;
  };
  std::vector<Row> rows;
  gzFile f = gzopen(args.readings_csv.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "gridwatch feed: cannot open %s\n", args.readings_csv.c_str());
    return 2;
  }
  char buf[512];
  int lineno = 0;
  while (gzgets(f, buf, sizeof buf)) {
    ++lineno;
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (lineno == 1 || line.empty()) continue;
    const size_t a = line.find(','), b = line.find(',', a + 1);
    if (a == std::string::npos || b == std::string::npos) {
      std::fprintf(stderr, "gridwatch feed: %s:%d: expected meter,ts,kwh\n",
                   args.readings_csv.c_str(), lineno);
      gzclose(f);
      return 2;
    }
    auto ts = ParseTimestamp(line.substr(a + 1, b - a - 1));
    if (!ts) {
      std::fprintf(stderr, "gridwatch feed: %s:%d: bad ts\n", args.readings_csv.c_str(), lineno);
      gzclose(f);
      return 2;
    }
    rows.push_back({line.substr(0, a), *ts + args.shift_s, line.substr(b + 1)});
  }
  gzclose(f);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& x, const Row& y) { return x.ts < y.ts; });
  if (rows.empty()) return 0;

  mqtt::async_client cli(args.broker, "gridwatch-feed-" + std::to_string(::getpid()),
                         mqtt::create_options_builder().max_buffered_messages(20000).finalize());
  auto opts = mqtt::connect_options_builder().clean_session(true).max_inflight(2000).finalize();
  try {
    cli.connect(opts)->wait();
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "gridwatch feed: cannot connect to %s: %s\n", args.broker.c_str(),
                 e.what());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t first = rows.front().ts;
  std::vector<mqtt::delivery_token_ptr> pending;
  size_t sent = 0;
  for (const Row& r : rows) {
    if (args.speed > 0) {
      const double due = static_cast<double>(r.ts - first) / args.speed;
      const double el =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (due > el) std::this_thread::sleep_for(std::chrono::duration<double>(due - el));
    }
    const std::string payload = "{\"meter\":\"" + r.meter + "\",\"ts\":\"" +
                                FormatRfc3339Utc(r.ts) + "\",\"kwh\":" + r.kwh + "}";
    pending.push_back(cli.publish(args.topic_prefix + "/" + r.meter, payload, 1, false));
    if (pending.size() >= 500) {
      for (auto& t : pending) t->wait();
      pending.clear();
    }
    ++sent;
  }
  for (auto& t : pending) t->wait();
  cli.disconnect()->wait();
  std::fprintf(stderr, "gridwatch feed: published %zu readings\n", sent);
  return 0;
}

}  // namespace gridwatch
