// AlertManager: turns detect's Findings into alerts and runs their lifecycle
// (open -> notified -> acknowledged -> resolved with an outcome). One alert per household
// episode: at most one active (unresolved) alert per household and AlertClass (acute, trend,
// ops; detect/finding.h); a finding on a household with an active alert of the same class
// updates it (evidence, severity up) instead of opening another. When every kind in an alert
// has cleared and nobody has acknowledged it, it resolves by itself (outcome activity_returned)
// with a notice to those its notifications reached; acknowledged alerts wait for a person to
// resolve them. Acknowledging or resolving cancels the alert's deliveries not yet sent.
//
// Routing: a new alert goes to the contacts of its grid (level 0); not acknowledged within the
// severity's delay it escalates to the community (1), then the street (2), then repeats at the
// top level at most max_repeats times. Quiet hours delay only low-severity notifications.
// Absences (household) and silences (grid, community, street) drop welfare findings that would
// open an alert while active; meter_silent still opens its ops alert.
//
// `notified` means the notifications were written to the outbox (in the same transaction as
// the alert); the Dispatcher sends them. An alert whose grid, community and street have no
// contacts stays `open` (it is still stored, published and listed by the API).
//
// Every change is written to the AlertStore first (alert, transition and the deliveries it
// causes in one transaction), then published on `{prefix}/{street}/{community}/{grid}` (QoS as
// configured) through the MessagePublisher. Sending is the Dispatcher's job (dispatcher.h).
// All time comes from the injected Clock; Tick() runs escalations (the app calls it every few
// seconds; tests advance a FakeClock and call it).
//
// Thread-safe: one internal mutex; callbacks run on the calling thread after it is released.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "alert/alert.h"
#include "alert/alert_metrics.h"
#include "alert/alert_store.h"
#include "alert/publisher.h"
#include "common/clock.h"
#include "common/time_zone.h"
#include "config/options.h"
#include "config/registry.h"
#include "detect/finding.h"

namespace gridwatch {

// An error of a human action, with the HTTP status it maps to (404, 409, 422, 500).
struct AlertError {
  int status = 500;
  std::string reason;
};

enum class FindingResult : uint8_t {
  kOpened = 0,
  kUpdated,
  kResolved,           // the last active kind cleared: the alert resolved by itself
  kCleared,            // a kind cleared but the alert stays (other kinds, or acknowledged)
  kSuppressedAbsence,  // welfare finding inside a household's registered absence
  kSuppressedSilence,  // welfare finding inside a grid/community/street silence
  kIgnored,            // update or clear without an active alert, unknown household
  kStoreError,         // the store refused the write: nothing changed (retry the finding)
  kDuplicate,          // a replayed finding the store already holds (see FindingOrigin)
};

// Where a finding comes from. kWalReplay: the detectors re-deriving, at start, findings from the
// readings replayed out of the write-ahead log, some of which the alert stage may have applied
// before the crash. Such a finding is a duplicate, and changes nothing, when the store already
// has the alert it opens (same household, kind and opened_at), or when it is older (data time)
// than the newest finding applied to its household's latest episode of that class (welfare
// classes: their findings come in data-time order per household). Live findings are applied
// as they come.
enum class FindingOrigin : uint8_t { kLive = 0, kWalReplay };

struct AlertManagerDeps {
  AlertStore* store = nullptr;               // required; outlives the manager
  std::shared_ptr<const Registry> registry;  // required
  const Clock* clock = nullptr;              // required; outlives the manager
  MessagePublisher* publisher = nullptr;     // optional: state changes are not published
  AlertMetrics* metrics = nullptr;           // optional
  std::shared_ptr<const TimeZone> tz;        // quiet hours and message times; null = UTC
  std::vector<Contact> contacts;
  std::string alerts_topic_prefix = "gridwatch/alerts";
  int alerts_qos = 1;
};

struct AlertManagerStats {
  uint64_t opened = 0;
  uint64_t updated = 0;
  uint64_t auto_resolved = 0;
  uint64_t suppressed_absence = 0;
  uint64_t suppressed_silence = 0;
  uint64_t ignored = 0;
  uint64_t duplicates = 0;  // replayed findings already applied
  uint64_t escalations = 0;
  uint64_t deliveries_enqueued = 0;
  uint64_t store_errors = 0;
  uint64_t publish_failures = 0;
};

class AlertManager {
 public:
  // Sensitivity notches fed back per household x kind at most (detect clamps as well).
  static constexpr int kMaxFeedbackNotches = 4;

  // Loads active alerts and absences from the store (a restart resumes escalations). Throws
  // ConfigError for a bad options.quiet_hours ("HH:MM-HH:MM", or empty for none) and
  // std::invalid_argument for a missing required dependency (start-up only).
  AlertManager(const AlertOptions& options, AlertManagerDeps deps);
  ~AlertManager();
  AlertManager(const AlertManager&) = delete;
  AlertManager& operator=(const AlertManager&) = delete;

  // Applies one finding (see FindingResult, FindingOrigin). Never throws; a store failure leaves
  // the manager unchanged and returns kStoreError.
  FindingResult OnFinding(const Finding& f, FindingOrigin origin = FindingOrigin::kLive);

  // Runs due escalations, repeats and auto_resolve_after_s expiry at clock time; refreshes the
  // open-alert gauges. Returns the number of alerts it acted on.
  int Tick();

  // A person acknowledges: stops escalation. 404 no such alert, 409 already acknowledged or
  // resolved. `who` is recorded (e.g. "grid:G1 Li"), never published on the shared topic.
  std::expected<Alert, AlertError> Acknowledge(int64_t id, const std::string& who);

  // A person closes the alert with an outcome (not kNone/kActivityReturned: 422) and a note;
  // 404 no such alert, 409 already resolved. Feeds back: `away` with no absence registered is
  // counted per household; `resident_fine` makes each kind of the alert a notch less sensitive
  // for the household (bounded by kMaxFeedbackNotches) through the feedback callback; every
  // answer reaches the answered callback. `away_until_s` (0 = not said; with `away` or
  // `hospital` only, within kMaxAnsweredAbsenceS, else 422 before anything changes): the
  // resident is away until then — an absence of the household is registered from the answer.
  std::expected<Alert, AlertError> Resolve(int64_t id, Outcome outcome, const std::string& note,
                                           const std::string& who, int64_t away_until_s = 0);
  static constexpr int64_t kMaxAnsweredAbsenceS = 90 * 86400;

  std::optional<Alert> GetAlert(int64_t id) const;
  std::vector<Alert> ListAlerts(const AlertFilter& filter) const;
  std::vector<Transition> Transitions(int64_t alert_id) const;

  // Registers an absence (scope household, scope_id a registry household id) or a silence
  // (scope grid|community|street). 422 for an unknown scope or household, to <= from.
  std::expected<Absence, AlertError> AddAbsence(Absence a);
  // 404 if no such absence.
  std::expected<void, AlertError> RemoveAbsence(int64_t id);
  std::optional<Absence> GetAbsence(int64_t id) const;
  std::vector<Absence> ListAbsences() const;
  // Whether a welfare finding for household `h` at data time `at_s` (episode since `since_s`)
  // would be suppressed, and by what ("absence" or "silence"); empty if not.
  std::string SuppressionReason(HouseholdIndex h, int64_t at_s, int64_t since_s) const;

  // Called once per alert opened, after it is stored, with the finding that opened it (replay
  // writes OpenedJsonLine from it).
  void SetOpenedCallback(std::function<void(const Alert&, const Finding&)> cb);
  // Called with (household, kind, +notches) on resident_fine feedback; the app posts it to the
  // household's detector shard (Detector::AdjustSensitivity is confined to that thread).
  void SetFeedbackCallback(std::function<void(HouseholdIndex, AlertKind, int)> cb);
  // Called with (household, outcome, data time in s) whenever a person resolves a welfare alert:
  // the resident was seen or accounted for then. The app posts it to the household's detector
  // shard (Detector::Answered: the quiet spell is counted again from then; `away`, `hospital` and
  // `deceased` hold the quiet kinds until the home is active again).
  void SetAnsweredCallback(std::function<void(HouseholdIndex, Outcome, int64_t)> cb);
  // Called after deliveries were written to the outbox (the app wakes the Dispatcher).
  void SetEnqueuedCallback(std::function<void()> cb);

  // The one-tap acknowledgement link of alert `id` for `contact`:
  // {ack_base_url}/api/v1/alerts/{id}/ack?c=<contact hash>&sig=<HMAC of id and contact, keyed by
  // the store's ack_key>. Valid until the alert is acknowledged or resolved.
  std::string AckLink(int64_t id, const Contact& contact) const;
  // Checks a link's c and sig for alert `id`; on success returns who it was sent to
  // ("grid:G1 Li"), else nullopt. Constant-time comparison.
  std::optional<std::string> VerifyAckLink(int64_t id, std::string_view c,
                                           std::string_view sig) const;

  AlertManagerStats stats() const;
  std::shared_ptr<const Registry> registry() const {
    std::lock_guard lock(mu_);
    return deps_.registry;
  }
  // A reloaded households registry (SIGHUP): households are matched by index; alerts keep the
  // street/community/grid they were opened with.
  void SetRegistry(std::shared_ptr<const Registry> registry);
  // Reloaded contacts: routing of notifications from now on.
  void SetContacts(std::vector<Contact> contacts);

 private:
  struct Pending;  // callbacks and publishes collected under the lock, run after it

  FindingResult OnFindingLocked(const Finding& f, FindingOrigin origin, Pending* p);
  void StoreFailed();  // counts a refused write (stats and metric)
  bool AlreadyApplied(const Finding& f, const Alert* current) const;
  bool NotifyLevel(Alert* a, int level, std::string_view event, int64_t now_ms, Pending* p,
                   const std::set<std::string>* only = nullptr);
  bool ResolveNotice(Alert* a, int64_t now_ms, Pending* p);
  int FirstLevelWithContacts(const Alert& a, int from_level) const;
  std::vector<const Contact*> ContactsAt(const Alert& a, int level) const;
  int64_t EscalationDelayMs(Severity s) const;
  int64_t QuietDeferralMs(Severity s, int64_t now_ms) const;
  bool RecordTransition(Alert* a, AlertState to, const std::string& who, int64_t now_ms,
                        const std::string& detail);
  void Publish(const Alert& a, std::string_view event, Pending* p);
  void Forget(const Alert& a);
  void CountResolved(const Alert& a);  // the metrics of a resolution (transition, outcome)
  void RefreshOpenGauges();
  void RunPending(Pending* p);
  bool AbsenceCovers(const Absence& a, const Household& hh, int64_t t) const;

  AlertOptions options_;
  AlertManagerDeps deps_;
  int quiet_start_min_ = -1;  // local minutes; -1 = no quiet hours
  int quiet_end_min_ = -1;

  mutable std::mutex mu_;
  std::map<std::pair<HouseholdIndex, int>, int64_t> active_by_episode_;  // (household, class)
  std::unordered_map<int64_t, Alert> active_;                            // id -> alert
  std::vector<Absence> absences_;
  std::array<int, kNumAlertKinds> open_by_kind_{};
  AlertManagerStats stats_;
  std::function<void(const Alert&, const Finding&)> opened_cb_;
  std::function<void(HouseholdIndex, AlertKind, int)> feedback_cb_;
  std::function<void(HouseholdIndex, Outcome, int64_t)> answered_cb_;
  std::function<void()> enqueued_cb_;
};

}  // namespace gridwatch
