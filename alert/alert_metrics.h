// AlertMetrics: the alert stage's Prometheus metrics (no household labels):
//   gridwatch_alerts_opened_total{kind,severity}, gridwatch_alerts_open{kind} (gauge),
//   gridwatch_alert_transitions_total{state}, gridwatch_alerts_resolved_total{kind,outcome},
//   gridwatch_findings_suppressed_total{reason},
//   gridwatch_alert_ack_seconds (histogram), gridwatch_escalations_total{level},
//   gridwatch_deliveries_total{channel,result}, gridwatch_outbox_pending (gauge),
//   gridwatch_outbox_oldest_pending_seconds (gauge), gridwatch_deliveries_dead_total,
//   gridwatch_alert_store_errors_total.
// Built on a prometheus::Registry the app owns; with no registry every call is a no-op.
//
// Thread-safe (prometheus-cpp metrics are atomic).
#pragma once

#include <memory>
#include <string_view>

#include "alert/alert.h"
#include "detect/finding.h"

namespace prometheus {
class Registry;
}

namespace gridwatch {

class AlertMetrics {
 public:
  AlertMetrics();  // no-op metrics
  // Registers the families in `registry`, which must outlive this object.
  explicit AlertMetrics(prometheus::Registry& registry);
  ~AlertMetrics();
  AlertMetrics(const AlertMetrics&) = delete;
  AlertMetrics& operator=(const AlertMetrics&) = delete;

  void Opened(AlertKind kind, Severity severity);
  void SetOpen(AlertKind kind, double n);
  void Transition(std::string_view to_state);
  // An alert resolved: the kind that opened it and how it ended (what the worker found, or
  // activity_returned): the live share of pages that found nobody in need.
  void Resolved(AlertKind kind, Outcome outcome);
  // "absence", "silence", "duplicate" (a finding replayed after a crash, already applied)
  void Suppressed(std::string_view reason);
  void AckSeconds(double s);
  void Escalation(int level);
  void Delivery(std::string_view channel, std::string_view result);  // "sent","retry","dead"
  void SetOutboxPending(double n);
  void SetOutboxOldestPendingSeconds(double s);
  void DeliveryDead();
  // A write the alert store refused (the caller retries it).
  void StoreError();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch
