// AlertStore: the durable state of the alert stage in one SQLite database (WAL): alerts, their
// transitions, the deliveries outbox, absences and silences, and outcome feedback per
// household and kind. The schema is versioned (PRAGMA user_version); opening an older version
// migrates it, a newer one is refused. An alert and the deliveries it causes are written in one
// transaction (Transaction()) before anything is sent, so a crash loses neither. WAL with
// synchronous=NORMAL: a committed transaction survives a process crash (SIGKILL); a power cut
// may lose the last few.
//
// Thread-safe: one connection guarded by an internal mutex (calls are short; no network I/O).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alert/alert.h"

namespace gridwatch {

struct AlertFilter {
  std::optional<AlertState> state;      // exact state
  bool active_only = false;             // state != resolved
  std::string street, community, grid;  // empty = any
  int limit = 500;
};

struct FeedbackCounts {
  int resident_fine = 0;      // outcomes resident_fine on this household x kind
  int away_unregistered = 0;  // outcomes away with no absence registered (per household)
  int notches = 0;            // sensitivity notches already fed back to detect
};

class AlertStore {
 public:
  static constexpr int kSchemaVersion = 2;

  // Opens (creating if needed) the database at `path` (or ":memory:"), WAL journal, foreign
  // keys on, schema created or migrated. Throws std::runtime_error naming the path on failure
  // (start-up only).
  static std::unique_ptr<AlertStore> Open(const std::string& path);
  ~AlertStore();
  AlertStore(const AlertStore&) = delete;
  AlertStore& operator=(const AlertStore&) = delete;

  int schema_version() const;

  // Runs `fn` inside BEGIN IMMEDIATE ... COMMIT; rolls back if fn returns false or a statement
  // inside fails. Nested calls join the outer transaction. Returns whether it committed.
  [[nodiscard]] bool Transaction(const std::function<bool()>& fn);

  // Alerts. InsertAlert assigns alert->id. Update writes every mutable column.
  [[nodiscard]] bool InsertAlert(Alert* alert);
  [[nodiscard]] bool UpdateAlert(const Alert& alert);
  std::optional<Alert> GetAlert(int64_t id) const;
  std::vector<Alert> ListAlerts(const AlertFilter& filter) const;  // newest first
  std::vector<Alert> LoadActiveAlerts() const;                     // state != resolved
  // The alert of household `h` opened by `kind` at data time `opened_at_s`, if any.
  std::optional<Alert> FindOpened(HouseholdIndex h, AlertKind kind, int64_t opened_at_s) const;
  // Household `h`'s alert of class `c` (any state) with the newest last_finding_at_s, if any.
  std::optional<Alert> LatestOfClass(HouseholdIndex h, AlertClass c) const;

  [[nodiscard]] bool AddTransition(const Transition& t);
  std::vector<Transition> ListTransitions(int64_t alert_id) const;  // oldest first

  // Outbox. EnqueueDelivery ignores a delivery whose idempotency key already exists (returns
  // true, d->id = 0). DueDeliveries returns pending ones with next_attempt_ms <= now_ms,
  // oldest first.
  [[nodiscard]] bool EnqueueDelivery(Delivery* d);
  std::vector<Delivery> DueDeliveries(int64_t now_ms, int limit) const;
  std::vector<Delivery> ListDeliveries(int64_t alert_id) const;  // 0 = all
  [[nodiscard]] bool MarkSent(int64_t delivery_id, int attempts, int64_t now_ms);
  [[nodiscard]] bool MarkRetry(int64_t delivery_id, int attempts, int64_t next_attempt_ms,
                               const std::string& error);
  // MarkRetry and MarkDead only touch a pending delivery; MarkDead returns false otherwise.
  [[nodiscard]] bool MarkDead(int64_t delivery_id, int attempts, const std::string& error);
  // Cancels the alert's pending deliveries (acknowledged or resolved first); returns how many,
  // -1 on error (which also dooms an enclosing Transaction()).
  int64_t CancelPending(int64_t alert_id);
  // Contact keys that an alert's deliveries reached.
  std::set<std::string> SentContacts(int64_t alert_id) const;
  int64_t CountPending() const;
  // not_before_ms of the oldest pending delivery already allowed to go (<= now), if any.
  std::optional<int64_t> OldestDuePendingMs(int64_t now_ms) const;

  // Absences and silences. AddAbsence assigns a->id.
  [[nodiscard]] bool AddAbsence(Absence* a);
  [[nodiscard]] bool DeleteAbsence(int64_t id);  // false if no such id
  std::optional<Absence> GetAbsence(int64_t id) const;
  std::vector<Absence> ListAbsences() const;

  // Feedback per household id x kind (kind "" = per household).
  FeedbackCounts GetFeedback(const std::string& household_id, std::string_view kind) const;
  [[nodiscard]] bool PutFeedback(const std::string& household_id, std::string_view kind,
                                 const FeedbackCounts& c);

  // A random 256-bit key (hex) created with the database and kept in it: signs the one-tap
  // acknowledgement links of notifications, so links stay valid across restarts.
  const std::string& ack_key() const;

  // The last SQLite error message (for logs).
  std::string last_error() const;

 private:
  struct Impl;
  explicit AlertStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch
