#include "ingest/ingest_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <string>

namespace gridwatch {

struct IngestMetrics::Impl {
  explicit Impl(prometheus::Registry& r)
      : accepted(prometheus::BuildCounter()
                     .Name("gridwatch_readings_accepted_total")
                     .Help("Readings validated and handed to detect")
                     .Register(r)
                     .Add({})),
        rejected_family(prometheus::BuildCounter()
                            .Name("gridwatch_readings_rejected_total")
                            .Help("Readings (or whole messages) rejected, by reason")
                            .Register(r)),
        baseline(prometheus::BuildCounter()
                     .Name("gridwatch_readings_baseline_total")
                     .Help("First register values of a meter (a baseline, no reading)")
                     .Register(r)
                     .Add({})),
        received(prometheus::BuildCounter()
                     .Name("gridwatch_mqtt_messages_received_total")
                     .Help("MQTT messages received on the readings topics")
                     .Register(r)
                     .Add({})),
        queue_depth(prometheus::BuildGauge()
                        .Name("gridwatch_ingest_queue_depth")
                        .Help("Messages waiting between the MQTT callback and the parser")
                        .Register(r)
                        .Add({})),
        queue_high_water(prometheus::BuildGauge()
                             .Name("gridwatch_ingest_queue_high_water")
                             .Help("Most messages ever waiting at once in the ingest queue")
                             .Register(r)
                             .Add({})),
        queue_full(prometheus::BuildCounter()
                       .Name("gridwatch_ingest_queue_full_total")
                       .Help("Times a message found the ingest queue full and waited for room "
                             "(backpressure to the broker)")
                       .Register(r)
                       .Add({})),
        queue_dropped(prometheus::BuildCounter()
                          .Name("gridwatch_ingest_queue_dropped_total")
                          .Help("Messages dropped at the ingest queue (only once it has closed at "
                                "shutdown)")
                          .Register(r)
                          .Add({})),
        lag(prometheus::BuildGauge()
                .Name("gridwatch_ingest_lag_seconds")
                .Help("Wall time minus the ts of the newest reading handed to detect")
                .Register(r)
                .Add({})),
        held(prometheus::BuildGauge()
                 .Name("gridwatch_ingest_held_readings")
                 .Help("Readings held for reordering")
                 .Register(r)
                 .Add({})),
        connected(prometheus::BuildGauge()
                      .Name("gridwatch_mqtt_connected")
                      .Help("1 while connected to the MQTT broker")
                      .Register(r)
                      .Add({})),
        reconnects(prometheus::BuildCounter()
                       .Name("gridwatch_mqtt_reconnects_total")
                       .Help("Connections to the broker after the first one")
                       .Register(r)
                       .Add({})),
        deadletter(prometheus::BuildCounter()
                       .Name("gridwatch_deadletter_published_total")
                       .Help("Rejects published to the dead-letter topic")
                       .Register(r)
                       .Add({})),
        deadletter_failed(prometheus::BuildCounter()
                              .Name("gridwatch_deadletter_failed_total")
                              .Help("Dead-letter messages the MQTT client refused")
                              .Register(r)
                              .Add({})) {
    for (RejectReason reason : AllRejectReasons()) {
      rejected[static_cast<std::size_t>(reason)] =
          &rejected_family.Add({{"reason", std::string(RejectReasonName(reason))}});
    }
  }
  prometheus::Counter& accepted;
  prometheus::Family<prometheus::Counter>& rejected_family;
  std::array<prometheus::Counter*, kRejectReasonCount> rejected{};
  prometheus::Counter& baseline;
  prometheus::Counter& received;
  prometheus::Gauge& queue_depth;
  prometheus::Gauge& queue_high_water;
  prometheus::Counter& queue_full;
  prometheus::Counter& queue_dropped;
  prometheus::Gauge& lag;
  prometheus::Gauge& held;
  prometheus::Gauge& connected;
  prometheus::Counter& reconnects;
  prometheus::Counter& deadletter;
  prometheus::Counter& deadletter_failed;
};

IngestMetrics::IngestMetrics() = default;
IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : impl_(std::make_unique<Impl>(registry)) {}
IngestMetrics::~IngestMetrics() = default;

void IngestMetrics::Accepted(uint64_t n) {
  if (impl_ && n) impl_->accepted.Increment(static_cast<double>(n));
}
void IngestMetrics::Rejected(RejectReason reason) {
  if (impl_ && reason < RejectReason::kCount)
    impl_->rejected[static_cast<std::size_t>(reason)]->Increment();
}
void IngestMetrics::Baseline() {
  if (impl_) impl_->baseline.Increment();
}
void IngestMetrics::MessageReceived() {
  if (impl_) impl_->received.Increment();
}
void IngestMetrics::QueueFull() {
  if (impl_) impl_->queue_full.Increment();
}
void IngestMetrics::QueueDropped() {
  if (impl_) impl_->queue_dropped.Increment();
}
void IngestMetrics::SetQueueDepth(double n) {
  if (impl_) impl_->queue_depth.Set(n);
}
void IngestMetrics::SetQueueHighWater(double n) {
  if (impl_) impl_->queue_high_water.Set(n);
}
void IngestMetrics::SetLagSeconds(double s) {
  if (impl_) impl_->lag.Set(s);
}
void IngestMetrics::SetHeld(double n) {
  if (impl_) impl_->held.Set(n);
}
void IngestMetrics::SetConnected(bool connected) {
  if (impl_) impl_->connected.Set(connected ? 1.0 : 0.0);
}
void IngestMetrics::Reconnected() {
  if (impl_) impl_->reconnects.Increment();
}
void IngestMetrics::DeadLetterPublished() {
  if (impl_) impl_->deadletter.Increment();
}
void IngestMetrics::DeadLetterFailed() {
  if (impl_) impl_->deadletter_failed.Increment();
}

}  // namespace gridwatch
