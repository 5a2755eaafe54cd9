// Normalizer: every reject reason, registers, duplicates, reordering within the window.
#include "ingest/normalizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace gridwatch {
namespace {

constexpr int64_t kT0 = 1795824000;  // 2026-11-28T00:00:00Z
constexpr int64_t kQ = 900;          // 15-minute interval

std::shared_ptr<const Registry> TwoHomes() {
  return Registry::FromHouseholds({
      {"H1", "M1", "elderly_alone", "S", "C", "G", "addr1"},
      {"H2", "M2", "elderly_alone", "S", "C", "G", "addr2"},
  });
}

ParsedReading Kwh(std::string meter, int64_t ts, double kwh) {
  return ParsedReading{std::move(meter), ts, kwh, false, 0};
}
ParsedReading Reg(std::string meter, int64_t ts, double kwh) {
  return ParsedReading{std::move(meter), ts, kwh, true, 0};
}

class NormalizerTest : public ::testing::Test {
 protected:
  explicit NormalizerTest(IngestOptions o = {}) : options_(o) { Reset(); }
  void Reset() { n_ = std::make_unique<Normalizer>(TwoHomes(), options_); }

  Normalizer::Verdict Feed(const ParsedReading& r, int64_t now_s = kT0 + 86400) {
    std::string detail;
    auto v = n_->Process(r, now_s, &out_, &detail);
    if (v.outcome == Normalizer::Outcome::kRejected) {
      EXPECT_FALSE(detail.empty());
    }
    return v;
  }
  RejectReason Rejected(const ParsedReading& r, int64_t now_s = kT0 + 86400) {
    auto v = Feed(r, now_s);
    EXPECT_EQ(v.outcome, Normalizer::Outcome::kRejected);
    return v.reason;
  }
  std::vector<int64_t> OutTs() const {
    std::vector<int64_t> ts;
    for (const auto& r : out_) ts.push_back(r.ts_s);
    return ts;
  }

  IngestOptions options_;
  std::unique_ptr<Normalizer> n_;
  std::vector<Reading> out_;
};

TEST_F(NormalizerTest, AcceptsAndMapsMeterToHousehold) {
  EXPECT_EQ(Feed(Kwh("M2", kT0, 0.25)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].household, 1u);
  EXPECT_EQ(out_[0].ts_s, kT0);
  EXPECT_FLOAT_EQ(out_[0].energy_kwh, 0.25f);
}

TEST_F(NormalizerTest, ReloadedRegistryKnowsNewMetersAndKeepsState) {
  EXPECT_EQ(Feed(Kwh("M1", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Rejected(Kwh("M3", kT0, 0.1)), RejectReason::kUnknownMeter);
  n_->SetRegistry(Registry::FromHouseholds({
      {"H1", "M1", "elderly_alone", "S", "C", "G", "addr1"},
      {"H2", "M2", "elderly_alone", "S", "C", "G", "addr2"},
      {"H3", "M3", "elderly_alone", "S", "C", "G", "addr3"},
  }));
  EXPECT_EQ(Feed(Kwh("M3", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(out_.back().household, 2u);
  // M1's state survived the reload: its reading at kT0 is still a duplicate.
  EXPECT_EQ(Rejected(Kwh("M1", kT0, 0.1)), RejectReason::kDuplicate);
}

TEST_F(NormalizerTest, EveryValueRejectReason) {
  EXPECT_EQ(Rejected(Kwh("M404", kT0, 0.1)), RejectReason::kUnknownMeter);
  EXPECT_EQ(Rejected(Kwh("M1", 100, 0.1)), RejectReason::kBadTimestamp);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 601, 0.1), kT0), RejectReason::kFutureTimestamp);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 600, 0.1), kT0).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 900, -0.1)), RejectReason::kNegativeEnergy);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 900, std::nan(""))), RejectReason::kNotFinite);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 900, std::numeric_limits<double>::infinity())),
            RejectReason::kNotFinite);
  EXPECT_EQ(Rejected(Reg("M1", kT0 + 900, -3)), RejectReason::kNegativeEnergy);
  EXPECT_EQ(out_.size(), 1u);
}

TEST_F(NormalizerTest, ImplausibleEnergyUsesTheMeterInterval) {
  // Unknown interval: 1 h at 30 kWh/h.
  EXPECT_EQ(Feed(Kwh("M1", kT0, 29.0)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + kQ, 1.0)).outcome, Normalizer::Outcome::kReleased);
  // Interval now 15 min: the limit is 7.5 kWh.
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 2 * kQ, 7.6)), RejectReason::kImplausibleEnergy);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 2 * kQ, 7.4)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Rejected(Kwh("M2", kT0, 31.0)), RejectReason::kImplausibleEnergy);
}

TEST_F(NormalizerTest, DuplicateIsRejectedEvenAfterNewerReadings) {
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(Feed(Kwh("M1", kT0 + i * kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 9 * kQ, 0.1)), RejectReason::kDuplicate);
  EXPECT_EQ(Rejected(Kwh("M1", kT0, 0.2)), RejectReason::kDuplicate);
  // The same ts on another meter is not a duplicate.
  EXPECT_EQ(Feed(Kwh("M2", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(out_.size(), 11u);
}

TEST_F(NormalizerTest, PrimedReadingsOfAnEarlierRunAreSeen) {
  // Readings the write-ahead log replays at start: a broker's redelivery of them is a
  // duplicate, an older reading out_of_order, and the meter's interval is known.
  for (int i = 0; i < 4; ++i) n_->Prime(Reading{kT0 + i * kQ, 0.1f, 0});
  n_->Prime(Reading{kT0, 0.1f, 7});  // a household outside the registry: ignored
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 3 * kQ, 0.1)), RejectReason::kDuplicate);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + kQ, 0.1)), RejectReason::kDuplicate);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 3 * kQ - 60, 0.1)), RejectReason::kOutOfOrder);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 4 * kQ, 7.6)), RejectReason::kImplausibleEnergy)
      << "the 15-minute interval is known from the primed readings";
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 4 * kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Feed(Kwh("M2", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(OutTs(), (std::vector<int64_t>{kT0 + 4 * kQ, kT0}));
}

TEST_F(NormalizerTest, TooLateBehindTheWindow) {
  ASSERT_EQ(Feed(Kwh("M1", kT0 + 7 * 3600, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 3600 - 1, 0.1)), RejectReason::kTooLate);
}

TEST_F(NormalizerTest, WithoutHoldAnOlderReadingIsOutOfOrder) {
  ASSERT_EQ(Feed(Kwh("M1", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(Feed(Kwh("M1", kT0 + 2 * kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + kQ, 0.1)), RejectReason::kOutOfOrder);
  EXPECT_EQ(OutTs(), (std::vector<int64_t>{kT0, kT0 + 2 * kQ}));
}

TEST_F(NormalizerTest, RegisterBaselineDeltaAndReset) {
  EXPECT_EQ(Feed(Reg("M1", kT0, 1000.0)).outcome, Normalizer::Outcome::kBaseline);
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(Feed(Reg("M1", kT0 + kQ, 1000.5)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_FLOAT_EQ(out_[0].energy_kwh, 0.5f);
  // Backwards (meter replaced / rollover): new baseline, no negative delta.
  EXPECT_EQ(Rejected(Reg("M1", kT0 + 2 * kQ, 3.0)), RejectReason::kRegisterReset);
  EXPECT_EQ(Feed(Reg("M1", kT0 + 3 * kQ, 3.25)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_FLOAT_EQ(out_[1].energy_kwh, 0.25f);
  // A jump faster than 30 kWh/h over 15 min (7.5 kWh): new baseline, no huge delta.
  EXPECT_EQ(Rejected(Reg("M1", kT0 + 4 * kQ, 3.25 + 8.0)), RejectReason::kRegisterReset);
  EXPECT_EQ(Feed(Reg("M1", kT0 + 5 * kQ, 11.25 + 0.1)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(out_.size(), 3u);
  EXPECT_NEAR(out_[2].energy_kwh, 0.1f, 1e-4);
  // An older register is out of order; its duplicate is a duplicate.
  EXPECT_EQ(Rejected(Reg("M1", kT0 + kQ / 2, 5.0)), RejectReason::kOutOfOrder);
  EXPECT_EQ(Rejected(Reg("M1", kT0 + 5 * kQ, 11.35)), RejectReason::kDuplicate);
  for (const auto& r : out_) EXPECT_GE(r.energy_kwh, 0.0f);
}

TEST_F(NormalizerTest, RegisterDeltaOverAGapIsTheSum) {
  EXPECT_EQ(Feed(Reg("M1", kT0, 10.0)).outcome, Normalizer::Outcome::kBaseline);
  EXPECT_EQ(Feed(Reg("M1", kT0 + 4 * kQ, 12.0)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_FLOAT_EQ(out_[0].energy_kwh, 2.0f);
  EXPECT_EQ(out_[0].ts_s, kT0 + 4 * kQ);
}

class ReorderTest : public NormalizerTest {
 protected:
  static IngestOptions WithHold() {
    IngestOptions o;
    o.reorder_hold_s = 3600;
    return o;
  }
  ReorderTest() : NormalizerTest(WithHold()) {}
};

TEST_F(ReorderTest, InOrderReadingsAreReleasedAtOnce) {
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(Feed(Kwh("M1", kT0 + i * kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
    EXPECT_EQ(out_.size(), static_cast<std::size_t>(i + 1));
  }
  EXPECT_EQ(n_->held_count(), 0u);
}

TEST_F(ReorderTest, OutOfOrderWithinWindowIsDeliveredInOrder) {
  ASSERT_EQ(Feed(Kwh("M1", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(Feed(Kwh("M1", kT0 + kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
  // kT0+2Q is late: 3Q and 4Q arrive first and wait.
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 4 * kQ, 0.4)).outcome, Normalizer::Outcome::kHeld);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 3 * kQ, 0.3)).outcome, Normalizer::Outcome::kHeld);
  EXPECT_EQ(out_.size(), 2u);
  EXPECT_EQ(n_->held_count(), 2u);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 2 * kQ, 0.2)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(OutTs(),
            (std::vector<int64_t>{kT0, kT0 + kQ, kT0 + 2 * kQ, kT0 + 3 * kQ, kT0 + 4 * kQ}));
  EXPECT_FLOAT_EQ(out_[3].energy_kwh, 0.3f);
  EXPECT_EQ(n_->held_count(), 0u);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 3 * kQ, 0.3)), RejectReason::kDuplicate);
}

TEST_F(ReorderTest, AGapThatNeverFillsIsReleasedAfterTheHold) {
  ASSERT_EQ(Feed(Kwh("M1", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(Feed(Kwh("M1", kT0 + kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 3 * kQ, 0.1)).outcome, Normalizer::Outcome::kHeld);
  std::vector<Reading> due;
  n_->ReleaseDue(kT0 + 3 * kQ + 3599, &due);
  EXPECT_TRUE(due.empty());
  n_->ReleaseDue(kT0 + 3 * kQ + 3600, &due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].ts_s, kT0 + 3 * kQ);
  // The missing one now arrives: detect already moved past it.
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 2 * kQ, 0.1)), RejectReason::kOutOfOrder);
}

TEST_F(ReorderTest, DataTimeOfTheMeterAlsoReleasesHeldReadings) {
  ASSERT_EQ(Feed(Kwh("M1", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(Feed(Kwh("M1", kT0 + kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 3 * kQ, 0.1)).outcome, Normalizer::Outcome::kHeld);
  for (int i = 4; i <= 6; ++i) Feed(Kwh("M1", kT0 + i * kQ, 0.1));
  EXPECT_EQ(out_.size(), 2u);
  EXPECT_EQ(n_->held_count(), 4u);
  // 3Q + 3600 s = 7Q: when 7Q arrives the hold of 3Q expired, then 4Q..7Q are contiguous.
  Feed(Kwh("M1", kT0 + 7 * kQ, 0.1));
  EXPECT_EQ(OutTs(), (std::vector<int64_t>{kT0, kT0 + kQ, kT0 + 3 * kQ, kT0 + 4 * kQ, kT0 + 5 * kQ,
                                           kT0 + 6 * kQ, kT0 + 7 * kQ}));
  EXPECT_EQ(n_->held_count(), 0u);
  EXPECT_EQ(Feed(Kwh("M1", kT0 + 8 * kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
}

TEST_F(ReorderTest, FlushReleasesEverythingInOrder) {
  ASSERT_EQ(Feed(Kwh("M1", kT0, 0.1)).outcome, Normalizer::Outcome::kReleased);
  ASSERT_EQ(Feed(Kwh("M1", kT0 + kQ, 0.1)).outcome, Normalizer::Outcome::kReleased);
  Feed(Kwh("M1", kT0 + 5 * kQ, 0.1));
  Feed(Kwh("M1", kT0 + 3 * kQ, 0.1));
  Feed(Kwh("M2", kT0, 0.1));
  std::vector<Reading> rest;
  n_->Flush(&rest);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].ts_s, kT0 + 3 * kQ);
  EXPECT_EQ(rest[1].ts_s, kT0 + 5 * kQ);
  EXPECT_EQ(n_->held_count(), 0u);
}

TEST_F(NormalizerTest, DedupeHistoryIsBoundedAndFailsClosed) {
  // One-minute meter: 48 remembered readings; older ones within the window become too_late
  // rather than being accepted a second time.
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(Feed(Kwh("M1", kT0 + i * 60, 0.01)).outcome, Normalizer::Outcome::kReleased);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 99 * 60, 0.01)), RejectReason::kDuplicate);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 52 * 60, 0.01)), RejectReason::kDuplicate);
  EXPECT_EQ(Rejected(Kwh("M1", kT0 + 10 * 60, 0.01)), RejectReason::kTooLate);
}

}  // namespace
}  // namespace gridwatch
