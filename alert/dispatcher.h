// Dispatcher: drains the outbox. Every pending delivery whose time has come is encoded for its
// contact's channel (notifier.h) and sent; success marks it sent, failure schedules a retry with
// exponential backoff and jitter (retry_initial_s doubling up to retry_max_s, each delay drawn
// uniformly from [d/2, d]) and after max_attempts marks it dead (gridwatch_deliveries_dead_total).
// Deliveries are only ever read from the store, so after a crash a new Dispatcher on the same
// database sends what is pending and never what was sent; a crash between a send and its mark
// resends with the same Idempotency-Key (receivers deduplicate on it).
//
// Thread-safe: RunOnce() may be called from any one thread at a time; Start() runs it on the
// dispatcher's own thread (never the alert thread) until Stop() or destruction.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alert/alert.h"
#include "alert/alert_metrics.h"
#include "alert/alert_store.h"
#include "alert/notifier.h"
#include "alert/publisher.h"
#include "common/clock.h"
#include "config/options.h"

namespace gridwatch {

struct DispatcherDeps {
  AlertStore* store = nullptr;            // required; outlives the dispatcher
  const Clock* clock = nullptr;           // required
  std::vector<Contact> contacts;          // looked up by Contact::Key()
  std::unique_ptr<HttpClient> http;       // null = NewBeastHttpClient()
  MessagePublisher* publisher = nullptr;  // for the mqtt channel; null = mqtt deliveries fail
  AlertMetrics* metrics = nullptr;        // optional
  SmsOptions sms;
  int http_timeout_ms = 10000;
  int batch = 64;            // deliveries per pass
  int poll_ms = 1000;        // Start(): pause between passes when idle
  uint64_t jitter_seed = 0;  // 0 = random
};

struct DispatchStats {
  uint64_t sent = 0;
  uint64_t retried = 0;
  uint64_t dead = 0;
};

class Dispatcher {
 public:
  // Throws std::invalid_argument without a store or a clock.
  Dispatcher(const AlertOptions& options, DispatcherDeps deps);
  ~Dispatcher();  // Stop()s
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // One pass at clock time: sends the due deliveries (at most deps.batch; blocking on HTTP with
  // the timeout), updates the outbox gauges. Returns what this pass did.
  DispatchStats RunOnce();

  // Runs passes on an own thread until Stop(); Wake() starts the next pass at once.
  void Start();
  void Stop();
  void Wake();

  DispatchStats stats() const;  // totals since construction

  // Reloaded contacts (SIGHUP). A delivery still queued for a contact that is gone is marked
  // dead ("contact no longer configured"), which the dead-delivery metric and alert report.
  void SetContacts(const std::vector<Contact>& contacts);

  // Backoff before attempt `attempts + 1` after `attempts` failures (before jitter), ms.
  int64_t BackoffMs(int attempts) const;

 private:
  void Attempt(const Delivery& d, int64_t now_ms, DispatchStats* pass);

  AlertOptions options_;
  DispatcherDeps deps_;
  std::map<std::string, Contact> contacts_;  // by key
  std::mt19937_64 rng_;
  std::mutex run_mu_;  // one pass at a time

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  DispatchStats totals_;
  std::thread thread_;
};

}  // namespace gridwatch
