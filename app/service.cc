#include "app/service.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "alert/alert_api.h"
#include "alert/alert_manager.h"
#include "alert/alert_metrics.h"
#include "alert/alert_store.h"
#include "alert/csv_files.h"
#include "alert/dispatcher.h"
#include "app/app_metrics.h"
#include "app/http_server.h"
#include "app/readings_csv.h"
#include "common/bounded_queue.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "config/config_error.h"
#include "config/registry.h"
#include "detect/detector.h"
#include "ingest/mqtt_source.h"

namespace gridwatch {

std::atomic<int> Service::stop_requested_{0};
std::atomic<int> Service::reload_requested_{0};

void Service::RequestStop() { stop_requested_.store(1); }
void Service::RequestReload() { reload_requested_.store(1); }

namespace {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;

constexpr size_t kBatch = 4096;
constexpr int kUsageRing = 96;   // recent readings kept per household for the usage API
constexpr int kStopBoundS = 30;  // SIGTERM/SIGINT to exit, at most (else exit 1)

int64_t SteadyMs() {
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A reading on its way to a detect worker, stamped when ingest handed it over (latency).
struct QueuedReading {
  Reading reading;
  int64_t handed_ms = 0;
};

// A finding on its way to the alert stage, with when its reading was handed over by ingest.
struct QueuedFinding {
  Finding finding;
  int64_t picked_up_ms = 0;
};

// The MQTT connection of ingest, lent to the alert stage for publishing.
class SourcePublisher final : public MessagePublisher {
 public:
  void Attach(MqttSource* source) { source_.store(source); }
  bool Publish(const std::string& topic, const std::string& payload, int qos) override {
    MqttSource* s = source_.load();
    return s && s->Publish(topic, payload, qos);
  }

 private:
  std::atomic<MqttSource*> source_{nullptr};
};

// One detect shard: a Detector on its own thread, its queue, its recent readings (usage API)
// and its checkpoint file. `mu` guards the detector and the ring against the HTTP thread's
// usage requests and feedback; the worker takes it once per batch.
struct Shard {
  int index = 0;
  std::unique_ptr<BoundedQueue<QueuedReading>> queue;
  std::unique_ptr<Detector> detector;
  std::mutex mu;
  std::vector<std::array<uint16_t, kUsageRing>> recent;  // Wh per interval, by local index
  std::vector<std::tuple<HouseholdIndex, AlertKind, int>> feedback;  // under mu
  std::thread thread;
  std::string checkpoint_path;
  std::atomic<uint64_t> tracked{0}, learning{0}, ready{0};
  std::atomic<int64_t> last_checkpoint_ms{0};
  std::atomic<double> checkpoint_s{-1};
};

bool SaveCheckpoint(Shard& s) {
  const std::string tmp = s.checkpoint_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    s.detector->Save(out);
    out.flush();
    if (!out) return false;
  }
  std::error_code ec;
  fs::rename(tmp, s.checkpoint_path, ec);
  return !ec;
}

class ShardUsage final : public UsageProvider {
 public:
  explicit ShardUsage(std::vector<std::unique_ptr<Shard>>* shards) : shards_(shards) {}
  std::optional<std::vector<UsagePoint>> Usage(HouseholdIndex h, int64_t from_s,
                                               int64_t to_s) override {
    Shard& s = *(*shards_)[h % shards_->size()];
    std::lock_guard lock(s.mu);
    const size_t local = h / shards_->size();
    auto band = s.detector->ExpectedBand(h, from_s, to_s);
    std::vector<UsagePoint> pts;
    for (const auto& b : band) {
      UsagePoint p;
      p.ts_s = b.ts_s;
      p.expected_kwh = b.expected_kwh;
      p.low_kwh = b.low_kwh;
      p.high_kwh = b.high_kwh;
      const int64_t interval = band.size() > 1 ? band[1].ts_s - band[0].ts_s : 1800;
      if (local < s.recent.size() && interval > 0) {
        const uint16_t v = s.recent[local][(b.ts_s / interval) % kUsageRing];
        p.kwh = v == 0xFFFF ? -1 : v / 1000.0;
      }
      pts.push_back(p);
    }
    return pts;
  }

 private:
  std::vector<std::unique_ptr<Shard>>* shards_;
};

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Service::Service(Config config, ServeArgs args)
    : config_(std::move(config)), args_(std::move(args)) {}

int Service::Run() {
  const Config& cfg = config_;
  SystemClock wall;
  std::shared_ptr<const TimeZone> tz;
  std::shared_ptr<const Registry> registry;
  std::vector<Contact> contacts;
  std::vector<ApiToken> tokens;
  try {
    tz = TimeZone::Load(cfg.timezone);
    if (cfg.households_csv.empty())
      throw ConfigError(cfg.source, 0, "households_csv is not set (config or --households)");
    registry = Registry::LoadCsv(cfg.households_csv);
    if (!cfg.alert.contacts_csv.empty()) contacts = LoadContactsCsv(cfg.alert.contacts_csv);
    if (!cfg.alert.tokens_csv.empty()) tokens = LoadTokensCsv(cfg.alert.tokens_csv);
    fs::create_directories(cfg.data_dir);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  spdlog::info("registry: {} households, {} contacts, {} API tokens, time zone {}",
               registry->size(), contacts.size(), tokens.size(), tz->name());

  auto metrics = std::make_shared<prometheus::Registry>();
  const int nshards = std::max(1, cfg.detect.worker_threads);
  AppMetrics app_metrics(*metrics, nshards, args_.version);
  AlertMetrics alert_metrics(*metrics);

  std::unique_ptr<AlertStore> store;
  try {
    store = AlertStore::Open((fs::path(cfg.data_dir) / "alerts.db").string());
  } catch (const std::exception& e) {
    spdlog::error("alert store: {}", e.what());
    return 1;
  }

  // --- detect shards (checkpoint or history first)
  std::vector<std::unique_ptr<Shard>> shards;
  for (int i = 0; i < nshards; ++i) {
    auto s = std::make_unique<Shard>();
    s->index = i;
    s->queue = std::make_unique<BoundedQueue<QueuedReading>>(
        static_cast<size_t>(cfg.detect.queue_capacity));
    s->detector = std::make_unique<Detector>(cfg.detect, tz, registry, i, nshards);
    s->checkpoint_path = (fs::path(cfg.data_dir) / ("detect-" + std::to_string(i) + "-of-" +
                                                    std::to_string(nshards) + ".ckpt"))
                             .string();
    std::array<uint16_t, kUsageRing> empty;
    empty.fill(0xFFFF);
    s->recent.assign((registry->size() + nshards - 1 - i) / nshards, empty);
    shards.push_back(std::move(s));
  }
  bool restored = false;
  for (auto& s : shards) {
    std::ifstream in(s->checkpoint_path, std::ios::binary);
    if (!in) continue;
    if (s->detector->Load(in)) {
      restored = true;
    } else {
      spdlog::warn("checkpoint {} does not fit this configuration; starting that shard fresh",
                   s->checkpoint_path);
    }
  }
  if (restored) spdlog::info("model state restored from checkpoints in {}", cfg.data_dir);
  if (!args_.history_csv.empty()) {
    if (restored) {
      spdlog::info("--history ignored: the model state was restored from a checkpoint");
    } else {
      try {
        ReadingsFile hist = ReadReadingsCsv(args_.history_csv, *registry);
        std::vector<Finding> discard;
        for (const Reading& r : hist.readings) {
          shards[r.household % nshards]->detector->Observe(r, &discard);
          discard.clear();
        }
        spdlog::info("learned from history: {} readings ({} of unknown meters)",
                     hist.readings.size(), hist.unknown_meter);
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 2;
      }
    }
  }

  // --- alert stage
  SourcePublisher publisher;
  AlertManagerDeps deps;
  deps.store = store.get();
  deps.registry = registry;
  deps.clock = &wall;
  deps.publisher = &publisher;
  deps.metrics = &alert_metrics;
  deps.tz = tz;
  deps.contacts = contacts;
  deps.alerts_topic_prefix = cfg.mqtt.alerts_topic_prefix;
  deps.alerts_qos = cfg.mqtt.alerts_qos;
  std::unique_ptr<AlertManager> alerts;
  try {
    alerts = std::make_unique<AlertManager>(cfg.alert, std::move(deps));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  alerts->SetFeedbackCallback([&shards, nshards](HouseholdIndex h, AlertKind k, int notches) {
    Shard& s = *shards[h % nshards];
    std::lock_guard lock(s.mu);
    s.feedback.emplace_back(h, k, notches);
  });
  DispatcherDeps ddeps;
  ddeps.store = store.get();
  ddeps.clock = &wall;
  ddeps.contacts = contacts;
  ddeps.publisher = &publisher;
  ddeps.metrics = &alert_metrics;
  ddeps.sms.url_template = cfg.alert.sms_url_template;
  ddeps.sms.method = cfg.alert.sms_method;
  Dispatcher dispatcher(cfg.alert, std::move(ddeps));
  alerts->SetEnqueuedCallback([&dispatcher] { dispatcher.Wake(); });
  ShardUsage usage(&shards);
  AlertApi api(alerts.get(), tokens, &wall, &usage);

  // --- ingest
  std::atomic<int64_t> data_now{0};
  std::atomic<uint64_t> dropped{0};
  auto sink = [&](std::span<const Reading> batch) {
    int64_t newest = 0;
    const int64_t handed = SteadyMs();
    for (const Reading& r : batch) {
      newest = std::max(newest, r.ts_s);
      // Blocking push: backpressure reaches the MQTT queue instead of losing readings.
      if (!shards[r.household % nshards]->queue->Push(QueuedReading{r, handed}))
        dropped.fetch_add(1);
    }
    int64_t cur = data_now.load();
    while (newest > cur && !data_now.compare_exchange_weak(cur, newest)) {
    }
  };
  std::unique_ptr<MqttSource> source;
  try {
    source =
        std::make_unique<MqttSource>(cfg.mqtt, cfg.ingest, registry, metrics.get(), wall, sink);
  } catch (const std::exception& e) {
    spdlog::error("mqtt: {}", e.what());
    return 2;
  }
  publisher.Attach(source.get());

  // --- HTTP
  auto handler = [&](const HttpServerRequest& req) {
    HttpServerResponse res;
    std::string path = req.target.substr(0, req.target.find('?'));
    if (path == "/metrics" && req.method == "GET") {
      prometheus::TextSerializer ser;
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      res.body = ser.Serialize(metrics->Collect());
    } else if (path == "/healthz") {
      res.body = "ok\n";
    } else if (path == "/readyz") {
      const bool ok = source->ready();
      res.status = ok ? 200 : 503;
      res.content_type = "application/json";
      res.body = ok ? R"({"ready":true})"
                    : R"({"ready":false,"reason":"not connected and subscribed to the broker"})";
    } else if (path.rfind("/api/", 0) == 0) {
      ApiRequest ar;
      ar.method = req.method;
      ar.SetTarget(req.target);
      ar.headers = req.headers;
      ar.body = req.body;
      ApiResponse r = api.Handle(ar);
      res.status = r.status;
      res.body = std::move(r.body);
      res.content_type = r.content_type;
      res.headers = std::move(r.headers);
    } else {
      res.status = 404;
      res.content_type = "application/json";
      res.body = R"({"error":"not found"})";
    }
    return res;
  };
  HttpServer http(handler);
  int port = 0;
  try {
    port = http.Start(cfg.http.bind, cfg.http.port);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 3;
  }
  std::printf("http: listening on http://%s:%d\n", cfg.http.bind.c_str(), port);
  std::fflush(stdout);
  spdlog::info("http: /metrics /healthz /readyz /api/v1 on {}:{}", cfg.http.bind, port);

  // --- workers
  BoundedQueue<QueuedFinding> finding_queue(65536);
  const bool data_clock = Lower(cfg.clock) == "data";
  const int64_t tick_ms = std::max(1, cfg.detect.tick_s) * 1000;
  const int64_t ckpt_ms = std::max<int64_t>(1, cfg.checkpoint_interval_s) * 1000;
  for (auto& sp : shards) {
    Shard* s = sp.get();
    s->last_checkpoint_ms.store(SteadyMs());
    s->thread = std::thread([&, s] {
      std::vector<QueuedReading> queued;
      std::vector<Reading> batch;
      std::vector<Finding> out;
      batch.reserve(kBatch);
      int64_t next_tick = SteadyMs() + (data_clock ? 200 : tick_ms);
      while (true) {
        batch.clear();
        queued.clear();
        const size_t n = s->queue->PopBatch(&queued, kBatch, Ms(100));
        int64_t oldest = 0;
        for (const QueuedReading& q : queued) {
          batch.push_back(q.reading);
          if (oldest == 0 || q.handed_ms < oldest) oldest = q.handed_ms;
        }
        const bool closed = n == 0 && s->queue->Closed() && s->queue->Size() == 0;
        const int64_t picked = oldest ? oldest : SteadyMs();
        {
          std::lock_guard lock(s->mu);
          for (auto& [h, k, notches] : s->feedback) s->detector->AdjustSensitivity(h, k, notches);
          s->feedback.clear();
          if (n) {
            s->detector->ObserveBatch(batch, &out);
            for (const Reading& r : batch) {
              const size_t local = r.household / nshards;
              if (local < s->recent.size()) {
                // Ring index by interval number; 30-minute interval assumed until the detector's
                // band reports the real one (indexes agree for any fixed interval).
                const int64_t interval = 1800;
                s->recent[local][(r.ts_s / interval) % kUsageRing] =
                    static_cast<uint16_t>(std::min(65534.0f, r.energy_kwh * 1000.0f + 0.5f));
              }
            }
          }
          const int64_t now_ms = SteadyMs();
          if (now_ms >= next_tick || closed) {
            const int64_t now_s = data_clock ? data_now.load() : wall.NowS();
            if (now_s > 0) s->detector->AdvanceTo(now_s, &out);
            next_tick = now_ms + (data_clock ? 200 : tick_ms);
            const DetectorStats st = s->detector->stats();
            s->tracked.store(st.households_tracked);
            s->learning.store(st.households_learning);
            s->ready.store(st.households_ready);
          }
          if (now_ms - s->last_checkpoint_ms.load() >= ckpt_ms || closed) {
            const int64_t t0 = SteadyMs();
            if (!SaveCheckpoint(*s)) spdlog::error("checkpoint {} failed", s->checkpoint_path);
            s->checkpoint_s.store((SteadyMs() - t0) / 1000.0);
            s->last_checkpoint_ms.store(SteadyMs());
          }
        }
        for (Finding& f : out) {
          if (f.state == FindingState::kRaised) app_metrics.Finding(f.kind);
          finding_queue.Push(QueuedFinding{std::move(f), picked});
        }
        out.clear();
        if (closed) break;
      }
    });
  }

  // --- alert thread
  std::thread alert_thread([&] {
    int64_t next_tick = 0;
    while (true) {
      auto qf = finding_queue.PopFor(Ms(200));
      if (qf) {
        const FindingResult r = alerts->OnFinding(qf->finding);
        if (r == FindingResult::kOpened)
          app_metrics.AlertLatency((SteadyMs() - qf->picked_up_ms) / 1000.0);
        if (r == FindingResult::kStoreError) spdlog::error("alert store refused a finding");
      } else if (finding_queue.Closed() && finding_queue.Size() == 0) {
        break;
      }
      if (SteadyMs() >= next_tick) {
        alerts->Tick();
        next_tick = SteadyMs() + 1000;
      }
    }
  });

  dispatcher.Start();
  source->Start();
  spdlog::info("serving: broker {}, {} detect shards, clock {}", cfg.mqtt.broker, nshards,
               data_clock ? "data" : "wall");

  // --- supervise
  int64_t last_refresh = 0;
  while (!stop_requested_.load()) {
    std::this_thread::sleep_for(Ms(100));
    if (reload_requested_.exchange(0)) {
      // Everything is read and validated first; nothing changes unless all of it is good.
      try {
        auto fresh = Registry::LoadCsv(cfg.households_csv);
        if (fresh->size() < registry->size())
          throw ConfigError(cfg.households_csv, 0,
                            "has fewer households than the running registry: households are "
                            "matched by position, so remove homes with a restart");
        std::vector<Contact> new_contacts = cfg.alert.contacts_csv.empty()
                                                ? std::vector<Contact>{}
                                                : LoadContactsCsv(cfg.alert.contacts_csv);
        std::vector<ApiToken> new_tokens = cfg.alert.tokens_csv.empty()
                                               ? std::vector<ApiToken>{}
                                               : LoadTokensCsv(cfg.alert.tokens_csv);
        for (auto& s : shards) {
          std::lock_guard lock(s->mu);
          s->detector->SetRegistry(fresh);
          std::array<uint16_t, kUsageRing> empty;
          empty.fill(0xFFFF);
          s->recent.resize((fresh->size() + nshards - 1 - s->index) / nshards, empty);
        }
        source->SetRegistry(fresh);
        alerts->SetRegistry(fresh);
        alerts->SetContacts(new_contacts);
        dispatcher.SetContacts(new_contacts);
        const size_t ntokens = new_tokens.size();
        api.SetTokens(std::move(new_tokens));
        registry = fresh;
        spdlog::info(
            "SIGHUP: reloaded {} households (detect, ingest, alert routing), {} contacts, "
            "{} API tokens; model state kept",
            fresh->size(), new_contacts.size(), ntokens);
      } catch (const std::exception& e) {
        spdlog::error("SIGHUP: nothing reloaded: {}", e.what());
      }
    }
    const int64_t now = SteadyMs();
    if (now - last_refresh >= 1000) {
      last_refresh = now;
      uint64_t tr = 0, le = 0, re = 0;
      double oldest_ckpt = 0, ckpt_s = -1;
      for (auto& s : shards) {
        tr += s->tracked.load();
        le += s->learning.load();
        re += s->ready.load();
        app_metrics.SetDetectQueueDepth(s->index, static_cast<double>(s->queue->Size()));
        app_metrics.SetDetectQueueHighWater(s->index, static_cast<double>(s->queue->HighWater()));
        oldest_ckpt = std::max(oldest_ckpt, (now - s->last_checkpoint_ms.load()) / 1000.0);
        ckpt_s = std::max(ckpt_s, s->checkpoint_s.load());
      }
      app_metrics.SetHouseholds(static_cast<double>(tr), static_cast<double>(le),
                                static_cast<double>(re));
      app_metrics.SetAlertQueueDepth(static_cast<double>(finding_queue.Size()));
      app_metrics.SetAlertQueueHighWater(static_cast<double>(finding_queue.HighWater()));
      app_metrics.SetCheckpoint(oldest_ckpt, ckpt_s);
      const uint64_t d = dropped.exchange(0);
      if (d) app_metrics.DetectDropped(static_cast<double>(d));
      std::error_code ec;
      double bytes = 0;
      for (const char* suffix : {"", "-wal", "-shm"}) {
        const auto sz =
            fs::file_size(fs::path(cfg.data_dir) / (std::string("alerts.db") + suffix), ec);
        if (!ec) bytes += static_cast<double>(sz);
      }
      app_metrics.SetStoreSize(bytes);
      app_metrics.RefreshProcess();
    }
  }

  // --- drain and stop, in pipeline order, within a bound: a stop that hangs (a broker that
  // never answers the disconnect, a wedged disk) ends the process with exit code 1 instead.
  spdlog::info("stopping: draining queues, checkpointing");
  std::atomic<bool> stopped{false};
  std::thread watchdog([&stopped] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kStopBoundS);
    while (!stopped.load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(Ms(50));
    if (!stopped.load()) {
      spdlog::error("stop did not finish within {} s; exiting", kStopBoundS);
      spdlog::default_logger()->flush();
      std::_Exit(1);
    }
  });
  source->Stop();  // no new readings; held ones flushed to the sink
  for (auto& s : shards) s->queue->Close();
  for (auto& s : shards) s->thread.join();
  finding_queue.Close();
  alert_thread.join();
  dispatcher.RunOnce();  // one last pass for what the drain opened
  dispatcher.Stop();
  http.Stop();
  stopped.store(true);
  watchdog.join();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace gridwatch
