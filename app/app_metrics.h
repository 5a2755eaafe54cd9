// AppMetrics: the metrics the wiring itself owns (no household labels):
//   gridwatch_households_tracked / _learning / _ready      gauges, from the detectors
//   gridwatch_findings_total{kind}                         counter, raised findings
//   gridwatch_detect_queue_depth{shard}                    gauge
//   gridwatch_detect_queue_high_water{shard}               gauge (most readings ever queued)
//   gridwatch_detect_queue_dropped_total                   counter (readings not queued)
//   gridwatch_alert_queue_depth                            gauge (findings waiting for alert)
//   gridwatch_alert_queue_high_water                       gauge (most findings ever queued)
//   gridwatch_alert_latency_seconds                        histogram: reading handed over by
//                                                          ingest (oldest of its batch) -> alert
//                                                          stored and published
//   gridwatch_checkpoint_age_seconds                       gauge, since the last checkpoint
//   gridwatch_checkpoint_duration_seconds                  gauge, the last checkpoint's time
//   gridwatch_store_size_bytes                             gauge, SQLite file(s)
//   gridwatch_wal_bytes_written_total, gridwatch_wal_records_written_total,
//   gridwatch_wal_write_errors_total                       counters, the readings write-ahead log
//   gridwatch_wal_fsync_seconds                            histogram, its fdatasyncs
//   gridwatch_wal_size_bytes                               gauge, its segments on disk
//   gridwatch_wal_records_replayed_total                   counter, replayed into models at start
//   gridwatch_wal_records_skipped_total{reason}            counter, torn / corrupt, found at start
//   gridwatch_wal_replay_duration_seconds                  gauge, how long reading it took
//   gridwatch_build_info{version}                          gauge 1
//   gridwatch_process_resident_memory_bytes, gridwatch_process_cpu_seconds_total,
//   gridwatch_process_open_fds, gridwatch_process_start_time_seconds  (from /proc/self)
//
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "detect/finding.h"
#include "wal/reading_wal.h"

namespace prometheus {
class Registry;
}

namespace gridwatch {

class AppMetrics {
 public:
  AppMetrics(prometheus::Registry& registry, int shards, const std::string& version);
  ~AppMetrics();

  void SetHouseholds(double tracked, double learning, double ready);
  void Finding(AlertKind kind);
  void SetDetectQueueDepth(int shard, double n);
  void SetDetectQueueHighWater(int shard, double n);
  void DetectDropped(double n);
  void SetAlertQueueDepth(double n);
  void SetAlertQueueHighWater(double n);
  void AlertLatency(double seconds);
  void SetCheckpoint(double age_s, double duration_s);
  void SetStoreSize(double bytes);
  // The write-ahead log: its running totals (the counters follow them; call from one thread),
  // one fdatasync, and what the start-up found and replayed.
  void SetWal(const WalStats& stats);
  void WalFsync(double seconds);
  void WalRecovered(const WalRecovery& recovery, uint64_t replayed, double seconds);
  // Reads /proc/self and updates the process gauges.
  void RefreshProcess();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch
