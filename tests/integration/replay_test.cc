// `gridwatch replay` (the real binary) on the shipped six-home sample: run twice on the same
// input, the alerts.jsonl files are identical byte for byte, non-empty, one JSON object per line
// with the contract's fields.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/integration/gridwatch_process.h"
#include "tests/support/temp_dir.h"

namespace gridwatch::test_support {
namespace {

int Replay(const TempDir& dir, const std::string& out) {
  const std::string sample = GRIDWATCH_SAMPLE_DIR;
  GridwatchProcess p({"replay", "--households", sample + "/households.csv", "--readings",
                      sample + "/readings.csv.gz", "--absences", sample + "/absences.csv",
                      "--timezone", "Europe/London", "--alerts", dir.File(out)},
                     dir.path().string());
  const int code = p.WaitExit(240000);
  EXPECT_EQ(code, 0) << p.Stderr();
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

}  // namespace
}  // namespace gridwatch::test_support
