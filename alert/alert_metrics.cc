#include "alert/alert_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "alert/alert.h"

namespace gridwatch {

struct AlertMetrics::Impl {
  prometheus::Family<prometheus::Counter>* opened;
  prometheus::Family<prometheus::Gauge>* open;
  prometheus::Family<prometheus::Counter>* transitions;
  prometheus::Family<prometheus::Counter>* resolved;
  prometheus::Family<prometheus::Counter>* suppressed;
  prometheus::Histogram* ack;
  prometheus::Family<prometheus::Counter>* escalations;
  prometheus::Family<prometheus::Counter>* deliveries;
  prometheus::Gauge* outbox_pending;
  prometheus::Gauge* outbox_oldest;
  prometheus::Counter* dead;
  prometheus::Counter* store_errors;
};

AlertMetrics::AlertMetrics() = default;

AlertMetrics::~AlertMetrics() = default;

AlertMetrics::AlertMetrics(prometheus::Registry& r) : impl_(std::make_unique<Impl>()) {
  using namespace prometheus;
  impl_->opened = &BuildCounter()
                       .Name("gridwatch_alerts_opened_total")
                       .Help("Alerts opened, by kind and severity")
                       .Register(r);
  impl_->open = &BuildGauge()
                     .Name("gridwatch_alerts_open")
                     .Help("Alerts not yet resolved, by the kind that opened them")
                     .Register(r);
  impl_->transitions = &BuildCounter()
                            .Name("gridwatch_alert_transitions_total")
                            .Help("Alert state transitions, by the state entered")
                            .Register(r);
  impl_->resolved = &BuildCounter()
                         .Name("gridwatch_alerts_resolved_total")
                         .Help(
                             "Alerts resolved, by the kind that opened them and the outcome "
                             "(what the worker found, or activity_returned)")
                         .Register(r);
  impl_->suppressed = &BuildCounter()
                           .Name("gridwatch_findings_suppressed_total")
                           .Help("Findings that opened no alert, by reason")
                           .Register(r);
  impl_->ack = &BuildHistogram()
                    .Name("gridwatch_alert_ack_seconds")
                    .Help("Seconds from an alert's notification to its acknowledgement")
                    .Register(r)
                    .Add({}, Histogram::BucketBoundaries{60, 300, 600, 900, 1800, 3600, 7200, 14400,
                                                         43200, 86400});
  impl_->escalations = &BuildCounter()
                            .Name("gridwatch_escalations_total")
                            .Help("Escalations by level reached (1 = community, 2 = street)")
                            .Register(r);
  impl_->deliveries = &BuildCounter()
                           .Name("gridwatch_deliveries_total")
                           .Help("Notification delivery attempts, by channel and result")
                           .Register(r);
  impl_->outbox_pending = &BuildGauge()
                               .Name("gridwatch_outbox_pending")
                               .Help("Deliveries waiting in the outbox")
                               .Register(r)
                               .Add({});
  impl_->outbox_oldest = &BuildGauge()
                              .Name("gridwatch_outbox_oldest_pending_seconds")
                              .Help("Age of the oldest delivery due but not yet sent")
                              .Register(r)
                              .Add({});
  impl_->dead = &BuildCounter()
                     .Name("gridwatch_deliveries_dead_total")
                     .Help("Deliveries given up after max_attempts")
                     .Register(r)
                     .Add({});
  impl_->store_errors = &BuildCounter()
                             .Name("gridwatch_alert_store_errors_total")
                             .Help(
                                 "Writes the alert store refused (locked past its busy timeout, "
                                 "disk full, I/O error); each is retried")
                             .Register(r)
                             .Add({});
  // Every label combination starts at 0, so that dashboards and rules see the series before
  // the first event (and increase() counts the first one).
  for (int k = 0; k < kNumAlertKinds; ++k) {
    const std::string kind(AlertKindName(static_cast<AlertKind>(k)));
    impl_->open->Add({{"kind", kind}});
    for (int sv = 0; sv < kNumSeverities; ++sv)
      impl_->opened->Add(
          {{"kind", kind}, {"severity", std::string(SeverityName(static_cast<Severity>(sv)))}});
    for (int o = static_cast<int>(Outcome::kResidentFine);
         o <= static_cast<int>(Outcome::kActivityReturned); ++o)
      impl_->resolved->Add(
          {{"kind", kind}, {"outcome", std::string(OutcomeName(static_cast<Outcome>(o)))}});
  }
  for (const char* level : {"1", "2"}) impl_->escalations->Add({{"level", level}});
  for (const char* reason : {"absence", "silence", "duplicate"})
    impl_->suppressed->Add({{"reason", reason}});
  for (int c = 0; c <= static_cast<int>(Channel::kMqtt); ++c)
    for (const char* result : {"sent", "retry", "dead"})
      impl_->deliveries->Add(
          {{"channel", std::string(ChannelName(static_cast<Channel>(c)))}, {"result", result}});
}

void AlertMetrics::Opened(AlertKind kind, Severity severity) {
  if (impl_)
    impl_->opened
        ->Add({{"kind", std::string(AlertKindName(kind))},
               {"severity", std::string(SeverityName(severity))}})
        .Increment();
}
void AlertMetrics::SetOpen(AlertKind kind, double n) {
  if (impl_) impl_->open->Add({{"kind", std::string(AlertKindName(kind))}}).Set(n);
}
void AlertMetrics::Transition(std::string_view to_state) {
  if (impl_) impl_->transitions->Add({{"state", std::string(to_state)}}).Increment();
}
void AlertMetrics::Resolved(AlertKind kind, Outcome outcome) {
  if (impl_)
    impl_->resolved
        ->Add({{"kind", std::string(AlertKindName(kind))},
               {"outcome", std::string(OutcomeName(outcome))}})
        .Increment();
}
void AlertMetrics::Suppressed(std::string_view reason) {
  if (impl_) impl_->suppressed->Add({{"reason", std::string(reason)}}).Increment();
}
void AlertMetrics::AckSeconds(double s) {
  if (impl_) impl_->ack->Observe(s);
}
void AlertMetrics::Escalation(int level) {
  if (impl_) impl_->escalations->Add({{"level", std::to_string(level)}}).Increment();
}
void AlertMetrics::Delivery(std::string_view channel, std::string_view result) {
  if (impl_)
    impl_->deliveries->Add({{"channel", std::string(channel)}, {"result", std::string(result)}})
        .Increment();
}
void AlertMetrics::SetOutboxPending(double n) {
  if (impl_) impl_->outbox_pending->Set(n);
}
void AlertMetrics::SetOutboxOldestPendingSeconds(double s) {
  if (impl_) impl_->outbox_oldest->Set(s);
}
void AlertMetrics::DeliveryDead() {
  if (impl_) impl_->dead->Increment();
}
void AlertMetrics::StoreError() {
  if (impl_) impl_->store_errors->Increment();
}

}  // namespace gridwatch
