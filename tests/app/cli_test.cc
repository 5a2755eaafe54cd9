// The command line of the real `gridwatch` binary: --help and --version, and that bad usage,
// bad configuration and bad input files end with exit code 2 and a message that names the
// problem (file and line for configuration), a port already taken with 3.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/gridwatch_process.h"
#include "tests/support/temp_dir.h"

namespace gridwatch::test_support {
namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

Result RunGridwatch(std::vector<std::string> args, const TempDir& dir) {
  GridwatchProcess p(std::move(args), dir.path().string());
  Result r;
  r.code = p.WaitExit(20000);
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

TEST(CliTest, HelpListsSubcommandsAndExitCodes) {
  TempDir dir("gw-cli");
  const Result r = RunGridwatch({"--help"}, dir);
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"serve", "replay", "feed", "Exit codes"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " not in\n" << r.out;
}

TEST(CliTest, EachSubcommandHasHelp) {
  TempDir dir("gw-cli");
  const Result serve = RunGridwatch({"serve", "--help"}, dir);
  EXPECT_EQ(serve.code, 0);
  for (const char* s : {"--config", "--broker", "--households", "--data-dir", "--http-port",
                        "--contacts", "--tokens", "--history", "--log-level", "--log-json"})
    EXPECT_NE(serve.out.find(s), std::string::npos) << s;
  const Result replay = RunGridwatch({"replay", "--help"}, dir);
  EXPECT_EQ(replay.code, 0);
  for (const char* s : {"--households", "--readings", "--absences", "--timezone", "--config",
                        "--alerts", "--history", "--outcomes", "--answer-after-h"})
    EXPECT_NE(replay.out.find(s), std::string::npos) << s;
}

TEST(CliTest, VersionPrintsAVersion) {
  TempDir dir("gw-cli");
  const Result r = RunGridwatch({"--version"}, dir);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find('.'), std::string::npos) << r.out;
}

TEST(CliTest, BadUsageExitsTwo) {
  TempDir dir("gw-cli");
  EXPECT_EQ(RunGridwatch({}, dir).code, 2) << "no subcommand";
  EXPECT_EQ(RunGridwatch({"frobnicate"}, dir).code, 2);
  EXPECT_EQ(RunGridwatch({"serve", "--no-such-flag"}, dir).code, 2);
  EXPECT_EQ(RunGridwatch({"serve", "--http-port", "70000"}, dir).code, 2);
  const Result r = RunGridwatch({"replay", "--households", "h.csv"}, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE((r.out + r.err).find("--readings"), std::string::npos) << r.out << r.err;
}

TEST(CliTest, UnknownConfigKeyNamesFileAndLine) {
  TempDir dir("gw-cli");
  dir.Write("bad.yaml", "timezone: UTC\nmqtt:\n  brokr: tcp://127.0.0.1:1\n");
  const Result r = RunGridwatch({"serve", "--config", dir.File("bad.yaml")}, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.yaml:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("brokr"), std::string::npos) << r.err;
}

TEST(CliTest, MissingConfigFileExitsTwo) {
  TempDir dir("gw-cli");
  const Result r = RunGridwatch({"serve", "--config", dir.File("nope.yaml")}, dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nope.yaml"), std::string::npos) << r.err;
}

TEST(CliTest, BadRegistryNamesTheProblemAndExitsTwo) {
  TempDir dir("gw-cli");
  dir.Write("households.csv",
            "household,meter,category,street,community,grid,address\n"
            "H1,M1,elderly_alone,S1,C1,G1,a\n"
            "H2,M1,elderly_alone,S1,C1,G1,b\n");
  const Result r = RunGridwatch({"serve", "--households", dir.File("households.csv"), "--data-dir",
                                 dir.File("data"), "--http-port", "0"},
                                dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("households.csv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("M1"), std::string::npos) << "the duplicate meter is named: " << r.err;
}

TEST(CliTest, ReplayOfAMissingReadingsFileExitsNonZero) {
  TempDir dir("gw-cli");
  dir.Write("households.csv",
            "household,meter,category,street,community,grid,address\n"
            "H1,M1,elderly_alone,S1,C1,G1,a\n");
  const Result r = RunGridwatch(
      {"replay", "--households", dir.File("households.csv"), "--readings", dir.File("missing.csv"),
       "--alerts", dir.File("alerts.jsonl"), "--timezone", "UTC"},
      dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("missing.csv"), std::string::npos) << r.err;
}

// Every stderr line of `p` parses as a JSON object with ts, level and msg; returns the messages.
std::vector<std::string> JsonLogMessages(const std::string& err) {
  std::istringstream in(err);
  std::string line;
  std::vector<std::string> msgs;
  while (std::getline(in, line)) {
    nlohmann::json j;
    EXPECT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    EXPECT_TRUE(j.is_object() && j.contains("ts") && j.contains("level") && j.contains("msg"))
        << line;
    if (j.is_object() && j.contains("msg")) msgs.push_back(j["msg"].get<std::string>());
    EXPECT_EQ(line.find("Room 101"), std::string::npos) << "an address at info: " << line;
  }
  return msgs;
}

TEST(CliTest, LogJsonWritesOneJsonObjectPerLineAndNoAddresses) {
  TempDir dir("gw-cli");
  dir.Write("households.csv",
            "household,meter,category,street,community,grid,address\n"
            "H1,M1,elderly_alone,S1,C1,G1,\"Building 1, Room 101\"\n");
  {
    GridwatchProcess p(
        {"serve", "--households", dir.File("households.csv"), "--data-dir", dir.File("data"),
         "--broker", "tcp://127.0.0.1:1", "--http-port", "0", "--log-json", "--log-level", "info"},
        dir.path().string());
    ASSERT_GT(p.WaitForPort(), 0) << p.Stderr();
    EXPECT_EQ(p.Terminate(), 0) << p.Stderr();
    EXPECT_GT(JsonLogMessages(p.Stderr()).size(), 2u) << p.Stderr();
  }
  // A quote and a backslash in a logged file name do not break the JSON.
  const std::string odd = dir.File("no\"such\\history.csv");
  GridwatchProcess p(
      {"serve", "--households", dir.File("households.csv"), "--data-dir", dir.File("data2"),
       "--broker", "tcp://127.0.0.1:1", "--http-port", "0", "--history", odd, "--log-json"},
      dir.path().string());
  EXPECT_EQ(p.WaitExit(20000), 2) << p.Stderr();
  bool named = false;
  for (const auto& m : JsonLogMessages(p.Stderr()))
    if (m.find(odd) != std::string::npos) named = true;
  EXPECT_TRUE(named) << p.Stderr();
}

TEST(CliTest, HttpPortTakenExitsThree) {
  // Hold a listening socket on a free port, then ask serve for that port.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  TempDir dir("gw-cli");
  dir.Write("households.csv",
            "household,meter,category,street,community,grid,address\n"
            "H1,M1,elderly_alone,S1,C1,G1,a\n");
  dir.Write("gw.yaml", "timezone: UTC\nhttp:\n  bind: 127.0.0.1\n");
  const Result r =
      RunGridwatch({"serve", "--config", dir.File("gw.yaml"), "--households",
                    dir.File("households.csv"), "--data-dir", dir.File("data"), "--broker",
                    "tcp://127.0.0.1:1", "--http-port", std::to_string(port)},
                   dir);
  ::close(fd);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find(std::to_string(port)), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gridwatch::test_support
