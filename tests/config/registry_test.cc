#include "config/registry.h"

#include <gtest/gtest.h>

#include <string>

#include "config/config_error.h"
#include "test_files.h"

namespace gridwatch {
namespace {

using testing::TempDir;

constexpr const char* kHeader = "household,meter,category,street,community,grid,address\n";

// Loads `body` (after the header unless `with_header` is false) and returns the ConfigError text;
// fails the test if it loads.
std::string LoadError(const TempDir& dir, const std::string& body, int* line = nullptr) {
  const std::string path = dir.Write("households.csv", kHeader + body);
  try {
    Registry::LoadCsv(path);
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), path);
    if (line) *line = e.line();
    return e.what();
  }
  ADD_FAILURE() << "loaded without error: " << body;
  return "";
}

TEST(RegistryTest, LoadsQuotedAddressesCrlfAndBom) {
  TempDir dir;
  const std::string path =
      dir.Write("households.csv",
                "\xEF\xBB\xBFhousehold,meter,category,street,community,grid,address\r\n"
                "H0000,M8589669,elderly_alone,S00,C00,G000,\"Building 0, Room 100\"\r\n"
                "H0001,M0000002,family,S00,C01,G001,\"He said \"\"hi\"\", ok\"\r\n"
                "\r\n"
                "H0002,M0000003,other,S01,C02,G002,\r\n");
  auto reg = Registry::LoadCsv(path);
  ASSERT_EQ(reg->size(), 3u);
  EXPECT_EQ(reg->at(0).id, "H0000");
  EXPECT_EQ(reg->at(0).meter, "M8589669");
  EXPECT_EQ(reg->at(0).category, "elderly_alone");
  EXPECT_EQ(reg->at(0).street, "S00");
  EXPECT_EQ(reg->at(0).community, "C00");
  EXPECT_EQ(reg->at(0).grid, "G000");
  EXPECT_EQ(reg->at(0).address, "Building 0, Room 100");
  EXPECT_EQ(reg->at(1).address, "He said \"hi\", ok");
  EXPECT_EQ(reg->at(2).address, "");
  EXPECT_EQ(reg->FindMeter("M8589669"), HouseholdIndex{0});
  EXPECT_EQ(reg->FindMeter("M0000003"), HouseholdIndex{2});
  EXPECT_EQ(reg->FindHousehold("H0001"), HouseholdIndex{1});
  EXPECT_FALSE(reg->FindMeter("M9999999").has_value());
  EXPECT_FALSE(reg->FindHousehold("H9999").has_value());
}

TEST(RegistryTest, QuotedFieldMayContainNewline) {
  TempDir dir;
  const std::string path =
      dir.Write("h.csv", std::string(kHeader) +
                             "H1,M1,rental,S,C,G,\"line one\nline two\"\nH2,M2,rental,S,C,G,x\n");
  auto reg = Registry::LoadCsv(path);
  ASSERT_EQ(reg->size(), 2u);
  EXPECT_EQ(reg->at(0).address, "line one\nline two");
  EXPECT_EQ(reg->at(1).id, "H2");
}

TEST(RegistryTest, WrongHeader) {
  TempDir dir;
  const std::string path = dir.Write("h.csv", "household,meter,category,street,grid,address\n");
  try {
    Registry::LoadCsv(path);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 1);
    EXPECT_NE(std::string(e.what()).find(path + ":1: wrong header"), std::string::npos) << e.what();
  }
}

TEST(RegistryTest, MissingFile) {
  EXPECT_THROW(Registry::LoadCsv("/nonexistent/households.csv"), ConfigError);
}

TEST(RegistryTest, WrongColumnCount) {
  TempDir dir;
  int line = 0;
  const std::string msg = LoadError(dir, "H1,M1,family,S,C,G,a\nH2,M2,family,S,C,G\n", &line);
  EXPECT_EQ(line, 3);
  EXPECT_NE(msg.find("expected 7 columns, got 6"), std::string::npos) << msg;
  // An unquoted comma in the address adds a column.
  const std::string msg2 = LoadError(dir, "H1,M1,family,S,C,G,Building 0, Room 1\n", &line);
  EXPECT_EQ(line, 2);
  EXPECT_NE(msg2.find("got 8"), std::string::npos) << msg2;
}

TEST(RegistryTest, EmptyRequiredFields) {
  TempDir dir;
  int line = 0;
  EXPECT_NE(LoadError(dir, ",M1,family,S,C,G,a\n", &line).find("empty household id"),
            std::string::npos);
  EXPECT_EQ(line, 2);
  EXPECT_NE(LoadError(dir, "H1,,family,S,C,G,a\n").find("household H1: empty meter"),
            std::string::npos);
  EXPECT_NE(LoadError(dir, "H1,M1,,S,C,G,a\n").find("household H1: empty category"),
            std::string::npos);
}

TEST(RegistryTest, MissingStreetCommunityGrid) {
  TempDir dir;
  int line = 0;
  std::string msg = LoadError(dir, "H1,M1,family,S,C,G,a\nH2,M2,family,,C,G,a\n", &line);
  EXPECT_EQ(line, 3);
  EXPECT_NE(msg.find(":3: household H2: missing street"), std::string::npos) << msg;
  msg = LoadError(dir, "H1,M1,family,S,,G,a\n");
  EXPECT_NE(msg.find("household H1: missing community"), std::string::npos) << msg;
  msg = LoadError(dir, "H1,M1,family,S,C,,a\n");
  EXPECT_NE(msg.find("household H1: missing grid"), std::string::npos) << msg;
}

TEST(RegistryTest, DuplicateHouseholdAndMeter) {
  TempDir dir;
  int line = 0;
  std::string msg =
      LoadError(dir, "H1,M1,family,S,C,G,a\nH2,M2,family,S,C,G,a\nH1,M3,family,S,C,G,a\n", &line);
  EXPECT_EQ(line, 4);
  EXPECT_NE(msg.find(":4: duplicate household H1 first on line 2"), std::string::npos) << msg;
  msg = LoadError(dir, "H1,M1,family,S,C,G,a\nH2,M1,family,S,C,G,a\n", &line);
  EXPECT_EQ(line, 3);
  EXPECT_NE(msg.find("duplicate meter M1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("already used by household H1 first on line 2"), std::string::npos) << msg;
}

TEST(RegistryTest, UnknownCategoryListsKnownOnes) {
  TempDir dir;
  int line = 0;
  const std::string msg = LoadError(dir, "H1,M1,elderly,S,C,G,a\n", &line);
  EXPECT_EQ(line, 2);
  EXPECT_NE(msg.find("unknown category 'elderly'"), std::string::npos) << msg;
  for (const auto& c : KnownCategories()) EXPECT_NE(msg.find(c), std::string::npos) << c;
}

TEST(RegistryTest, LineNumbersCountQuotedNewlines) {
  TempDir dir;
  int line = 0;
  const std::string msg =
      LoadError(dir, "H1,M1,family,S,C,G,\"a\nb\"\nH2,M2,nope,S,C,G,a\n", &line);
  EXPECT_EQ(line, 4) << msg;
}

TEST(RegistryTest, UnterminatedQuote) {
  TempDir dir;
  int line = 0;
  const std::string msg = LoadError(dir, "H1,M1,family,S,C,G,\"Building 0\n", &line);
  EXPECT_EQ(line, 2);
  EXPECT_NE(msg.find("unterminated quoted field"), std::string::npos) << msg;
}

TEST(RegistryTest, FromHouseholdsValidates) {
  auto reg = Registry::FromHouseholds(
      {{"H1", "M1", "family", "S", "C", "G", ""}, {"H2", "M2", "disabled", "S", "C", "G", ""}});
  EXPECT_EQ(reg->size(), 2u);
  EXPECT_EQ(reg->FindMeter("M2"), HouseholdIndex{1});
  EXPECT_THROW(Registry::FromHouseholds({{"H1", "M1", "family", "S", "C", "G", ""},
                                         {"H2", "M1", "family", "S", "C", "G", ""}}),
               ConfigError);
  EXPECT_THROW(Registry::FromHouseholds({{"H1", "M1", "bogus", "S", "C", "G", ""}}), ConfigError);
}

}  // namespace
}  // namespace gridwatch
