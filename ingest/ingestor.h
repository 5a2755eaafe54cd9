// Ingestor: the MQTT-free core of the ingest stage. One message (topic, payload) goes through the
// PayloadParser and the Normalizer; accepted readings come out in ts order per meter, and every
// reject becomes a dead-letter JSON document and a count by reason:
//   {"reason": "duplicate", "detail": "...", "topic": "...", "index": 2,
//    "payload": "<the original payload as a string>", "received_at": "2026-11-27T00:15:00Z"}
// (`index` is the item's position in an array/batch, -1 for a whole-message reject).
// MqttSource drives it from its ingest thread; tests and replay can drive it directly.
//
// Confined to one thread (it owns the per-meter state).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/options.h"
#include "config/registry.h"
#include "detect/reading.h"
#include "ingest/ingest_metrics.h"
#include "ingest/normalizer.h"
#include "ingest/payload_parser.h"
#include "ingest/reject_reason.h"

namespace gridwatch {

struct IngestCounts {
  uint64_t messages = 0;
  uint64_t accepted = 0;  // handed to detect
  uint64_t baseline = 0;
  uint64_t rejected[kRejectReasonCount] = {};
  uint64_t rejected_total() const {
    uint64_t n = 0;
    for (uint64_t v : rejected) n += v;
    return n;
  }
  uint64_t rejected_for(RejectReason r) const { return rejected[static_cast<std::size_t>(r)]; }
};

// Builds the dead-letter JSON (invalid UTF-8 in the payload is replaced, never thrown on).
std::string DeadLetterJson(RejectReason reason, std::string_view detail, std::string_view topic,
                           std::string_view payload, int index, int64_t received_ms);

class Ingestor {
 public:
  // `metrics` may be null (no Prometheus); it must outlive the Ingestor.
  Ingestor(std::shared_ptr<const Registry> registry, IngestOptions options, IngestMetrics* metrics);

  // Handles one message received at wall time `now_ms`. Appends released readings to `out` and
  // one dead-letter JSON per reject to `dead_letters`. Never throws on bad input.
  void HandleMessage(std::string_view topic, std::string_view payload, int64_t now_ms,
                     std::vector<Reading>* out, std::vector<std::string>* dead_letters);

  // Releases held readings due at `now_s` (see Normalizer::ReleaseDue); and Flush all.
  void ReleaseDue(int64_t now_s, std::vector<Reading>* out);
  void Flush(std::vector<Reading>* out);

  // Readings an earlier run handed to detect (see Normalizer::Prime); not counted.
  void Prime(std::span<const Reading> readings) {
    for (const Reading& r : readings) normalizer_.Prime(r);
  }

  const IngestCounts& counts() const { return counts_; }
  // A reloaded registry; see Normalizer::SetRegistry.
  void SetRegistry(std::shared_ptr<const Registry> registry) {
    normalizer_.SetRegistry(std::move(registry));
  }
  std::size_t held_count() const { return normalizer_.held_count(); }

 private:
  void CountReleased(std::size_t before, const std::vector<Reading>& out);

  PayloadParser parser_;
  Normalizer normalizer_;
  IngestMetrics* metrics_;
  ParseResult parsed_;
  std::string detail_;
  IngestCounts counts_;
};

}  // namespace gridwatch
