#include "ingest/mqtt_source.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"
#include "mqtt/async_client.h"

namespace gridwatch {
namespace {

constexpr std::size_t kBatchMessages = 512;
// After a batch of fewer than kSmallBatch messages the ingest thread naps kBatchNap before the
// next: at most 1 ms more latency, and 1.0-1.26x the single-message throughput on 2 cores (median
// 1.14 of six side-by-side pairs; BENCHMARKS section 2, session 7).
constexpr std::size_t kSmallBatch = kBatchMessages / 8;
constexpr auto kBatchNap = std::chrono::milliseconds(1);
constexpr auto kPopTimeout = std::chrono::milliseconds(100);
constexpr int kDisconnectTimeoutMs = 5000;
constexpr int kDrainTimeoutMs = 2000;

}  // namespace

struct MqttSource::Impl : public virtual mqtt::iaction_listener {
  Impl(MqttOptions m, IngestOptions i, std::shared_ptr<const Registry> r,
       prometheus::Registry* metrics_registry, const Clock& c, Sink s)
      : mqtt_options(std::move(m)),
        ingest_options(i),
        registry(std::move(r)),
        clock(c),
        sink(std::move(s)),
        metrics(metrics_registry ? std::make_unique<IngestMetrics>(*metrics_registry)
                                 : std::make_unique<IngestMetrics>()),
        queue(static_cast<std::size_t>(std::max(1, ingest_options.message_queue_capacity))),
        ingestor(registry, ingest_options, metrics.get()) {
    mqtt::create_options create(MQTTVERSION_3_1_1);
    create.set_send_while_disconnected(true, true);
    create.set_max_buffered_messages(kMaxBufferedMessages);
    try {
      client = std::make_unique<mqtt::async_client>(mqtt_options.broker, mqtt_options.client_id,
                                                    create, nullptr);
    } catch (const mqtt::exception& e) {
      throw std::invalid_argument("mqtt: cannot create client for " + mqtt_options.broker + ": " +
                                  e.what());
    }
    connect_options = BuildConnectOptions();
    metrics->SetConnected(false);
  }

  mqtt::connect_options BuildConnectOptions() const {
    auto b =
        mqtt::connect_options_builder()
            .mqtt_version(MQTTVERSION_3_1_1)
            .clean_session(mqtt_options.clean_session)
            .keep_alive_interval(std::chrono::seconds(std::max(1, mqtt_options.keepalive_s)))
            .connect_timeout(std::chrono::seconds(10))
            .max_inflight(std::max(1000, mqtt_options.max_inflight))
            .automatic_reconnect(std::chrono::seconds(std::max(1, mqtt_options.reconnect_min_s)),
                                 std::chrono::seconds(std::max(mqtt_options.reconnect_min_s,
                                                               mqtt_options.reconnect_max_s)));
    if (!mqtt_options.username.empty()) {
      b.user_name(mqtt_options.username);
      b.password(mqtt_options.password);
    }
    const bool tls = mqtt_options.broker.rfind("ssl://", 0) == 0 ||
                     mqtt_options.broker.rfind("mqtts://", 0) == 0;
    if (tls) {
      mqtt::ssl_options ssl;
      if (!mqtt_options.ca_file.empty()) ssl.set_trust_store(mqtt_options.ca_file);
      if (!mqtt_options.cert_file.empty()) ssl.set_key_store(mqtt_options.cert_file);
      if (!mqtt_options.key_file.empty()) ssl.set_private_key(mqtt_options.key_file);
      ssl.set_enable_server_cert_auth(true);
      b.ssl(std::move(ssl));
    }
    return b.finalize();
  }

  // --- Paho callbacks (Paho's thread: never block, but for OnMessage's deliberate wait for room;
  // the ingest thread that makes room never waits on this thread) ---

  // A full queue is waited on, not dropped from: Paho has acknowledged a QoS 1 message to the
  // broker before it reaches this callback, so a message dropped here is lost. Waiting stops
  // Paho reading the socket, and the broker keeps what follows in the session's queue (a
  // persistent session: mqtt.clean_session false) — overload backs up to the broker. A message
  // is dropped (and counted) only when the queue has closed at shutdown.
  void OnMessage(mqtt::const_message_ptr msg) {
    metrics->MessageReceived();
    if (queue.TryPush(msg)) {
      pushed.fetch_add(1);
      return;
    }
    metrics->QueueFull();
    while (!queue.Closed()) {
      if (queue.PushFor(msg, std::chrono::milliseconds(100))) {
        pushed.fetch_add(1);
        return;
      }
    }
    dropped.fetch_add(1);
    metrics->QueueDropped();
  }

  void OnConnected() {
    const uint64_t n = connects.fetch_add(1) + 1;
    if (n > 1) metrics->Reconnected();
    metrics->SetConnected(true);
    // Re-make the subscriptions on every connect (a persistent session keeps them, but a broker
    // that lost its state, or a changed topic list, needs them again). Not waited on here.
    if (mqtt_options.readings_topics.empty()) {  // a publish-only connection: ready now
      OnSubscribed();
      return;
    }
    try {
      auto topics = mqtt::string_collection::create(mqtt_options.readings_topics);
      std::vector<int> qos(mqtt_options.readings_topics.size(), mqtt_options.readings_qos);
      client->subscribe(topics, qos, nullptr, subscribe_listener);
    } catch (const mqtt::exception&) {
      // The next reconnect tries again.
    }
  }

  // SUBACK for the subscriptions made in OnConnected: the source is now ready.
  void OnSubscribed() {
    {
      std::lock_guard lock(conn_mu);
      is_ready = true;
    }
    conn_cv.notify_all();
  }

  struct SubscribeListener : public virtual mqtt::iaction_listener {
    explicit SubscribeListener(Impl* i) : impl(i) {}
    void on_failure(const mqtt::token&) override {}
    void on_success(const mqtt::token&) override { impl->OnSubscribed(); }
    Impl* impl;
  };

  void OnConnectionLost() {
    metrics->SetConnected(false);
    {
      std::lock_guard lock(conn_mu);
      is_ready = false;
    }
    conn_cv.notify_all();
  }

  // iaction_listener for connect attempts made by us (the first one and its retries).
  void on_failure(const mqtt::token&) override {
    // Paho's automatic reconnect covers lost connections, not a failed first connect: retry
    // from the ingest thread with backoff.
    need_connect.store(true);
  }
  void on_success(const mqtt::token&) override {}

  // --- ingest thread ---

  void MaybeConnect() {
    if (!need_connect.load() || stopping.load()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_connect_at) return;
    need_connect.store(false);
    try {
      client->connect(connect_options, nullptr, *this);
    } catch (const mqtt::exception&) {
      need_connect.store(true);
    }
    next_connect_at = now + backoff;
    backoff = std::min(
        backoff * 2, std::chrono::milliseconds(1000LL * std::max(1, mqtt_options.reconnect_max_s)));
  }

  void PublishDeadLetters(std::vector<std::string>* dead_letters) {
    for (std::string& dl : *dead_letters) {
      if (PublishRaw(mqtt_options.deadletter_topic, dl, 1)) {
        metrics->DeadLetterPublished();
      } else {
        metrics->DeadLetterFailed();
      }
    }
    dead_letters->clear();
  }

  bool PublishRaw(const std::string& topic, std::string_view payload, int qos) {
    try {
      client->publish(topic, payload.data(), payload.size(), qos, false);
      return true;
    } catch (const mqtt::exception&) {
      return false;
    }
  }

  void Deliver(std::vector<Reading>* out) {
    if (out->empty()) return;
    int64_t newest = out->front().ts_s;
    for (const Reading& r : *out) newest = std::max(newest, r.ts_s);
    metrics->SetLagSeconds(static_cast<double>(clock.NowMs()) / 1000.0 -
                           static_cast<double>(newest));
    if (sink) sink(std::span<const Reading>(out->data(), out->size()));
    out->clear();
  }

  void Run() {
    std::vector<mqtt::const_message_ptr> batch;
    std::vector<Reading> out;
    std::vector<std::string> dead_letters;
    batch.reserve(kBatchMessages);
    while (true) {
      MaybeConnect();
      {
        std::lock_guard lock(registry_mu);
        if (pending_registry) ingestor.SetRegistry(std::move(pending_registry));
        pending_registry.reset();
      }
      batch.clear();
      const std::size_t n = queue.PopBatch(&batch, kBatchMessages, kPopTimeout);
      const int64_t now_ms = clock.NowMs();
      for (const auto& msg : batch) {
        const auto& payload = msg->get_payload_ref();
        ingestor.HandleMessage(msg->get_topic(), std::string_view(payload.data(), payload.size()),
                               now_ms, &out, &dead_letters);
      }
      ingestor.ReleaseDue(now_ms / 1000, &out);
      Deliver(&out);
      PublishDeadLetters(&dead_letters);
      metrics->SetQueueDepth(static_cast<double>(queue.Size()));
      metrics->SetQueueHighWater(static_cast<double>(queue.HighWater()));
      {
        std::lock_guard lock(counts_mu);
        counts_snapshot = ingestor.counts();
        processed.fetch_add(n);
      }
      drained_cv.notify_all();
      if (n == 0 && queue.Closed()) break;
      // A small batch means the thread is keeping up one message at a time: then every message
      // Paho hands over wakes it (a futex wake and a context switch on Paho's receive thread,
      // the single-message path's bottleneck). Napping lets the next batch gather.
      if (n > 0 && n < kSmallBatch && !stopping.load()) std::this_thread::sleep_for(kBatchNap);
    }
    ingestor.Flush(&out);
    Deliver(&out);
    std::lock_guard lock(counts_mu);
    counts_snapshot = ingestor.counts();
  }

  const MqttOptions mqtt_options;
  const IngestOptions ingest_options;
  const std::shared_ptr<const Registry> registry;
  const Clock& clock;
  const Sink sink;
  std::unique_ptr<IngestMetrics> metrics;
  BoundedQueue<mqtt::const_message_ptr> queue;
  Ingestor ingestor;  // ingest thread only
  std::mutex registry_mu;
  std::shared_ptr<const Registry> pending_registry;  // guarded by registry_mu
  mqtt::connect_options connect_options;

  std::thread worker;
  bool started = false;  // owner thread only
  bool stopped = false;  // owner thread only
  std::atomic<bool> stopping{false};
  std::atomic<bool> need_connect{false};
  std::chrono::steady_clock::time_point next_connect_at{};  // ingest thread only
  std::chrono::milliseconds backoff{1000};                  // ingest thread only
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> dropped{0};

  mutable std::mutex conn_mu;
  mutable std::condition_variable conn_cv;
  bool is_ready = false;  // connected and subscribed; guarded by conn_mu
  SubscribeListener subscribe_listener{this};

  std::atomic<uint64_t> pushed{0};     // messages queued by the callback
  std::atomic<uint64_t> processed{0};  // messages fully handled (readings out, dead letters sent)

  // Last member: destroyed first, so Paho's threads never see a destroyed member.
  std::unique_ptr<mqtt::async_client> client;

  mutable std::mutex counts_mu;
  std::condition_variable drained_cv;
  IngestCounts counts_snapshot;  // guarded by counts_mu
};

MqttSource::MqttSource(MqttOptions mqtt, IngestOptions ingest,
                       std::shared_ptr<const Registry> registry,
                       prometheus::Registry* metrics_registry, const Clock& clock, Sink sink)
    : impl_(std::make_unique<Impl>(std::move(mqtt), ingest, std::move(registry), metrics_registry,
                                   clock, std::move(sink))) {}

MqttSource::~MqttSource() { Stop(); }

void MqttSource::Start() {
  Impl* impl = impl_.get();
  if (impl->started) return;
  impl->started = true;
  impl->backoff =
      std::chrono::milliseconds(1000LL * std::max(1, impl->mqtt_options.reconnect_min_s));
  impl->client->set_message_callback(
      [impl](mqtt::const_message_ptr msg) { impl->OnMessage(std::move(msg)); });
  impl->client->set_connected_handler([impl](const std::string&) { impl->OnConnected(); });
  impl->client->set_connection_lost_handler(
      [impl](const std::string&) { impl->OnConnectionLost(); });
  impl->need_connect.store(true);
  impl->worker = std::thread([impl] { impl->Run(); });
}

void MqttSource::Prime(std::span<const Reading> readings) {
  if (!impl_->started) impl_->ingestor.Prime(readings);  // the ingest thread does not run yet
}

bool MqttSource::WaitConnected(int timeout_ms) const {
  std::unique_lock lock(impl_->conn_mu);
  return impl_->conn_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                 [&] { return impl_->is_ready; });
}

void MqttSource::Stop() {
  Impl* impl = impl_.get();
  if (!impl->started || impl->stopped) return;
  impl->stopped = true;
  impl->stopping.store(true);
  // 1. Let the ingest thread catch up while still connected, so that dead letters go out.
  {
    std::unique_lock lock(impl->counts_mu);
    impl->drained_cv.wait_for(lock, std::chrono::milliseconds(kDrainTimeoutMs),
                              [&] { return impl->processed.load() == impl->pushed.load(); });
  }
  // 2. Disconnect: no more messages; Paho finishes in-flight publishes within the timeout.
  try {
    if (impl->client->is_connected()) {
      impl->client->disconnect(kDisconnectTimeoutMs)
          ->wait_for(std::chrono::milliseconds(kDisconnectTimeoutMs + 1000));
    }
  } catch (const mqtt::exception&) {
  }
  // 3. Drain what arrived meanwhile (its dead letters may only be buffered) and stop the thread.
  impl->queue.Close();
  if (impl->worker.joinable()) impl->worker.join();
  impl->OnConnectionLost();
}

bool MqttSource::Publish(const std::string& topic, std::string_view payload, int qos) {
  if (!impl_->started || impl_->stopped) return false;
  return impl_->PublishRaw(topic, payload, qos);
}

void MqttSource::SetRegistry(std::shared_ptr<const Registry> registry) {
  std::lock_guard lock(impl_->registry_mu);
  impl_->pending_registry = std::move(registry);
}

bool MqttSource::connected() const { return impl_->client->is_connected(); }

bool MqttSource::ready() const {
  std::lock_guard lock(impl_->conn_mu);
  return impl_->is_ready;
}

uint64_t MqttSource::reconnects() const {
  const uint64_t n = impl_->connects.load();
  return n > 0 ? n - 1 : 0;
}

IngestCounts MqttSource::counts() const {
  std::lock_guard lock(impl_->counts_mu);
  return impl_->counts_snapshot;
}

uint64_t MqttSource::queue_dropped() const { return impl_->dropped.load(); }

}  // namespace gridwatch
