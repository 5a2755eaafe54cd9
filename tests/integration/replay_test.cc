// `gridwatch replay` (the real binary) on the shipped six-home sample: run twice on the same
// input, the alerts.jsonl files are identical byte for byte, non-empty, one JSON object per line
// with the contract's fields.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/gridwatch_process.h"
#include "tests/support/temp_dir.h"

namespace gridwatch::test_support {
namespace {

int Replay(const TempDir& dir, const std::string& out, std::vector<std::string> more = {},
           std::string* err = nullptr) {
  const std::string sample = GRIDWATCH_SAMPLE_DIR;
  std::vector<std::string> args = {"replay",
                                   "--households",
                                   sample + "/households.csv",
                                   "--readings",
                                   sample + "/readings.csv.gz",
                                   "--absences",
                                   sample + "/absences.csv",
                                   "--timezone",
                                   "Europe/London",
                                   "--alerts",
                                   dir.File(out)};
  args.insert(args.end(), more.begin(), more.end());
  GridwatchProcess p(std::move(args), dir.path().string());
  const int code = p.WaitExit(240000);
  EXPECT_EQ(code, 0) << p.Stderr();
  if (err) *err = p.Stderr();
  return code;
}

TEST(ReplayTest, TwiceOnTheSameInputGivesIdenticalAlerts) {
  TempDir dir("gw-replay");
  ASSERT_EQ(Replay(dir, "a.jsonl"), 0);
  ASSERT_EQ(Replay(dir, "b.jsonl"), 0);
  const std::string a = dir.Read("a.jsonl");
  const std::string b = dir.Read("b.jsonl");
  ASSERT_FALSE(a.empty()) << "no alert on a sample with injected incidents";
  EXPECT_EQ(a, b);
  std::istringstream in(a);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ASSERT_EQ(line.front(), '{') << line;
    ASSERT_EQ(line.back(), '}') << line;
    for (const char* field : {"\"household\":", "\"kind\":", "\"opened_at\":"})
      EXPECT_NE(line.find(field), std::string::npos) << field << " missing: " << line;
    EXPECT_EQ(line.find("Room 1"), std::string::npos) << "an address in the alert: " << line;
  }
  EXPECT_GT(lines, 0);
}

TEST(ReplayTest, AWorkerWhoAnswersFromTheLabelsChangesWhatIsPagedAndStaysDeterministic) {
  // --outcomes: every welfare alert is answered from the set's labels, and the answers reach
  // the detector as in serve. The run is still deterministic, reports what was answered, and
  // pages differently from the run nobody answers.
  TempDir dir("gw-replay");
  const std::string labels = std::string(GRIDWATCH_SAMPLE_DIR) + "/labels.json";
  std::string err;
  ASSERT_EQ(Replay(dir, "plain.jsonl"), 0);
  ASSERT_EQ(Replay(dir, "a.jsonl", {"--outcomes", labels}, &err), 0);
  ASSERT_EQ(Replay(dir, "b.jsonl", {"--outcomes", labels}), 0);
  EXPECT_EQ(dir.Read("a.jsonl"), dir.Read("b.jsonl"));
  EXPECT_NE(dir.Read("a.jsonl"), dir.Read("plain.jsonl"));
  EXPECT_NE(err.find("the worker answered resident_fine"), std::string::npos) << err;
  EXPECT_EQ(err.find("away 0,"), std::string::npos) << "no alert was answered away: " << err;
  EXPECT_EQ(err.find("assisted 0,"), std::string::npos) << "no incident was answered: " << err;
  std::string bad_err;
  dir.Write("bad.json", "{");
  GridwatchProcess bad(
      {"replay", "--households", std::string(GRIDWATCH_SAMPLE_DIR) + "/households.csv",
       "--readings", std::string(GRIDWATCH_SAMPLE_DIR) + "/readings.csv.gz", "--timezone",
       "Europe/London", "--alerts", dir.File("c.jsonl"), "--outcomes", dir.File("bad.json")},
      dir.path().string());
  EXPECT_EQ(bad.WaitExit(60000), 2);
  EXPECT_NE(bad.Stderr().find("bad.json"), std::string::npos) << bad.Stderr();
}

}  // namespace
}  // namespace gridwatch::test_support
