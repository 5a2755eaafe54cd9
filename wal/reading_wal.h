// ReadingWal: the write-ahead log of the readings ingest accepted. Model state is checkpointed
// every few minutes; the readings accepted since (already acknowledged to the broker, which will
// not send them again) live only in memory until the next checkpoint. The log keeps them on disk
// so that a restart after a crash replays them into the models and loses none.
//
// Every reading appended gets the next global sequence number (1, 2, ...). The log is a
// directory of segments `wal-<first seq, 20 digits>.log`; a segment is a 24-byte header (magic,
// first seq, record size, CRC-32) followed by blocks; a block is a 24-byte header (magic, record
// count, first seq, CRC-32 of the records, CRC-32 of the header) and `count` 16-byte records
// (ts_s int64, energy_kwh float32, household uint32; little endian). Append writes a batch as
// blocks of at most kMaxBlockRecords with a single write(). A segment rotates when the next batch
// would take it past segment_bytes. Once every model checkpoint holds the readings up to a seq,
// DropThrough deletes the segments entirely at or below it.
//
// Durability: a write() is in the page cache and survives the process being killed (SIGKILL);
// SyncIfDue() fdatasyncs at most every fsync_interval_ms (0 = after every batch), which bounds
// what a power cut can take.
//
// Recovery (Open): segments are read in seq order and each valid block is handed to the visitor.
// Damage never throws and never stops the reading: a block whose checksum fails or whose seq does
// not follow is skipped (corrupt; the reader resyncs on the next valid block header and counts
// the seqs it jumped over); an incomplete or damaged block at the very end of the newest segment
// is a torn tail (a write cut short by a crash): counted and cut off the file. Writing resumes in
// a new segment.
//
// Thread-safe: one internal mutex (Append holds it for its write(), SyncIfDue for its fdatasync).
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "detect/reading.h"

namespace gridwatch {

// What Open found in the log.
struct WalRecovery {
  uint64_t segments = 0;         // segment files read
  uint64_t records = 0;          // valid records handed to the visitor
  uint64_t first_seq = 0;        // seq of the first valid record (0 = none)
  uint64_t last_seq = 0;         // seq of the last valid record (0 = none)
  uint64_t torn_records = 0;     // in a torn tail (estimated from its size if its header was cut)
  uint64_t corrupt_records = 0;  // in damaged blocks elsewhere (from the seqs jumped over)
  std::vector<std::string> problems;  // one line per damage found: file, offset, what
};

// Counters since Open.
struct WalStats {
  uint64_t bytes_written = 0;
  uint64_t records_written = 0;
  uint64_t write_errors = 0;  // Append calls that failed (nothing of the batch was logged)
  uint64_t syncs = 0;
  uint64_t segments = 0;    // segment files on disk
  uint64_t size_bytes = 0;  // their total size
};

class ReadingWal {
 public:
  static constexpr size_t kRecordBytes = 16;
  static constexpr size_t kHeaderBytes = 24;  // segment header and block header alike
  static constexpr uint32_t kMaxBlockRecords = 4096;

  struct Options {
    int64_t segment_bytes = 64 << 20;  // rotate once a segment holds this much
    int64_t fsync_interval_ms = 1000;  // SyncIfDue period; 0 = every call with unsynced data
  };

  // Called during Open with each valid block: `count` readings with seqs first_seq,
  // first_seq + 1, ..., in seq order.
  using Visitor = std::function<void(uint64_t first_seq, std::span<const Reading> readings)>;

  // Opens the log in `dir` (created if missing), reads it (see Recovery above) and starts a new
  // segment whose first seq is one past max(the last valid seq, `min_last_seq`): pass the highest
  // seq any checkpoint refers to, so that seqs never go back even if segments were removed by
  // hand. Returns an error message if the directory or the new segment cannot be made (start-up
  // only); damaged contents are reported in `recovery`, never as an error.
  static std::expected<std::unique_ptr<ReadingWal>, std::string> Open(const std::string& dir,
                                                                      Options options,
                                                                      uint64_t min_last_seq,
                                                                      const Visitor& visit,
                                                                      WalRecovery* recovery);
  ~ReadingWal();
  ReadingWal(const ReadingWal&) = delete;
  ReadingWal& operator=(const ReadingWal&) = delete;

  // Logs `readings` with one write(), as seqs last_seq() + 1, ... Returns the seq of the last
  // one (last_seq() if `readings` is empty). On an I/O error nothing of the batch stays in the
  // log, no seq is used up, and the errno comes back (the caller counts it and goes on: the
  // readings are then only as safe as the next checkpoint). Never allocates once the buffer has
  // grown to the largest batch.
  [[nodiscard]] std::expected<uint64_t, int> Append(std::span<const Reading> readings);

  // fdatasync of the current segment if something was written since the last one and
  // fsync_interval_ms has passed (or is 0). Returns the seconds it took, or -1 if none was due.
  double SyncIfDue();
  // fdatasync now (at stop). Returns false on an I/O error.
  [[nodiscard]] bool Sync();

  // Every checkpoint holds the readings up to `seq`: deletes the segments whose records are
  // all at or below it, never the one being written. Returns how many were deleted.
  int DropThrough(uint64_t seq);

  // The seq of the last reading appended (or recovered): 0 if none ever.
  uint64_t last_seq() const;
  WalStats stats() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Segment {
    uint64_t first_seq = 0;
    std::string path;
    uint64_t bytes = 0;
  };

  ReadingWal(std::string dir, Options options);
  bool StartSegmentLocked(uint64_t first_seq, std::string* error);
  bool SyncLocked();

  const std::string dir_;
  const Options options_;
  mutable std::mutex mu_;
  std::vector<Segment> segments_;  // ascending first_seq; the last one is being written
  int fd_ = -1;                    // of segments_.back()
  uint64_t last_seq_ = 0;
  bool dirty_ = false;  // written since the last fdatasync
  int64_t last_sync_ms_ = 0;
  std::vector<char> buf_;  // Append's encoding buffer, reused
  WalStats stats_;
};

}  // namespace gridwatch
