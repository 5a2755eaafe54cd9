// Clock: the one seam through which wall time enters the service. Production code uses
// SystemClock; tests use FakeClock and advance it by hand (tests never sleep). Times are epoch
// seconds (UTC) as int64 throughout gridwatch, with milliseconds where latency matters.
//
// SystemClock: thread-safe (stateless). FakeClock: thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace gridwatch {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
  int64_t NowS() const { return NowMs() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 0) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void SetMs(int64_t ms) { now_ms_.store(ms); }
  void AdvanceMs(int64_t ms) { now_ms_.fetch_add(ms); }
  void AdvanceS(int64_t s) { now_ms_.fetch_add(s * 1000); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace gridwatch
