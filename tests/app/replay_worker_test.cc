// ReplayWorker: what the grid worker of `gridwatch replay --outcomes` answers for an alert, from
// an evaluation set's labels (windows with EVALUATION.md's graces), and that bad labels are
// refused with the file's name.
#include "app/replay_worker.h"

#include <gtest/gtest.h>

#include <string>

#include "common/time_util.h"
#include "config/config_error.h"
#include "tests/support/temp_dir.h"

namespace gridwatch {
namespace {

using test_support::TempDir;

constexpr int64_t kT0 = 1'700'000'000 - 1'700'000'000 % 86400;
constexpr int64_t kH = 3600;

std::string Rfc(int64_t t) { return FormatRfc3339Utc(t); }

TEST(ReplayWorkerTest, AnswersWhatTheLabelsSayWasThere) {
  TempDir dir("gw-worker");
  const std::string labels = dir.Write(
      "labels.json",
      R"({"warmup_days": 28, "households": {},
          "incidents": [
            {"household": "H1", "type": "collapse_day", "start": ")" +
          Rfc(kT0) + R"(", "end": ")" + Rfc(kT0 + 48 * kH) + R"("},
            {"household": "H1", "type": "high_usage", "start": ")" +
          Rfc(kT0 + 100 * kH) + R"(", "end": ")" + Rfc(kT0 + 105 * kH) + R"("},
            {"household": "H2", "type": "away_registered", "start": ")" +
          Rfc(kT0) + R"(", "end": ")" + Rfc(kT0 + 72 * kH) + R"("}],
          "ambiguous": [
            {"household": "H1", "type": "real_absence", "start": ")" +
          Rfc(kT0 + 200 * kH) + R"(", "end": ")" + Rfc(kT0 + 230 * kH) + R"(", "reason": "x"}]})");
  const ReplayWorker w = ReplayWorker::Load(labels);
  // In a collapse's window (its 48 h and the 24 h of grace): the worker helped the resident.
  EXPECT_EQ(w.Answer("H1", AlertKind::kInactivity, kT0 + 12 * kH).outcome, Outcome::kAssisted);
  EXPECT_EQ(w.Answer("H1", AlertKind::kNoMorningActivity, kT0 + 71 * kH).outcome,
            Outcome::kAssisted);
  // Past the grace, a quiet alert in no window is a false alarm: an empty home, a day out.
  EXPECT_EQ(w.Answer("H1", AlertKind::kInactivity, kT0 + 73 * kH).outcome, Outcome::kAway);
  // High use: 6 h of grace; after it a false alarm of a kind that finds the resident in.
  EXPECT_EQ(w.Answer("H1", AlertKind::kHighUsage, kT0 + 110 * kH).outcome, Outcome::kAssisted);
  EXPECT_EQ(w.Answer("H1", AlertKind::kHighUsage, kT0 + 112 * kH).outcome, Outcome::kResidentFine);
  EXPECT_EQ(w.Answer("H1", AlertKind::kDecline, kT0 + 150 * kH).outcome, Outcome::kResidentFine);
  // An ambiguous stretch (+1 day): away, unregistered; the family says until when.
  EXPECT_EQ(w.Answer("H1", AlertKind::kHighUsage, kT0 + 250 * kH).outcome, Outcome::kAway);
  EXPECT_EQ(w.Answer("H1", AlertKind::kInactivity, kT0 + 210 * kH).away_until_s, kT0 + 230 * kH);
  EXPECT_EQ(w.Answer("H1", AlertKind::kInactivity, kT0 + 73 * kH).away_until_s, 0)
      << "a day out: nobody says until when";
  EXPECT_EQ(w.Answer("H2", AlertKind::kInactivity, kT0 + 10 * kH).outcome, Outcome::kAway);
  EXPECT_EQ(w.Answer("H3", AlertKind::kFrozen, kT0).outcome, Outcome::kAway)
      << "a home with no labels";
  // --answer-fine-only: every false alarm is "resident fine".
  const ReplayWorker fine = ReplayWorker::Load(labels, /*fine_only=*/true);
  EXPECT_EQ(fine.Answer("H1", AlertKind::kInactivity, kT0 + 73 * kH).outcome,
            Outcome::kResidentFine);
  EXPECT_EQ(fine.Answer("H1", AlertKind::kInactivity, kT0 + 12 * kH).outcome, Outcome::kAssisted);
}

TEST(ReplayWorkerTest, BadLabelsAreRefusedWithTheFilesName) {
  TempDir dir("gw-worker");
  auto refused = [&](const std::string& name, const std::string& content, const std::string& says) {
    const std::string path = dir.Write(name, content);
    try {
      ReplayWorker::Load(path);
      ADD_FAILURE() << name << " was accepted";
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(name), std::string::npos) << what;
      EXPECT_NE(what.find(says), std::string::npos) << what;
    }
  };
  refused("notjson.json", "{", "labels");
  refused("nolist.json", R"({"incidents": []})", "ambiguous");
  refused("noend.json", R"({"incidents": [{"household": "H1", "type": "collapse_day",
                                          "start": "2024-01-01T00:00:00Z"}], "ambiguous": []})",
          "without household, start and end");
  refused("badtype.json", R"({"incidents": [{"household": "H1", "type": "meteor",
                                            "start": "2024-01-01T00:00:00Z",
                                            "end": "2024-01-02T00:00:00Z"}], "ambiguous": []})",
          "meteor");
  refused("badtime.json", R"({"incidents": [{"household": "H1", "type": "decline",
                                             "start": "yesterday", "end": "2024-01-02T00:00:00Z"}],
                              "ambiguous": []})",
          "RFC 3339");
  try {
    ReplayWorker::Load(dir.File("missing.json"));
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace gridwatch
