// Service: `gridwatch serve` — the stages wired together. MQTT readings come in through ingest's
// MqttSource, are written to the write-ahead log (data_dir/wal, one write per batch), are sharded
// by household over detect workers (each owns one Detector and its checkpoint, which records the
// WAL seq it holds), findings go through a bounded queue to the alert stage (AlertManager, SQLite
// store, outbox Dispatcher), and one HTTP port serves /metrics, /healthz, /readyz and the REST
// API. At start, checkpoints are restored and the WAL readings newer than each shard's
// checkpoint are replayed into it (and prime ingest's dedupe) before anything new comes in; their
// findings reach the alert stage as FindingOrigin::kWalReplay (already-stored ones change
// nothing). A shard checkpoints only once the alert stage has applied all its findings, so that
// nothing a crash interrupts falls between the checkpoint and the replay. Signals arrive as flags:
// stop (SIGTERM/SIGINT: drain, checkpoint, flush, disconnect, exit 0) and reload (SIGHUP: the
// households registry for detect; see README).
//
// Thread-safe: Run() on one thread; RequestStop/RequestReload from anywhere (signal-safe).
#pragma once

#include <atomic>
#include <string>

#include "config/options.h"

namespace gridwatch {

struct ServeArgs {
  std::string history_csv;  // optional: readings to learn from before going live
  std::string version = "0.1.0";
};

class Service {
 public:
  Service(Config config, ServeArgs args);

  // Runs until stopped. Returns a process exit code: 0 after a clean stop, 1 on a runtime
  // failure, 2 on bad configuration or input files, 3 if the HTTP port cannot be bound.
  int Run();

  // Async-signal-safe.
  static void RequestStop();
  static void RequestReload();

 private:
  Config config_;
  ServeArgs args_;
  static std::atomic<int> stop_requested_;
  static std::atomic<int> reload_requested_;
};

}  // namespace gridwatch
