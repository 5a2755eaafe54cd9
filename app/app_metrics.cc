#include "app/app_metrics.h"

#include <dirent.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <vector>

namespace gridwatch {

struct AppMetrics::Impl {
  prometheus::Gauge* tracked;
  prometheus::Gauge* learning;
  prometheus::Gauge* ready;
  std::array<prometheus::Counter*, kNumAlertKinds> findings{};
  std::vector<prometheus::Gauge*> queue_depth;
  std::vector<prometheus::Gauge*> queue_high_water;
  prometheus::Counter* dropped;
  prometheus::Gauge* alert_queue;
  prometheus::Gauge* alert_queue_high_water;
  prometheus::Histogram* latency;
  prometheus::Gauge* ckpt_age;
  prometheus::Gauge* ckpt_duration;
  prometheus::Gauge* store_size;
  prometheus::Counter* wal_bytes;
  prometheus::Counter* wal_records;
  prometheus::Counter* wal_errors;
  WalStats wal_seen;
  prometheus::Histogram* wal_fsync;
  prometheus::Gauge* wal_size;
  prometheus::Counter* wal_replayed;
  prometheus::Counter* wal_torn;
  prometheus::Counter* wal_corrupt;
  prometheus::Gauge* wal_replay_duration;
  prometheus::Gauge* rss;
  prometheus::Counter* cpu;
  double cpu_seen = 0;
  prometheus::Gauge* fds;
  prometheus::Gauge* start_time;
};

AppMetrics::AppMetrics(prometheus::Registry& r, int shards, const std::string& version)
    : impl_(std::make_unique<Impl>()) {
  using namespace prometheus;
  impl_->tracked = &BuildGauge()
                        .Name("gridwatch_households_tracked")
                        .Help("Households with at least one reading")
                        .Register(r)
                        .Add({});
  impl_->learning = &BuildGauge()
                         .Name("gridwatch_households_learning")
                         .Help("Households still learning their routine (cold start rules only)")
                         .Register(r)
                         .Add({});
  impl_->ready = &BuildGauge()
                      .Name("gridwatch_households_ready")
                      .Help("Households whose own routine is trusted")
                      .Register(r)
                      .Add({});
  auto& f = BuildCounter()
                .Name("gridwatch_findings_total")
                .Help("Findings raised by the detectors, by kind")
                .Register(r);
  for (int k = 0; k < kNumAlertKinds; ++k)
    impl_->findings[k] = &f.Add({{"kind", std::string(AlertKindName(static_cast<AlertKind>(k)))}});
  auto& q = BuildGauge()
                .Name("gridwatch_detect_queue_depth")
                .Help("Readings waiting for a detect worker, by shard")
                .Register(r);
  for (int s = 0; s < shards; ++s)
    impl_->queue_depth.push_back(&q.Add({{"shard", std::to_string(s)}}));
  auto& qh = BuildGauge()
                 .Name("gridwatch_detect_queue_high_water")
                 .Help("Most readings ever waiting at once for a detect worker, by shard")
                 .Register(r);
  for (int s = 0; s < shards; ++s)
    impl_->queue_high_water.push_back(&qh.Add({{"shard", std::to_string(s)}}));
  impl_->dropped = &BuildCounter()
                        .Name("gridwatch_detect_queue_dropped_total")
                        .Help("Readings dropped because a detect queue was full")
                        .Register(r)
                        .Add({});
  impl_->alert_queue = &BuildGauge()
                            .Name("gridwatch_alert_queue_depth")
                            .Help("Findings waiting for the alert stage")
                            .Register(r)
                            .Add({});
  impl_->alert_queue_high_water =
      &BuildGauge()
           .Name("gridwatch_alert_queue_high_water")
           .Help("Most findings ever waiting at once for the alert stage")
           .Register(r)
           .Add({});
  impl_->latency = &BuildHistogram()
                        .Name("gridwatch_alert_latency_seconds")
                        .Help(
                            "From ingest handing over the reading that opened an alert (parsed "
                            "and validated) to the alert being stored and published")
                        .Register(r)
                        .Add({}, Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  impl_->ckpt_age = &BuildGauge()
                         .Name("gridwatch_checkpoint_age_seconds")
                         .Help("Seconds since the model state was last checkpointed")
                         .Register(r)
                         .Add({});
  impl_->ckpt_duration = &BuildGauge()
                              .Name("gridwatch_checkpoint_duration_seconds")
                              .Help("How long the last checkpoint took")
                              .Register(r)
                              .Add({});
  impl_->store_size = &BuildGauge()
                           .Name("gridwatch_store_size_bytes")
                           .Help("Size of the SQLite alert store (database and WAL)")
                           .Register(r)
                           .Add({});
  impl_->wal_bytes = &BuildCounter()
                          .Name("gridwatch_wal_bytes_written_total")
                          .Help("Bytes written to the write-ahead log of accepted readings")
                          .Register(r)
                          .Add({});
  impl_->wal_records = &BuildCounter()
                            .Name("gridwatch_wal_records_written_total")
                            .Help("Readings written to the write-ahead log")
                            .Register(r)
                            .Add({});
  impl_->wal_errors = &BuildCounter()
                           .Name("gridwatch_wal_write_errors_total")
                           .Help(
                               "Batches of readings the write-ahead log could not write (those "
                               "readings are only as safe as the next checkpoint)")
                           .Register(r)
                           .Add({});
  impl_->wal_fsync = &BuildHistogram()
                          .Name("gridwatch_wal_fsync_seconds")
                          .Help("Duration of the write-ahead log's fdatasyncs")
                          .Register(r)
                          .Add({}, Histogram::BucketBoundaries{0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                               0.025, 0.05, 0.1, 0.25, 1});
  impl_->wal_size = &BuildGauge()
                         .Name("gridwatch_wal_size_bytes")
                         .Help("Size of the write-ahead log's segments on disk")
                         .Register(r)
                         .Add({});
  impl_->wal_replayed = &BuildCounter()
                             .Name("gridwatch_wal_records_replayed_total")
                             .Help(
                                 "Readings replayed from the write-ahead log into the models at "
                                 "start (accepted after the last checkpoint of the previous run)")
                             .Register(r)
                             .Add({});
  auto& skipped = BuildCounter()
                      .Name("gridwatch_wal_records_skipped_total")
                      .Help(
                          "Write-ahead log records found unreadable at start: torn (a write cut "
                          "by a crash) or corrupt (damage elsewhere)")
                      .Register(r);
  impl_->wal_torn = &skipped.Add({{"reason", "torn"}});
  impl_->wal_corrupt = &skipped.Add({{"reason", "corrupt"}});
  impl_->wal_replay_duration = &BuildGauge()
                                    .Name("gridwatch_wal_replay_duration_seconds")
                                    .Help(
                                        "How long reading and replaying the write-ahead log took "
                                        "at start")
                                    .Register(r)
                                    .Add({});
  BuildGauge()
      .Name("gridwatch_build_info")
      .Help("Build information")
      .Register(r)
      .Add({{"version", version}})
      .Set(1);
  impl_->rss = &BuildGauge()
                    .Name("gridwatch_process_resident_memory_bytes")
                    .Help("Resident memory of the process")
                    .Register(r)
                    .Add({});
  impl_->cpu = &BuildCounter()
                    .Name("gridwatch_process_cpu_seconds_total")
                    .Help("User and system CPU time of the process")
                    .Register(r)
                    .Add({});
  impl_->fds = &BuildGauge()
                    .Name("gridwatch_process_open_fds")
                    .Help("Open file descriptors")
                    .Register(r)
                    .Add({});
  impl_->start_time = &BuildGauge()
                           .Name("gridwatch_process_start_time_seconds")
                           .Help("Start time of the process since the Unix epoch")
                           .Register(r)
                           .Add({});
  impl_->start_time->SetToCurrentTime();
}

AppMetrics::~AppMetrics() = default;

void AppMetrics::SetHouseholds(double tracked, double learning, double ready) {
  impl_->tracked->Set(tracked);
  impl_->learning->Set(learning);
  impl_->ready->Set(ready);
}
void AppMetrics::Finding(AlertKind kind) { impl_->findings[static_cast<int>(kind)]->Increment(); }
void AppMetrics::SetDetectQueueDepth(int shard, double n) {
  if (shard >= 0 && shard < static_cast<int>(impl_->queue_depth.size()))
    impl_->queue_depth[shard]->Set(n);
}
void AppMetrics::SetDetectQueueHighWater(int shard, double n) {
  if (shard >= 0 && shard < static_cast<int>(impl_->queue_high_water.size()))
    impl_->queue_high_water[shard]->Set(n);
}
void AppMetrics::DetectDropped(double n) { impl_->dropped->Increment(n); }
void AppMetrics::SetAlertQueueDepth(double n) { impl_->alert_queue->Set(n); }
void AppMetrics::SetAlertQueueHighWater(double n) { impl_->alert_queue_high_water->Set(n); }
void AppMetrics::AlertLatency(double s) { impl_->latency->Observe(s); }
void AppMetrics::SetCheckpoint(double age_s, double duration_s) {
  impl_->ckpt_age->Set(age_s);
  if (duration_s >= 0) impl_->ckpt_duration->Set(duration_s);
}
void AppMetrics::SetStoreSize(double bytes) { impl_->store_size->Set(bytes); }

void AppMetrics::SetWal(const WalStats& st) {
  WalStats& seen = impl_->wal_seen;
  impl_->wal_bytes->Increment(static_cast<double>(st.bytes_written - seen.bytes_written));
  impl_->wal_records->Increment(static_cast<double>(st.records_written - seen.records_written));
  impl_->wal_errors->Increment(static_cast<double>(st.write_errors - seen.write_errors));
  seen = st;
  impl_->wal_size->Set(static_cast<double>(st.size_bytes));
}
void AppMetrics::WalFsync(double seconds) { impl_->wal_fsync->Observe(seconds); }
void AppMetrics::WalRecovered(const WalRecovery& rec, uint64_t replayed, double seconds) {
  impl_->wal_replayed->Increment(static_cast<double>(replayed));
  impl_->wal_torn->Increment(static_cast<double>(rec.torn_records));
  impl_->wal_corrupt->Increment(static_cast<double>(rec.corrupt_records));
  impl_->wal_replay_duration->Set(seconds);
}

void AppMetrics::RefreshProcess() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_rss = 0;
  if (statm >> pages_total >> pages_rss)
    impl_->rss->Set(static_cast<double>(pages_rss) * sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    const size_t rp = line.rfind(')');
    std::istringstream in(line.substr(rp + 2));
    std::string field;
    std::vector<std::string> f;
    while (in >> field) f.push_back(field);
    // Fields after the command: state(0) ... utime is field 14 overall -> index 11 here.
    if (f.size() > 12) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      if (cpu > impl_->cpu_seen) {
        impl_->cpu->Increment(cpu - impl_->cpu_seen);
        impl_->cpu_seen = cpu;
      }
    }
  }
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
    impl_->fds->Set(n - 2);
  }
}

}  // namespace gridwatch
