#include "tests/support/mqtt_test_client.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stdexcept>
#include <utility>

#include "mqtt/async_client.h"

namespace gridwatch::test_support {
namespace {

std::string RandomClientId() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "gw-test-" + std::to_string(rd()) + "-" + std::to_string(counter.fetch_add(1));
}

}  // namespace

struct MqttTestClient::Impl {
  Impl(std::string url_in, MqttTestClientOptions opts)
      : url(std::move(url_in)),
        options(std::move(opts)),
        client_id(options.client_id.empty() ? RandomClientId() : options.client_id),
        client(url, client_id, MakeCreateOptions(options), nullptr) {}

  static mqtt::create_options MakeCreateOptions(const MqttTestClientOptions& o) {
    mqtt::create_options c(MQTTVERSION_3_1_1);
    if (o.max_buffered_messages > 0) {
      c.set_send_while_disconnected(true, true);
      c.set_max_buffered_messages(o.max_buffered_messages);
    }
    return c;
  }

  const std::string url;
  const MqttTestClientOptions options;
  const std::string client_id;
  mqtt::async_client client;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<ReceivedMessage> messages;                   // guarded by mu
  std::vector<std::pair<std::string, int>> subscriptions;  // guarded by mu
  std::vector<mqtt::delivery_token_ptr> pending;           // guarded by mu
  int connects = 0;                                        // guarded by mu
  // Connection state as the callbacks report it. WaitConnected must not ask Paho under `mu`:
  // Paho's threads hold Paho's lock when they call our callbacks, which take `mu`.
  bool connected = false;  // guarded by mu
};

MqttTestClient::MqttTestClient(std::string url, MqttTestClientOptions options) {
  try {
    impl_ = std::make_unique<Impl>(std::move(url), std::move(options));
  } catch (const mqtt::exception& e) {
    throw std::runtime_error(std::string("MqttTestClient: ") + e.what());
  }
  Impl* impl = impl_.get();
  impl->client.set_message_callback([impl](mqtt::const_message_ptr msg) {
    ReceivedMessage m;
    m.topic = msg->get_topic();
    m.payload = msg->to_string();
    m.qos = msg->get_qos();
    m.retained = msg->is_retained();
    m.duplicate = msg->is_duplicate();
    {
      std::lock_guard lock(impl->mu);
      impl->messages.push_back(std::move(m));
    }
    impl->cv.notify_all();
  });
  impl->client.set_connection_lost_handler([impl](const std::string&) {
    {
      std::lock_guard lock(impl->mu);
      impl->connected = false;
    }
    impl->cv.notify_all();
  });
  impl->client.set_connected_handler([impl](const std::string&) {
    std::vector<std::pair<std::string, int>> subs;
    {
      std::lock_guard lock(impl->mu);
      ++impl->connects;
      impl->connected = true;
      // Only re-subscribe on reconnects of a clean session (a persistent one keeps them).
      if (impl->connects > 1 && impl->options.clean_session) subs = impl->subscriptions;
    }
    impl->cv.notify_all();
    for (const auto& [filter, qos] : subs) {
      try {
        impl->client.subscribe(filter, qos);  // not waited on: this is Paho's thread
      } catch (const mqtt::exception&) {
      }
    }
  });
}

MqttTestClient::~MqttTestClient() {
  try {
    if (impl_->client.is_connected()) {
      impl_->client.disconnect()->wait_for(std::chrono::milliseconds(impl_->options.timeout_ms));
    }
  } catch (const mqtt::exception&) {
  }
}

void MqttTestClient::Connect() {
  const auto& o = impl_->options;
  auto builder = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_3_1_1)
                     .clean_session(o.clean_session)
                     .keep_alive_interval(std::chrono::seconds(o.keepalive_s))
                     .connect_timeout(std::chrono::milliseconds(o.timeout_ms))
                     .max_inflight(o.max_inflight);
  if (o.automatic_reconnect) {
    builder.automatic_reconnect(std::chrono::milliseconds(o.reconnect_min_ms),
                                std::chrono::milliseconds(o.reconnect_max_ms));
  }
  try {
    auto tok = impl_->client.connect(builder.finalize());
    if (!tok->wait_for(std::chrono::milliseconds(o.timeout_ms)))
      throw std::runtime_error("MqttTestClient: connect to " + impl_->url + " timed out");
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("MqttTestClient: connect to " + impl_->url + ": " + e.what());
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->connected = true;
  }
  impl_->cv.notify_all();
}

void MqttTestClient::Disconnect() {
  try {
    if (impl_->client.is_connected())
      impl_->client.disconnect()->wait_for(std::chrono::milliseconds(impl_->options.timeout_ms));
  } catch (const mqtt::exception& e) {
    throw std::runtime_error(std::string("MqttTestClient: disconnect: ") + e.what());
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->connected = false;
  }
  impl_->cv.notify_all();
}

bool MqttTestClient::IsConnected() const { return impl_->client.is_connected(); }

bool MqttTestClient::WaitConnected(bool connected, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->connected == connected; });
}

int MqttTestClient::connect_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connects;
}

void MqttTestClient::Subscribe(const std::string& filter, int qos) {
  try {
    auto tok = impl_->client.subscribe(filter, qos);
    if (!tok->wait_for(std::chrono::milliseconds(impl_->options.timeout_ms)))
      throw std::runtime_error("MqttTestClient: subscribe to " + filter + " timed out");
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("MqttTestClient: subscribe to " + filter + ": " + e.what());
  }
  std::lock_guard lock(impl_->mu);
  impl_->subscriptions.emplace_back(filter, qos);
}

void MqttTestClient::Publish(const std::string& topic, std::string_view payload, int qos,
                             bool retained) {
  try {
    auto msg = mqtt::make_message(topic, payload.data(), payload.size(), qos, retained);
    auto tok = impl_->client.publish(msg);
    if (!tok->wait_for(std::chrono::milliseconds(impl_->options.timeout_ms)))
      throw std::runtime_error("MqttTestClient: publish to " + topic + " timed out");
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("MqttTestClient: publish to " + topic + ": " + e.what());
  }
}

void MqttTestClient::PublishAsync(const std::string& topic, std::string_view payload, int qos) {
  try {
    auto msg = mqtt::make_message(topic, payload.data(), payload.size(), qos, false);
    auto tok = impl_->client.publish(msg);
    std::lock_guard lock(impl_->mu);
    impl_->pending.push_back(std::move(tok));
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("MqttTestClient: publish to " + topic + ": " + e.what());
  }
}

bool MqttTestClient::WaitForPublished(std::chrono::milliseconds timeout) {
  std::vector<mqtt::delivery_token_ptr> pending;
  {
    std::lock_guard lock(impl_->mu);
    pending.swap(impl_->pending);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ok = true;
  for (auto& tok : pending) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    try {
      if (left.count() <= 0 || !tok->wait_for(left)) ok = false;
    } catch (const mqtt::exception&) {
      ok = false;
    }
  }
  return ok;
}

bool MqttTestClient::WaitFor(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->messages.size() >= count; });
}

bool MqttTestClient::WaitUntil(const std::function<bool(const std::vector<ReceivedMessage>&)>& pred,
                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return pred(impl_->messages); });
}

std::vector<ReceivedMessage> MqttTestClient::Messages() const {
  std::lock_guard lock(impl_->mu);
  return impl_->messages;
}

std::size_t MqttTestClient::MessageCount() const {
  std::lock_guard lock(impl_->mu);
  return impl_->messages.size();
}

std::vector<ReceivedMessage> MqttTestClient::MessagesOn(std::string_view topic) const {
  std::lock_guard lock(impl_->mu);
  std::vector<ReceivedMessage> out;
  for (const auto& m : impl_->messages)
    if (m.topic == topic) out.push_back(m);
  return out;
}

void MqttTestClient::ClearMessages() {
  std::lock_guard lock(impl_->mu);
  impl_->messages.clear();
}

}  // namespace gridwatch::test_support
