// Normalizer: turns parsed readings into detect's Readings, one meter at a time. It validates
// (unknown meter, bad/future timestamp, NaN, negative or implausible energy), drops duplicates
// and too-late readings, turns cumulative registers into interval energy, and hands readings of
// each meter to detect strictly in ts order.
//
// Semantics (per meter; "newest" = the newest ts accepted for the meter, "released" = the newest
// ts handed to detect):
//  - too_late: ts < newest - late_window_s. duplicate: the same ts was already accepted (exact
//    ts, kept for the last kMaxRecentTs accepted readings within the window; a reading older
//    than that history is too_late, so dedupe never silently fails).
//  - Registers: the first register_kwh of a meter is a baseline (no reading; Outcome::kBaseline).
//    Later ones emit value - previous at their ts (a span covering missing intervals emits their
//    sum at its ts). A register that goes backwards, or rises faster than max_kwh_per_hour over
//    the span, is rejected as register_reset and becomes the new baseline: never a negative or
//    huge delta. A register older than the meter's last register is out_of_order (the later
//    register already accounts for its energy).
//  - kwh: rejected as implausible_energy above max_kwh_per_hour x the meter's interval (the
//    smallest gap seen between its readings, >= 60 s; 1 h while unknown).
//  - Ordering: a reading newer than "released" that is contiguous (ts - released <= interval) or
//    arrives with reorder_hold_s == 0 is released at once: no added latency in order. With
//    reorder_hold_s > 0, one that leaves a gap is held (Outcome::kHeld) until the gap fills, or
//    until the meter's newest ts or the clock passed to ReleaseDue() reaches ts + reorder_hold_s;
//    held readings are then released in ts order. A reading older than "released" (so it would
//    reach detect out of order) is rejected as out_of_order.
//
// Memory: ~100 bytes per registered meter plus 4 bytes per remembered ts (a 15-minute meter
// with the default 6 h window keeps 24-25) and 16 per held reading.
//
// Pure: no I/O, no clock reads (time is passed in). Confined to one thread (the ingest thread).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "config/options.h"
#include "config/registry.h"
#include "detect/reading.h"
#include "ingest/payload_parser.h"
#include "ingest/reject_reason.h"

namespace gridwatch {

class Normalizer {
 public:
  // Accepted readings of a meter remembered for dedupe (exact ts).
  static constexpr int kMaxRecentTs = 48;
  // Readings held per meter for reordering; when full, the oldest held one is released.
  static constexpr int kMaxHeld = 16;
  // Timestamps before 2000-01-01 are bad_timestamp.
  static constexpr int64_t kMinTsS = 946684800;

  enum class Outcome : uint8_t {
    kReleased,  // handed to detect now (appended to `out`, possibly with held ones)
    kHeld,      // accepted and held for a gap (it may already be in `out` if this call's
                // release of expired held readings reached it)
    kBaseline,  // first register value of a meter: no reading
    kRejected,  // see `reason`
  };
  struct Verdict {
    Outcome outcome = Outcome::kRejected;
    RejectReason reason = RejectReason::kCount;  // valid only when kRejected
  };

  Normalizer(std::shared_ptr<const Registry> registry, IngestOptions options);
  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

  // A reloaded registry (SIGHUP). Households are matched by index, as in detect: per-meter state
  // is kept for the households of the old registry; new ones (appended) start fresh.
  void SetRegistry(std::shared_ptr<const Registry> registry);

  // Judges one reading at wall time `now_s` (for the future check). Released readings (this one
  // and any held ones it unblocks) are appended to `out` in ts order per meter. On a reject,
  // `detail` (if not null) receives a short explanation.
  [[nodiscard]] Verdict Process(const ParsedReading& reading, int64_t now_s,
                                std::vector<Reading>* out, std::string* detail = nullptr);

  // Releases held readings whose ts + reorder_hold_s <= now_s (in order per meter). Call it
  // regularly (the ingest thread does every loop). No-op when reorder_hold_s == 0.
  void ReleaseDue(int64_t now_s, std::vector<Reading>* out);

  // Releases every held reading (on shutdown).
  void Flush(std::vector<Reading>* out) { ReleaseDue(std::numeric_limits<int64_t>::max(), out); }

  // Makes the meter of `reading.household` remember a reading handed to detect by an earlier run
  // (replayed from the write-ahead log at start): its ts becomes a duplicate, and older ones are
  // out_of_order or too_late, as if this Normalizer had released it. Call it in the order the
  // readings were released. Readings of households outside the registry are ignored.
  void Prime(const Reading& reading);

  // Readings currently held for reordering, over all meters.
  std::size_t held_count() const { return held_total_; }

 private:
  struct MeterState;
  void Release(HouseholdIndex h, MeterState* m, const Reading& r, std::vector<Reading>* out);
  void ReleaseHeld(HouseholdIndex h, MeterState* m, int64_t due_s, std::vector<Reading>* out);

  std::shared_ptr<const Registry> registry_;
  IngestOptions options_;
  std::vector<MeterState> meters_;  // by HouseholdIndex (one meter per household)
  std::vector<HouseholdIndex> with_held_;
  std::size_t held_total_ = 0;
};

}  // namespace gridwatch
