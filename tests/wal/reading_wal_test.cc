// ReadingWal on real files: append and read back, blocks and rotation, deletion after a
// checkpoint, a torn tail (counted, cut off, reported once), damage in the middle (skipped,
// counted, the rest read), seqs that never go back, garbage that never crashes.
#include "wal/reading_wal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace gridwatch {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;

constexpr int64_t kT0 = 1795824000;  // 2026-11-28T00:00:00Z
constexpr size_t kRec = ReadingWal::kRecordBytes;
constexpr size_t kHdr = ReadingWal::kHeaderBytes;

std::vector<Reading> Batch(size_t n, uint64_t start) {
  std::vector<Reading> v;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = start + i;
    v.push_back(Reading{kT0 + static_cast<int64_t>(k) * 900, 0.001f * static_cast<float>(k % 997),
                        static_cast<HouseholdIndex>(k % 1000)});
  }
  return v;
}

bool Same(const Reading& a, const Reading& b) {
  return a.ts_s == b.ts_s && a.energy_kwh == b.energy_kwh && a.household == b.household;
}

struct Opened {
  std::unique_ptr<ReadingWal> wal;
  std::vector<std::pair<uint64_t, Reading>> records;  // seq, reading
  WalRecovery rec;
};

Opened Open(const std::string& dir, ReadingWal::Options o = {}, uint64_t min_last_seq = 0) {
  Opened r;
  auto w = ReadingWal::Open(
      dir, o, min_last_seq,
      [&](uint64_t first, std::span<const Reading> rs) {
        for (size_t i = 0; i < rs.size(); ++i) r.records.emplace_back(first + i, rs[i]);
      },
      &r.rec);
  EXPECT_TRUE(w.has_value()) << (w ? "" : w.error());
  if (w) r.wal = std::move(*w);
  return r;
}

std::vector<std::string> Segments(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

void FlipByte(const std::string& path, size_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(&c, 1);
}

TEST(ReadingWalTest, AppendsAndReadsBackInSeqOrder) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  std::vector<Reading> all;
  {
    Opened o = Open(d);
    EXPECT_EQ(o.rec.records, 0u);
    EXPECT_EQ(o.wal->last_seq(), 0u);
    uint64_t k = 0;
    for (size_t n : {1, 7, 300, 5000}) {  // 5000 > one block: two blocks in one write
      auto b = Batch(n, k);
      k += n;
      auto last = o.wal->Append(b);
      ASSERT_TRUE(last.has_value());
      EXPECT_EQ(*last, k);
      all.insert(all.end(), b.begin(), b.end());
    }
    EXPECT_EQ(*o.wal->Append({}), k) << "an empty batch uses no seq";
    const WalStats st = o.wal->stats();
    EXPECT_EQ(st.records_written, all.size());
    EXPECT_EQ(st.bytes_written, all.size() * kRec + 5 * kHdr);  // 5 blocks
    EXPECT_EQ(st.write_errors, 0u);
    EXPECT_GE(o.wal->SyncIfDue(), 0.0) << "the first sync is due at once";
    EXPECT_LT(o.wal->SyncIfDue(), 0.0) << "nothing new to sync";
  }
  Opened o = Open(d);
  ASSERT_EQ(o.records.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(o.records[i].first, i + 1);
    EXPECT_TRUE(Same(o.records[i].second, all[i])) << i;
  }
  EXPECT_EQ(o.rec.first_seq, 1u);
  EXPECT_EQ(o.rec.last_seq, all.size());
  EXPECT_EQ(o.rec.torn_records + o.rec.corrupt_records, 0u);
  EXPECT_TRUE(o.rec.problems.empty());
  // Writing goes on after the recovered seqs, in a new segment.
  EXPECT_EQ(*o.wal->Append(Batch(2, 0)), all.size() + 2);
  EXPECT_EQ(Segments(d).size(), 2u);
}

TEST(ReadingWalTest, RotatesBySizeAndDropsSegmentsCheckpointsHold) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  ReadingWal::Options opts;
  opts.segment_bytes = 4096;  // 100 records a batch: two batches per segment
  {
    Opened o = Open(d, opts);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(o.wal->Append(Batch(100, i * 100)).has_value());
    const auto segs = Segments(d);
    ASSERT_EQ(segs.size(), 5u);
    EXPECT_NE(segs[0].find("wal-00000000000000000001.log"), std::string::npos);
    EXPECT_NE(segs[1].find("wal-00000000000000000201.log"), std::string::npos);
    EXPECT_EQ(o.wal->stats().segments, 5u);
    // Seq 450 is in the third segment (401..600): only the first two go.
    EXPECT_EQ(o.wal->DropThrough(450), 2);
    EXPECT_EQ(Segments(d).size(), 3u);
    EXPECT_EQ(o.wal->DropThrough(450), 0);
    // Everything checkpointed: the segment being written stays.
    EXPECT_EQ(o.wal->DropThrough(1000), 2);
    ASSERT_EQ(Segments(d).size(), 1u);
    EXPECT_NE(Segments(d)[0].find("wal-00000000000000000801.log"), std::string::npos);
  }
  Opened o = Open(d, opts);
  ASSERT_EQ(o.records.size(), 200u);
  EXPECT_EQ(o.records.front().first, 801u);
  EXPECT_EQ(o.records.back().first, 1000u);
  EXPECT_EQ(o.rec.corrupt_records, 0u) << "a log that starts later is not damage";
  EXPECT_EQ(o.wal->last_seq(), 1000u);
}

TEST(ReadingWalTest, TornTailIsCountedCutOffAndReportedOnce) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  std::string seg;
  {
    Opened o = Open(d);
    ASSERT_TRUE(o.wal->Append(Batch(50, 0)).has_value());
    ASSERT_TRUE(o.wal->Append(Batch(30, 50)).has_value());
    seg = Segments(d).back();
  }
  // The process was killed in the middle of the second batch's write.
  const auto full = fs::file_size(seg);
  fs::resize_file(seg, full - 10 * kRec - 3);
  {
    Opened o = Open(d);
    EXPECT_EQ(o.records.size(), 50u);
    EXPECT_EQ(o.rec.torn_records, 30u);
    EXPECT_EQ(o.rec.corrupt_records, 0u);
    ASSERT_EQ(o.rec.problems.size(), 1u);
    EXPECT_NE(o.rec.problems[0].find("torn tail"), std::string::npos) << o.rec.problems[0];
    EXPECT_EQ(fs::file_size(seg), kHdr + kHdr + 50 * kRec) << "the torn tail is cut off";
    EXPECT_EQ(o.wal->last_seq(), 50u) << "the torn records' seqs are used again";
    ASSERT_TRUE(o.wal->Append(Batch(5, 50)).has_value());
  }
  Opened o = Open(d);
  EXPECT_EQ(o.records.size(), 55u);
  EXPECT_EQ(o.records.back().first, 55u);
  EXPECT_EQ(o.rec.torn_records + o.rec.corrupt_records, 0u);
  EXPECT_TRUE(o.rec.problems.empty());
}

TEST(ReadingWalTest, TornBlockHeaderAndZeroFilledTail) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  std::string seg;
  {
    Opened o = Open(d);
    ASSERT_TRUE(o.wal->Append(Batch(20, 0)).has_value());
    seg = Segments(d).back();
  }
  {  // a power cut: the file grew but the last block's bytes are zeros
    std::ofstream f(seg, std::ios::binary | std::ios::app);
    const std::string zeros(kHdr + 8 * kRec, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  {
    Opened o = Open(d);
    EXPECT_EQ(o.records.size(), 20u);
    EXPECT_GT(o.rec.torn_records, 0u);
    EXPECT_EQ(fs::file_size(seg), kHdr + kHdr + 20 * kRec);
  }
  {  // half a block header, at the end of the newest segment (the one the last Open started)
    std::ofstream f(Segments(d).back(), std::ios::binary | std::ios::app);
    f.write("GWB1\x05\0\0\0\x15", 9);
  }
  Opened o = Open(d);
  EXPECT_EQ(o.records.size(), 20u);
  EXPECT_EQ(o.rec.torn_records, 1u);
}

TEST(ReadingWalTest, CorruptRecordInTheMiddleSkipsItsBlockOnly) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  {
    Opened o = Open(d);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(o.wal->Append(Batch(10, i * 10)).has_value());
  }
  const std::string seg = Segments(d).back();
  // A flipped bit in the 4th record of the second block.
  FlipByte(seg, kHdr + (kHdr + 10 * kRec) + kHdr + 3 * kRec + 5);
  {
    Opened o = Open(d);
    ASSERT_EQ(o.records.size(), 20u);
    EXPECT_EQ(o.records[9].first, 10u);
    EXPECT_EQ(o.records[10].first, 21u) << "the damaged block (seqs 11..20) is skipped";
    EXPECT_EQ(o.rec.corrupt_records, 10u);
    EXPECT_EQ(o.rec.torn_records, 0u);
    EXPECT_EQ(o.wal->last_seq(), 30u);
  }
  // A damaged block header: the reader resyncs on the next block and counts the seqs it lost.
  FlipByte(seg, kHdr + 6);
  Opened o = Open(d);
  ASSERT_EQ(o.records.size(), 10u);
  EXPECT_EQ(o.records[0].first, 21u);
  EXPECT_EQ(o.rec.corrupt_records, 20u);
  EXPECT_EQ(o.rec.problems.size(), 3u);  // header, checksum, the missing seqs
  EXPECT_EQ(fs::file_size(seg), kHdr + 3 * (kHdr + 10 * kRec)) << "damage is not cut off";
}

TEST(ReadingWalTest, DamageAtTheEndOfAnOlderSegmentIsCorruptNotTorn) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  ReadingWal::Options opts;
  opts.segment_bytes = 1024;
  {
    Opened o = Open(d, opts);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(o.wal->Append(Batch(40, i * 40)).has_value());
  }
  auto segs = Segments(d);
  ASSERT_EQ(segs.size(), 4u);
  fs::resize_file(segs[1], fs::file_size(segs[1]) - 5);
  Opened o = Open(d, opts);
  EXPECT_EQ(o.records.size(), 120u);
  EXPECT_EQ(o.rec.corrupt_records, 40u);
  EXPECT_EQ(o.rec.torn_records, 0u);
  EXPECT_EQ(o.wal->last_seq(), 160u);
}

TEST(ReadingWalTest, SeqsNeverGoBackBelowACheckpointsPosition) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  Opened o = Open(d, {}, 12345);
  EXPECT_EQ(o.wal->last_seq(), 12345u);
  EXPECT_EQ(*o.wal->Append(Batch(3, 0)), 12348u);
  o.wal.reset();
  Opened again = Open(d, {}, 10);
  ASSERT_EQ(again.records.size(), 3u);
  EXPECT_EQ(again.records[0].first, 12346u);
  EXPECT_EQ(again.wal->last_seq(), 12348u);
}

TEST(ReadingWalTest, GarbageFilesNeverCrash) {
  TempDir dir("gw-wal");
  const std::string d = dir.File("wal");
  fs::create_directories(d);
  std::string junk;
  uint32_t x = 12345;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;
    junk.push_back(static_cast<char>(x >> 24));
  }
  dir.Write("wal/wal-00000000000000000001.log", junk);
  dir.Write("wal/wal-00000000000000000500.log", "");
  dir.Write("wal/wal-00000000000000000900.log.tmp", "half made");
  dir.Write("wal/notes.txt", "not a segment");
  Opened o = Open(d);
  ASSERT_NE(o.wal, nullptr);
  EXPECT_EQ(o.records.size(), 0u);
  EXPECT_FALSE(o.rec.problems.empty());
  EXPECT_FALSE(fs::exists(d + "/wal-00000000000000000900.log.tmp"));
  EXPECT_TRUE(o.wal->Append(Batch(1, 0)).has_value());
}

TEST(ReadingWalTest, OpenFailsWithAMessageWhenTheDirectoryCannotBeMade) {
  TempDir dir("gw-wal");
  dir.Write("file", "x");
  auto w = ReadingWal::Open(dir.File("file/wal"), {}, 0, nullptr, nullptr);
  ASSERT_FALSE(w.has_value());
  EXPECT_NE(w.error().find("file/wal"), std::string::npos) << w.error();
}

}  // namespace
}  // namespace gridwatch
