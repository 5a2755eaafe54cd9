#include "alert/alert_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "tests/alert/alert_test_util.h"

namespace gridwatch {
namespace {

using nlohmann::json;
using test_support::MakeFinding;

const int64_t kT0 = *ParseRfc3339("2026-11-27T10:00:00+08:00");
constexpr const char* kAdmin = "admin-token-0123456789";
constexpr const char* kS1 = "street-s1-token-0123456789";
constexpr const char* kS2 = "street-s2-token-0123456789";
constexpr const char* kG2 = "grid-g2-token-0123456789";

class FakeUsage final : public UsageProvider {
 public:
  std::optional<std::vector<UsagePoint>> Usage(HouseholdIndex h, int64_t from_s,
                                               int64_t to_s) override {
    last_from = from_s;
    last_to = to_s;
    if (h != 0) return std::nullopt;
    return std::vector<UsagePoint>{{to_s - 1800, 0.2, 0.5, 0.1, 0.9}, {to_s, -1, 0.4, 0.1, 0.8}};
  }
  int64_t last_from = 0, last_to = 0;
};

class AlertApiTest : public ::testing::Test {
 protected:
  AlertApiTest() : store_(AlertStore::Open(":memory:")), clock_(kT0 * 1000) {
    AlertManagerDeps d;
    d.store = store_.get();
    d.registry = test_support::TestRegistry();
    d.clock = &clock_;
    d.contacts = {test_support::MakeContact("grid", "G1", "Li", Channel::kWebhook, "http://x/1"),
                  test_support::MakeContact("grid", "G3", "Wu", Channel::kWebhook, "http://x/3")};
    manager_ = std::make_unique<AlertManager>(AlertOptions{}, std::move(d));
    api_ = std::make_unique<AlertApi>(manager_.get(),
                                      std::vector<ApiToken>{{kAdmin, "admin", ""},
                                                            {kS1, "street", "S1"},
                                                            {kS2, "street", "S2"},
                                                            {kG2, "grid", "G2"}},
                                      &clock_, &usage_);
    // Alert 1: H1 (S1/G1); alert 2: H3 (S2/G3).
    EXPECT_EQ(
        manager_->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
        FindingResult::kOpened);
    EXPECT_EQ(manager_->OnFinding(MakeFinding(2, AlertKind::kFrozen, FindingState::kRaised, kT0)),
              FindingResult::kOpened);
  }

  ApiResponse Call(const std::string& method, const std::string& target, const char* token,
                   std::string body = "") {
    ApiRequest r;
    r.method = method;
    r.SetTarget(target);
    if (token) r.headers.emplace_back("authorization", std::string("Bearer ") + token);
    r.body = std::move(body);
    return api_->Handle(r);
  }

  std::unique_ptr<AlertStore> store_;
  FakeClock clock_;
  FakeUsage usage_;
  std::unique_ptr<AlertManager> manager_;
  std::unique_ptr<AlertApi> api_;
};

TEST_F(AlertApiTest, RejectsMissingAndUnknownTokens) {
  auto r = Call("GET", "/api/v1/alerts", nullptr);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"], "missing or unknown bearer token");
  EXPECT_EQ(Call("GET", "/api/v1/alerts", "nope-nope-nope-nope").status, 401);
  ApiRequest basic;
  basic.method = "GET";
  basic.SetTarget("/api/v1/alerts");
  basic.headers.emplace_back("Authorization", std::string("Basic ") + kAdmin);
  EXPECT_EQ(api_->Handle(basic).status, 401);
}

TEST_F(AlertApiTest, StreetTokenSeesOnlyItsStreet) {
  auto r = Call("GET", "/api/v1/alerts", kS1);
  ASSERT_EQ(r.status, 200);
  json j = json::parse(r.body);
  ASSERT_EQ(j["count"], 1);
  EXPECT_EQ(j["alerts"][0]["street"], "S1");
  // Asking for another street by filter finds nothing.
  j = json::parse(Call("GET", "/api/v1/alerts?street=S2", kS1).body);
  EXPECT_EQ(j["count"], 0);
  j = json::parse(Call("GET", "/api/v1/alerts?state=notified", kAdmin).body);
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(Call("GET", "/api/v1/alerts?state=bogus", kAdmin).status, 400);
}

TEST_F(AlertApiTest, OutOfScopeIsForbiddenAndRevealsNothing) {
  const auto other = Call("GET", "/api/v1/alerts/2", kS1);
  const auto missing = Call("GET", "/api/v1/alerts/999", kS1);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(missing.status, 403);
  EXPECT_EQ(other.body, missing.body);
  const auto ack_other = Call("POST", "/api/v1/alerts/2/ack", kS1);
  const auto ack_missing = Call("POST", "/api/v1/alerts/999/ack", kS1);
  EXPECT_EQ(ack_other.status, 403);
  EXPECT_EQ(ack_other.body, ack_missing.body);
  EXPECT_EQ(manager_->GetAlert(2)->state, AlertState::kNotified) << "the ack must not happen";
  EXPECT_EQ(Call("POST", "/api/v1/alerts/2/resolve", kS1, R"({"outcome":"resident_fine"})").status,
            403);
  // A grid token of the same street but another grid is out of scope too.
  EXPECT_EQ(Call("GET", "/api/v1/alerts/1", kG2).status, 403);
  // Admin sees 404 for a missing id.
  EXPECT_EQ(Call("GET", "/api/v1/alerts/999", kAdmin).status, 404);
}

TEST_F(AlertApiTest, GetAckAndResolveInScope) {
  auto r = Call("GET", "/api/v1/alerts/1", kS1);
  ASSERT_EQ(r.status, 200);
  json j = json::parse(r.body);
  EXPECT_EQ(j["household"], "H1");
  EXPECT_EQ(j["state"], "notified");
  EXPECT_EQ(j["transitions"].size(), 2u);
  clock_.AdvanceS(120);
  r = Call("POST", "/api/v1/alerts/1/ack", kS1, R"({"by":"Li Na"})");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["state"], "acknowledged");
  EXPECT_EQ(j["acknowledged_by"], "street:S1 Li Na");
  EXPECT_EQ(Call("POST", "/api/v1/alerts/1/ack", kS1).status, 409);
  EXPECT_EQ(Call("POST", "/api/v1/alerts/1/resolve", kS1, "not json").status, 400);
  r = Call("POST", "/api/v1/alerts/1/resolve", kS1, R"({"outcome":"fine"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("resident_fine"),
            std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/alerts/1/resolve", kS1, R"({"outcome":"other"})").status, 422);
  r = Call("POST", "/api/v1/alerts/1/resolve", kS1,
           R"({"outcome":"resident_fine","note":"was asleep"})");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["state"], "resolved");
  EXPECT_EQ(j["outcome"], "resident_fine");
  EXPECT_EQ(j["note"], "was asleep");
  EXPECT_EQ(Call("POST", "/api/v1/alerts/1/resolve", kS1, R"({"outcome":"away"})").status, 409);
  EXPECT_EQ(Call("GET", "/api/v1/alerts?state=resolved", kS1).body.find("\"count\":1") !=
                std::string::npos,
            true);
}

TEST_F(AlertApiTest, AwayUntilADayRegistersTheAbsence) {
  // "She is at her daughter's until Sunday": one answer closes the alert and registers the
  // household's absence from the answer to then, so the quiet home is not paged all week.
  const int64_t now = clock_.NowMs() / 1000;
  const int64_t back = now + 3 * 86400;
  // until only with away or hospital, and in the next 90 days; refused before anything changes.
  EXPECT_EQ(Call("POST", "/api/v1/alerts/1/resolve", kS1,
                 R"({"outcome":"resident_fine","until":)" + std::to_string(back) + "}")
                .status,
            422);
  EXPECT_EQ(Call("POST", "/api/v1/alerts/1/resolve", kS1,
                 R"({"outcome":"away","until":)" + std::to_string(now - 60) + "}")
                .status,
            422);
  EXPECT_EQ(Call("POST", "/api/v1/alerts/1/resolve", kS1,
                 R"({"outcome":"away","until":)" + std::to_string(now + 100 * 86400) + "}")
                .status,
            422);
  EXPECT_EQ(
      Call("POST", "/api/v1/alerts/1/resolve", kS1, R"({"outcome":"away","until":"soon"})").status,
      422);
  EXPECT_EQ(manager_->GetAlert(1)->state, AlertState::kNotified) << "a refused answer changed it";
  EXPECT_TRUE(manager_->ListAbsences().empty());
  const auto r = Call("POST", "/api/v1/alerts/1/resolve", kS1,
                      R"({"outcome":"away","until":)" + std::to_string(back) + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outcome"], "away");
  const auto absences = manager_->ListAbsences();
  ASSERT_EQ(absences.size(), 1u);
  EXPECT_EQ(absences[0].scope, "household");
  EXPECT_EQ(absences[0].scope_id, "H1");
  EXPECT_EQ(absences[0].from_s, now);
  EXPECT_EQ(absences[0].to_s, back);
  EXPECT_EQ(absences[0].created_by, "street:S1");
  // The quiet home's next finding inside it is suppressed, as for an absence registered ahead.
  EXPECT_EQ(manager_->OnFinding(
                MakeFinding(0, AlertKind::kNoMorningActivity, FindingState::kRaised, now + 86400)),
            FindingResult::kSuppressedAbsence);
}

TEST_F(AlertApiTest, BadPathsAndMethods) {
  EXPECT_EQ(Call("GET", "/api/v1/nothing", kAdmin).status, 404);
  EXPECT_EQ(Call("GET", "/api/v2/alerts", kAdmin).status, 404);
  EXPECT_EQ(Call("DELETE", "/api/v1/alerts/1", kAdmin).status, 405);
  EXPECT_EQ(Call("GET", "/api/v1/alerts/abc", kAdmin).status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/alerts/1/ack", kAdmin).status, 405);
}

TEST_F(AlertApiTest, AbsencesCreateListDeleteWithinScope) {
  auto r = Call(
      "POST", "/api/v1/absences", kS1,
      R"({"household":"H1","from":"2026-11-28T00:00:00+08:00","to":"2026-12-01T00:00:00+08:00","reason":"visiting family"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const int64_t id = json::parse(r.body)["id"];
  EXPECT_EQ(json::parse(r.body)["created_by"], "street:S1");
  // Another street's household: 403, same as an unknown one.
  const auto other =
      Call("POST", "/api/v1/absences", kS1, R"({"household":"H3","from":1,"to":2,"reason":"x"})");
  const auto unknown =
      Call("POST", "/api/v1/absences", kS1, R"({"household":"H404","from":1,"to":2,"reason":"x"})");
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.body, unknown.body);
  EXPECT_EQ(Call("POST", "/api/v1/absences", kS1, R"({"household":"H1","from":5,"to":2})").status,
            422);
  EXPECT_EQ(Call("POST", "/api/v1/absences", kS1, R"({"household":"H1"})").status, 422);
  EXPECT_EQ(Call("POST", "/api/v1/absences", kS1, "[").status, 400);
  // A street silence from the street's token; a grid token cannot silence the street.
  r = Call("POST", "/api/v1/absences", kS1,
           R"({"scope":"street","scope_id":"S1","from":1,"to":2,"reason":"power cut"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(
      Call("POST", "/api/v1/absences", kG2, R"({"scope":"street","scope_id":"S1","from":1,"to":2})")
          .status,
      403);
  auto list = json::parse(Call("GET", "/api/v1/absences", kS1).body);
  EXPECT_EQ(list["count"], 2);
  list = json::parse(Call("GET", "/api/v1/absences", kS2).body);
  EXPECT_EQ(list["count"], 0);
  EXPECT_EQ(Call("DELETE", "/api/v1/absences/" + std::to_string(id), kS2).status, 403);
  EXPECT_EQ(Call("DELETE", "/api/v1/absences/" + std::to_string(id), kS1).status, 200);
  EXPECT_EQ(Call("DELETE", "/api/v1/absences/" + std::to_string(id), kAdmin).status, 404);
  // The absence really suppresses.
  Call("POST", "/api/v1/absences", kAdmin,
       R"({"household":"H2","from":"2026-11-27T00:00:00Z","to":"2026-11-29T00:00:00Z"})");
  EXPECT_EQ(manager_->OnFinding(MakeFinding(1, AlertKind::kInactivity, FindingState::kRaised, kT0)),
            FindingResult::kSuppressedAbsence);
}

TEST_F(AlertApiTest, UsageDelegatesToTheProvider) {
  auto r = Call("GET", "/api/v1/households/H1/usage?hours=24", kS1);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  ASSERT_EQ(j["points"].size(), 2u);
  EXPECT_EQ(j["points"][0]["kwh"], 0.2);
  EXPECT_EQ(j["points"][0]["expected"], 0.5);
  EXPECT_TRUE(j["points"][1]["kwh"].is_null());
  EXPECT_EQ(usage_.last_to - usage_.last_from, 24 * 3600);
  EXPECT_EQ(Call("GET", "/api/v1/households/H1/usage?hours=0", kS1).status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/households/H3/usage", kS1).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/households/H404/usage", kS1).body,
            Call("GET", "/api/v1/households/H3/usage", kS1).body);
  AlertApi no_usage(manager_.get(), {{kAdmin, "admin", ""}}, &clock_, nullptr);
  ApiRequest req;
  req.method = "GET";
  req.SetTarget("/api/v1/households/H1/usage");
  req.headers.emplace_back("Authorization", std::string("Bearer ") + kAdmin);
  EXPECT_EQ(no_usage.Handle(req).status, 501);
}

TEST_F(AlertApiTest, OneTapLinkAcknowledgesWithoutAToken) {
  std::string link;
  for (const Delivery& d : store_->ListDeliveries(1)) link = json::parse(d.payload)["ack_url"];
  ASSERT_TRUE(link.starts_with("http://127.0.0.1:8080/api/v1/alerts/1/ack?c=")) << link;
  const std::string target = link.substr(std::string("http://127.0.0.1:8080").size());
  // Tampered or moved to another alert: refused, nothing acknowledged.
  std::string bad = target;
  bad.back() = bad.back() == '0' ? '1' : '0';
  EXPECT_EQ(Call("GET", bad, nullptr).status, 403);
  EXPECT_EQ(Call("POST", bad, nullptr).status, 403);
  std::string other = target;
  other.replace(other.find("/alerts/1/"), 10, "/alerts/2/");
  EXPECT_EQ(Call("POST", other, nullptr).status, 403);
  EXPECT_EQ(manager_->GetAlert(1)->state, AlertState::kNotified);
  EXPECT_EQ(manager_->GetAlert(2)->state, AlertState::kNotified);
  // Opening the link (or a chat app previewing it) only shows the button.
  auto r = Call("GET", target, nullptr);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<form method=\"post\">"), std::string::npos) << r.body;
  EXPECT_EQ(manager_->GetAlert(1)->state, AlertState::kNotified);
  // The button: acknowledged, attributed to the contact it was sent to.
  clock_.AdvanceS(90);
  r = Call("POST", target, nullptr);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("已确认告警 #1"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("H1"), std::string::npos) << "the page reveals nothing of the alert";
  const Alert a = *manager_->GetAlert(1);
  EXPECT_EQ(a.state, AlertState::kAcknowledged);
  EXPECT_EQ(a.acknowledged_by, "grid:G1 Li (link)");
  // A second tap is harmless.
  r = Call("POST", target, nullptr);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("已被确认或已关闭"), std::string::npos);
}

TEST(ApiRequestTest, SetTargetDecodesQuery) {
  ApiRequest r;
  r.SetTarget("/api/v1/alerts?state=open&street=%E8%A5%BF%E6%B9%96+1&flag");
  EXPECT_EQ(r.path, "/api/v1/alerts");
  EXPECT_EQ(r.query["state"], "open");
  EXPECT_EQ(r.query["street"], "西湖 1");
  EXPECT_TRUE(r.query.contains("flag"));
}

}  // namespace
}  // namespace gridwatch
