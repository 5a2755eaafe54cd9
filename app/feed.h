// Feed: `gridwatch feed` publishes a readings CSV (meter,ts,kwh) to the broker as live meters
// would, one JSON reading per message at QoS 1, paced by data time at a speed-up factor — the
// demo's meters. Returns a process exit code.
#pragma once

#include <string>

namespace gridwatch {

struct FeedArgs {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string readings_csv;
  std::string households_csv;  // maps meters; readings of unknown meters are sent anyway
  std::string topic_prefix = "gridwatch/readings";
  double speed = 3600;  // data seconds per wall second (0 = as fast as possible)
  int64_t shift_s = 0;  // added to every ts
};

int RunFeed(const FeedArgs& args);

}  // namespace gridwatch
