#include "alert/alert_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/alert/alert_test_util.h"

namespace gridwatch {
namespace {

using test_support::AlertTempDir;

Alert SampleAlert() {
  Alert a;
  a.household = 2;
  a.household_id = "H3";
  a.kind = AlertKind::kFrozen;
  a.kinds_active = a.kinds_seen = 1u << static_cast<int>(AlertKind::kFrozen);
  a.severity = Severity::kCritical;
  a.state = AlertState::kNotified;
  a.learning = LearningState::kReady;
  a.opened_at_s = 1764200000;
  a.updated_at_s = 1764200100;
  a.since_s = 1764190000;
  a.street = "S2";
  a.community = "C3";
  a.grid = "G3";
  a.summary_zh = "用电长时间不变";
  a.summary_en = "use frozen";
  a.evidence_json = R"({"duration_h":5})";
  a.escalation_level = 1;
  a.next_escalation_ms = 1764200900000;
  return a;
}

TEST(AlertStoreTest, AlertRoundTripsWithEveryField) {
  auto store = AlertStore::Open(":memory:");
  EXPECT_EQ(store->schema_version(), AlertStore::kSchemaVersion);
  Alert a = SampleAlert();
  ASSERT_TRUE(store->InsertAlert(&a));
  EXPECT_GT(a.id, 0);
  auto got = store->GetAlert(a.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->household_id, "H3");
  EXPECT_EQ(got->kind, AlertKind::kFrozen);
  EXPECT_EQ(got->severity, Severity::kCritical);
  EXPECT_EQ(got->state, AlertState::kNotified);
  EXPECT_EQ(got->summary_zh, "用电长时间不变");
  EXPECT_EQ(got->evidence_json, R"({"duration_h":5})");
  EXPECT_EQ(got->escalation_level, 1);
  EXPECT_EQ(got->next_escalation_ms, 1764200900000);
  got->state = AlertState::kResolved;
  got->outcome = Outcome::kHospital;
  got->note = "taken to hospital";
  ASSERT_TRUE(store->UpdateAlert(*got));
  auto again = store->GetAlert(a.id);
  EXPECT_EQ(again->outcome, Outcome::kHospital);
  EXPECT_EQ(again->note, "taken to hospital");
  EXPECT_TRUE(store->LoadActiveAlerts().empty());
  EXPECT_FALSE(store->GetAlert(a.id + 100));
}

TEST(AlertStoreTest, ListFiltersByStateAndArea) {
  auto store = AlertStore::Open(":memory:");
  Alert a = SampleAlert();
  ASSERT_TRUE(store->InsertAlert(&a));
  Alert b = SampleAlert();
  b.street = "S1";
  b.state = AlertState::kResolved;
  ASSERT_TRUE(store->InsertAlert(&b));
  AlertFilter f;
  EXPECT_EQ(store->ListAlerts(f).size(), 2u);
  f.street = "S1";
  ASSERT_EQ(store->ListAlerts(f).size(), 1u);
  EXPECT_EQ(store->ListAlerts(f)[0].id, b.id);
  f = {};
  f.active_only = true;
  ASSERT_EQ(store->ListAlerts(f).size(), 1u);
  EXPECT_EQ(store->ListAlerts(f)[0].id, a.id);
  f = {};
  f.state = AlertState::kResolved;
  EXPECT_EQ(store->ListAlerts(f).size(), 1u);
}

TEST(AlertStoreTest, OutboxDeduplicatesOnIdempotencyKeyAndTracksState) {
  auto store = AlertStore::Open(":memory:");
  Alert a = SampleAlert();
  ASSERT_TRUE(store->InsertAlert(&a));
  Delivery d;
  d.alert_id = a.id;
  d.contact_key = "grid/G3/Li/webhook";
  d.target = "http://127.0.0.1:1/x";
  d.idempotency_key = "gw-1-opened";
  d.payload = "{}";
  d.created_ms = d.not_before_ms = d.next_attempt_ms = 1000;
  ASSERT_TRUE(store->EnqueueDelivery(&d));
  EXPECT_GT(d.id, 0);
  Delivery dup = d;
  ASSERT_TRUE(store->EnqueueDelivery(&dup));
  EXPECT_EQ(dup.id, 0) << "same idempotency key must not enqueue twice";
  EXPECT_EQ(store->CountPending(), 1);
  EXPECT_TRUE(store->DueDeliveries(999, 10).empty());
  ASSERT_EQ(store->DueDeliveries(1000, 10).size(), 1u);
  EXPECT_EQ(store->OldestDuePendingMs(5000), 1000);
  ASSERT_TRUE(store->MarkRetry(d.id, 1, 8000, "HTTP 503"));
  EXPECT_TRUE(store->DueDeliveries(7999, 10).empty());
  auto due = store->DueDeliveries(8000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].attempts, 1);
  EXPECT_EQ(due[0].last_error, "HTTP 503");
  ASSERT_TRUE(store->MarkSent(d.id, 2, 8001));
  EXPECT_TRUE(store->DueDeliveries(99999, 10).empty());
  EXPECT_EQ(store->CountPending(), 0);
  EXPECT_FALSE(store->OldestDuePendingMs(99999));
  auto all = store->ListDeliveries(a.id);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, DeliveryState::kSent);
  EXPECT_EQ(all[0].sent_ms, 8001);
}

TEST(AlertStoreTest, TransactionRollsBackEverythingOnFailure) {
  auto store = AlertStore::Open(":memory:");
  Alert a = SampleAlert();
  const bool committed = store->Transaction([&] {
    if (!store->InsertAlert(&a)) return false;
    return false;  // e.g. a later step failed
  });
  EXPECT_FALSE(committed);
  EXPECT_TRUE(store->ListAlerts({}).empty());
  Alert b = SampleAlert();
  EXPECT_TRUE(store->Transaction([&] { return store->InsertAlert(&b); }));
  EXPECT_EQ(store->ListAlerts({}).size(), 1u);
}

TEST(AlertStoreTest, FilePersistsAcrossReopenInWalMode) {
  AlertTempDir dir;
  const std::string path = dir.File("alerts.db");
  int64_t id = 0;
  {
    auto store = AlertStore::Open(path);
    Alert a = SampleAlert();
    ASSERT_TRUE(store->InsertAlert(&a));
    id = a.id;
    Absence ab;
    ab.scope_id = "H1";
    ab.from_s = 10;
    ab.to_s = 20;
    ab.reason = "visiting daughter";
    ASSERT_TRUE(store->AddAbsence(&ab));
    ASSERT_TRUE(store->PutFeedback("H1", "inactivity", {2, 0, 1}));
    ASSERT_TRUE(
        store->AddTransition({id, AlertState::kOpen, AlertState::kNotified, "system", 5, ""}));
  }
  auto store = AlertStore::Open(path);
  EXPECT_TRUE(store->GetAlert(id));
  ASSERT_EQ(store->ListAbsences().size(), 1u);
  EXPECT_EQ(store->ListAbsences()[0].reason, "visiting daughter");
  EXPECT_EQ(store->GetFeedback("H1", "inactivity").resident_fine, 2);
  EXPECT_EQ(store->GetFeedback("H1", "inactivity").notches, 1);
  ASSERT_EQ(store->ListTransitions(id).size(), 1u);
  EXPECT_EQ(store->ListTransitions(id)[0].to, AlertState::kNotified);
  // WAL journal.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode;", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(AlertStoreTest, AckKeyIsRandomPerDatabaseAndSurvivesReopen) {
  AlertTempDir dir;
  std::string key;
  {
    auto store = AlertStore::Open(dir.File("a.db"));
    key = store->ack_key();
  }
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(AlertStore::Open(dir.File("a.db"))->ack_key(), key);
  EXPECT_NE(AlertStore::Open(dir.File("b.db"))->ack_key(), key);
}

TEST(AlertStoreTest, FindsAHouseholdsEpisodesByOpeningAndByLastFinding) {
  auto store = AlertStore::Open(":memory:");
  Alert a = SampleAlert();  // frozen (acute), household 2
  a.last_finding_at_s = a.opened_at_s + 3600;
  ASSERT_TRUE(store->InsertAlert(&a));
  Alert b = SampleAlert();
  b.kind = AlertKind::kInactivity;
  b.opened_at_s = a.opened_at_s + 7200;
  b.last_finding_at_s = b.opened_at_s;
  ASSERT_TRUE(store->InsertAlert(&b));
  Alert c = SampleAlert();
  c.kind = AlertKind::kDecline;  // trend
  c.last_finding_at_s = a.opened_at_s + 99999;
  ASSERT_TRUE(store->InsertAlert(&c));
  EXPECT_EQ(store->GetAlert(a.id)->last_finding_at_s, a.opened_at_s + 3600);

  auto found = store->FindOpened(2, AlertKind::kFrozen, a.opened_at_s);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, a.id);
  EXPECT_FALSE(store->FindOpened(2, AlertKind::kInactivity, a.opened_at_s));
  EXPECT_FALSE(store->FindOpened(1, AlertKind::kFrozen, a.opened_at_s));
  auto acute = store->LatestOfClass(2, AlertClass::kAcute);
  ASSERT_TRUE(acute);
  EXPECT_EQ(acute->id, b.id);
  EXPECT_EQ(store->LatestOfClass(2, AlertClass::kTrend)->id, c.id);
  EXPECT_FALSE(store->LatestOfClass(2, AlertClass::kOps));
  EXPECT_FALSE(store->LatestOfClass(0, AlertClass::kAcute));
}

TEST(AlertStoreTest, MigratesAVersion1Store) {
  AlertTempDir dir;
  const std::string path = dir.File("v1.db");
  int64_t id = 0;
  {
    auto store = AlertStore::Open(path);
    Alert a = SampleAlert();
    ASSERT_TRUE(store->InsertAlert(&a));
    id = a.id;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX alerts_household; ALTER TABLE alerts DROP COLUMN "
                         "last_finding_at; PRAGMA user_version=1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto store = AlertStore::Open(path);
  EXPECT_EQ(store->schema_version(), 2);
  auto a = store->GetAlert(id);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->last_finding_at_s, a->opened_at_s) << "old alerts: the opening is what is known";
  EXPECT_TRUE(store->FindOpened(2, AlertKind::kFrozen, a->opened_at_s));
}

TEST(AlertStoreTest, RefusesANewerSchema) {
  AlertTempDir dir;
  const std::string path = dir.File("future.db");
  { AlertStore::Open(path); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version=99;", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    AlertStore::Open(path);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
}

TEST(AlertStoreTest, DeleteAbsenceReportsMissingIds) {
  auto store = AlertStore::Open(":memory:");
  Absence ab;
  ab.scope = "street";
  ab.scope_id = "S1";
  ab.from_s = 1;
  ab.to_s = 2;
  ASSERT_TRUE(store->AddAbsence(&ab));
  EXPECT_TRUE(store->GetAbsence(ab.id));
  EXPECT_TRUE(store->DeleteAbsence(ab.id));
  EXPECT_FALSE(store->DeleteAbsence(ab.id));
  EXPECT_FALSE(store->GetAbsence(ab.id));
}

}  // namespace
}  // namespace gridwatch
