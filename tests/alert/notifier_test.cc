#include "alert/notifier.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "alert/csv_files.h"
#include "alert/dispatcher.h"
#include "config/config_error.h"
#include "tests/alert/alert_test_util.h"

namespace gridwatch {
namespace {

using nlohmann::json;
using test_support::HeaderOf;
using test_support::MakeContact;
using test_support::RecordingHttpClient;
using test_support::RecordingPublisher;

Delivery MakeDelivery(const Contact& c, int64_t at_ms = 1000) {
  Delivery d;
  d.alert_id = 7;
  d.contact_key = c.Key();
  d.channel = c.channel;
  d.target = c.target;
  d.idempotency_key = "gw-7-opened-l0-r0-abc";
  d.payload = json{{"event", "opened"},
                   {"title", "gridwatch #7 inactivity (high)"},
                   {"text", "地址：1 Plum Lane 请先致电，再上门查看。"},
                   {"ack_url", "http://gw/api/v1/alerts/7/ack"},
                   {"alert", {{"id", 7}, {"kind", "inactivity"}, {"severity", "critical"}}}}
                  .dump();
  d.created_ms = d.not_before_ms = d.next_attempt_ms = at_ms;
  return d;
}

TEST(HmacTest, MatchesRfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ChannelTest, WebhookIsSignedAndCarriesTheIdempotencyKey) {
  const Contact c = MakeContact("grid", "G1", "Li", Channel::kWebhook, "http://h:1/hook", "k3y");
  const ChannelMessage m = BuildChannelMessage(MakeDelivery(c), c, {}, 1);
  ASSERT_TRUE(m.error.empty());
  EXPECT_EQ(m.http.method, "POST");
  EXPECT_EQ(m.http.url, "http://h:1/hook");
  EXPECT_EQ(HeaderOf(m.http, "X-Gridwatch-Signature"),
            "sha256=" + HmacSha256Hex("k3y", m.http.body));
  EXPECT_EQ(HeaderOf(m.http, "Idempotency-Key"), "gw-7-opened-l0-r0-abc");
  const json body = json::parse(m.http.body);
  EXPECT_EQ(body["id"], 7);
  EXPECT_EQ(body["event"], "opened");
  EXPECT_NE(body["message"].get<std::string>().find("请先致电"), std::string::npos);
}

TEST(ChannelTest, WeComAndDingTalkRobots) {
  const Contact w = MakeContact("grid", "G1", "g", Channel::kWeCom,
                                "http://qyapi/cgi-bin/webhook/send?key=K", "");
  ChannelMessage m = BuildChannelMessage(MakeDelivery(w), w, {}, 1);
  json body = json::parse(m.http.body);
  EXPECT_EQ(body["msgtype"], "text");
  EXPECT_NE(body["text"]["content"].get<std::string>().find("1 Plum Lane"), std::string::npos);
  EXPECT_EQ(m.http.url, w.target);

  const Contact d = MakeContact("grid", "G1", "g", Channel::kDingTalk,
                                "http://oapi/robot/send?access_token=T", "SECabc");
  m = BuildChannelMessage(MakeDelivery(d), d, {}, 1700000000123);
  EXPECT_EQ(m.http.url, "http://oapi/robot/send?access_token=T&timestamp=1700000000123&sign=" +
                            DingTalkSign(1700000000123, "SECabc"));
  EXPECT_EQ(json::parse(m.http.body)["msgtype"], "text");
  // The sign is url-encoded base64 of a 32-byte MAC.
  const std::string sign = DingTalkSign(1700000000123, "SECabc");
  EXPECT_NE(sign.find("%3D"), std::string::npos);  // '=' padding encoded
  EXPECT_EQ(sign.find('+'), std::string::npos);
}

TEST(ChannelTest, SmsNtfyAndMqtt) {
  const Contact s = MakeContact("grid", "G1", "g", Channel::kSms, "13800000000", "");
  SmsOptions sms{"http://kannel:13013/cgi-bin/sendsms?user=u&to={to}&text={text}", "GET"};
  ChannelMessage m = BuildChannelMessage(MakeDelivery(s), s, sms, 1);
  EXPECT_EQ(m.http.method, "GET");
  EXPECT_TRUE(m.http.url.starts_with(
      "http://kannel:13013/cgi-bin/sendsms?user=u&to=13800000000&text=%E5%9C%B0"))
      << m.http.url;
  EXPECT_FALSE(BuildChannelMessage(MakeDelivery(s), s, {}, 1).error.empty());

  const Contact n = MakeContact("grid", "G1", "g", Channel::kNtfy, "http://ntfy/gw-g1", "");
  m = BuildChannelMessage(MakeDelivery(n), n, {}, 1);
  EXPECT_EQ(m.http.body, "地址：1 Plum Lane 请先致电，再上门查看。");
  EXPECT_EQ(HeaderOf(m.http, "Title"), "gridwatch #7 inactivity (high)");
  EXPECT_EQ(HeaderOf(m.http, "Priority"), "5");
  EXPECT_EQ(HeaderOf(m.http, "Tags"), "warning,house");

  const Contact q = MakeContact("grid", "G1", "g", Channel::kMqtt, "gridwatch/workers/li", "");
  m = BuildChannelMessage(MakeDelivery(q), q, {}, 1);
  EXPECT_TRUE(m.is_mqtt);
  EXPECT_EQ(m.mqtt_topic, "gridwatch/workers/li");
  EXPECT_EQ(json::parse(m.mqtt_payload)["idempotency_key"], "gw-7-opened-l0-r0-abc");
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : store_(AlertStore::Open(":memory:")), clock_(1000), metrics_(prom_) {
    Alert a;
    a.household_id = "H1";
    EXPECT_TRUE(store_->InsertAlert(&a));
    alert_id_ = a.id;
  }
  std::unique_ptr<Dispatcher> Make(AlertOptions o = {}) {
    DispatcherDeps d;
    d.store = store_.get();
    d.clock = &clock_;
    d.contacts = {contact_, mqtt_contact_};
    auto http = std::make_unique<RecordingHttpClient>();
    http_ = http.get();
    d.http = std::move(http);
    d.publisher = &pub_;
    d.metrics = &metrics_;
    d.jitter_seed = 42;
    return std::make_unique<Dispatcher>(o, std::move(d));
  }
  int64_t Enqueue(const Contact& c, const std::string& key) {
    Delivery d = MakeDelivery(c, clock_.NowMs());
    d.alert_id = alert_id_;
    d.idempotency_key = key;
    EXPECT_TRUE(store_->EnqueueDelivery(&d));
    return d.id;
  }
  double Counter(const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const auto& fam : prom_.Collect()) {
      if (fam.name != name) continue;
      for (const auto& m : fam.metric) {
        std::map<std::string, std::string> got;
        for (const auto& l : m.label) got[l.name] = l.value;
        if (got == labels)
          return fam.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
      }
    }
    return 0;
  }

  Contact contact_ = MakeContact("grid", "G1", "Li", Channel::kWebhook, "http://h:1/hook");
  Contact mqtt_contact_ = MakeContact("grid", "G1", "Li", Channel::kMqtt, "gw/workers/li");
  std::unique_ptr<AlertStore> store_;
  FakeClock clock_;
  prometheus::Registry prom_;
  AlertMetrics metrics_;
  RecordingPublisher pub_;
  RecordingHttpClient* http_ = nullptr;
  int64_t alert_id_ = 0;
};

TEST_F(DispatcherTest, SendsOnceAndMarksSent) {
  auto disp = Make();
  Enqueue(contact_, "k1");
  EXPECT_EQ(disp->RunOnce().sent, 1u);
  EXPECT_EQ(disp->RunOnce().sent, 0u);
  EXPECT_EQ(http_->requests().size(), 1u);
  EXPECT_EQ(store_->ListDeliveries(alert_id_)[0].state, DeliveryState::kSent);
  EXPECT_EQ(Counter("gridwatch_deliveries_total", {{"channel", "webhook"}, {"result", "sent"}}), 1);
  EXPECT_EQ(Counter("gridwatch_outbox_pending", {}), 0);
}

TEST_F(DispatcherTest, RetriesWithBoundedExponentialBackoffAndJitter) {
  AlertOptions o;
  o.retry_initial_s = 5;
  o.retry_max_s = 60;
  o.max_attempts = 10;
  auto disp = Make(o);
  EXPECT_EQ(disp->BackoffMs(1), 5000);
  EXPECT_EQ(disp->BackoffMs(2), 10000);
  EXPECT_EQ(disp->BackoffMs(4), 40000);
  EXPECT_EQ(disp->BackoffMs(5), 60000);
  EXPECT_EQ(disp->BackoffMs(9), 60000);
  http_->SetDefault({503, "", ""});
  Enqueue(contact_, "k1");
  EXPECT_EQ(disp->RunOnce().retried, 1u);
  Delivery d = store_->ListDeliveries(alert_id_)[0];
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_error, "HTTP 503");
  EXPECT_GE(d.next_attempt_ms, clock_.NowMs() + 2500);
  EXPECT_LE(d.next_attempt_ms, clock_.NowMs() + 5000);
  EXPECT_EQ(disp->RunOnce().retried, 0u) << "not due yet";
  EXPECT_EQ(Counter("gridwatch_outbox_pending", {}), 1);
  clock_.SetMs(d.next_attempt_ms);
  http_->SetDefault({200, "", "{}"});
  EXPECT_EQ(disp->RunOnce().sent, 1u);
  EXPECT_EQ(store_->ListDeliveries(alert_id_)[0].attempts, 2);
  EXPECT_EQ(http_->requests().size(), 2u);
  // Same idempotency key on both attempts.
  EXPECT_EQ(HeaderOf(http_->requests()[0], "Idempotency-Key"),
            HeaderOf(http_->requests()[1], "Idempotency-Key"));
}

TEST_F(DispatcherTest, DeadAfterMaxAttemptsIsCounted) {
  AlertOptions o;
  o.max_attempts = 3;
  auto disp = Make(o);
  http_->SetDefault({0, "connection refused", ""});
  Enqueue(contact_, "k1");
  for (int i = 0; i < 10; ++i) {
    disp->RunOnce();
    clock_.AdvanceS(3600);
  }
  EXPECT_EQ(http_->requests().size(), 3u);
  const Delivery d = store_->ListDeliveries(alert_id_)[0];
  EXPECT_EQ(d.state, DeliveryState::kDead);
  EXPECT_EQ(d.last_error, "connection refused");
  EXPECT_EQ(disp->stats().dead, 1u);
  EXPECT_EQ(Counter("gridwatch_deliveries_dead_total", {}), 1);
}

TEST_F(DispatcherTest, RobotErrcodeIsAFailureAndUnknownContactIsDead) {
  Contact robot = MakeContact("grid", "G1", "R", Channel::kWeCom, "http://qy/send?key=1", "");
  contact_ = robot;
  auto disp = Make();
  http_->Push({200, "", R"({"errcode":93000,"errmsg":"invalid webhook url"})"});
  Enqueue(robot, "k1");
  EXPECT_EQ(disp->RunOnce().retried, 1u);
  EXPECT_NE(store_->ListDeliveries(alert_id_)[0].last_error.find("93000"), std::string::npos);
  Enqueue(MakeContact("grid", "G9", "Gone", Channel::kWebhook, "http://x/"), "k2");
  clock_.AdvanceS(3600);
  const auto pass = disp->RunOnce();
  EXPECT_EQ(pass.sent, 1u);
  EXPECT_EQ(pass.dead, 1u);
}

TEST_F(DispatcherTest, MqttChannelGoesThroughThePublisher) {
  auto disp = Make();
  Enqueue(mqtt_contact_, "k1");
  EXPECT_EQ(disp->RunOnce().sent, 1u);
  ASSERT_EQ(pub_.messages().size(), 1u);
  EXPECT_EQ(pub_.messages()[0].topic, "gw/workers/li");
  EXPECT_EQ(pub_.messages()[0].qos, 1);
  pub_.set_ok(false);
  Enqueue(mqtt_contact_, "k2");
  EXPECT_EQ(disp->RunOnce().retried, 1u);
}

TEST(CsvFilesTest, ContactsAreValidatedWithFileAndLine) {
  auto cs = ParseContactsCsv(
      "scope,scope_id,name,channel,target,secret,lang\n"
      "grid,G1,Li,webhook,http://h/hook,k,\n"
      "# comment\n"
      "street,S1,\"Sun, duty\",dingtalk,http://d/robot?access_token=1,SECx,en\n",
      "contacts.csv");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].lang, "zh-CN");
  EXPECT_EQ(cs[1].name, "Sun, duty");
  EXPECT_EQ(cs[1].channel, Channel::kDingTalk);
  auto err = [](const std::string& row) {
    try {
      ParseContactsCsv("scope,scope_id,name,channel,target,secret,lang\n" + row + "\n",
                       "contacts.csv");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(err("city,X,n,webhook,http://h,,"),
            "contacts.csv:2: scope must be grid, community or street (got 'city')");
  EXPECT_EQ(
      err("grid,G1,n,fax,http://h,,"),
      "contacts.csv:2: channel must be webhook, wecom, dingtalk, sms, ntfy or mqtt (got 'fax')");
  EXPECT_EQ(err("grid,G1,n,webhook,ftp://h,,"),
            "contacts.csv:2: webhook target must be an http:// or https:// URL");
  EXPECT_EQ(err("grid,G1,n,dingtalk,http://h,,"),
            "contacts.csv:2: dingtalk needs the robot's secret (SEC...)");
  EXPECT_EQ(err("grid,G1,n,sms,1380000,,fr"),
            "contacts.csv:2: lang must be zh-CN or en (got 'fr')");
  EXPECT_EQ(err("grid,G1,n,sms"), "contacts.csv:2: expected 7 columns, got 4");
  EXPECT_EQ(err("grid,,n,sms,1,,"), "contacts.csv:2: empty scope_id");
  EXPECT_THROW(ParseContactsCsv("scope,name\n", "c.csv"), ConfigError);
}

TEST(CsvFilesTest, TokensAndAbsences) {
  auto ts = ParseTokensCsv(
      "token,scope,scope_id\n0123456789abcdef,street,S1\nfedcba9876543210,admin,\n", "t.csv");
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].Label(), "street:S1");
  EXPECT_THROW(ParseTokensCsv("token,scope,scope_id\nshort,street,S1\n", "t.csv"), ConfigError);
  EXPECT_THROW(ParseTokensCsv("token,scope,scope_id\n0123456789abcdef,street,S1\n"
                              "0123456789abcdef,grid,G1\n",
                              "t.csv"),
               ConfigError);
  auto reg = test_support::TestRegistry();
  try {
    ParseAbsencesCsv(
        "household,from,to,reason\nH1,2026-11-27T00:00:00Z,2026-11-28T00:00:00Z,x\n"
        "H9,1,2,y\n",
        "absences.csv", *reg);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "absences.csv:3: unknown household 'H9'");
  }
  EXPECT_THROW(ParseAbsencesCsv("household,from,to,reason\nH1,5,2,x\n", "a.csv", *reg),
               ConfigError);
  auto abs =
      ParseAbsencesCsv("household,from,to,reason\r\nH2,100,200,\"trip, long\"\r\n", "a.csv", *reg);
  ASSERT_EQ(abs.size(), 1u);
  EXPECT_EQ(abs[0].scope_id, "H2");
  EXPECT_EQ(abs[0].from_s, 100);
  EXPECT_EQ(abs[0].reason, "trip, long");
}

}  // namespace
}  // namespace gridwatch
