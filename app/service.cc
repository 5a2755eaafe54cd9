#include "app/service.h"

#include <fcntl.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <expected>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <tuple>
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
#include "wal/reading_wal.h"

namespace gridwatch {

std::atomic<int> Service::stop_requested_{0};
std::atomic<int> Service::reload_requested_{0};

void Service::RequestStop() { stop_requested_.store(1); }
void Service::RequestReload() { reload_requested_.store(1); }

namespace {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;

constexpr size_t kBatch = 4096;
constexpr int kUsageRing = 96;           // recent readings kept per household for the usage API
constexpr int64_t kSilenceLeadS = 3600;  // wall clock: how far ahead of the stream silence runs
constexpr int kStopBoundS = 30;          // SIGTERM/SIGINT to exit, at most (else exit 1)
// A checkpoint waits at most this long for the alert stage to take the shard's findings.
constexpr int64_t kCheckpointWaitMs = 5000;
constexpr size_t kMaxUnattachedPublishes = 100000;
// A finding the alert store refuses is retried, waiting this long at first and doubling up to
// the max; at a stop, retries end this long after the stop began (the watchdog's bound is
// kStopBoundS) and the finding is left to the write-ahead log.
constexpr int64_t kStoreRetryMinMs = 250;
constexpr int64_t kStoreRetryMaxMs = 5000;
constexpr int64_t kStoreRetryAtStopMs = 10000;
constexpr int64_t kWalErrorLogMs = 60000;  // WAL write errors are logged at most this often
// Checkpoint files start with this and the WAL seq up to which the shard's readings are in the
// model; then Detector::Save's bytes. A file without it (written before the WAL) means seq 0.
constexpr char kCheckpointMagic[8] = {'G', 'W', 'C', 'K', 'W', 'A', 'L', '1'};

// Raises `v` to `to` if that is higher (several threads may raise it).
void RaiseTo(std::atomic<int64_t>& v, int64_t to) {
  int64_t cur = v.load();
  while (to > cur && !v.compare_exchange_weak(cur, to)) {
  }
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A reading on its way to a detect worker, stamped when ingest handed it over (latency), with
// its seq in the write-ahead log (0 without one).
struct QueuedReading {
  Reading reading;
  int64_t handed_ms = 0;
  uint64_t seq = 0;
};

// A finding on its way to the alert stage, with when its reading was handed over by ingest and
// the shard that raised it.
struct QueuedFinding {
  Finding finding;
  int64_t picked_up_ms = 0;
  int shard = -1;
};

// The alert stage's MQTT connection (publish only, see alert_link in Run). Until it is attached
// (started), messages wait here in order: the WAL replay at start opens alerts before the
// connection exists.
class SourcePublisher final : public MessagePublisher {
 public:
  void Attach(MqttSource* source) {
    std::lock_guard lock(mu_);
    source_ = source;
    for (const auto& [topic, payload, qos] : waiting_) (void)source_->Publish(topic, payload, qos);
    waiting_.clear();
  }
  bool Publish(const std::string& topic, const std::string& payload, int qos) override {
    std::lock_guard lock(mu_);
    if (source_) return source_->Publish(topic, payload, qos);
    if (waiting_.size() >= kMaxUnattachedPublishes) return false;
    waiting_.emplace_back(topic, payload, qos);
    return true;
  }

 private:
  std::mutex mu_;
  MqttSource* source_ = nullptr;                                    // guarded by mu_
  std::vector<std::tuple<std::string, std::string, int>> waiting_;  // guarded by mu_
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
  std::vector<std::tuple<HouseholdIndex, AlertKind, int>> feedback;   // under mu
  std::vector<std::tuple<HouseholdIndex, Answer, int64_t>> answered;  // (what, at s) under mu
  std::thread thread;
  std::string checkpoint_path;
  std::atomic<uint64_t> tracked{0}, learning{0}, ready{0};
  std::atomic<int64_t> last_checkpoint_ms{0};
  std::atomic<double> checkpoint_s{-1};
  uint64_t observed_seq = 0;                 // WAL seq of the newest reading observed (worker)
  std::atomic<uint64_t> checkpoint_seq{0};   // WAL seq the shard's checkpoint on disk holds
  std::atomic<uint64_t> findings_pushed{0};  // findings handed to the alert stage
  std::atomic<uint64_t> findings_done{0};    // of those, applied by it
};

// Writes the shard's checkpoint (holding its readings up to WAL seq `seq`) to a temporary file,
// makes it durable and renames it over the old one: a power cut leaves the old or the new one,
// never a torn one, and the WAL segments it allows to delete are only deleted after.
bool SaveCheckpoint(Shard& s, uint64_t seq) {
  const std::string tmp = s.checkpoint_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out.write(kCheckpointMagic, sizeof kCheckpointMagic);
    out.write(reinterpret_cast<const char*>(&seq), sizeof seq);
    s.detector->Save(out);
    out.flush();
    if (!out) return false;
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fdatasync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!synced) return false;
  std::error_code ec;
  fs::rename(tmp, s.checkpoint_path, ec);
  if (ec) return false;
  const int dir =
      ::open(fs::path(s.checkpoint_path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

// Loads the shard's checkpoint, if any: 1 loaded (its WAL seq in *seq), 0 none, -1 unusable.
int LoadCheckpoint(Shard& s, uint64_t* seq) {
  std::ifstream in(s.checkpoint_path, std::ios::binary);
  if (!in) return 0;
  char magic[sizeof kCheckpointMagic] = {};
  *seq = 0;
  if (in.read(magic, sizeof magic) &&
      std::memcmp(magic, kCheckpointMagic, sizeof kCheckpointMagic) == 0) {
    if (!in.read(reinterpret_cast<char*>(seq), sizeof *seq)) return -1;
  } else {
    in.clear();
    in.seekg(0);
  }
  return s.detector->Load(in) ? 1 : -1;
}

// Keeps the usage API's ring of recent readings, indexed by the number of the meter's own
// interval (as the detector inferred it), as ShardUsage reads it back.
void RememberUsage(Shard& s, std::span<const Reading> batch, size_t nshards) {
  for (const Reading& r : batch) {
    const size_t local = r.household / nshards;
    if (local < s.recent.size()) {
      // A meter's very first reading comes before its interval is known: it is not kept (a
      // guess would show it at another time).
      const int32_t interval = s.detector->IntervalS(r.household);
      if (interval <= 0) continue;
      s.recent[local][(r.ts_s / interval) % kUsageRing] =
          static_cast<uint16_t>(std::min(65534.0f, r.energy_kwh * 1000.0f + 0.5f));
    }
  }
}

// What the write-ahead log replay at start did.
struct WalReplay {
  uint64_t replayed = 0;          // readings observed by the models
  int64_t newest_ts = 0;          // newest reading ts in the log (replayed or not)
  std::vector<Finding> findings;  // in order per shard (so per household)
};

// Opens the write-ahead log and replays into each shard, in seq order and in batches as the
// workers do, the readings newer than its checkpoint's seq; every record also primes ingest's
// dedupe (`source`, not started yet). No AdvanceTo: the live ticks take over from here.
std::expected<std::unique_ptr<ReadingWal>, std::string> OpenAndReplayWal(
    const std::string& dir, const WalOptions& options, std::vector<std::unique_ptr<Shard>>& shards,
    MqttSource* source, WalRecovery* rec, WalReplay* replay) {
  const size_t n = shards.size();
  uint64_t newest_checkpoint = 0;
  for (auto& s : shards) newest_checkpoint = std::max(newest_checkpoint, s->checkpoint_seq.load());
  std::vector<std::vector<Reading>> pending(n);
  auto flush = [&](size_t i) {
    Shard& s = *shards[i];
    s.detector->ObserveBatch(pending[i], &replay->findings);
    RememberUsage(s, pending[i], n);
    replay->replayed += pending[i].size();
    pending[i].clear();
  };
  auto visit = [&](uint64_t first_seq, std::span<const Reading> readings) {
    source->Prime(readings);
    for (size_t k = 0; k < readings.size(); ++k) {
      const Reading& r = readings[k];
      const size_t i = r.household % n;
      Shard& s = *shards[i];
      // The stream had reached every record of the log, whether or not this shard's checkpoint
      // holds it: the data clock resumes from the newest.
      replay->newest_ts = std::max(replay->newest_ts, r.ts_s);
      if (first_seq + k <= s.checkpoint_seq.load()) continue;
      s.observed_seq = first_seq + k;
      pending[i].push_back(r);
      if (pending[i].size() >= kBatch) flush(i);
    }
  };
  ReadingWal::Options o;
  o.segment_bytes = options.segment_mb << 20;
  o.fsync_interval_ms = options.fsync_interval_ms;
  auto wal = ReadingWal::Open(dir, o, newest_checkpoint, visit, rec);
  for (size_t i = 0; i < n; ++i) flush(i);
  return wal;
}

// The data clock as a Clock: the newest reading's time received so far, the wall clock until
// the first one arrives.
class StreamClock final : public Clock {
 public:
  StreamClock(const std::atomic<int64_t>* newest_s, const Clock* wall)
      : newest_s_(newest_s), wall_(wall) {}
  int64_t NowMs() const override {
    const int64_t s = newest_s_->load();
    return s > 0 ? s * 1000 : wall_->NowMs();
  }

 private:
  const std::atomic<int64_t>* newest_s_;
  const Clock* wall_;
};

class ShardUsage final : public UsageProvider {
 public:
  explicit ShardUsage(std::vector<std::unique_ptr<Shard>>* shards) : shards_(shards) {}
  std::optional<std::vector<UsagePoint>> Usage(HouseholdIndex h, int64_t from_s,
                                               int64_t to_s) override {
    Shard& s = *(*shards_)[h % shards_->size()];
    std::lock_guard lock(s.mu);
    const size_t local = h / shards_->size();
    auto band = s.detector->ExpectedBand(h, from_s, to_s);
    const int64_t interval = s.detector->IntervalS(h);  // as RememberUsage indexed the ring
    std::vector<UsagePoint> pts;
    for (const auto& b : band) {
      UsagePoint p;
      p.ts_s = b.ts_s;
      p.expected_kwh = b.expected_kwh;
      p.low_kwh = b.low_kwh;
      p.high_kwh = b.high_kwh;
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
    uint64_t seq = 0;
    const int loaded = LoadCheckpoint(*s, &seq);
    if (loaded > 0) {
      restored = true;
      s->checkpoint_seq.store(seq);
      s->observed_seq = seq;
    } else if (loaded < 0) {
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
  // A finding the alert store refuses (a lock held past its busy timeout by a backup or an
  // operator's sqlite3, a full disk, an I/O error) is retried until the store takes it, never
  // dropped: it may be someone's collapse. Meanwhile the findings behind it wait in their queue,
  // and the checkpoints, which wait for the alert stage, are put off. Returns the last result:
  // kStoreError only once a stop has been asked for and kStoreRetryAtStopMs have passed since
  // the stop began.
  std::atomic<int64_t> stop_began_ms{0};
  auto stop_began = [&] {
    int64_t none = 0;
    stop_began_ms.compare_exchange_strong(none, SteadyMs());
  };
  auto keep_trying = [&] {
    if (!stop_requested_.load()) return true;
    stop_began();
    return SteadyMs() - stop_began_ms.load() < kStoreRetryAtStopMs;
  };
  auto apply_finding = [&](const Finding& f, FindingOrigin origin) {
    int64_t wait_ms = 0, first_ms = 0;
    while (true) {
      const FindingResult r = alerts->OnFinding(f, origin);
      if (r != FindingResult::kStoreError) {
        if (first_ms)
          spdlog::warn("alert store took the finding after {:.1f} s of refusals",
                       (SteadyMs() - first_ms) / 1000.0);
        return r;
      }
      if (!first_ms) {
        first_ms = SteadyMs();
        spdlog::error("alert store refused a finding ({}); retrying until it takes it",
                      store->last_error());
      }
      if (!keep_trying()) return r;
      wait_ms = std::clamp(2 * wait_ms, kStoreRetryMinMs, kStoreRetryMaxMs);
      std::this_thread::sleep_for(Ms(wait_ms));
    }
  };
  alerts->SetFeedbackCallback([&shards, nshards](HouseholdIndex h, AlertKind k, int notches) {
    Shard& s = *shards[h % nshards];
    std::lock_guard lock(s.mu);
    s.feedback.emplace_back(h, k, notches);
  });
  alerts->SetAnsweredCallback([&shards, nshards](HouseholdIndex h, Outcome o, int64_t at_s) {
    Shard& s = *shards[h % nshards];
    std::lock_guard lock(s.mu);
    s.answered.emplace_back(h, AnswerOf(o), at_s);
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
  // The newest reading's time (epoch s) received so far: the data clock.
  std::atomic<int64_t> data_now{0};
  ShardUsage usage(&shards);
  const bool data_clock = Lower(cfg.clock) == "data";
  // The usage API's "last hours" end at the service's now: on the data clock, the stream's.
  StreamClock stream_clock(&data_now, &wall);
  AlertApi api(alerts.get(), tokens, data_clock ? static_cast<const Clock*>(&stream_clock) : &wall,
               &usage);

  // --- ingest: accepted readings go to the write-ahead log (one write per batch), then to the
  // shard queues
  std::atomic<uint64_t> dropped{0};
  std::unique_ptr<ReadingWal> wal;      // opened before the source starts
  std::atomic<uint64_t> handed_seq{0};  // every reading up to this seq is in its shard's queue
  int64_t wal_error_logged_ms = -kWalErrorLogMs;  // ingest thread
  auto sync_wal_if_due = [&] {  // ingest thread after each batch; supervisor when none come
    const double sync_s = wal->SyncIfDue();
    if (sync_s >= 0) app_metrics.WalFsync(sync_s);
  };
  auto sink = [&](std::span<const Reading> batch) {
    int64_t newest = 0;
    const int64_t handed = SteadyMs();
    uint64_t seq = 0, step = 0;  // the seq of each reading; step 0 when not logged
    if (wal) {
      const auto last = wal->Append(batch);
      if (last) {
        seq = *last - batch.size() + 1;
        step = 1;
      } else {
        seq = wal->last_seq();
        if (handed - wal_error_logged_ms >= kWalErrorLogMs) {
          spdlog::error(
              "write-ahead log: cannot write {} readings to {}: {}; they are only as safe as the "
              "next checkpoint (gridwatch_wal_write_errors_total)",
              batch.size(), wal->dir(), std::strerror(last.error()));
          wal_error_logged_ms = handed;
        }
      }
      sync_wal_if_due();
    }
    for (const Reading& r : batch) {
      newest = std::max(newest, r.ts_s);
      // Blocking push: backpressure reaches the MQTT queue instead of losing readings.
      if (!shards[r.household % nshards]->queue->Push(QueuedReading{r, handed, seq}))
        dropped.fetch_add(1);
      seq += step;
    }
    handed_seq.store(seq - step);
    RaiseTo(data_now, newest);
  };
  std::unique_ptr<MqttSource> source;
  // Alerts and MQTT notifications go out on a connection of their own (client id + "-alerts",
  // no subscriptions): on the readings connection each alert waited behind the PUBACKs of
  // thousands of readings (Mosquitto serves one packet per connection per pass of its loop),
  // seconds under load (BENCHMARKS.md, alert latency); and it is stopped after the final drain,
  // so what the drain opens is still published.
  std::unique_ptr<MqttSource> alert_link;
  try {
    source =
        std::make_unique<MqttSource>(cfg.mqtt, cfg.ingest, registry, metrics.get(), wall, sink);
    MqttOptions alert_mqtt = cfg.mqtt;
    alert_mqtt.client_id += "-alerts";
    alert_mqtt.readings_topics.clear();
    alert_mqtt.clean_session = true;
    alert_link =
        std::make_unique<MqttSource>(alert_mqtt, cfg.ingest, registry, nullptr, wall, nullptr);
  } catch (const std::exception& e) {
    spdlog::error("mqtt: {}", e.what());
    return 2;
  }

  // --- the write-ahead log: what the checkpoints do not hold is replayed into the models (and
  // primes ingest's dedupe) before anything new comes in; its findings go to the alert stage
  // first, as duplicates where the store already has them.
  const std::string wal_dir = (fs::path(cfg.data_dir) / "wal").string();
  if (cfg.wal.enabled || fs::exists(wal_dir)) {
    const int64_t t0 = SteadyMs();
    WalRecovery rec;
    WalReplay replay;
    auto opened = OpenAndReplayWal(wal_dir, cfg.wal, shards, source.get(), &rec, &replay);
    if (!opened) {
      spdlog::error("{}", opened.error());
      return 1;
    }
    uint64_t alerts_opened = 0, duplicates = 0;
    for (const Finding& f : replay.findings) {
      if (f.state == FindingState::kRaised) app_metrics.Finding(f.kind);
      const FindingResult r = apply_finding(f, FindingOrigin::kWalReplay);
      if (r == FindingResult::kStoreError) {
        // Asked to stop while the store refuses: no checkpoint has been written yet, so the next
        // start replays the same readings and derives these findings again.
        spdlog::error(
            "stopping at start with the alert store refusing the findings replayed "
            "from the write-ahead log; the next start replays them");
        return 1;
      }
      alerts_opened += r == FindingResult::kOpened;
      duplicates += r == FindingResult::kDuplicate;
    }
    const double took_s = (SteadyMs() - t0) / 1000.0;
    app_metrics.WalRecovered(rec, replay.replayed, took_s);
    spdlog::info(
        "write-ahead log {}: {} readings in {} segments read in {:.3f} s, {} replayed into the "
        "models ({} findings: {} alerts opened, {} already applied)",
        wal_dir, rec.records, rec.segments, took_s, replay.replayed, replay.findings.size(),
        alerts_opened, duplicates);
    if (rec.torn_records + rec.corrupt_records > 0 || !rec.problems.empty()) {
      spdlog::warn("write-ahead log: {} torn and {} corrupt records skipped", rec.torn_records,
                   rec.corrupt_records);
      for (const std::string& p : rec.problems) spdlog::warn("write-ahead log: {}", p);
    }
    RaiseTo(data_now, replay.newest_ts);
    handed_seq.store((*opened)->last_seq());
    if (cfg.wal.enabled) {
      wal = std::move(*opened);
    } else {
      opened->reset();
      std::error_code ec;
      fs::remove_all(wal_dir, ec);
      spdlog::warn("wal.enabled is false: the old write-ahead log was replayed and removed");
    }
  }

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
  const int64_t tick_ms = std::max(1, cfg.detect.tick_s) * 1000;
  const int64_t ckpt_ms = std::max<int64_t>(1, cfg.checkpoint_interval_s) * 1000;
  // A shard's checkpoint, once the alert stage has applied every finding the shard raised: after
  // a crash only the readings newer than the checkpoint are replayed, so a finding still queued
  // would be lost. Then the WAL segments every checkpoint holds go.
  auto checkpoint = [&](Shard* s, bool stopping) {
    const int64_t t0 = SteadyMs();
    while (s->findings_done.load() < s->findings_pushed.load() &&
           SteadyMs() - t0 < kCheckpointWaitMs)
      std::this_thread::sleep_for(Ms(2));
    // A checkpoint must not cover findings the alert stage has not recorded: with the
    // write-ahead log, the readings since the last checkpoint derive them again at the next
    // start. (Without it, a stop saves the models anyway: a finding would be lost either way.)
    if (s->findings_done.load() < s->findings_pushed.load() && (!stopping || wal)) {
      spdlog::warn("checkpoint {} put off: the alert stage is behind", s->checkpoint_path);
      return;
    }
    // Everything handed over up to `handed` is in the queues; if ours is empty now, this worker
    // has observed all of its share of it.
    uint64_t seq = s->observed_seq;
    const uint64_t handed = handed_seq.load();
    if (s->queue->Size() == 0) seq = std::max(seq, handed);
    bool ok;
    {
      std::lock_guard lock(s->mu);
      ok = SaveCheckpoint(*s, seq);
    }
    s->checkpoint_s.store((SteadyMs() - t0) / 1000.0);
    s->last_checkpoint_ms.store(SteadyMs());
    if (!ok) {
      spdlog::error("checkpoint {} failed", s->checkpoint_path);
      return;
    }
    s->checkpoint_seq.store(seq);
    if (wal) {
      uint64_t held = seq;
      for (auto& other : shards) held = std::min(held, other->checkpoint_seq.load());
      wal->DropThrough(held);
    }
  };
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
          s->observed_seq = std::max(s->observed_seq, q.seq);
        }
        const bool closed = n == 0 && s->queue->Closed() && s->queue->Size() == 0;
        const int64_t picked = oldest ? oldest : SteadyMs();
        {
          std::lock_guard lock(s->mu);
          for (auto& [h, k, notches] : s->feedback) s->detector->AdjustSensitivity(h, k, notches);
          s->feedback.clear();
          // On the data clock the answer is placed at the newest reading's time, not the wall's.
          for (auto& [h, answer, at_s] : s->answered)
            s->detector->Answered(h, data_clock ? data_now.load() : at_s, answer, &out);
          s->answered.clear();
          if (n) {
            s->detector->ObserveBatch(batch, &out);
            RememberUsage(*s, batch, nshards);
          }
          const int64_t now_ms = SteadyMs();
          if (now_ms >= next_tick || closed) {
            // On the wall clock, silence is judged at most kSilenceLeadS ahead of the newest
            // reading received: after an outage the broker's backlog is read before any meter
            // is called silent (not the whole city at the first tick); a meter that stopped
            // while the others go on is still reported. (All meters silent at once is the feed's
            // failure: GridwatchIngestStalled, not a page per household.)
            const int64_t now_s = data_clock
                                      ? data_now.load()
                                      : std::min(wall.NowS(), data_now.load() + kSilenceLeadS);
            if (now_s > 0) s->detector->AdvanceTo(now_s, &out);
            next_tick = now_ms + (data_clock ? 200 : tick_ms);
            const DetectorStats st = s->detector->stats();
            s->tracked.store(st.households_tracked);
            s->learning.store(st.households_learning);
            s->ready.store(st.households_ready);
          }
        }
        for (Finding& f : out) {
          if (f.state == FindingState::kRaised) app_metrics.Finding(f.kind);
          s->findings_pushed.fetch_add(1);
          finding_queue.Push(QueuedFinding{std::move(f), picked, s->index});
        }
        out.clear();
        if (SteadyMs() - s->last_checkpoint_ms.load() >= ckpt_ms || closed) checkpoint(s, closed);
        if (closed) break;
      }
    });
  }

  // --- alert thread
  std::atomic<bool> findings_left{false};  // stopped with findings the store refused
  std::thread alert_thread([&] {
    int64_t next_tick = 0;
    while (true) {
      auto qf = finding_queue.PopFor(Ms(200));
      if (qf) {
        const FindingResult r = apply_finding(qf->finding, FindingOrigin::kLive);
        if (r == FindingResult::kOpened)
          app_metrics.AlertLatency((SteadyMs() - qf->picked_up_ms) / 1000.0);
        if (r == FindingResult::kStoreError) {
          // Stopping, and the store still refuses: this finding and those behind it are left to
          // the write-ahead log (no checkpoint covers them: their shard's findings_done stays
          // behind), and the next start derives them again.
          spdlog::error("stopping with the alert store refusing writes: {} findings left to {}",
                        1 + finding_queue.Size(),
                        wal ? "the write-ahead log for the next start" : "nothing (wal disabled)");
          findings_left.store(true);
          break;
        }
        if (qf->shard >= 0) shards[qf->shard]->findings_done.fetch_add(1);
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
  alert_link->Start();
  publisher.Attach(alert_link.get());
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
    if (wal) sync_wal_if_due();  // fdatasync on time even when no readings come
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
      if (wal) app_metrics.SetWal(wal->stats());
      app_metrics.RefreshProcess();
    }
  }

  // --- drain and stop, in pipeline order, within a bound: a stop that hangs (a broker that
  // never answers the disconnect, a wedged disk) ends the process with exit code 1 instead.
  spdlog::info("stopping: draining queues, checkpointing");
  stop_began();
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
  if (wal && !wal->Sync()) spdlog::error("write-ahead log: fdatasync failed at stop");
  finding_queue.Close();
  alert_thread.join();
  dispatcher.RunOnce();  // one last pass for what the drain opened
  dispatcher.Stop();
  alert_link->Stop();  // after the drain: its alerts are published (QoS 1, acknowledged)
  http.Stop();
  stopped.store(true);
  watchdog.join();
  if (findings_left.load()) return 1;  // not clean: the store refused findings to the end
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace gridwatch
