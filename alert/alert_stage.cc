#include "alert/alert_stage.h"

#include <filesystem>
#include <stdexcept>

#include "alert/csv_files.h"

namespace gridwatch {

AlertStage::AlertStage(const Config& config, AlertStageDeps deps) {
  if (!deps.registry || !deps.clock)
    throw std::invalid_argument("AlertStage needs a registry and a clock");
  metrics_ = deps.metrics ? std::make_unique<AlertMetrics>(*deps.metrics)
                          : std::make_unique<AlertMetrics>();
  std::string db = deps.db_path;
  if (db.empty()) {
    std::filesystem::create_directories(config.data_dir);
    db = (std::filesystem::path(config.data_dir) / "alerts.db").string();
  }
  store_ = AlertStore::Open(db);
  std::vector<Contact> contacts;
  if (!config.alert.contacts_csv.empty()) contacts = LoadContactsCsv(config.alert.contacts_csv);
  std::vector<ApiToken> tokens;
  if (!config.alert.tokens_csv.empty()) tokens = LoadTokensCsv(config.alert.tokens_csv);

  AlertManagerDeps md;
  md.store = store_.get();
  md.registry = deps.registry;
  md.clock = deps.clock;
  md.publisher = deps.publisher;
  md.metrics = metrics_.get();
  md.tz = deps.tz;
  md.contacts = contacts;
  md.alerts_topic_prefix = config.mqtt.alerts_topic_prefix;
  md.alerts_qos = config.mqtt.alerts_qos;
  manager_ = std::make_unique<AlertManager>(config.alert, std::move(md));

  DispatcherDeps dd;
  dd.store = store_.get();
  dd.clock = deps.clock;
  dd.contacts = std::move(contacts);
  dd.http = NewBeastHttpClient(deps.http);
  dd.publisher = deps.publisher;
  dd.metrics = metrics_.get();
  dd.sms = deps.sms;
  dispatcher_ = std::make_unique<Dispatcher>(config.alert, std::move(dd));
  manager_->SetEnqueuedCallback([d = dispatcher_.get()] { d->Wake(); });

  api_ = std::make_unique<AlertApi>(manager_.get(), std::move(tokens), deps.clock, deps.usage);
}

AlertStage::~AlertStage() { Stop(); }

void AlertStage::Start() { dispatcher_->Start(); }
void AlertStage::Stop() {
  if (dispatcher_) dispatcher_->Stop();
}

}  // namespace gridwatch
