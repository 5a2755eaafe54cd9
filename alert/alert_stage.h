// AlertStage: the alert half of `gridwatch serve` in one object, wired the way the service runs
// it: the SQLite store at {data_dir}/alerts.db, the AlertManager (contacts from
// AlertOptions::contacts_csv), the Dispatcher on its own thread (woken whenever the manager
// writes deliveries) and the AlertApi (tokens from AlertOptions::tokens_csv). The app feeds
// findings to manager().OnFinding(), calls Tick() every few seconds of wall time, and routes
// /api/v1/... requests to api().Handle().
//
// Thread-safe as its parts are (see alert_manager.h, dispatcher.h, alert_api.h).
#pragma once

#include <memory>
#include <string>

#include "alert/alert_api.h"
#include "alert/alert_manager.h"
#include "alert/alert_metrics.h"
#include "alert/alert_store.h"
#include "alert/dispatcher.h"
#include "alert/notifier.h"
#include "alert/publisher.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "config/options.h"
#include "config/registry.h"

namespace prometheus {
class Registry;
}

namespace gridwatch {

struct AlertStageDeps {
  std::shared_ptr<const Registry> registry;  // required
  const Clock* clock = nullptr;              // required; outlives the stage
  MessagePublisher* publisher = nullptr;     // alert topic and the mqtt channel; may be null
  prometheus::Registry* metrics = nullptr;   // may be null
  std::shared_ptr<const TimeZone> tz;        // null = UTC
  UsageProvider* usage = nullptr;            // may be null (usage API answers 501)
  std::string db_path;                       // "" = {config.data_dir}/alerts.db
  SmsOptions sms;                            // SMS gateway template for phone-number targets
  HttpClientOptions http;                    // CA file for https:// notifiers
};

class AlertStage {
 public:
  // Opens the store, loads contacts and tokens (empty paths = none). Throws ConfigError or
  // std::runtime_error naming the file (start-up only). Does not start the dispatcher.
  AlertStage(const Config& config, AlertStageDeps deps);
  ~AlertStage();  // stops the dispatcher
  AlertStage(const AlertStage&) = delete;
  AlertStage& operator=(const AlertStage&) = delete;

  void Start();  // dispatcher thread
  void Stop();
  // Escalations and expiry at clock time (call every few seconds).
  int Tick() { return manager_->Tick(); }

  AlertStore& store() { return *store_; }
  AlertManager& manager() { return *manager_; }
  Dispatcher& dispatcher() { return *dispatcher_; }
  const AlertApi& api() const { return *api_; }

 private:
  std::unique_ptr<AlertMetrics> metrics_;
  std::unique_ptr<AlertStore> store_;
  std::unique_ptr<AlertManager> manager_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<AlertApi> api_;
};

}  // namespace gridwatch
