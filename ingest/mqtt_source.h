// MqttSource: the live ingest stage. A Paho MQTT async client (kept out of this header) holds a
// persistent session (fixed client_id, clean_session from MqttOptions, normally false) and a QoS
// subscription to every MqttOptions::readings_topics filter, re-made on each (re)connect;
// automatic reconnect with backoff between reconnect_min_s and reconnect_max_s (a failed first
// connect is retried with the same backoff). The Paho callback only pushes the message into a
// BoundedQueue (a full queue drops and counts: gridwatch_ingest_queue_dropped_total); one ingest
// thread parses and normalizes (Ingestor), hands accepted readings to the sink in batches (ts
// order per meter) and publishes each reject to deadletter_topic at QoS 1.
//
// The same connection publishes for others: Publish() (e.g. alerts) is non-blocking and, while
// disconnected, buffers in memory (up to kMaxBufferedMessages) until the reconnect. Durable
// delivery across process restarts is the caller's business (alert's outbox).
//
// Thread-safe: Start/Stop from one owner thread; Publish, connected(), reconnects(), counts()
// from any thread. The sink runs on the ingest thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "config/options.h"
#include "config/registry.h"
#include "detect/reading.h"
#include "ingest/ingest_metrics.h"
#include "ingest/ingestor.h"

namespace prometheus {
class Registry;
}

namespace gridwatch {

class MqttSource {
 public:
  // Receives accepted readings in batches (ts order per meter). Runs on the ingest thread; it
  // may block (backpressure reaches the queue, then the queue-full drop counter).
  using Sink = std::function<void(std::span<const Reading>)>;

  static constexpr int kMaxBufferedMessages = 100000;

  // `metrics_registry` may be null (no metrics); `clock` must outlive the source. Throws
  // std::invalid_argument on a bad broker URL or options (start-up only).
  MqttSource(MqttOptions mqtt, IngestOptions ingest, std::shared_ptr<const Registry> registry,
             prometheus::Registry* metrics_registry, const Clock& clock, Sink sink);
  // Calls Stop().
  ~MqttSource();
  MqttSource(const MqttSource&) = delete;
  MqttSource& operator=(const MqttSource&) = delete;

  // Readings an earlier run handed to detect, replayed from the write-ahead log: their meters
  // treat them as seen (a broker's redelivery is then a duplicate). Before Start() only.
  void Prime(std::span<const Reading> readings);

  // Starts the ingest thread and the first connect; returns at once (connection comes up in the
  // background, see connected()). Calling it twice is a no-op.
  void Start();
  // Waits up to `timeout_ms` until the source is connected and the broker acknowledged the
  // readings subscriptions (after a reconnect: until they are re-acknowledged). Also ready().
  [[nodiscard]] bool WaitConnected(int timeout_ms) const;
  // Stops taking messages, drains the queue through the ingest thread (held readings are
  // flushed to the sink), waits up to 5 s for pending publishes, disconnects. Idempotent.
  void Stop();

  // Publishes without blocking. Returns false if the client refused it (not started, stopped,
  // buffer full). QoS 1 delivery completes in the background.
  [[nodiscard]] bool Publish(const std::string& topic, std::string_view payload, int qos);

  // Swaps in a reloaded households registry (SIGHUP): the ingest thread takes it before its next
  // batch; meters of new households are then accepted. Thread-safe.
  void SetRegistry(std::shared_ptr<const Registry> registry);

  bool connected() const;
  // Connected and subscribed (what /readyz wants).
  bool ready() const;
  // Successful connections after the first one.
  uint64_t reconnects() const;
  // A snapshot of the ingest counts (messages, accepted, baseline, rejected by reason).
  IngestCounts counts() const;
  // Messages dropped because the queue was full.
  uint64_t queue_dropped() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch
