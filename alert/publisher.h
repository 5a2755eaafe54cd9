// MessagePublisher: the seam through which the alert stage publishes MQTT messages (alert state
// changes on the shared topic, the mqtt notification channel) without depending on an MQTT
// library. The app implements it with Paho; tests use a recording fake.
//
// Implementations must be thread-safe: the alert manager and the dispatcher thread both call it.
#pragma once

#include <string>

namespace gridwatch {

class MessagePublisher {
 public:
  virtual ~MessagePublisher() = default;
  // Queues `payload` on `topic` at `qos` (0..2). Returns false if it could not be queued (not
  // connected, buffer full); must not block for long (bounded by the client's own timeouts).
  virtual bool Publish(const std::string& topic, const std::string& payload, int qos) = 0;
};

}  // namespace gridwatch
