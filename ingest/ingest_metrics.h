// IngestMetrics: the ingest stage's Prometheus metrics (no household or meter labels):
//   gridwatch_readings_accepted_total, gridwatch_readings_rejected_total{reason} (every reason
//   pre-created at 0), gridwatch_readings_baseline_total (first register values),
//   gridwatch_mqtt_messages_received_total, gridwatch_ingest_queue_depth (gauge),
//   gridwatch_ingest_queue_high_water (gauge: the most messages ever queued at once),
//   gridwatch_ingest_queue_full_total (times the MQTT callback waited for room: backpressure),
//   gridwatch_ingest_queue_dropped_total, gridwatch_ingest_lag_seconds (gauge: wall time minus
//   the ts of the newest reading handed to detect), gridwatch_ingest_held_readings (gauge),
//   gridwatch_mqtt_connected (gauge 0/1), gridwatch_mqtt_reconnects_total,
//   gridwatch_deadletter_published_total, gridwatch_deadletter_failed_total.
// Built on a prometheus::Registry the app owns; with no registry every call is a no-op.
//
// Thread-safe (prometheus-cpp metrics are atomic).
#pragma once

#include <cstdint>
#include <memory>

#include "ingest/reject_reason.h"

namespace prometheus {
class Registry;
}

namespace gridwatch {

class IngestMetrics {
 public:
  IngestMetrics();  // no-op metrics
  // Registers the families in `registry`, which must outlive this object.
  explicit IngestMetrics(prometheus::Registry& registry);
  ~IngestMetrics();
  IngestMetrics(const IngestMetrics&) = delete;
  IngestMetrics& operator=(const IngestMetrics&) = delete;

  void Accepted(uint64_t n);
  void Rejected(RejectReason reason);
  void Baseline();
  void MessageReceived();
  void QueueFull();
  void QueueDropped();
  void SetQueueDepth(double n);
  void SetQueueHighWater(double n);
  void SetLagSeconds(double s);
  void SetHeld(double n);
  void SetConnected(bool connected);
  void Reconnected();
  void DeadLetterPublished();
  void DeadLetterFailed();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch
