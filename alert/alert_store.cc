#include "alert/alert_store.h"

#include <openssl/rand.h>
#include <sqlite3.h>

#include <mutex>
#include <stdexcept>

namespace gridwatch {
namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  household INTEGER NOT NULL,
  household_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  kinds_active INTEGER NOT NULL,
  kinds_seen INTEGER NOT NULL,
  severity TEXT NOT NULL,
  state TEXT NOT NULL,
  learning TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  since INTEGER NOT NULL,
  street TEXT NOT NULL,
  community TEXT NOT NULL,
  grid TEXT NOT NULL,
  summary_zh TEXT NOT NULL,
  summary_en TEXT NOT NULL,
  evidence TEXT NOT NULL,
  escalation_level INTEGER NOT NULL,
  repeats INTEGER NOT NULL,
  next_escalation_ms INTEGER NOT NULL,
  notified_at_ms INTEGER NOT NULL,
  acknowledged_at_ms INTEGER NOT NULL,
  acknowledged_by TEXT NOT NULL,
  resolved_at_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  note TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state);
CREATE INDEX IF NOT EXISTS alerts_street ON alerts(street, state);
CREATE TABLE IF NOT EXISTS transitions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  who TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_alert ON transitions(alert_id);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  contact TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  not_before_ms INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  state TEXT NOT NULL,
  last_error TEXT NOT NULL,
  sent_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS absences (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  from_ts INTEGER NOT NULL,
  to_ts INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
  household_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  resident_fine INTEGER NOT NULL,
  away_unregistered INTEGER NOT NULL,
  notches INTEGER NOT NULL,
  PRIMARY KEY (household_id, kind)
);
)sql";

// v2: the data time of the newest finding applied to an alert, so that findings replayed from the
// readings write-ahead log after a crash are recognised as already applied; and an index to find
// a household's alerts.
constexpr const char* kMigrateV2 = R"sql(
ALTER TABLE alerts ADD COLUMN last_finding_at INTEGER NOT NULL DEFAULT 0;
UPDATE alerts SET last_finding_at = opened_at;
CREATE INDEX IF NOT EXISTS alerts_household ON alerts(household, opened_at);
)sql";

constexpr const char* kAlertColumns =
    "id, household, household_id, kind, kinds_active, kinds_seen, severity, state, learning, "
    "opened_at, updated_at, since, street, community, grid, summary_zh, summary_en, evidence, "
    "escalation_level, repeats, next_escalation_ms, notified_at_ms, acknowledged_at_ms, "
    "acknowledged_by, resolved_at_ms, outcome, note, last_finding_at";

constexpr const char* kDeliveryColumns =
    "id, alert_id, contact, channel, target, idempotency_key, payload, attempts, created_ms, "
    "not_before_ms, next_attempt_ms, state, last_error, sent_ms";

// A prepared statement with 1-based binds and 0-based column reads; finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Stmt& Bind(int64_t v) {
    if (stmt_) sqlite3_bind_int64(stmt_, ++idx_, v);
    return *this;
  }
  Stmt& Bind(int v) { return Bind(static_cast<int64_t>(v)); }
  Stmt& Bind(std::string_view v) {
    if (stmt_)
      sqlite3_bind_text(stmt_, ++idx_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(const std::string& v) { return Bind(std::string_view(v)); }
  Stmt& Bind(const char* v) { return Bind(std::string_view(v)); }
  // Returns SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return stmt_ ? sqlite3_step(stmt_) : SQLITE_ERROR; }
  bool Exec() { return Step() == SQLITE_DONE; }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int idx_ = 0;
};

template <typename E, typename Parse>
E ParseOr(const std::string& s, Parse parse, E fallback) {
  auto v = parse(s);
  return v ? *v : fallback;
}

Alert ReadAlert(const Stmt& s) {
  Alert a;
  int c = 0;
  a.id = s.Int(c++);
  a.household = static_cast<HouseholdIndex>(s.Int(c++));
  a.household_id = s.Text(c++);
  a.kind = ParseOr(s.Text(c++), ParseAlertKind, AlertKind::kInactivity);
  a.kinds_active = static_cast<uint16_t>(s.Int(c++));
  a.kinds_seen = static_cast<uint16_t>(s.Int(c++));
  a.severity = ParseOr(s.Text(c++), ParseSeverity, Severity::kMedium);
  a.state = ParseOr(s.Text(c++), ParseAlertState, AlertState::kOpen);
  a.learning = s.Text(c++) == "ready" ? LearningState::kReady : LearningState::kLearning;
  a.opened_at_s = s.Int(c++);
  a.updated_at_s = s.Int(c++);
  a.since_s = s.Int(c++);
  a.street = s.Text(c++);
  a.community = s.Text(c++);
  a.grid = s.Text(c++);
  a.summary_zh = s.Text(c++);
  a.summary_en = s.Text(c++);
  a.evidence_json = s.Text(c++);
  a.escalation_level = static_cast<int>(s.Int(c++));
  a.repeats = static_cast<int>(s.Int(c++));
  a.next_escalation_ms = s.Int(c++);
  a.notified_at_ms = s.Int(c++);
  a.acknowledged_at_ms = s.Int(c++);
  a.acknowledged_by = s.Text(c++);
  a.resolved_at_ms = s.Int(c++);
  a.outcome = ParseOr(s.Text(c++), ParseAnyOutcome, Outcome::kOther);
  a.note = s.Text(c++);
  a.last_finding_at_s = s.Int(c++);
  return a;
}

void BindAlertBody(Stmt& s, const Alert& a) {
  s.Bind(static_cast<int64_t>(a.household))
      .Bind(a.household_id)
      .Bind(AlertKindName(a.kind))
      .Bind(static_cast<int64_t>(a.kinds_active))
      .Bind(static_cast<int64_t>(a.kinds_seen))
      .Bind(SeverityName(a.severity))
      .Bind(AlertStateName(a.state))
      .Bind(LearningStateName(a.learning))
      .Bind(a.opened_at_s)
      .Bind(a.updated_at_s)
      .Bind(a.since_s)
      .Bind(a.street)
      .Bind(a.community)
      .Bind(a.grid)
      .Bind(a.summary_zh)
      .Bind(a.summary_en)
      .Bind(a.evidence_json.empty() ? std::string("{}") : a.evidence_json)
      .Bind(a.escalation_level)
      .Bind(a.repeats)
      .Bind(a.next_escalation_ms)
      .Bind(a.notified_at_ms)
      .Bind(a.acknowledged_at_ms)
      .Bind(a.acknowledged_by)
      .Bind(a.resolved_at_ms)
      .Bind(OutcomeName(a.outcome))
      .Bind(a.note)
      .Bind(a.last_finding_at_s);
}

Delivery ReadDelivery(const Stmt& s) {
  Delivery d;
  int c = 0;
  d.id = s.Int(c++);
  d.alert_id = s.Int(c++);
  d.contact_key = s.Text(c++);
  d.channel = ParseOr(s.Text(c++), ParseChannel, Channel::kWebhook);
  d.target = s.Text(c++);
  d.idempotency_key = s.Text(c++);
  d.payload = s.Text(c++);
  d.attempts = static_cast<int>(s.Int(c++));
  d.created_ms = s.Int(c++);
  d.not_before_ms = s.Int(c++);
  d.next_attempt_ms = s.Int(c++);
  const std::string st = s.Text(c++);
  d.state = st == "sent" ? DeliveryState::kSent
                         : (st == "dead"        ? DeliveryState::kDead
                            : st == "cancelled" ? DeliveryState::kCancelled
                                                : DeliveryState::kPending);
  d.last_error = s.Text(c++);
  d.sent_ms = s.Int(c++);
  return d;
}

Absence ReadAbsence(const Stmt& s) {
  Absence a;
  a.id = s.Int(0);
  a.scope = s.Text(1);
  a.scope_id = s.Text(2);
  a.from_s = s.Int(3);
  a.to_s = s.Int(4);
  a.reason = s.Text(5);
  a.created_by = s.Text(6);
  return a;
}

}  // namespace

struct AlertStore::Impl {
  sqlite3* db = nullptr;
  mutable std::recursive_mutex mu;
  int tx_depth = 0;
  bool tx_failed = false;
  std::string ack_key;

  ~Impl() {
    if (db) sqlite3_close(db);
  }
  bool Exec(const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  // A write outside a Transaction() marks nothing; inside, a failure dooms the transaction.
  bool Check(bool ok) {
    if (!ok && tx_depth > 0) tx_failed = true;
    return ok;
  }
};

AlertStore::AlertStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AlertStore::~AlertStore() = default;

std::unique_ptr<AlertStore> AlertStore::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(path.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = impl->db ? sqlite3_errmsg(impl->db) : "out of memory";
    throw std::runtime_error(path + ": cannot open alert store: " + msg);
  }
  sqlite3_busy_timeout(impl->db, 5000);
  if (!impl->Exec("PRAGMA journal_mode=WAL;") || !impl->Exec("PRAGMA synchronous=NORMAL;") ||
      !impl->Exec("PRAGMA foreign_keys=ON;"))
    throw std::runtime_error(path + ": cannot configure alert store: " + sqlite3_errmsg(impl->db));
  int version = 0;
  {
    Stmt s(impl->db, "PRAGMA user_version;");
    if (s.Step() == SQLITE_ROW) version = static_cast<int>(s.Int(0));
  }
  if (version > kSchemaVersion)
    throw std::runtime_error(path + ": alert store schema version " + std::to_string(version) +
                             " is newer than this build's " + std::to_string(kSchemaVersion));
  if (version < 1) {
    if (!impl->Exec("BEGIN IMMEDIATE;") || !impl->Exec(kSchemaV1) ||
        !impl->Exec("PRAGMA user_version=1;") || !impl->Exec("COMMIT;"))
      throw std::runtime_error(path +
                               ": cannot create alert store schema: " + sqlite3_errmsg(impl->db));
  }
  if (version < 2) {
    if (!impl->Exec("BEGIN IMMEDIATE;") || !impl->Exec(kMigrateV2) ||
        !impl->Exec("PRAGMA user_version=2;") || !impl->Exec("COMMIT;"))
      throw std::runtime_error(path + ": cannot migrate the alert store to schema version 2: " +
                               sqlite3_errmsg(impl->db));
  }
  // meta joined v1 late: make sure it exists in databases created before it.
  if (!impl->Exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"))
    throw std::runtime_error(path + ": cannot create meta table: " + sqlite3_errmsg(impl->db));
  {
    Stmt get(impl->db, "SELECT value FROM meta WHERE key='ack_key'");
    if (get.Step() == SQLITE_ROW) impl->ack_key = get.Text(0);
  }
  if (impl->ack_key.size() != 64) {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
      throw std::runtime_error(path + ": no randomness for the acknowledgement key");
    static constexpr char kHex[] = "0123456789abcdef";
    impl->ack_key.clear();
    for (unsigned char c : raw) {
      impl->ack_key += kHex[c >> 4];
      impl->ack_key += kHex[c & 15];
    }
    Stmt put(impl->db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('ack_key', ?)");
    put.Bind(impl->ack_key);
    if (!put.Exec())
      throw std::runtime_error(
          path + ": cannot store the acknowledgement key: " + sqlite3_errmsg(impl->db));
  }
  return std::unique_ptr<AlertStore>(new AlertStore(std::move(impl)));
}

int AlertStore::schema_version() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "PRAGMA user_version;");
  return s.Step() == SQLITE_ROW ? static_cast<int>(s.Int(0)) : -1;
}

bool AlertStore::Transaction(const std::function<bool()>& fn) {
  std::lock_guard lock(impl_->mu);
  if (impl_->tx_depth > 0) {
    ++impl_->tx_depth;
    const bool ok = fn();
    --impl_->tx_depth;
    if (!ok) impl_->tx_failed = true;
    return ok;
  }
  if (!impl_->Exec("BEGIN IMMEDIATE;")) return false;
  impl_->tx_depth = 1;
  impl_->tx_failed = false;
  const bool ok = fn() && !impl_->tx_failed;
  impl_->tx_depth = 0;
  if (ok && impl_->Exec("COMMIT;")) return true;
  impl_->Exec("ROLLBACK;");
  return false;
}

bool AlertStore::InsertAlert(Alert* alert) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "INSERT INTO alerts (household, household_id, kind, kinds_active, kinds_seen, severity, "
         "state, learning, opened_at, updated_at, since, street, community, grid, summary_zh, "
         "summary_en, evidence, escalation_level, repeats, next_escalation_ms, notified_at_ms, "
         "acknowledged_at_ms, acknowledged_by, resolved_at_ms, outcome, note, last_finding_at) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  BindAlertBody(s, *alert);
  if (!impl_->Check(s.Exec())) return false;
  alert->id = sqlite3_last_insert_rowid(impl_->db);
  return true;
}

bool AlertStore::UpdateAlert(const Alert& a) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "UPDATE alerts SET household=?, household_id=?, kind=?, kinds_active=?, kinds_seen=?, "
         "severity=?, state=?, learning=?, opened_at=?, updated_at=?, since=?, street=?, "
         "community=?, grid=?, summary_zh=?, summary_en=?, evidence=?, escalation_level=?, "
         "repeats=?, next_escalation_ms=?, notified_at_ms=?, acknowledged_at_ms=?, "
         "acknowledged_by=?, resolved_at_ms=?, outcome=?, note=?, last_finding_at=? WHERE id=?");
  BindAlertBody(s, a);
  s.Bind(a.id);
  return impl_->Check(s.Exec() && sqlite3_changes(impl_->db) == 1);
}

std::optional<Alert> AlertStore::GetAlert(int64_t id) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE id=?");
  s.Bind(id);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return ReadAlert(s);
}

std::vector<Alert> AlertStore::ListAlerts(const AlertFilter& f) const {
  std::lock_guard lock(impl_->mu);
  std::string sql = std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE 1=1";
  if (f.state) sql += " AND state=?";
  if (f.active_only) sql += " AND state<>'resolved'";
  if (!f.street.empty()) sql += " AND street=?";
  if (!f.community.empty()) sql += " AND community=?";
  if (!f.grid.empty()) sql += " AND grid=?";
  sql += " ORDER BY id DESC LIMIT ?";
  Stmt s(impl_->db, sql);
  if (f.state) s.Bind(AlertStateName(*f.state));
  if (!f.street.empty()) s.Bind(f.street);
  if (!f.community.empty()) s.Bind(f.community);
  if (!f.grid.empty()) s.Bind(f.grid);
  s.Bind(static_cast<int64_t>(f.limit));
  std::vector<Alert> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadAlert(s));
  return out;
}

std::vector<Alert> AlertStore::LoadActiveAlerts() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string("SELECT ") + kAlertColumns +
                        " FROM alerts WHERE state<>'resolved' ORDER BY id");
  std::vector<Alert> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadAlert(s));
  return out;
}

std::optional<Alert> AlertStore::FindOpened(HouseholdIndex h, AlertKind kind,
                                            int64_t opened_at_s) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string("SELECT ") + kAlertColumns +
                        " FROM alerts WHERE household=? AND opened_at=? AND kind=? ORDER BY id "
                        "LIMIT 1");
  s.Bind(static_cast<int64_t>(h)).Bind(opened_at_s).Bind(AlertKindName(kind));
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return ReadAlert(s);
}

std::optional<Alert> AlertStore::LatestOfClass(HouseholdIndex h, AlertClass c) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string("SELECT ") + kAlertColumns +
                        " FROM alerts WHERE household=? ORDER BY last_finding_at DESC, id DESC");
  s.Bind(static_cast<int64_t>(h));
  while (s.Step() == SQLITE_ROW) {
    Alert a = ReadAlert(s);
    if (ClassOf(a.kind) == c) return a;
  }
  return std::nullopt;
}

bool AlertStore::AddTransition(const Transition& t) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "INSERT INTO transitions (alert_id, from_state, to_state, who, at_ms, detail) VALUES "
         "(?,?,?,?,?,?)");
  s.Bind(t.alert_id)
      .Bind(AlertStateName(t.from))
      .Bind(AlertStateName(t.to))
      .Bind(t.who)
      .Bind(t.at_ms)
      .Bind(t.detail);
  return impl_->Check(s.Exec());
}

std::vector<Transition> AlertStore::ListTransitions(int64_t alert_id) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT alert_id, from_state, to_state, who, at_ms, detail FROM transitions WHERE "
         "alert_id=? ORDER BY id");
  s.Bind(alert_id);
  std::vector<Transition> out;
  while (s.Step() == SQLITE_ROW) {
    Transition t;
    t.alert_id = s.Int(0);
    t.from = ParseOr(s.Text(1), ParseAlertState, AlertState::kOpen);
    t.to = ParseOr(s.Text(2), ParseAlertState, AlertState::kOpen);
    t.who = s.Text(3);
    t.at_ms = s.Int(4);
    t.detail = s.Text(5);
    out.push_back(std::move(t));
  }
  return out;
}

bool AlertStore::EnqueueDelivery(Delivery* d) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "INSERT OR IGNORE INTO deliveries (alert_id, contact, channel, target, idempotency_key, "
         "payload, attempts, created_ms, not_before_ms, next_attempt_ms, state, last_error, "
         "sent_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(d->alert_id)
      .Bind(d->contact_key)
      .Bind(ChannelName(d->channel))
      .Bind(d->target)
      .Bind(d->idempotency_key)
      .Bind(d->payload)
      .Bind(d->attempts)
      .Bind(d->created_ms)
      .Bind(d->not_before_ms)
      .Bind(d->next_attempt_ms)
      .Bind(DeliveryStateName(d->state))
      .Bind(d->last_error)
      .Bind(d->sent_ms);
  if (!impl_->Check(s.Exec())) return false;
  d->id = sqlite3_changes(impl_->db) == 1 ? sqlite3_last_insert_rowid(impl_->db) : 0;
  return true;
}

std::vector<Delivery> AlertStore::DueDeliveries(int64_t now_ms, int limit) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string("SELECT ") + kDeliveryColumns +
                        " FROM deliveries WHERE state='pending' AND next_attempt_ms<=? ORDER BY "
                        "next_attempt_ms, id LIMIT ?");
  s.Bind(now_ms).Bind(static_cast<int64_t>(limit));
  std::vector<Delivery> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadDelivery(s));
  return out;
}

std::vector<Delivery> AlertStore::ListDeliveries(int64_t alert_id) const {
  std::lock_guard lock(impl_->mu);
  std::string sql = std::string("SELECT ") + kDeliveryColumns + " FROM deliveries";
  if (alert_id != 0) sql += " WHERE alert_id=?";
  sql += " ORDER BY id";
  Stmt s(impl_->db, sql);
  if (alert_id != 0) s.Bind(alert_id);
  std::vector<Delivery> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadDelivery(s));
  return out;
}

bool AlertStore::MarkSent(int64_t id, int attempts, int64_t now_ms) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "UPDATE deliveries SET state='sent', attempts=?, sent_ms=?, last_error='' WHERE id=?");
  s.Bind(attempts).Bind(now_ms).Bind(id);
  return impl_->Check(s.Exec());
}

bool AlertStore::MarkRetry(int64_t id, int attempts, int64_t next_attempt_ms,
                           const std::string& error) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "UPDATE deliveries SET attempts=?, next_attempt_ms=?, last_error=? WHERE id=?");
  s.Bind(attempts).Bind(next_attempt_ms).Bind(error).Bind(id);
  return impl_->Check(s.Exec());
}

bool AlertStore::MarkDead(int64_t id, int attempts, const std::string& error) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "UPDATE deliveries SET state='dead', attempts=?, last_error=? WHERE id=? AND "
         "state='pending'");
  s.Bind(attempts).Bind(error).Bind(id);
  return impl_->Check(s.Exec()) && sqlite3_changes(impl_->db) == 1;
}

int64_t AlertStore::CancelPending(int64_t alert_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "UPDATE deliveries SET state='cancelled' WHERE alert_id=? AND state='pending'");
  s.Bind(alert_id);
  if (!impl_->Check(s.Exec())) return -1;
  return sqlite3_changes(impl_->db);
}

std::set<std::string> AlertStore::SentContacts(int64_t alert_id) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT DISTINCT contact FROM deliveries WHERE alert_id=? AND state='sent'");
  s.Bind(alert_id);
  std::set<std::string> out;
  while (s.Step() == SQLITE_ROW) out.insert(s.Text(0));
  return out;
}

int64_t AlertStore::CountPending() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT COUNT(*) FROM deliveries WHERE state='pending'");
  return s.Step() == SQLITE_ROW ? s.Int(0) : 0;
}

std::optional<int64_t> AlertStore::OldestDuePendingMs(int64_t now_ms) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT MIN(not_before_ms) FROM deliveries WHERE state='pending' AND not_before_ms<=?");
  s.Bind(now_ms);
  if (s.Step() != SQLITE_ROW || s.IsNull(0)) return std::nullopt;
  return s.Int(0);
}

bool AlertStore::AddAbsence(Absence* a) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "INSERT INTO absences (scope, scope_id, from_ts, to_ts, reason, created_by) VALUES "
         "(?,?,?,?,?,?)");
  s.Bind(a->scope)
      .Bind(a->scope_id)
      .Bind(a->from_s)
      .Bind(a->to_s)
      .Bind(a->reason)
      .Bind(a->created_by);
  if (!impl_->Check(s.Exec())) return false;
  a->id = sqlite3_last_insert_rowid(impl_->db);
  return true;
}

bool AlertStore::DeleteAbsence(int64_t id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "DELETE FROM absences WHERE id=?");
  s.Bind(id);
  return impl_->Check(s.Exec()) && sqlite3_changes(impl_->db) == 1;
}

std::optional<Absence> AlertStore::GetAbsence(int64_t id) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT id, scope, scope_id, from_ts, to_ts, reason, created_by FROM absences WHERE id=?");
  s.Bind(id);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  return ReadAbsence(s);
}

std::vector<Absence> AlertStore::ListAbsences() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(
      impl_->db,
      "SELECT id, scope, scope_id, from_ts, to_ts, reason, created_by FROM absences ORDER BY id");
  std::vector<Absence> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadAbsence(s));
  return out;
}

FeedbackCounts AlertStore::GetFeedback(const std::string& household_id,
                                       std::string_view kind) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT resident_fine, away_unregistered, notches FROM feedback WHERE household_id=? "
         "AND kind=?");
  s.Bind(household_id).Bind(kind);
  FeedbackCounts c;
  if (s.Step() == SQLITE_ROW) {
    c.resident_fine = static_cast<int>(s.Int(0));
    c.away_unregistered = static_cast<int>(s.Int(1));
    c.notches = static_cast<int>(s.Int(2));
  }
  return c;
}

bool AlertStore::PutFeedback(const std::string& household_id, std::string_view kind,
                             const FeedbackCounts& c) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "INSERT INTO feedback (household_id, kind, resident_fine, away_unregistered, notches) "
         "VALUES (?,?,?,?,?) ON CONFLICT(household_id, kind) DO UPDATE SET "
         "resident_fine=excluded.resident_fine, away_unregistered=excluded.away_unregistered, "
         "notches=excluded.notches");
  s.Bind(household_id).Bind(kind).Bind(c.resident_fine).Bind(c.away_unregistered).Bind(c.notches);
  return impl_->Check(s.Exec());
}

const std::string& AlertStore::ack_key() const { return impl_->ack_key; }

std::string AlertStore::last_error() const {
  std::lock_guard lock(impl_->mu);
  return sqlite3_errmsg(impl_->db);
}

}  // namespace gridwatch
