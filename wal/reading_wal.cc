#include "wal/reading_wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace gridwatch {
namespace {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "the log is written little endian");

constexpr char kSegmentMagic[8] = {'G', 'W', 'W', 'A', 'L', '0', '0', '1'};
constexpr uint32_t kBlockMagic = 0x31425747;  // "GWB1"
constexpr std::string_view kPrefix = "wal-";
constexpr std::string_view kSuffix = ".log";

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t Crc(const char* p, size_t n) {
  return static_cast<uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

std::string SegmentName(uint64_t first_seq) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(first_seq));
  return std::string(kPrefix) + digits + std::string(kSuffix);
}

// "wal-00000000000000000042.log" -> 42; 0 if the name is not a segment's.
uint64_t SeqOfName(const std::string& name) {
  if (name.size() != kPrefix.size() + 20 + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix))
    return 0;
  uint64_t v = 0;
  const char* b = name.data() + kPrefix.size();
  auto [p, ec] = std::from_chars(b, b + 20, v);
  return ec == std::errc() && p == b + 20 ? v : 0;
}

void EncodeSegmentHeader(char* p, uint64_t first_seq) {
  std::memcpy(p, kSegmentMagic, 8);
  Store<uint64_t>(p + 8, first_seq);
  Store<uint32_t>(p + 16, static_cast<uint32_t>(ReadingWal::kRecordBytes));
  Store<uint32_t>(p + 20, Crc(p, 20));
}

struct BlockHeader {
  uint32_t count = 0;
  uint64_t first_seq = 0;
  uint32_t payload_crc = 0;
};

bool DecodeBlockHeader(const char* p, BlockHeader* h) {
  if (Load<uint32_t>(p) != kBlockMagic || Load<uint32_t>(p + 20) != Crc(p, 20)) return false;
  h->count = Load<uint32_t>(p + 4);
  h->first_seq = Load<uint64_t>(p + 8);
  h->payload_crc = Load<uint32_t>(p + 16);
  return h->count > 0 && h->count <= ReadingWal::kMaxBlockRecords && h->first_seq > 0;
}

void EncodeRecord(char* p, const Reading& r) {
  Store<int64_t>(p, r.ts_s);
  Store<float>(p + 8, r.energy_kwh);
  Store<uint32_t>(p + 12, r.household);
}

Reading DecodeRecord(const char* p) {
  Reading r;
  r.ts_s = Load<int64_t>(p);
  r.energy_kwh = Load<float>(p + 8);
  r.household = Load<uint32_t>(p + 12);
  return r;
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadFile(const std::string& path, std::vector<char>* out) {
  out->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out->size()) {
    const ssize_t r = ::read(fd, out->data() + got, out->size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out->resize(got);
  ::close(fd);
  return true;
}

void SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Reads one segment's blocks (see the header's Recovery), advancing `expected` (the next seq).
// Returns the byte offset up to which the file is sound (the torn tail starts there).
size_t ReadSegment(const std::string& path, const std::vector<char>& data, uint64_t name_seq,
                   bool newest, uint64_t* expected, const ReadingWal::Visitor& visit,
                   std::vector<Reading>* block, WalRecovery* rec) {
  const size_t n = data.size();
  auto problem = [&](size_t at, const std::string& what) {
    rec->problems.push_back(path + " at byte " + std::to_string(at) + ": " + what);
  };
  const bool header_ok = n >= ReadingWal::kHeaderBytes &&
                         std::memcmp(data.data(), kSegmentMagic, 8) == 0 &&
                         Load<uint32_t>(data.data() + 20) == Crc(data.data(), 20) &&
                         Load<uint64_t>(data.data() + 8) == name_seq &&
                         Load<uint32_t>(data.data() + 16) == ReadingWal::kRecordBytes;
  if (!header_ok) problem(0, "bad segment header; looking for blocks");
  size_t off = header_ok ? ReadingWal::kHeaderBytes : 0;
  size_t sound = off;
  // Torn tail: only the newest segment's end can be a write cut short by a crash.
  auto tail = [&](size_t at, uint64_t records, const std::string& what) {
    if (newest) {
      rec->torn_records += records;
      problem(at, "torn tail (" + what + "), " + std::to_string(n - at) + " bytes cut off");
    } else {
      // Counted from the seqs jumped over when the next valid block shows up.
      problem(at, what + " at the end of an older segment");
    }
  };
  while (off < n) {
    BlockHeader h;
    if (n - off < ReadingWal::kHeaderBytes) {
      tail(off, 1, "incomplete block header");
      return sound;
    }
    if (!DecodeBlockHeader(data.data() + off, &h)) {
      // Resync: the next offset (blocks are 8-byte aligned) that holds a valid block header.
      size_t next = off + 8;
      BlockHeader h2;
      while (next + ReadingWal::kHeaderBytes <= n &&
             !(DecodeBlockHeader(data.data() + next, &h2) && h2.first_seq >= *expected))
        next += 8;
      if (next + ReadingWal::kHeaderBytes > n) {
        tail(off, std::max<uint64_t>(1, (n - off) / ReadingWal::kRecordBytes),
             "damaged block header, no valid block after it");
        return off;
      }
      problem(off,
              "damaged block header; resynced " + std::to_string(next - off) + " bytes further");
      off = next;
      continue;
    }
    const size_t payload = static_cast<size_t>(h.count) * ReadingWal::kRecordBytes;
    const size_t end = off + ReadingWal::kHeaderBytes + payload;
    if (end > n) {
      tail(off, h.count, "block of " + std::to_string(h.count) + " records cut short");
      return off;
    }
    const char* recs = data.data() + off + ReadingWal::kHeaderBytes;
    const bool crc_ok = Crc(recs, payload) == h.payload_crc;
    if (!crc_ok && end == n) {
      tail(off, h.count, "last block's checksum does not match");
      return off;
    }
    if (h.first_seq < *expected) {
      problem(off, "block with seq " + std::to_string(h.first_seq) + " behind " +
                       std::to_string(*expected) + "; skipped");
      rec->corrupt_records += h.count;
      *expected = std::max(*expected, h.first_seq + h.count);
      off = sound = end;
      continue;
    }
    if (h.first_seq > *expected) {
      problem(off, std::to_string(h.first_seq - *expected) + " records missing before seq " +
                       std::to_string(h.first_seq));
      rec->corrupt_records += h.first_seq - *expected;
    }
    *expected = h.first_seq + h.count;
    if (!crc_ok) {
      problem(off, "checksum of a block of " + std::to_string(h.count) + " records (seq " +
                       std::to_string(h.first_seq) + ") does not match; skipped");
      rec->corrupt_records += h.count;
      off = sound = end;
      continue;
    }
    block->resize(h.count);
    for (uint32_t i = 0; i < h.count; ++i)
      (*block)[i] = DecodeRecord(recs + static_cast<size_t>(i) * ReadingWal::kRecordBytes);
    if (visit) visit(h.first_seq, std::span<const Reading>(block->data(), block->size()));
    if (rec->first_seq == 0) rec->first_seq = h.first_seq;
    rec->last_seq = h.first_seq + h.count - 1;
    rec->records += h.count;
    off = sound = end;
  }
  return sound;
}

}  // namespace

ReadingWal::ReadingWal(std::string dir, Options options)
    : dir_(std::move(dir)), options_(options) {}

ReadingWal::~ReadingWal() {
  std::lock_guard lock(mu_);
  if (fd_ >= 0) {
    if (dirty_) ::fdatasync(fd_);
    ::close(fd_);
  }
}

std::expected<std::unique_ptr<ReadingWal>, std::string> ReadingWal::Open(const std::string& dir,
                                                                         Options options,
                                                                         uint64_t min_last_seq,
                                                                         const Visitor& visit,
                                                                         WalRecovery* recovery) {
  WalRecovery local;
  WalRecovery* rec = recovery ? recovery : &local;
  *rec = WalRecovery{};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::unexpected("write-ahead log: cannot create " + dir + ": " + ec.message());
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".tmp")) {  // a segment whose creation was cut short: never had records
      fs::remove(e.path(), ec);
      continue;
    }
    if (const uint64_t s = SeqOfName(name); s > 0) found.emplace_back(s, e.path().string());
  }
  if (ec) return std::unexpected("write-ahead log: cannot list " + dir + ": " + ec.message());
  std::sort(found.begin(), found.end());

  std::unique_ptr<ReadingWal> wal(new ReadingWal(dir, options));
  std::vector<char> data;
  std::vector<Reading> block;
  block.reserve(kMaxBlockRecords);
  uint64_t expected = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    const auto& [seq, path] = found[i];
    if (!ReadFile(path, &data)) {
      rec->problems.push_back(path + ": cannot be read; skipped");
      continue;
    }
    ++rec->segments;
    const bool newest = i + 1 == found.size();
    if (expected == 0) expected = seq;
    const size_t sound = ReadSegment(path, data, seq, newest, &expected, visit, &block, rec);
    uint64_t bytes = data.size();
    if (newest && sound < data.size()) {  // cut the torn tail off, so it is reported only once
      if (::truncate(path.c_str(), static_cast<off_t>(sound)) == 0) bytes = sound;
    }
    wal->segments_.push_back({seq, path, bytes});
  }
  wal->last_seq_ = std::max(rec->last_seq, min_last_seq);
  std::string error;
  {
    std::lock_guard lock(wal->mu_);
    if (!wal->StartSegmentLocked(wal->last_seq_ + 1, &error)) return std::unexpected(error);
  }
  return wal;
}

bool ReadingWal::StartSegmentLocked(uint64_t first_seq, std::string* error) {
  if (fd_ >= 0) {
    SyncLocked();  // a closed segment is complete on disk
    ::close(fd_);
    fd_ = -1;
  }
  // Written under a temporary name and renamed: a segment file always has its header.
  const std::string path = (fs::path(dir_) / SegmentName(first_seq)).string();
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char header[kHeaderBytes];
  EncodeSegmentHeader(header, first_seq);
  if (fd < 0 || !WriteAll(fd, header, sizeof header) || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (error) *error = "write-ahead log: cannot create " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  SyncDir(dir_);
  // A segment with this first seq may exist from an earlier run if it held no valid records.
  std::erase_if(segments_, [&](const Segment& s) { return s.first_seq == first_seq; });
  segments_.push_back({first_seq, path, kHeaderBytes});
  fd_ = fd;
  dirty_ = true;
  return true;
}

std::expected<uint64_t, int> ReadingWal::Append(std::span<const Reading> readings) {
  std::lock_guard lock(mu_);
  if (readings.empty()) return last_seq_;
  const size_t nblocks = (readings.size() + kMaxBlockRecords - 1) / kMaxBlockRecords;
  const size_t bytes = nblocks * kHeaderBytes + readings.size() * kRecordBytes;
  if (segments_.back().bytes > kHeaderBytes &&
      segments_.back().bytes + bytes > static_cast<uint64_t>(options_.segment_bytes)) {
    if (!StartSegmentLocked(last_seq_ + 1, nullptr)) {
      ++stats_.write_errors;
      return std::unexpected(errno ? errno : EIO);
    }
  }
  if (fd_ < 0) {  // an earlier rotation failed: try again
    if (!StartSegmentLocked(last_seq_ + 1, nullptr)) {
      ++stats_.write_errors;
      return std::unexpected(errno ? errno : EIO);
    }
  }
  if (buf_.size() < bytes) buf_.resize(bytes);
  char* p = buf_.data();
  uint64_t seq = last_seq_ + 1;
  for (size_t i = 0; i < readings.size(); i += kMaxBlockRecords) {
    const uint32_t count =
        static_cast<uint32_t>(std::min<size_t>(kMaxBlockRecords, readings.size() - i));
    char* recs = p + kHeaderBytes;
    for (uint32_t j = 0; j < count; ++j) EncodeRecord(recs + j * kRecordBytes, readings[i + j]);
    Store<uint32_t>(p, kBlockMagic);
    Store<uint32_t>(p + 4, count);
    Store<uint64_t>(p + 8, seq);
    Store<uint32_t>(p + 16, Crc(recs, count * kRecordBytes));
    Store<uint32_t>(p + 20, Crc(p, 20));
    p = recs + count * kRecordBytes;
    seq += count;
  }
  Segment& seg = segments_.back();
  if (!WriteAll(fd_, buf_.data(), bytes)) {
    const int err = errno ? errno : EIO;
    // Nothing of the batch may stay: a later block would follow a partial one.
    if (::ftruncate(fd_, static_cast<off_t>(seg.bytes)) != 0 ||
        ::lseek(fd_, static_cast<off_t>(seg.bytes), SEEK_SET) < 0) {
      ::close(fd_);  // the next Append starts a new segment
      fd_ = -1;
    }
    ++stats_.write_errors;
    return std::unexpected(err);
  }
  seg.bytes += bytes;
  last_seq_ = seq - 1;
  dirty_ = true;
  stats_.bytes_written += bytes;
  stats_.records_written += readings.size();
  return last_seq_;
}

bool ReadingWal::SyncLocked() {
  if (fd_ < 0 || !dirty_) return true;
  const bool ok = ::fdatasync(fd_) == 0;
  dirty_ = false;
  last_sync_ms_ = SteadyMs();
  ++stats_.syncs;
  return ok;
}

double ReadingWal::SyncIfDue() {
  std::lock_guard lock(mu_);
  if (fd_ < 0 || !dirty_) return -1;
  const int64_t now = SteadyMs();
  if (options_.fsync_interval_ms > 0 && now - last_sync_ms_ < options_.fsync_interval_ms) return -1;
  const auto t0 = std::chrono::steady_clock::now();
  SyncLocked();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool ReadingWal::Sync() {
  std::lock_guard lock(mu_);
  return SyncLocked();
}

int ReadingWal::DropThrough(uint64_t seq) {
  std::lock_guard lock(mu_);
  int dropped = 0;
  // Segment i holds seqs below segment i + 1's first seq; the last one is being written.
  while (segments_.size() > 1 && segments_[1].first_seq - 1 <= seq) {
    std::error_code ec;
    fs::remove(segments_.front().path, ec);
    if (ec) break;
    segments_.erase(segments_.begin());
    ++dropped;
  }
  return dropped;
}

uint64_t ReadingWal::last_seq() const {
  std::lock_guard lock(mu_);
  return last_seq_;
}

WalStats ReadingWal::stats() const {
  std::lock_guard lock(mu_);
  WalStats s = stats_;
  s.segments = segments_.size();
  s.size_bytes = 0;
  for (const Segment& seg : segments_) s.size_bytes += seg.bytes;
  return s;
}

}  // namespace gridwatch
