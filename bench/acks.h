// Acknowledgement counting shared by the benchmarks' QoS 1 publishers (loadgen's Paho and raw
// clients, the alert probe): a counter that a callback or reader thread adds to, and a
// condition to wait on it.
#pragma once

#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace gridwatch {

struct AckCount {
  std::atomic<uint64_t> acked{0};
  std::mutex mu;
  std::condition_variable cv;

  void Add(uint64_t n) {
    acked.fetch_add(n, std::memory_order_relaxed);
    Notify();
  }
  void Notify() {
    std::lock_guard lock(mu);
    cv.notify_all();
  }
  template <typename Pred>
  void Wait(Pred pred) {
    std::unique_lock lock(mu);
    cv.wait(lock, pred);
  }
  // Waits until pred() holds or `timeout` passes; returns pred().
  template <typename Pred>
  bool WaitUntil(std::chrono::seconds timeout, Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
};

// A Paho callback that counts delivery acknowledgements and reports a lost connection.
class PahoAcks : public mqtt::callback, public AckCount {
 public:
  explicit PahoAcks(const char* who) : who_(who) {}
  void delivery_complete(mqtt::delivery_token_ptr) override { Add(1); }
  void connection_lost(const std::string& cause) override {
    std::fprintf(stderr, "%s: connection lost: %s\n", who_, cause.c_str());
  }

 private:
  const char* who_;
};

}  // namespace gridwatch
