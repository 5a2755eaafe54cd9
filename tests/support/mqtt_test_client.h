// MqttTestClient: a small synchronous MQTT client for tests (Paho underneath, kept out of this
// header). It connects (optionally with a fixed client id and a persistent session, automatic
// reconnect and offline buffering), subscribes to filters and collects every message it receives,
// and publishes with a wait for the broker's acknowledgement. WaitFor() blocks on a condition
// variable for real I/O with a timeout; tests never sleep.
//
// Thread-safe: messages arrive on Paho's thread; every public method may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gridwatch::test_support {

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
  bool duplicate = false;  // the broker's DUP flag (a redelivery)
};

struct MqttTestClientOptions {
  std::string client_id;      // empty = a random "gw-test-..." id
  bool clean_session = true;  // false = persistent session (with a fixed client_id)
  bool automatic_reconnect = false;
  int reconnect_min_ms = 100;  // backoff bounds for automatic reconnect
  int reconnect_max_ms = 1000;
  // > 0: publishes made while disconnected are buffered in memory (up to this many) and sent on
  // reconnect. Needs automatic_reconnect to be useful.
  int max_buffered_messages = 0;
  int max_inflight = 1000;
  int keepalive_s = 5;
  int timeout_ms = 10000;  // bound on Connect/Subscribe/Publish waits
};

class MqttTestClient {
 public:
  // Creates the client; does not connect. Throws std::runtime_error on a bad URL.
  explicit MqttTestClient(std::string url, MqttTestClientOptions options = {});
  // Disconnects (best effort).
  ~MqttTestClient();
  MqttTestClient(const MqttTestClient&) = delete;
  MqttTestClient& operator=(const MqttTestClient&) = delete;

  // Connects and waits for CONNACK. Throws std::runtime_error on failure or timeout.
  void Connect();
  // Disconnects and waits (bounded). No-op if not connected.
  void Disconnect();
  bool IsConnected() const;
  // Blocks until IsConnected() == `connected` (connection events wake it), or the timeout.
  [[nodiscard]] bool WaitConnected(bool connected, std::chrono::milliseconds timeout);
  // Number of times the connection came up (first connect included).
  int connect_count() const;

  // Subscribes and waits for SUBACK. Throws on failure. With automatic_reconnect and a clean
  // session, the subscriptions are re-made after each reconnect.
  void Subscribe(const std::string& filter, int qos = 1);

  // Publishes and waits until the broker acknowledged it (QoS 1/2) or it was written (QoS 0).
  // Throws std::runtime_error on failure or timeout.
  void Publish(const std::string& topic, std::string_view payload, int qos = 1,
               bool retained = false);
  // Publishes without waiting (buffered while disconnected if max_buffered_messages > 0).
  // Throws only if Paho refuses the message outright. Use WaitForPublished() to wait for acks.
  void PublishAsync(const std::string& topic, std::string_view payload, int qos = 1);
  // Waits until every PublishAsync so far is acknowledged; false on timeout.
  [[nodiscard]] bool WaitForPublished(std::chrono::milliseconds timeout);

  // Blocks until at least `count` messages were received in total, or the timeout; returns
  // whether the count was reached.
  [[nodiscard]] bool WaitFor(std::size_t count, std::chrono::milliseconds timeout);
  // Blocks until `pred(messages)` is true (evaluated on every arrival), or the timeout.
  [[nodiscard]] bool WaitUntil(const std::function<bool(const std::vector<ReceivedMessage>&)>& pred,
                               std::chrono::milliseconds timeout);
  // A copy of all messages received so far, in arrival order.
  std::vector<ReceivedMessage> Messages() const;
  std::size_t MessageCount() const;
  // Messages received on `topic` exactly.
  std::vector<ReceivedMessage> MessagesOn(std::string_view topic) const;
  void ClearMessages();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch::test_support
