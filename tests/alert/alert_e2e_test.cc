// End-to-end tests of the alert stage (CTest label alerts-e2e): findings go through the real
// AlertManager, SQLite store files, Dispatcher and Boost.Beast HTTP client to real HTTP
// receivers on loopback; escalation runs on a FakeClock (no sleeps). The MQTT test uses a real
// Mosquitto started by the test.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "alert/alert_api.h"
#include "alert/alert_manager.h"
#include "alert/alert_stage.h"
#include "alert/dispatcher.h"
#include "alert/notifier.h"
#include "common/time_util.h"
#include "tests/alert/alert_test_util.h"
#include "tests/alert/http_receiver.h"

#ifdef GRIDWATCH_HAVE_MOSQUITTO_SUPPORT
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#endif

namespace gridwatch {
namespace {

using nlohmann::json;
using test_support::AlertTempDir;
using test_support::HttpReceiver;
using test_support::MakeContact;
using test_support::MakeFinding;
using test_support::RecordedRequest;

const int64_t kT0 = *ParseRfc3339("2026-11-27T10:00:00+08:00");
constexpr const char* kSecret = "worker-secret-1";
constexpr const char* kTokenS1 = "token-street-s1-0123456789";
constexpr const char* kTokenS2 = "token-street-s2-0123456789";

// The service's alert half wired as the app wires it, on one SQLite file.
struct Service {
  Service(const std::string& db, const Clock* clock, std::vector<Contact> contacts,
          AlertOptions options = {}, MessagePublisher* publisher = nullptr)
      : store(AlertStore::Open(db)), metrics(prom) {
    AlertManagerDeps d;
    d.store = store.get();
    d.registry = test_support::TestRegistry();
    d.clock = clock;
    d.publisher = publisher;
    d.metrics = &metrics;
    d.tz = TimeZone::Fixed(8 * 3600, "CST");
    d.contacts = contacts;
    manager = std::make_unique<AlertManager>(options, std::move(d));
    DispatcherDeps dd;
    dd.store = store.get();
    dd.clock = clock;
    dd.contacts = std::move(contacts);
    dd.publisher = publisher;
    dd.metrics = &metrics;
    dd.http_timeout_ms = 5000;
    dd.jitter_seed = 7;
    dispatcher = std::make_unique<Dispatcher>(options, std::move(dd));
    api = std::make_unique<AlertApi>(
        manager.get(),
        std::vector<ApiToken>{{kTokenS1, "street", "S1"}, {kTokenS2, "street", "S2"}}, clock);
  }

  ApiResponse Call(const std::string& method, const std::string& target, const char* token,
                   std::string body = "") {
    ApiRequest r;
    r.method = method;
    r.SetTarget(target);
    r.headers.emplace_back("Authorization", std::string("Bearer ") + token);
    r.body = std::move(body);
    return api->Handle(r);
  }

  prometheus::Registry prom;
  std::unique_ptr<AlertStore> store;
  AlertMetrics metrics;
  std::unique_ptr<AlertManager> manager;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<AlertApi> api;
};

class AlertE2eTest : public ::testing::Test {
 protected:
  AlertE2eTest() : clock_(kT0 * 1000) {
    contacts_ = {
        MakeContact("grid", "G1", "Li", Channel::kWebhook, grid_.url("/hook/g1"), kSecret),
        MakeContact("community", "C1", "Zhao", Channel::kWebhook, community_.url("/hook/c1"),
                    "community-secret"),
        MakeContact("street", "S1", "Sun", Channel::kWebhook, street_.url("/hook/s1"),
                    "street-secret"),
        MakeContact("grid", "G3", "Wu", Channel::kWebhook, other_.url("/hook/g3"), "s3"),
    };
  }

  // Ticks the manager and drains the outbox, as the app's loops do.
  void Step(Service& s) {
    s.manager->Tick();
    s.dispatcher->RunOnce();
  }

  AlertTempDir dir_;
  FakeClock clock_;
  HttpReceiver grid_, community_, street_, other_;
  std::vector<Contact> contacts_;
};

TEST_F(AlertE2eTest, AlertReachesTheWorkersWebhookWithAValidSignature) {
  Service s(dir_.File("a.db"), &clock_, contacts_);
  ASSERT_EQ(
      s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
      FindingResult::kOpened);
  EXPECT_EQ(grid_.RequestCount(), 0u) << "nothing is sent before the dispatcher runs";
  EXPECT_EQ(s.dispatcher->RunOnce().sent, 1u);
  const auto reqs = grid_.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  const RecordedRequest& r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hook/g1");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("x-gridwatch-signature"), "sha256=" + HmacSha256Hex(kSecret, r.body));
  EXPECT_NE(r.Header("x-gridwatch-signature"), "sha256=" + HmacSha256Hex("wrong", r.body));
  EXPECT_FALSE(r.Header("idempotency-key").empty());
  const json body = json::parse(r.body);
  EXPECT_EQ(body["household"], "H1");
  EXPECT_EQ(body["kind"], "inactivity");
  EXPECT_EQ(body["opened_at"], FormatRfc3339Utc(kT0));
  EXPECT_NE(body["message"].get<std::string>().find("1 Plum Lane"), std::string::npos);
  EXPECT_NE(body["message"].get<std::string>().find("请先致电，再上门查看"), std::string::npos);
  EXPECT_EQ(community_.RequestCount() + street_.RequestCount() + other_.RequestCount(), 0u);
  EXPECT_EQ(s.dispatcher->RunOnce().sent, 0u);
  EXPECT_EQ(grid_.RequestCount(), 1u);
}

TEST_F(AlertE2eTest, NoAckEscalatesToCommunityThenStreetOnSchedule) {
  AlertOptions o;
  o.escalate_high_s = 30 * 60;
  o.max_repeats = 1;
  Service s(dir_.File("a.db"), &clock_, contacts_, o);
  s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  Step(s);
  EXPECT_EQ(grid_.RequestCount(), 1u);
  clock_.AdvanceS(30 * 60 - 1);
  Step(s);
  EXPECT_EQ(community_.RequestCount(), 0u) << "not before the delay";
  clock_.AdvanceS(1);
  Step(s);
  ASSERT_EQ(community_.RequestCount(), 1u);
  const RecordedRequest c = community_.Requests()[0];
  EXPECT_EQ(c.Header("x-gridwatch-signature"),
            "sha256=" + HmacSha256Hex("community-secret", c.body));
  EXPECT_EQ(json::parse(c.body)["event"], "escalated");
  EXPECT_EQ(street_.RequestCount(), 0u);
  clock_.AdvanceS(30 * 60);
  Step(s);
  EXPECT_EQ(street_.RequestCount(), 1u);
  // One bounded repeat at the street, then silence.
  for (int i = 0; i < 4; ++i) {
    clock_.AdvanceS(30 * 60);
    Step(s);
  }
  EXPECT_EQ(street_.RequestCount(), 2u);
  EXPECT_EQ(grid_.RequestCount(), 1u);
  EXPECT_EQ(community_.RequestCount(), 1u);
}

TEST_F(AlertE2eTest, AckThroughTheApiStopsEscalation) {
  Service s(dir_.File("a.db"), &clock_, contacts_);
  s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  Step(s);
  clock_.AdvanceS(10 * 60);
  const auto r = s.Call("POST", "/api/v1/alerts/1/ack", kTokenS1, R"({"by":"Li"})");
  ASSERT_EQ(r.status, 200) << r.body;
  for (int i = 0; i < 12; ++i) {
    clock_.AdvanceS(3600);
    Step(s);
  }
  EXPECT_EQ(grid_.RequestCount(), 1u);
  EXPECT_EQ(community_.RequestCount(), 0u);
  EXPECT_EQ(street_.RequestCount(), 0u);
}

TEST_F(AlertE2eTest, ReceiverDownIsRetriedUntilDeliveredOnce) {
  AlertOptions o;
  o.retry_initial_s = 5;
  o.retry_max_s = 60;
  o.max_attempts = 200;
  o.escalate_high_s = 24 * 3600;  // keep escalation out of this test
  Service s(dir_.File("a.db"), &clock_, contacts_, o);
  grid_.Stop();
  s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  // Down for ~an hour of (fake) time: every due attempt fails with connection refused.
  uint64_t retried = 0;
  for (int i = 0; i < 60; ++i) {
    retried += s.dispatcher->RunOnce().retried;
    clock_.AdvanceS(60);
  }
  EXPECT_GE(retried, 40u);
  auto ds = s.store->ListDeliveries(1);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].state, DeliveryState::kPending);
  EXPECT_FALSE(ds[0].last_error.empty());
  grid_.Start();
  grid_.SetResponse(503);  // up but failing
  clock_.AdvanceS(60);
  s.dispatcher->RunOnce();
  EXPECT_EQ(grid_.RequestCount(), 1u);
  grid_.SetResponse(200);
  for (int i = 0; i < 5; ++i) {
    clock_.AdvanceS(60);
    s.dispatcher->RunOnce();
  }
  EXPECT_EQ(grid_.RequestCount(), 2u) << "one failed answer, then exactly one delivery";
  ds = s.store->ListDeliveries(1);
  EXPECT_EQ(ds[0].state, DeliveryState::kSent);
  const auto reqs = grid_.Requests();
  EXPECT_EQ(reqs[0].Header("idempotency-key"), reqs[1].Header("idempotency-key"));
  EXPECT_EQ(s.dispatcher->stats().sent, 1u);
}

TEST_F(AlertE2eTest, CrashBetweenStoreAndSendDeliversAfterRestartOnce) {
  const std::string db = dir_.File("alerts.db");
  {
    Service s(db, &clock_, contacts_);
    s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
    s.manager->OnFinding(MakeFinding(2, AlertKind::kFrozen, FindingState::kRaised, kT0));
    // Gone without running the dispatcher: the deliveries exist only in the file.
  }
  EXPECT_EQ(grid_.RequestCount() + other_.RequestCount(), 0u);
  {
    Service s(db, &clock_, contacts_);
    EXPECT_EQ(s.store->CountPending(), 2);
    EXPECT_EQ(s.dispatcher->RunOnce().sent, 2u);
    EXPECT_EQ(s.dispatcher->RunOnce().sent, 0u);
    // The restarted manager knows the open alert: a new finding updates it.
    EXPECT_EQ(s.manager->OnFinding(
                  MakeFinding(0, AlertKind::kInactivity, FindingState::kUpdated, kT0 + 60)),
              FindingResult::kUpdated);
  }
  {
    Service s(db, &clock_, contacts_);
    EXPECT_EQ(s.dispatcher->RunOnce().sent, 0u) << "sent deliveries are never resent";
  }
  EXPECT_EQ(grid_.RequestCount(), 1u);
  EXPECT_EQ(other_.RequestCount(), 1u);
}

// The workload of SigkillAtAnyPointLosesNoDelivery, run in a child process (this binary
// re-executed with GW_ALERT_CHILD_DB set): opens and clears alerts and sends them, forever.
TEST(AlertE2eChild, SigkillWorkload) {
  const char* db = std::getenv("GW_ALERT_CHILD_DB");
  if (!db) GTEST_SKIP() << "runs only as the child of SigkillAtAnyPointLosesNoDelivery";
  const std::vector<Contact> contacts = {
      MakeContact("grid", "G1", "Li", Channel::kWebhook, std::getenv("GW_ALERT_CHILD_G1"), kSecret),
      MakeContact("grid", "G3", "Wu", Channel::kWebhook, std::getenv("GW_ALERT_CHILD_G3"), "s3"),
  };
  FakeClock clock(kT0 * 1000);
  Service s(db, &clock, contacts);
  for (int64_t i = 0;; ++i) {
    const HouseholdIndex h = (i % 2 == 0) ? 0 : 2;
    const int64_t t = kT0 + i * 60;
    clock.SetMs(t * 1000);
    s.manager->OnFinding(MakeFinding(h, AlertKind::kInactivity, FindingState::kRaised, t));
    s.dispatcher->RunOnce();
    s.manager->OnFinding(MakeFinding(h, AlertKind::kInactivity, FindingState::kCleared, t + 30));
    s.dispatcher->RunOnce();
  }
}

// A real SIGKILL of a process in the middle of opening alerts and sending them: after a restart
// on the same file every stored delivery reaches its receiver, and at most the one request that
// was in flight at the kill is received twice (same Idempotency-Key).
TEST_F(AlertE2eTest, SigkillAtAnyPointLosesNoDelivery) {
  const std::string db = dir_.File("killed.db");
  const std::string env_db = "GW_ALERT_CHILD_DB=" + db;
  const std::string env_g1 = "GW_ALERT_CHILD_G1=" + grid_.url("/hook/g1");
  const std::string env_g3 = "GW_ALERT_CHILD_G3=" + other_.url("/hook/g3");
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(const_cast<char*>(env_db.c_str()));
  envp.push_back(const_cast<char*>(env_g1.c_str()));
  envp.push_back(const_cast<char*>(env_g3.c_str()));
  envp.push_back(nullptr);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=AlertE2eChild.SigkillWorkload";
  char* argv[] = {self.data(), filter.data(), nullptr};
  pid_t child = -1;
  ASSERT_EQ(::posix_spawn(&child, self.c_str(), nullptr, nullptr, argv, envp.data()), 0);
  const bool enough = grid_.WaitForRequests(40, 20000);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(enough) << "the child did not get going: " << grid_.RequestCount() << " requests";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  Service s(db, &clock_, contacts_);
  for (int i = 0; i < 5 && s.store->CountPending() > 0; ++i) {
    clock_.SetMs(clock_.NowMs() + 3600 * 1000);
    s.dispatcher->RunOnce();
  }
  EXPECT_EQ(s.store->CountPending(), 0);
  std::set<std::string> stored;
  for (const Delivery& d : s.store->ListDeliveries(0)) {
    EXPECT_NE(d.state, DeliveryState::kDead) << d.idempotency_key;
    if (d.state == DeliveryState::kSent) stored.insert(d.idempotency_key);
  }
  std::vector<std::string> received;
  for (const auto* rx : {&grid_, &other_})
    for (const auto& r : rx->Requests()) received.push_back(r.Header("idempotency-key"));
  const std::set<std::string> distinct(received.begin(), received.end());
  EXPECT_EQ(distinct, stored) << "every stored delivery arrived, nothing unknown arrived";
  EXPECT_LE(received.size() - distinct.size(), 1u) << "at most the in-flight one twice";
  EXPECT_GE(stored.size(), 40u);
}

TEST_F(AlertE2eTest, RegisteredAbsenceSuppressesWelfareButNotMeterSilent) {
  Service s(dir_.File("a.db"), &clock_, contacts_);
  const auto r = s.Call("POST", "/api/v1/absences", kTokenS1,
                        R"({"household":"H1","from":"2026-11-27T00:00:00+08:00",)"
                        R"("to":"2026-11-30T00:00:00+08:00","reason":"at daughter's"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(
      s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
      FindingResult::kSuppressedAbsence);
  EXPECT_EQ(s.manager->OnFinding(
                MakeFinding(0, AlertKind::kNoMorningActivity, FindingState::kRaised, kT0 + 3600)),
            FindingResult::kSuppressedAbsence);
  Step(s);
  EXPECT_EQ(grid_.RequestCount(), 0u);
  EXPECT_EQ(
      s.manager->OnFinding(MakeFinding(0, AlertKind::kMeterSilent, FindingState::kRaised, kT0)),
      FindingResult::kOpened);
  Step(s);
  ASSERT_EQ(grid_.RequestCount(), 1u);
  EXPECT_EQ(json::parse(grid_.Requests()[0].body)["kind"], "meter_silent");
}

TEST_F(AlertE2eTest, StreetTokenCannotReadOrAckAnotherStreetsAlert) {
  Service s(dir_.File("a.db"), &clock_, contacts_);
  s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));  // S1
  Step(s);
  const auto get = s.Call("GET", "/api/v1/alerts/1", kTokenS2);
  const auto ack = s.Call("POST", "/api/v1/alerts/1/ack", kTokenS2);
  const auto missing = s.Call("GET", "/api/v1/alerts/424242", kTokenS2);
  EXPECT_EQ(get.status, 403);
  EXPECT_EQ(ack.status, 403);
  EXPECT_EQ(get.body, missing.body);
  EXPECT_EQ(get.body.find("H1"), std::string::npos);
  EXPECT_EQ(json::parse(s.Call("GET", "/api/v1/alerts", kTokenS2).body)["count"], 0);
  // The foreign ack did nothing: the alert still escalates.
  clock_.AdvanceS(AlertOptions{}.escalate_high_s);
  Step(s);
  EXPECT_EQ(community_.RequestCount(), 1u);
  EXPECT_EQ(s.Call("GET", "/api/v1/alerts/1", kTokenS1).status, 200);
}

TEST_F(AlertE2eTest, RobotSmsAndNtfyChannelsOverRealHttp) {
  HttpReceiver robots;
  robots.SetResponse(200, R"({"errcode":0,"errmsg":"ok"})");
  std::vector<Contact> cs = {
      MakeContact("grid", "G1", "wecom", Channel::kWeCom, robots.url("/wecom?key=K1"), ""),
      MakeContact("grid", "G1", "ding", Channel::kDingTalk, robots.url("/ding?access_token=T"),
                  "SECding"),
      MakeContact("grid", "G1", "sms", Channel::kSms,
                  robots.url("/cgi-bin/sendsms?username=u&to=13800000000&text={text}"), ""),
      MakeContact("grid", "G1", "ntfy", Channel::kNtfy, robots.url("/gw-g1"), "", "en"),
  };
  Service s(dir_.File("a.db"), &clock_, cs);
  s.manager->OnFinding(
      MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0, Severity::kCritical));
  EXPECT_EQ(s.dispatcher->RunOnce().sent, 4u);
  std::map<std::string, RecordedRequest> by_path;
  for (const auto& r : robots.Requests()) by_path[r.target.substr(0, r.target.find('?'))] = r;
  ASSERT_EQ(by_path.size(), 4u);
  const json wecom = json::parse(by_path["/wecom"].body);
  EXPECT_EQ(wecom["msgtype"], "text");
  EXPECT_NE(wecom["text"]["content"].get<std::string>().find("请先致电"), std::string::npos);
  // DingTalk: the receiver recomputes the signature from the timestamp it got.
  const std::string ding = by_path["/ding"].target;
  const size_t ts = ding.find("timestamp=");
  const size_t sg = ding.find("&sign=");
  ASSERT_NE(ts, std::string::npos);
  ASSERT_NE(sg, std::string::npos);
  const int64_t ts_ms = std::stoll(ding.substr(ts + 10, sg - ts - 10));
  EXPECT_EQ(ts_ms, clock_.NowMs());
  EXPECT_EQ(ding.substr(sg + 6), DingTalkSign(ts_ms, "SECding"));
  EXPECT_EQ(by_path["/cgi-bin/sendsms"].method, "GET");
  EXPECT_NE(by_path["/cgi-bin/sendsms"].target.find("to=13800000000&text=gridwatch%20"),
            std::string::npos)
      << by_path["/cgi-bin/sendsms"].target;
  EXPECT_EQ(by_path["/gw-g1"].Header("priority"), "5");
  EXPECT_NE(by_path["/gw-g1"].body.find("call first, then visit"), std::string::npos);
}

TEST_F(AlertE2eTest, DispatcherThreadDeliversWhenWokenAndReportsTheOutbox) {
  Service s(dir_.File("a.db"), &clock_, contacts_);
  s.manager->SetEnqueuedCallback([&] { s.dispatcher->Wake(); });
  other_.Stop();  // H3's worker is unreachable: its delivery stays pending
  s.dispatcher->Start();
  s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  s.manager->OnFinding(MakeFinding(2, AlertKind::kInactivity, FindingState::kRaised, kT0));
  ASSERT_TRUE(grid_.WaitForRequests(1, 10000));
  clock_.AdvanceS(120);
  s.dispatcher->Stop();
  s.dispatcher->RunOnce();  // refresh the gauges at the new time (H3 fails again)
  EXPECT_EQ(grid_.RequestCount(), 1u);
  double pending = -1, oldest = -1;
  for (const auto& fam : s.prom.Collect()) {
    if (fam.name == "gridwatch_outbox_pending") pending = fam.metric.at(0).gauge.value;
    if (fam.name == "gridwatch_outbox_oldest_pending_seconds")
      oldest = fam.metric.at(0).gauge.value;
  }
  EXPECT_EQ(pending, 1);
  EXPECT_EQ(oldest, 120);
}

TEST_F(AlertE2eTest, HttpsWebhookIsDeliveredOnlyToAVerifiedPeer) {
  const std::string cert = dir_.File("cert.pem"), key = dir_.File("key.pem");
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " +
                          cert +
                          " -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                          ">/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl command not available";
  HttpReceiver tls_rx(cert, key);
  const std::string url = "https://127.0.0.1:" + std::to_string(tls_rx.port()) + "/hook";
  // Not trusted (system CAs only): refused before anything is sent.
  HttpRequest probe;
  probe.url = url;
  probe.body = "{}";
  const HttpResponse refused = NewBeastHttpClient()->Send(probe, 5000);
  EXPECT_EQ(refused.status, 0);
  EXPECT_NE(refused.error.find("certificate verify failed"), std::string::npos) << refused.error;
  // Right CA, wrong name: refused too.
  probe.url = "https://localhost:" + std::to_string(tls_rx.port()) + "/hook";
  EXPECT_EQ(NewBeastHttpClient({cert, true})->Send(probe, 5000).status, 0);
  EXPECT_EQ(tls_rx.RequestCount(), 0u);
  // Trusted: the whole path (manager -> outbox -> dispatcher) over TLS.
  auto cs = contacts_;
  cs[0].target = url;
  Service s(dir_.File("a.db"), &clock_, cs);
  DispatcherDeps dd;
  dd.store = s.store.get();
  dd.clock = &clock_;
  dd.contacts = cs;
  dd.http = NewBeastHttpClient({cert, true});
  Dispatcher tls_dispatcher(AlertOptions{}, std::move(dd));
  s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  EXPECT_EQ(tls_dispatcher.RunOnce().sent, 1u);
  ASSERT_EQ(tls_rx.RequestCount(), 1u);
  const RecordedRequest r = tls_rx.Requests()[0];
  EXPECT_EQ(r.Header("x-gridwatch-signature"), "sha256=" + HmacSha256Hex(kSecret, r.body));
  EXPECT_EQ(json::parse(r.body)["household"], "H1");
}

TEST_F(AlertE2eTest, AlertStageWiresStoreManagerDispatcherAndApiFromConfig) {
  Config config;
  config.data_dir = dir_.File("data");
  config.alert.contacts_csv = dir_.File("contacts.csv");
  config.alert.tokens_csv = dir_.File("tokens.csv");
  {
    std::ofstream c(config.alert.contacts_csv);
    c << "scope,scope_id,name,channel,target,secret,lang\n"
      << "grid,G1,Li,webhook," << grid_.url("/hook/g1") << "," << kSecret << ",zh-CN\n";
    std::ofstream t(config.alert.tokens_csv);
    t << "token,scope,scope_id\n" << kTokenS1 << ",street,S1\n";
  }
  prometheus::Registry prom;
  AlertStageDeps deps;
  deps.registry = test_support::TestRegistry();
  deps.clock = &clock_;
  deps.metrics = &prom;
  AlertStage stage(config, std::move(deps));
  stage.Start();
  ASSERT_EQ(
      stage.manager().OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
      FindingResult::kOpened);
  ASSERT_TRUE(grid_.WaitForRequests(1, 10000));
  const RecordedRequest r = grid_.Requests()[0];
  EXPECT_EQ(r.Header("x-gridwatch-signature"), "sha256=" + HmacSha256Hex(kSecret, r.body));
  ApiRequest req;
  req.method = "GET";
  req.SetTarget("/api/v1/alerts?state=notified");
  req.headers.emplace_back("Authorization", std::string("Bearer ") + kTokenS1);
  const ApiResponse res = stage.api().Handle(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(json::parse(res.body)["count"], 1);
  stage.Stop();
  EXPECT_TRUE(std::filesystem::exists(config.data_dir + "/alerts.db"));
}

#ifdef GRIDWATCH_HAVE_MOSQUITTO_SUPPORT
// The app's MessagePublisher, here over the test MQTT client (Paho underneath).
class TestClientPublisher final : public MessagePublisher {
 public:
  explicit TestClientPublisher(test_support::MqttTestClient* c) : c_(c) {}
  bool Publish(const std::string& topic, const std::string& payload, int qos) override {
    try {
      c_->Publish(topic, payload, qos);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

 private:
  test_support::MqttTestClient* c_;
};

TEST_F(AlertE2eTest, StateChangesOnTheAlertTopicAndTheMqttChannelThroughARealBroker) {
  test_support::MosquittoBroker broker;
  test_support::MqttTestClient pub_client(broker.url());
  pub_client.Connect();
  test_support::MqttTestClient sub(broker.url());
  sub.Connect();
  sub.Subscribe("gridwatch/alerts/S1/#", 1);
  sub.Subscribe("gridwatch/workers/#", 1);
  TestClientPublisher publisher(&pub_client);
  auto cs = contacts_;
  cs.push_back(MakeContact("grid", "G1", "app", Channel::kMqtt, "gridwatch/workers/li", ""));
  Service s(dir_.File("a.db"), &clock_, cs, {}, &publisher);
  s.manager->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  EXPECT_EQ(s.dispatcher->RunOnce().sent, 2u);  // webhook + mqtt
  ASSERT_TRUE(s.manager->Acknowledge(1, "grid:G1 Li"));
  ASSERT_TRUE(s.manager->Resolve(1, Outcome::kResidentFine, "asleep", "grid:G1 Li"));
  ASSERT_TRUE(sub.WaitFor(5, std::chrono::seconds(10)))
      << "got " << sub.MessageCount() << " messages";
  const auto on_topic = sub.MessagesOn("gridwatch/alerts/S1/C1/G1");
  ASSERT_EQ(on_topic.size(), 4u);
  std::vector<std::string> states;
  for (const auto& m : on_topic) {
    EXPECT_EQ(m.qos, 1);
    const json j = json::parse(m.payload);
    states.push_back(j["state"]);
    EXPECT_EQ(j["household"], "H1");
    EXPECT_EQ(m.payload.find("Plum Lane"), std::string::npos);  // no address on the shared topic
    EXPECT_EQ(m.payload.find("Li"), std::string::npos);         // no names
  }
  EXPECT_EQ(states, (std::vector<std::string>{"open", "notified", "acknowledged", "resolved"}));
  const auto worker = sub.MessagesOn("gridwatch/workers/li");
  ASSERT_EQ(worker.size(), 1u);
  const json w = json::parse(worker[0].payload);
  EXPECT_EQ(w["id"], 1);
  EXPECT_NE(w["message"].get<std::string>().find("1 Plum Lane"), std::string::npos);
}
#else
TEST_F(AlertE2eTest, StateChangesOnTheAlertTopicAndTheMqttChannelThroughARealBroker) {
  GTEST_SKIP() << "tests/support (Mosquitto helper) not available in this build";
}
#endif

}  // namespace
}  // namespace gridwatch
