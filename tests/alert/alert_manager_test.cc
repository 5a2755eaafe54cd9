#include "alert/alert_manager.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "alert/alert_json.h"
#include "alert/csv_files.h"
#include "common/time_util.h"
#include "config/config_error.h"
#include "tests/alert/alert_test_util.h"

namespace gridwatch {
namespace {

using nlohmann::json;
using test_support::MakeContact;
using test_support::MakeFinding;
using test_support::RecordingPublisher;

// 2026-11-27 10:00 in Asia/Shanghai (UTC+8).
const int64_t kT0 = *ParseRfc3339("2026-11-27T10:00:00+08:00");

double MetricValue(prometheus::Registry& reg, const std::string& name,
                   const std::map<std::string, std::string>& labels = {}) {
  for (const auto& fam : reg.Collect()) {
    if (fam.name != name) continue;
    for (const auto& m : fam.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : m.label) got[l.name] = l.value;
      if (got != labels) continue;
      switch (fam.type) {
        case prometheus::MetricType::Counter:
          return m.counter.value;
        case prometheus::MetricType::Gauge:
          return m.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(m.histogram.sample_count);
        default:
          return -1;
      }
    }
  }
  return 0;
}

class AlertManagerTest : public ::testing::Test {
 protected:
  AlertManagerTest() : store_(AlertStore::Open(":memory:")), clock_(kT0 * 1000), metrics_(prom_) {
    contacts_ = {
        MakeContact("grid", "G1", "Li", Channel::kWebhook, "http://127.0.0.1:9/g1"),
        MakeContact("grid", "G1", "Wang", Channel::kNtfy, "http://127.0.0.1:9/ntfy", "", "en"),
        MakeContact("community", "C1", "Zhao", Channel::kWebhook, "http://127.0.0.1:9/c1"),
        MakeContact("street", "S1", "Sun", Channel::kWebhook, "http://127.0.0.1:9/s1"),
    };
  }

  std::unique_ptr<AlertManager> Make(AlertOptions o = {}) {
    AlertManagerDeps d;
    d.store = store_.get();
    d.registry = registry_;
    d.clock = &clock_;
    d.publisher = &pub_;
    d.metrics = &metrics_;
    d.tz = TimeZone::Fixed(8 * 3600, "CST");
    d.contacts = contacts_;
    return std::make_unique<AlertManager>(o, std::move(d));
  }

  std::vector<Delivery> DeliveriesTo(const std::string& scope_prefix, int64_t alert_id = 0) {
    std::vector<Delivery> out;
    for (const Delivery& d : store_->ListDeliveries(alert_id))
      if (d.contact_key.starts_with(scope_prefix)) out.push_back(d);
    return out;
  }

  std::shared_ptr<const Registry> registry_ = test_support::TestRegistry();
  std::unique_ptr<AlertStore> store_;
  FakeClock clock_;
  prometheus::Registry prom_;
  AlertMetrics metrics_;
  RecordingPublisher pub_;
  std::vector<Contact> contacts_;
};

TEST_F(AlertManagerTest, RaisedFindingOpensStoresNotifiesAndPublishes) {
  auto m = Make();
  const Finding f = MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0);
  EXPECT_EQ(m->OnFinding(f), FindingResult::kOpened);
  auto alerts = m->ListAlerts({});
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(a.household_id, "H1");
  EXPECT_EQ(a.state, AlertState::kNotified);
  EXPECT_EQ(a.opened_at_s, kT0);
  EXPECT_EQ(a.escalation_level, 0);
  // Both grid contacts got a delivery, nobody else yet.
  EXPECT_EQ(DeliveriesTo("grid/G1/").size(), 2u);
  EXPECT_EQ(store_->ListDeliveries(0).size(), 2u);
  // Transitions stored: opened, notified.
  auto tr = m->Transitions(a.id);
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[1].from, AlertState::kOpen);
  EXPECT_EQ(tr[1].to, AlertState::kNotified);
  EXPECT_EQ(tr[1].who, "system");
  // Published: opened then notified, on the hierarchy topic at QoS 1.
  auto msgs = pub_.messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].topic, "gridwatch/alerts/S1/C1/G1");
  EXPECT_EQ(msgs[0].qos, 1);
  const json j = json::parse(msgs[0].payload);
  EXPECT_EQ(j["id"], a.id);
  EXPECT_EQ(j["household"], "H1");
  EXPECT_EQ(j["kind"], "inactivity");
  EXPECT_EQ(j["severity"], "high");
  EXPECT_EQ(j["state"], "open");
  EXPECT_EQ(j["opened_at"], FormatRfc3339Utc(kT0));
  EXPECT_EQ(j["street"], "S1");
  EXPECT_EQ(j["community"], "C1");
  EXPECT_EQ(j["grid"], "G1");
  EXPECT_EQ(j["summary"]["zh-CN"], f.summary_zh);
  EXPECT_EQ(j["summary"]["en"], f.summary_en);
  EXPECT_EQ(j["evidence"]["duration_h"], 5.0);
  EXPECT_EQ(j["learning"], "ready");
  EXPECT_TRUE(j.contains("updated_at"));
  EXPECT_EQ(json::parse(msgs[1].payload)["state"], "notified");
  // No names, no addresses, no contact targets on the shared topic.
  for (const auto& msg : msgs) {
    EXPECT_EQ(msg.payload.find("Li"), std::string::npos);
    EXPECT_EQ(msg.payload.find("Plum Lane"), std::string::npos);
    EXPECT_EQ(msg.payload.find("127.0.0.1"), std::string::npos);
  }
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alerts_opened_total",
                        {{"kind", "inactivity"}, {"severity", "high"}}),
            1);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alerts_open", {{"kind", "inactivity"}}), 1);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alert_transitions_total", {{"state", "notified"}}), 1);
}

TEST_F(AlertManagerTest, NotificationTextSaysWhoWhatSinceAndWhatToDo) {
  auto m = Make();
  ASSERT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
            FindingResult::kOpened);
  auto ds = DeliveriesTo("grid/G1/Li/");
  ASSERT_EQ(ds.size(), 1u);
  const json p = json::parse(ds[0].payload);
  const std::string text = p["text"];
  EXPECT_NE(text.find("1 Plum Lane"), std::string::npos) << text;
  EXPECT_NE(text.find("自 06:30 起无用电活动"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-11-27 05:00"), std::string::npos) << text;  // since, local time
  EXPECT_NE(text.find("请先致电，再上门查看"), std::string::npos) << text;
  EXPECT_NE(text.find("http://127.0.0.1:8080/api/v1/alerts/1/ack"), std::string::npos) << text;
  auto en = DeliveriesTo("grid/G1/Wang/");
  ASSERT_EQ(en.size(), 1u);
  const std::string text_en = json::parse(en[0].payload)["text"];
  EXPECT_NE(text_en.find("call first, then visit"), std::string::npos) << text_en;
  EXPECT_NE(text_en.find("no activity since 06:30"), std::string::npos) << text_en;
}

TEST_F(AlertManagerTest, OneAlertPerHouseholdEpisodeAndClass) {
  auto m = Make();
  ASSERT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0,
                                     Severity::kMedium)),
            FindingResult::kOpened);
  clock_.AdvanceS(600);
  // Same class (acute): updates, severity up, no new deliveries.
  Finding frozen =
      MakeFinding(0, AlertKind::kFrozen, FindingState::kRaised, kT0 + 600, Severity::kCritical);
  frozen.summary_en = "frozen at 0.3 kWh/h";
  EXPECT_EQ(m->OnFinding(frozen), FindingResult::kUpdated);
  EXPECT_EQ(m->GetAlert(1)->summary_en, "frozen at 0.3 kWh/h");  // the latest finding's words
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kUpdated, kT0 + 900)),
            FindingResult::kUpdated);
  // Ops class: its own alert.
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kMeterSilent, FindingState::kRaised, kT0 + 900)),
            FindingResult::kOpened);
  // Another household: its own alert.
  EXPECT_EQ(m->OnFinding(MakeFinding(2, AlertKind::kInactivity, FindingState::kRaised, kT0 + 900)),
            FindingResult::kOpened);
  auto alerts = m->ListAlerts({});
  ASSERT_EQ(alerts.size(), 3u);
  const Alert acute = *m->GetAlert(1);
  EXPECT_EQ(acute.kind, AlertKind::kInactivity);
  EXPECT_EQ(acute.severity, Severity::kCritical);
  EXPECT_EQ(acute.summary_en, "no activity since 06:30 (5.0 h)");
  EXPECT_EQ(acute.kinds_seen, (1u << 0) | (1u << 2));
  EXPECT_EQ(m->stats().opened, 3u);
  EXPECT_EQ(m->stats().updated, 2u);
  EXPECT_EQ(DeliveriesTo("grid/G1/", 1).size(), 2u);
  // The severity change was published as an update.
  int updates = 0;
  for (const auto& p : pub_.messages())
    if (json::parse(p.payload).value("event", "") == "updated") ++updates;
  EXPECT_EQ(updates, 1);
}

TEST_F(AlertManagerTest, ANewKindJoiningAnOpenAlertIsPublishedEvenWithoutASeverityRise) {
  auto m = Make();
  ASSERT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0,
                                     Severity::kCritical)),
            FindingResult::kOpened);
  const size_t before = pub_.messages().size();
  const size_t delivered = DeliveriesTo("grid/G1/", 1).size();
  ASSERT_GT(delivered, 0u);
  clock_.AdvanceS(600);
  // A heater comes on in the quiet home: lower severity, but news to the street office.
  Finding heater =
      MakeFinding(0, AlertKind::kHighUsage, FindingState::kRaised, kT0 + 600, Severity::kMedium);
  heater.summary_en = "about 2.0 kW above usual for 4.0 h";
  EXPECT_EQ(m->OnFinding(heater), FindingResult::kUpdated);
  ASSERT_EQ(pub_.messages().size(), before + 1);
  const json j = json::parse(pub_.messages().back().payload);
  EXPECT_EQ(j.value("event", ""), "updated");
  EXPECT_EQ(j["summary"]["en"], "about 2.0 kW above usual for 4.0 h");
  EXPECT_NE(j["kinds"].dump().find("high_usage"), std::string::npos) << j["kinds"].dump();
  EXPECT_EQ(m->GetAlert(1)->severity, Severity::kCritical);  // the severity stays the highest
  // The same kind again, no rise: not published again.
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kHighUsage, FindingState::kUpdated, kT0 + 900,
                                     Severity::kMedium)),
            FindingResult::kUpdated);
  EXPECT_EQ(pub_.messages().size(), before + 1);
  // No new deliveries to the grid worker: the alert they hold is the same one.
  EXPECT_EQ(DeliveriesTo("grid/G1/", 1).size(), delivered);
}

TEST_F(AlertManagerTest, ClearedOnEveryKindAutoResolvesWithANotice) {
  auto m = Make();
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  m->OnFinding(MakeFinding(0, AlertKind::kFrozen, FindingState::kRaised, kT0 + 60));
  for (const Delivery& d : store_->ListDeliveries(1))  // the dispatcher sent them
    ASSERT_TRUE(store_->MarkSent(d.id, 1, clock_.NowMs()));
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kFrozen, FindingState::kCleared, kT0 + 120)),
            FindingResult::kCleared);
  EXPECT_EQ(m->GetAlert(1)->state, AlertState::kNotified);
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 180)),
            FindingResult::kResolved);
  const Alert a = *m->GetAlert(1);
  EXPECT_EQ(a.state, AlertState::kResolved);
  EXPECT_EQ(a.outcome, Outcome::kActivityReturned);
  // Those told were told it is over.
  int notices = 0;
  for (const Delivery& d : store_->ListDeliveries(1))
    if (json::parse(d.payload)["event"] == "resolved") {
      ++notices;
      const std::string text = json::parse(d.payload)["text"];
      const bool en = d.contact_key.starts_with("grid/G1/Wang/");
      EXPECT_NE(text.find(en ? "closed by itself" : "已自动解除"), std::string::npos) << text;
    }
  EXPECT_EQ(notices, 2);
  EXPECT_EQ(json::parse(pub_.messages().back().payload)["state"], "resolved");
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alerts_open", {{"kind", "inactivity"}}), 0);
  // The next episode opens a new alert.
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0 + 999)),
            FindingResult::kOpened);
}

TEST_F(AlertManagerTest, WhatWasNotSentIsCancelledAndGetsNoNotice) {
  // Low severity at night: deferred to 07:00; activity returns at 01:00.
  clock_.SetMs(*ParseRfc3339("2026-11-27T23:30:00+08:00") * 1000);
  auto m = Make();
  m->OnFinding(
      MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, clock_.NowS(), Severity::kLow));
  ASSERT_EQ(store_->CountPending(), 2);
  clock_.AdvanceS(90 * 60);
  EXPECT_EQ(
      m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, clock_.NowS())),
      FindingResult::kResolved);
  EXPECT_EQ(store_->CountPending(), 0);
  const auto ds = store_->ListDeliveries(1);
  ASSERT_EQ(ds.size(), 2u) << "no notice to people who were never told";
  for (const Delivery& d : ds) EXPECT_EQ(d.state, DeliveryState::kCancelled);
}

TEST_F(AlertManagerTest, AckCancelsPendingEscalations) {
  auto m = Make();
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  for (const Delivery& d : store_->ListDeliveries(1)) ASSERT_TRUE(store_->MarkSent(d.id, 1, 0));
  clock_.AdvanceS(AlertOptions{}.escalate_high_s);
  m->Tick();
  ASSERT_EQ(DeliveriesTo("community/C1/").size(), 1u);
  ASSERT_EQ(store_->CountPending(), 1);  // e.g. the community's endpoint is down
  ASSERT_TRUE(m->Acknowledge(1, "grid:G1 Li"));
  EXPECT_EQ(store_->CountPending(), 0);
  EXPECT_EQ(DeliveriesTo("community/C1/")[0].state, DeliveryState::kCancelled);
  EXPECT_EQ(DeliveriesTo("grid/G1/")[0].state, DeliveryState::kSent);
}

TEST_F(AlertManagerTest, AcknowledgedAlertWaitsForAPersonWhenActivityReturns) {
  auto m = Make();
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  clock_.AdvanceS(300);
  auto acked = m->Acknowledge(1, "grid:G1 Li");
  ASSERT_TRUE(acked);
  EXPECT_EQ(acked->state, AlertState::kAcknowledged);
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 600)),
            FindingResult::kCleared);
  EXPECT_EQ(m->GetAlert(1)->state, AlertState::kAcknowledged);
  EXPECT_EQ(m->Acknowledge(1, "x").error().status, 409);
  auto r = m->Resolve(1, Outcome::kAssisted, "helped up, fine", "grid:G1 Li");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::kAssisted);
  EXPECT_EQ(m->Resolve(1, Outcome::kAssisted, "", "x").error().status, 409);
  EXPECT_EQ(m->Acknowledge(99, "x").error().status, 404);
  EXPECT_EQ(m->Resolve(1, Outcome::kActivityReturned, "", "x").error().status, 422);
  auto tr = m->Transitions(1);
  ASSERT_EQ(tr.size(), 4u);
  EXPECT_EQ(tr[2].to, AlertState::kAcknowledged);
  EXPECT_EQ(tr[2].who, "grid:G1 Li");
  EXPECT_EQ(tr[2].at_ms, (kT0 + 300) * 1000);
  EXPECT_EQ(tr[3].to, AlertState::kResolved);
  EXPECT_EQ(tr[3].detail, "assisted");
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alert_ack_seconds"), 1);
}

TEST_F(AlertManagerTest, EscalatesGridThenCommunityThenStreetThenBoundedRepeats) {
  AlertOptions o;
  o.escalate_high_s = 1800;
  o.max_repeats = 2;
  auto m = Make(o);
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  EXPECT_EQ(m->Tick(), 0);
  clock_.AdvanceS(1799);
  EXPECT_EQ(m->Tick(), 0);
  EXPECT_TRUE(DeliveriesTo("community/").empty());
  clock_.AdvanceS(1);
  EXPECT_EQ(m->Tick(), 1);
  ASSERT_EQ(DeliveriesTo("community/C1/").size(), 1u);
  EXPECT_EQ(json::parse(DeliveriesTo("community/C1/")[0].payload)["event"], "escalated");
  EXPECT_NE(std::string(json::parse(DeliveriesTo("community/C1/")[0].payload)["text"])
                .find("30 分钟内无人确认"),
            std::string::npos);
  EXPECT_TRUE(DeliveriesTo("street/").empty());
  clock_.AdvanceS(1800);
  EXPECT_EQ(m->Tick(), 1);
  EXPECT_EQ(DeliveriesTo("street/S1/").size(), 1u);
  EXPECT_EQ(m->GetAlert(1)->escalation_level, 2);
  // Repeats at the top level, at most max_repeats.
  for (int i = 0; i < 5; ++i) {
    clock_.AdvanceS(1800);
    m->Tick();
  }
  EXPECT_EQ(DeliveriesTo("street/S1/").size(), 3u);  // escalation + 2 repeats
  EXPECT_EQ(m->GetAlert(1)->repeats, 2);
  EXPECT_EQ(m->GetAlert(1)->next_escalation_ms, 0);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_escalations_total", {{"level", "1"}}), 1);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_escalations_total", {{"level", "2"}}), 1);
  // Idempotency keys are all distinct.
  std::set<std::string> keys;
  for (const Delivery& d : store_->ListDeliveries(0)) keys.insert(d.idempotency_key);
  EXPECT_EQ(keys.size(), store_->ListDeliveries(0).size());
}

TEST_F(AlertManagerTest, AckStopsEscalation) {
  auto m = Make();
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  clock_.AdvanceS(600);
  ASSERT_TRUE(m->Acknowledge(1, "grid:G1"));
  for (int i = 0; i < 10; ++i) {
    clock_.AdvanceS(3600);
    EXPECT_EQ(m->Tick(), 0);
  }
  EXPECT_TRUE(DeliveriesTo("community/").empty());
  EXPECT_TRUE(DeliveriesTo("street/").empty());
}

TEST_F(AlertManagerTest, CriticalEscalatesSoonerAndSkipsLevelsWithoutContacts) {
  contacts_.erase(contacts_.begin() + 2);  // no community contact
  AlertOptions o;
  auto m = Make(o);
  m->OnFinding(
      MakeFinding(0, AlertKind::kNoPower, FindingState::kRaised, kT0, Severity::kCritical));
  clock_.AdvanceS(o.escalate_critical_s);
  EXPECT_EQ(m->Tick(), 1);
  EXPECT_EQ(DeliveriesTo("street/S1/").size(), 1u);
  EXPECT_EQ(m->GetAlert(1)->escalation_level, 2);
}

TEST_F(AlertManagerTest, QuietHoursDelayOnlyLowSeverity) {
  clock_.SetMs(*ParseRfc3339("2026-11-27T23:30:00+08:00") * 1000);
  auto m = Make();
  m->OnFinding(
      MakeFinding(0, AlertKind::kDecline, FindingState::kRaised, clock_.NowS(), Severity::kLow));
  m->OnFinding(MakeFinding(1, AlertKind::kInactivity, FindingState::kRaised, clock_.NowS(),
                           Severity::kCritical));
  const int64_t seven = *ParseRfc3339("2026-11-28T07:00:00+08:00") * 1000;
  for (const Delivery& d : store_->ListDeliveries(1)) EXPECT_EQ(d.not_before_ms, seven);
  // H2 (grid G2) has no grid contact: the critical alert went to the community at once.
  for (const Delivery& d : store_->ListDeliveries(2)) EXPECT_EQ(d.not_before_ms, clock_.NowMs());
  EXPECT_FALSE(store_->ListDeliveries(2).empty());
  EXPECT_EQ(store_->DueDeliveries(clock_.NowMs(), 100).size(), store_->ListDeliveries(2).size());
}

TEST_F(AlertManagerTest, BadQuietHoursIsAConfigError) {
  AlertOptions o;
  o.quiet_hours = "22-7";
  EXPECT_THROW(Make(o), ConfigError);
}

TEST_F(AlertManagerTest, AbsenceSuppressesWelfareButNotMeterSilent) {
  auto m = Make();
  Absence ab;
  ab.scope_id = "H1";
  ab.from_s = kT0 - 3600;
  ab.to_s = kT0 + 3 * 86400;
  ab.reason = "at daughter's";
  ASSERT_TRUE(m->AddAbsence(ab));
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
            FindingResult::kSuppressedAbsence);
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kUpdated, kT0 + 60)),
            FindingResult::kIgnored);
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kMeterSilent, FindingState::kRaised, kT0)),
            FindingResult::kOpened);
  // An episode that began inside the absence stays explained after it ends.
  Finding late = MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, ab.to_s + 600);
  late.evidence.since_ts = ab.to_s - 3600;
  EXPECT_EQ(m->OnFinding(late), FindingResult::kSuppressedAbsence);
  // Other households are not affected; after the absence a new episode alerts.
  EXPECT_EQ(m->OnFinding(MakeFinding(1, AlertKind::kInactivity, FindingState::kRaised, kT0)),
            FindingResult::kOpened);
  Finding after = MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, ab.to_s + 86400);
  EXPECT_EQ(m->OnFinding(after), FindingResult::kOpened);
  EXPECT_EQ(m->stats().suppressed_absence, 2u);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_findings_suppressed_total", {{"reason", "absence"}}), 2);
}

TEST_F(AlertManagerTest, SilenceOnAGridOrStreet) {
  auto m = Make();
  Absence s;
  s.scope = "grid";
  s.scope_id = "G2";
  s.from_s = kT0 - 60;
  s.to_s = kT0 + 3600;
  s.reason = "planned power cut";
  ASSERT_TRUE(m->AddAbsence(s));
  EXPECT_EQ(m->OnFinding(MakeFinding(1, AlertKind::kNoPower, FindingState::kRaised, kT0)),
            FindingResult::kSuppressedSilence);
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kNoPower, FindingState::kRaised, kT0)),
            FindingResult::kOpened);
  EXPECT_EQ(m->OnFinding(MakeFinding(1, AlertKind::kMeterSilent, FindingState::kRaised, kT0)),
            FindingResult::kOpened);
  // Validation.
  Absence bad = s;
  bad.scope_id = "G404";
  EXPECT_EQ(m->AddAbsence(bad).error().status, 422);
  bad = s;
  bad.to_s = bad.from_s;
  EXPECT_EQ(m->AddAbsence(bad).error().status, 422);
  bad = s;
  bad.scope = "city";
  EXPECT_EQ(m->AddAbsence(bad).error().status, 422);
  auto id = m->ListAbsences().at(0).id;
  EXPECT_TRUE(m->RemoveAbsence(id));
  EXPECT_EQ(m->RemoveAbsence(id).error().status, 404);
  EXPECT_EQ(m->OnFinding(MakeFinding(1, AlertKind::kNoPower, FindingState::kRaised, kT0 + 60)),
            FindingResult::kOpened);
}

TEST_F(AlertManagerTest, AbsencesCsvGoesThroughTheSameApi) {
  auto m = Make();
  auto absences = ParseAbsencesCsv(
      "household,from,to,reason\nH3,2026-11-27T00:00:00+08:00,2026-11-30T00:00:00+08:00,visit\n",
      "absences.csv", *registry_);
  for (const Absence& a : absences) ASSERT_TRUE(m->AddAbsence(a));
  EXPECT_EQ(m->OnFinding(MakeFinding(2, AlertKind::kInactivity, FindingState::kRaised, kT0)),
            FindingResult::kSuppressedAbsence);
  EXPECT_EQ(store_->ListAbsences().size(), 1u);
}

TEST_F(AlertManagerTest, OpenedCallbackGetsTheFindingForAlertsJsonl) {
  auto m = Make();
  std::vector<std::string> lines;
  m->SetOpenedCallback([&](const Alert& a, const Finding& f) {
    lines.push_back(OpenedJsonLine(registry_->at(a.household), f));
  });
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  m->OnFinding(MakeFinding(0, AlertKind::kFrozen, FindingState::kRaised, kT0 + 60));  // update
  ASSERT_EQ(lines.size(), 1u);
  const json j = json::parse(lines[0]);
  EXPECT_EQ(j["household"], "H1");
  EXPECT_EQ(j["kind"], "inactivity");
  EXPECT_EQ(j["opened_at"], FormatRfc3339Utc(kT0));
  EXPECT_EQ(j["severity"], "high");
  EXPECT_EQ(j["summary"]["en"], "no activity since 06:30 (5.0 h)");
  EXPECT_EQ(j["evidence"]["since"], FormatRfc3339Utc(kT0 - 5 * 3600));
  // Deterministic bytes.
  EXPECT_EQ(lines[0], OpenedJsonLine(registry_->at(0), MakeFinding(0, AlertKind::kInactivity,
                                                                   FindingState::kRaised, kT0)));
}

TEST_F(AlertManagerTest, FeedbackResidentFineIsBoundedAndAwayIsCounted) {
  auto m = Make();
  std::vector<std::tuple<HouseholdIndex, AlertKind, int>> calls;
  m->SetFeedbackCallback(
      [&](HouseholdIndex h, AlertKind k, int n) { calls.emplace_back(h, k, n); });
  for (int i = 0; i < AlertManager::kMaxFeedbackNotches + 2; ++i) {
    ASSERT_EQ(m->OnFinding(
                  MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0 + i * 86400)),
              FindingResult::kOpened);
    const int64_t id = m->ListAlerts({})[0].id;
    ASSERT_TRUE(m->Resolve(id, Outcome::kResidentFine, "", "grid:G1"));
  }
  ASSERT_EQ(calls.size(), static_cast<size_t>(AlertManager::kMaxFeedbackNotches));
  EXPECT_EQ(calls[0], std::make_tuple(HouseholdIndex{0}, AlertKind::kInactivity, 1));
  const FeedbackCounts fb = store_->GetFeedback("H1", "inactivity");
  EXPECT_EQ(fb.resident_fine, AlertManager::kMaxFeedbackNotches + 2);
  EXPECT_EQ(fb.notches, AlertManager::kMaxFeedbackNotches);
  // away without an absence is counted; with one it is not.
  m->OnFinding(MakeFinding(2, AlertKind::kInactivity, FindingState::kRaised, kT0));
  ASSERT_TRUE(m->Resolve(m->ListAlerts({})[0].id, Outcome::kAway, "at son's", "street:S2"));
  EXPECT_EQ(store_->GetFeedback("H3", "").away_unregistered, 1);
}

TEST_F(AlertManagerTest, APersonsAnswerToAWelfareAlertIsPassedOnWithItsTime) {
  // The detector hears of every answer to a welfare alert (so that the quiet it was about is
  // counted from then, or held while the resident is away), at the answer's time; an ops alert's
  // answer says nothing about the resident.
  auto m = Make();
  std::vector<std::tuple<HouseholdIndex, Outcome, int64_t>> calls;
  m->SetAnsweredCallback(
      [&](HouseholdIndex h, Outcome o, int64_t at_s) { calls.emplace_back(h, o, at_s); });
  ASSERT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
            FindingResult::kOpened);
  ASSERT_EQ(m->OnFinding(MakeFinding(1, AlertKind::kMeterSilent, FindingState::kRaised, kT0)),
            FindingResult::kOpened);
  clock_.SetMs((kT0 + 7200) * 1000);
  for (const Alert& a : m->ListAlerts({}))
    ASSERT_TRUE(m->Resolve(
        a.id, a.kind == AlertKind::kMeterSilent ? Outcome::kFalseReading : Outcome::kAway, "",
        "grid:G1"));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], std::make_tuple(HouseholdIndex{0}, Outcome::kAway, kT0 + 7200));
  // Counted by kind and outcome: the live share of pages that found nobody in need.
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alerts_resolved_total",
                        {{"kind", "inactivity"}, {"outcome", "away"}}),
            1);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alerts_resolved_total",
                        {{"kind", "meter_silent"}, {"outcome", "false_reading"}}),
            1);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_alerts_resolved_total",
                        {{"kind", "inactivity"}, {"outcome", "resident_fine"}}),
            0);
  EXPECT_EQ(AnswerOf(Outcome::kAway), Answer::kAway);
  EXPECT_EQ(AnswerOf(Outcome::kHospital), Answer::kAway);
  EXPECT_EQ(AnswerOf(Outcome::kResidentFine), Answer::kSeenWell);
  EXPECT_EQ(AnswerOf(Outcome::kAssisted), Answer::kAttended);
  EXPECT_EQ(AnswerOf(Outcome::kFalseReading), Answer::kAttended);
}

TEST_F(AlertManagerTest, RestartResumesActiveAlertsAndEscalation) {
  {
    auto m = Make();
    m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  }
  auto m = Make();
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kUpdated, kT0 + 60)),
            FindingResult::kUpdated);
  EXPECT_EQ(m->ListAlerts({}).size(), 1u);
  clock_.AdvanceS(AlertOptions{}.escalate_high_s);
  EXPECT_EQ(m->Tick(), 1);
  EXPECT_EQ(DeliveriesTo("community/C1/").size(), 1u);
}

TEST_F(AlertManagerTest, AutoResolveAfterSilenceOfFindingsWhenConfigured) {
  AlertOptions o;
  o.auto_resolve_after_s = 6 * 3600;
  o.escalate_high_s = 100000;
  auto m = Make(o);
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
  clock_.AdvanceS(6 * 3600 - 1);
  m->Tick();
  EXPECT_EQ(m->GetAlert(1)->state, AlertState::kNotified);
  clock_.AdvanceS(1);
  EXPECT_EQ(m->Tick(), 1);
  EXPECT_EQ(m->GetAlert(1)->state, AlertState::kResolved);
}

TEST_F(AlertManagerTest, UnknownHouseholdAndStrayClearsAreIgnored) {
  auto m = Make();
  EXPECT_EQ(m->OnFinding(MakeFinding(99, AlertKind::kInactivity, FindingState::kRaised, kT0)),
            FindingResult::kIgnored);
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0)),
            FindingResult::kIgnored);
  EXPECT_TRUE(m->ListAlerts({}).empty());
}

// Findings re-derived at start from the readings write-ahead log: the store may already hold what
// they did before the crash.
constexpr FindingOrigin kReplay = FindingOrigin::kWalReplay;

TEST_F(AlertManagerTest, ReplayedFindingsOfAnEpisodeAlreadyStoredChangeNothing) {
  {  // before the crash: opened (and notified), a second kind merged in, then both cleared
    auto m = Make();
    ASSERT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0)),
              FindingResult::kOpened);
    ASSERT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kFrozen, FindingState::kRaised, kT0 + 1800)),
              FindingResult::kUpdated);
    ASSERT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kFrozen, FindingState::kCleared, kT0 + 3600)),
              FindingResult::kCleared);
    ASSERT_EQ(
        m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 3600)),
        FindingResult::kResolved);
  }
  const size_t deliveries = store_->ListDeliveries(0).size();
  const size_t published = pub_.messages().size();
  auto m = Make();
  // The restart replays the same readings: the same findings come again.
  for (const Finding& f :
       {MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0),
        MakeFinding(0, AlertKind::kFrozen, FindingState::kRaised, kT0 + 1800),
        MakeFinding(0, AlertKind::kFrozen, FindingState::kCleared, kT0 + 3600),
        MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 3600)}) {
    const FindingResult r = m->OnFinding(f, kReplay);
    EXPECT_TRUE(r == FindingResult::kDuplicate || r == FindingResult::kIgnored)
        << static_cast<int>(r);
  }
  EXPECT_EQ(m->ListAlerts({}).size(), 1u) << "no second alert for the episode";
  EXPECT_EQ(m->GetAlert(1)->state, AlertState::kResolved);
  EXPECT_EQ(store_->ListDeliveries(0).size(), deliveries) << "nobody is told twice";
  EXPECT_EQ(pub_.messages().size(), published);
  EXPECT_EQ(m->stats().duplicates, 2u);
  EXPECT_EQ(MetricValue(prom_, "gridwatch_findings_suppressed_total", {{"reason", "duplicate"}}),
            2);
  // A finding newer than any the store holds is new: it opens the next episode.
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0 + 7200),
                         kReplay),
            FindingResult::kOpened);
}

TEST_F(AlertManagerTest, ReplayedFindingsOnAnActiveAlertKeepItsState) {
  {  // before the crash: episode 1 resolved, episode 2 opened
    auto m = Make();
    m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
    m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 1800));
    ASSERT_EQ(
        m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0 + 3600)),
        FindingResult::kOpened);
  }
  auto m = Make();
  // Replayed from before episode 2: they must not clear or update it.
  EXPECT_EQ(
      m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0), kReplay),
      FindingResult::kDuplicate);
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 1800),
                         kReplay),
            FindingResult::kDuplicate);
  EXPECT_EQ(m->GetAlert(2)->state, AlertState::kNotified);
  // Episode 2's own raise updates it in place.
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0 + 3600),
                         kReplay),
            FindingResult::kUpdated);
  EXPECT_EQ(m->ListAlerts({}).size(), 2u);
  // What the crash took before the alert stage saw it is applied.
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 5400),
                         kReplay),
            FindingResult::kResolved);
}

TEST_F(AlertManagerTest, ReplayedRaiseOfAnAlertResolvedByAPersonIsNotReopened) {
  {
    auto m = Make();
    m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0));
    ASSERT_TRUE(m->Resolve(1, Outcome::kAssisted, "helped up", "grid:G1 Li").has_value());
  }
  auto m = Make();
  EXPECT_EQ(
      m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0), kReplay),
      FindingResult::kDuplicate);
  EXPECT_EQ(m->ListAlerts({}).size(), 1u);
}

TEST_F(AlertManagerTest, LiveFindingsAreNeverTakenForDuplicates) {
  auto m = Make();
  // meter_silent is raised on the clock (now) and cleared by a reading that may be older.
  m->OnFinding(MakeFinding(0, AlertKind::kMeterSilent, FindingState::kRaised, kT0 + 7200));
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kMeterSilent, FindingState::kCleared, kT0)),
            FindingResult::kResolved);
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0 + 3600));
  m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kCleared, kT0 + 5400));
  EXPECT_EQ(m->OnFinding(MakeFinding(0, AlertKind::kInactivity, FindingState::kRaised, kT0 + 3600)),
            FindingResult::kOpened);
  EXPECT_EQ(m->stats().duplicates, 0u);
}

}  // namespace
}  // namespace gridwatch
