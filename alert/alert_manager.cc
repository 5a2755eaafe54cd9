#include "alert/alert_manager.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <tuple>

#include "alert/alert_json.h"
#include "alert/notifier.h"
#include "common/time_util.h"
#include "config/config_error.h"

namespace gridwatch {
namespace {

constexpr int kLevels = 3;  // grid, community, street
constexpr const char* kLevelScopes[kLevels] = {"grid", "community", "street"};

uint16_t Bit(AlertKind k) { return static_cast<uint16_t>(1u << static_cast<int>(k)); }

std::string Fnv1aHex(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// "HH:MM-HH:MM" -> minutes; empty/"off" -> none.
bool ParseQuietHours(const std::string& s, int* start, int* end) {
  *start = *end = -1;
  if (s.empty() || s == "off" || s == "none") return true;
  int h1, m1, h2, m2;
  char tail;
  if (std::sscanf(s.c_str(), "%d:%d-%d:%d%c", &h1, &m1, &h2, &m2, &tail) != 4) return false;
  if (h1 < 0 || h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
    return false;
  *start = h1 * 60 + m1;
  *end = h2 * 60 + m2;
  if (*start == *end) *start = *end = -1;
  return true;
}

const std::string& LevelId(const Alert& a, int level) {
  return level == 0 ? a.grid : (level == 1 ? a.community : a.street);
}

}  // namespace

struct AlertManager::Pending {
  std::vector<std::pair<std::string, std::string>> publishes;  // topic, payload
  std::vector<std::pair<Alert, Finding>> opened;
  std::vector<std::pair<HouseholdIndex, AlertKind>> feedback;
  std::vector<std::tuple<HouseholdIndex, Outcome, int64_t>> answered;
  bool enqueued = false;
};

AlertManager::AlertManager(const AlertOptions& options, AlertManagerDeps deps)
    : options_(options), deps_(std::move(deps)) {
  if (!deps_.store || !deps_.registry || !deps_.clock)
    throw std::invalid_argument("AlertManager needs a store, a registry and a clock");
  if (!deps_.tz) deps_.tz = TimeZone::Fixed(0);
  if (!ParseQuietHours(options_.quiet_hours, &quiet_start_min_, &quiet_end_min_))
    throw ConfigError(
        "<config>", 0,
        "alert.quiet_hours: expected HH:MM-HH:MM or empty (got '" + options_.quiet_hours + "')");
  for (Alert& a : deps_.store->LoadActiveAlerts()) {
    active_by_episode_[{a.household, static_cast<int>(ClassOf(a.kind))}] = a.id;
    ++open_by_kind_[static_cast<int>(a.kind)];
    active_.emplace(a.id, std::move(a));
  }
  absences_ = deps_.store->ListAbsences();
  RefreshOpenGauges();
}

AlertManager::~AlertManager() = default;

void AlertManager::SetOpenedCallback(std::function<void(const Alert&, const Finding&)> cb) {
  std::lock_guard lock(mu_);
  opened_cb_ = std::move(cb);
}
void AlertManager::SetFeedbackCallback(std::function<void(HouseholdIndex, AlertKind, int)> cb) {
  std::lock_guard lock(mu_);
  feedback_cb_ = std::move(cb);
}
void AlertManager::SetAnsweredCallback(std::function<void(HouseholdIndex, Outcome, int64_t)> cb) {
  std::lock_guard lock(mu_);
  answered_cb_ = std::move(cb);
}
void AlertManager::SetEnqueuedCallback(std::function<void()> cb) {
  std::lock_guard lock(mu_);
  enqueued_cb_ = std::move(cb);
}

std::string AlertManager::AckLink(int64_t id, const Contact& contact) const {
  const std::string c = Fnv1aHex(contact.Key());
  return options_.ack_base_url + "/api/v1/alerts/" + std::to_string(id) + "/ack?c=" + c +
         "&sig=" + HmacSha256Hex(deps_.store->ack_key(), std::to_string(id) + ":" + c);
}

std::optional<std::string> AlertManager::VerifyAckLink(int64_t id, std::string_view c,
                                                       std::string_view sig) const {
  const std::string want =
      HmacSha256Hex(deps_.store->ack_key(), std::to_string(id) + ":" + std::string(c));
  if (sig.size() != want.size()) return std::nullopt;
  unsigned diff = 0;
  for (size_t i = 0; i < want.size(); ++i) diff |= static_cast<unsigned char>(want[i] ^ sig[i]);
  if (diff != 0) return std::nullopt;
  for (const Contact& k : deps_.contacts)
    if (Fnv1aHex(k.Key()) == c) return k.scope + ":" + k.scope_id + " " + k.name;
  return "link:" + std::string(c);  // signed by us for a contact since removed
}

void AlertManager::SetRegistry(std::shared_ptr<const Registry> registry) {
  if (!registry) return;
  std::lock_guard lock(mu_);
  deps_.registry = std::move(registry);
}

void AlertManager::SetContacts(std::vector<Contact> contacts) {
  std::lock_guard lock(mu_);
  deps_.contacts = std::move(contacts);
}

AlertManagerStats AlertManager::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void AlertManager::RunPending(Pending* p) {
  // Called without the lock; the callbacks were copied under it.
  std::function<void(const Alert&, const Finding&)> opened;
  std::function<void(HouseholdIndex, AlertKind, int)> feedback;
  std::function<void(HouseholdIndex, Outcome, int64_t)> answered;
  std::function<void()> enqueued;
  {
    std::lock_guard lock(mu_);
    opened = opened_cb_;
    feedback = feedback_cb_;
    answered = answered_cb_;
    enqueued = enqueued_cb_;
  }
  if (deps_.publisher) {
    for (const auto& [topic, payload] : p->publishes) {
      if (!deps_.publisher->Publish(topic, payload, deps_.alerts_qos)) {
        std::lock_guard lock(mu_);
        ++stats_.publish_failures;
      }
    }
  }
  if (opened)
    for (const auto& [a, f] : p->opened) opened(a, f);
  if (feedback)
    for (const auto& [h, k] : p->feedback) feedback(h, k, 1);
  if (answered)
    for (const auto& [h, o, at_s] : p->answered) answered(h, o, at_s);
  if (enqueued && p->enqueued) enqueued();
}

void AlertManager::Publish(const Alert& a, std::string_view event, Pending* p) {
  p->publishes.emplace_back(AlertTopic(deps_.alerts_topic_prefix, a), AlertJson(a, event));
}

bool AlertManager::AbsenceCovers(const Absence& ab, const Household& hh, int64_t t) const {
  if (t < ab.from_s || t >= ab.to_s) return false;
  if (ab.scope == "household") return ab.scope_id == hh.id;
  if (ab.scope == "grid") return ab.scope_id == hh.grid;
  if (ab.scope == "community") return ab.scope_id == hh.community;
  if (ab.scope == "street") return ab.scope_id == hh.street;
  return false;
}

std::string AlertManager::SuppressionReason(HouseholdIndex h, int64_t at_s, int64_t since_s) const {
  if (h >= deps_.registry->size()) return {};
  const Household& hh = deps_.registry->at(h);
  std::string reason;
  for (const Absence& ab : absences_) {
    // The episode is explained by the absence if the finding falls inside it, or if the
    // anomalous stretch began inside it (the resident has not come back yet).
    if (AbsenceCovers(ab, hh, at_s) || (since_s > 0 && AbsenceCovers(ab, hh, since_s))) {
      if (ab.scope == "household") return "absence";
      reason = "silence";
    }
  }
  return reason;
}

int64_t AlertManager::EscalationDelayMs(Severity s) const {
  switch (s) {
    case Severity::kCritical:
      return options_.escalate_critical_s * 1000;
    case Severity::kHigh:
      return options_.escalate_high_s * 1000;
    case Severity::kMedium:
      return options_.escalate_medium_s * 1000;
    case Severity::kLow:
      return options_.escalate_low_s * 1000;
  }
  return options_.escalate_medium_s * 1000;
}

int64_t AlertManager::QuietDeferralMs(Severity s, int64_t now_ms) const {
  if (s != Severity::kLow || quiet_start_min_ < 0) return now_ms;
  const int64_t now_s = now_ms / 1000;
  const int64_t local = deps_.tz->ToLocal(now_s);
  const int minute = static_cast<int>((local - FloorDiv(local, 86400) * 86400) / 60);
  const bool quiet = quiet_start_min_ < quiet_end_min_
                         ? (minute >= quiet_start_min_ && minute < quiet_end_min_)
                         : (minute >= quiet_start_min_ || minute < quiet_end_min_);
  if (!quiet) return now_ms;
  int64_t end_local = FloorDiv(local, 86400) * 86400 + quiet_end_min_ * 60;
  if (end_local <= local) end_local += 86400;
  return (now_s + (end_local - local)) * 1000;
}

std::vector<const Contact*> AlertManager::ContactsAt(const Alert& a, int level) const {
  std::vector<const Contact*> out;
  if (level < 0 || level >= kLevels) return out;
  const std::string& id = LevelId(a, level);
  for (const Contact& c : deps_.contacts)
    if (c.scope == kLevelScopes[level] && c.scope_id == id) out.push_back(&c);
  return out;
}

int AlertManager::FirstLevelWithContacts(const Alert& a, int from_level) const {
  for (int l = from_level; l < kLevels; ++l)
    if (!ContactsAt(a, l).empty()) return l;
  return -1;
}

bool AlertManager::RecordTransition(Alert* a, AlertState to, const std::string& who, int64_t now_ms,
                                    const std::string& detail) {
  Transition t{a->id, a->state, to, who, now_ms, detail};
  a->state = to;
  a->updated_at_s = now_ms / 1000;
  return deps_.store->AddTransition(t);
}

bool AlertManager::ResolveNotice(Alert* a, int64_t now_ms, Pending* p) {
  // Tell those the alert reached that it is over; what was not sent yet is not sent at all.
  const std::set<std::string> reached = deps_.store->SentContacts(a->id);
  if (deps_.store->CancelPending(a->id) < 0) return false;
  for (int l = 0; l <= a->escalation_level; ++l)
    if (!NotifyLevel(a, l, "resolved", now_ms, p, &reached)) return false;
  return true;
}

bool AlertManager::NotifyLevel(Alert* a, int level, std::string_view event, int64_t now_ms,
                               Pending* p, const std::set<std::string>* only) {
  auto contacts = ContactsAt(*a, level);
  if (only) std::erase_if(contacts, [only](const Contact* c) { return !only->contains(c->Key()); });
  const int64_t not_before = event == "resolved" ? now_ms : QuietDeferralMs(a->severity, now_ms);
  const std::string address =
      a->household < deps_.registry->size() ? deps_.registry->at(a->household).address : "";
  const std::string alert_json = AlertJson(*a, event);
  for (const Contact* c : contacts) {
    const std::string ack_url = AckLink(a->id, *c);
    const NotificationText txt = RenderNotification(*a, event, address, c->lang, ack_url, *deps_.tz,
                                                    EscalationDelayMs(a->severity) / 1000);
    nlohmann::json payload;
    payload["event"] = std::string(event);
    payload["title"] = txt.title;
    payload["text"] = txt.text;
    payload["ack_url"] = ack_url;
    payload["alert"] = nlohmann::json::parse(alert_json);
    Delivery d;
    d.alert_id = a->id;
    d.contact_key = c->Key();
    d.channel = c->channel;
    d.target = c->target;
    d.idempotency_key = "gw-" + std::to_string(a->id) + "-" + std::string(event) + "-l" +
                        std::to_string(level) + "-r" + std::to_string(a->repeats) + "-" +
                        Fnv1aHex(d.contact_key);
    d.payload = payload.dump();
    d.created_ms = now_ms;
    d.not_before_ms = not_before;
    d.next_attempt_ms = not_before;
    if (!deps_.store->EnqueueDelivery(&d)) return false;
    if (d.id != 0) {
      ++stats_.deliveries_enqueued;
      p->enqueued = true;
    }
  }
  if (event != "resolved") a->next_escalation_ms = not_before + EscalationDelayMs(a->severity);
  return true;
}

void AlertManager::Forget(const Alert& a) {
  active_by_episode_.erase({a.household, static_cast<int>(ClassOf(a.kind))});
  active_.erase(a.id);
  --open_by_kind_[static_cast<int>(a.kind)];
}

void AlertManager::CountResolved(const Alert& a) {
  if (!deps_.metrics) return;
  deps_.metrics->Transition("resolved");
  deps_.metrics->Resolved(a.kind, a.outcome);
}

void AlertManager::RefreshOpenGauges() {
  if (!deps_.metrics) return;
  for (int k = 0; k < kNumAlertKinds; ++k)
    deps_.metrics->SetOpen(static_cast<AlertKind>(k), open_by_kind_[k]);
}

FindingResult AlertManager::OnFinding(const Finding& f, FindingOrigin origin) {
  Pending p;
  FindingResult r;
  {
    std::lock_guard lock(mu_);
    r = OnFindingLocked(f, origin, &p);
  }
  RunPending(&p);
  return r;
}

void AlertManager::StoreFailed() {
  ++stats_.store_errors;
  if (deps_.metrics) deps_.metrics->StoreError();
}

bool AlertManager::AlreadyApplied(const Finding& f, const Alert* current) const {
  if (f.state == FindingState::kRaised && !current &&
      deps_.store->FindOpened(f.household, f.kind, f.at_ts))
    return true;
  // Ops findings (meter_silent) are raised on the clock, not on readings: no data-time order.
  if (ClassOf(f.kind) == AlertClass::kOps) return false;
  if (current) return f.at_ts < current->last_finding_at_s;
  const auto latest = deps_.store->LatestOfClass(f.household, ClassOf(f.kind));
  return latest && f.at_ts < latest->last_finding_at_s;
}

FindingResult AlertManager::OnFindingLocked(const Finding& f, FindingOrigin origin, Pending* p) {
  if (f.household >= deps_.registry->size()) {
    ++stats_.ignored;
    return FindingResult::kIgnored;
  }
  const int64_t now_ms = deps_.clock->NowMs();
  const auto episode = std::make_pair(f.household, static_cast<int>(ClassOf(f.kind)));
  auto it = active_by_episode_.find(episode);
  Alert* current = it == active_by_episode_.end() ? nullptr : &active_.at(it->second);
  if (origin == FindingOrigin::kWalReplay && AlreadyApplied(f, current)) {
    ++stats_.duplicates;
    if (deps_.metrics) deps_.metrics->Suppressed("duplicate");
    return FindingResult::kDuplicate;
  }

  if (f.state == FindingState::kCleared) {
    if (!current || !(current->kinds_active & Bit(f.kind))) {
      ++stats_.ignored;
      return FindingResult::kIgnored;
    }
    Alert a = *current;
    a.kinds_active &= static_cast<uint16_t>(~Bit(f.kind));
    a.updated_at_s = now_ms / 1000;
    a.last_finding_at_s = std::max(a.last_finding_at_s, f.at_ts);
    const bool resolve = a.kinds_active == 0 && a.state != AlertState::kAcknowledged;
    const bool ok = deps_.store->Transaction([&] {
      if (resolve) {
        a.outcome = Outcome::kActivityReturned;
        a.resolved_at_ms = now_ms;
        a.next_escalation_ms = 0;
        if (!RecordTransition(&a, AlertState::kResolved, "system", now_ms, "activity returned"))
          return false;
        if (!ResolveNotice(&a, now_ms, p)) return false;
      }
      return deps_.store->UpdateAlert(a);
    });
    if (!ok) {
      StoreFailed();
      return FindingResult::kStoreError;
    }
    if (!resolve) {
      *current = a;
      return FindingResult::kCleared;
    }
    Forget(a);
    ++stats_.auto_resolved;
    CountResolved(a);
    RefreshOpenGauges();
    Publish(a, "resolved", p);
    return FindingResult::kResolved;
  }

  if (current) {  // raised or updated on an active alert of the same class: update it
    Alert a = *current;
    // A kind the alert has not shown yet (a heater left on in a home already quiet for hours)
    // is news for those who follow the alert, whatever its severity: published as an update.
    const bool new_kind = !(a.kinds_seen & Bit(f.kind));
    a.kinds_active |= Bit(f.kind);
    a.kinds_seen |= Bit(f.kind);
    const bool severity_up = f.severity > a.severity;
    if (severity_up) a.severity = f.severity;
    a.learning = f.learning;
    a.summary_zh = f.summary_zh;
    a.summary_en = f.summary_en;
    a.evidence_json = EvidenceJson(f.evidence);
    a.updated_at_s = now_ms / 1000;
    a.last_finding_at_s = std::max(a.last_finding_at_s, f.at_ts);
    if (severity_up && a.next_escalation_ms > 0)
      a.next_escalation_ms = std::min(a.next_escalation_ms, now_ms + EscalationDelayMs(a.severity));
    if (!deps_.store->UpdateAlert(a)) {
      StoreFailed();
      return FindingResult::kStoreError;
    }
    *current = a;
    ++stats_.updated;
    if (severity_up || new_kind) Publish(a, "updated", p);
    return FindingResult::kUpdated;
  }

  if (f.state == FindingState::kUpdated) {  // an episode we did not open (suppressed earlier)
    ++stats_.ignored;
    return FindingResult::kIgnored;
  }
  if (IsWelfare(f.kind)) {
    const std::string reason = SuppressionReason(f.household, f.at_ts, f.evidence.since_ts);
    if (!reason.empty()) {
      if (deps_.metrics) deps_.metrics->Suppressed(reason);
      if (reason == "absence") {
        ++stats_.suppressed_absence;
        return FindingResult::kSuppressedAbsence;
      }
      ++stats_.suppressed_silence;
      return FindingResult::kSuppressedSilence;
    }
  }

  const Household& hh = deps_.registry->at(f.household);
  Alert a;
  a.household = f.household;
  a.household_id = hh.id;
  a.kind = f.kind;
  a.kinds_active = a.kinds_seen = Bit(f.kind);
  a.severity = f.severity;
  a.state = AlertState::kOpen;
  a.learning = f.learning;
  a.opened_at_s = f.at_ts;
  a.last_finding_at_s = f.at_ts;
  a.updated_at_s = now_ms / 1000;
  a.since_s = f.evidence.since_ts;
  a.street = hh.street;
  a.community = hh.community;
  a.grid = hh.grid;
  a.summary_zh = f.summary_zh;
  a.summary_en = f.summary_en;
  a.evidence_json = EvidenceJson(f.evidence);
  const int level = FirstLevelWithContacts(a, 0);
  bool notified = false;
  const bool ok = deps_.store->Transaction([&] {
    if (!deps_.store->InsertAlert(&a)) return false;
    if (!deps_.store->AddTransition({a.id, AlertState::kOpen, AlertState::kOpen, "system", now_ms,
                                     "opened by " + std::string(AlertKindName(f.kind))}))
      return false;
    if (level >= 0) {
      a.escalation_level = level;
      if (!NotifyLevel(&a, level, "opened", now_ms, p)) return false;
      a.notified_at_ms = now_ms;
      if (!RecordTransition(&a, AlertState::kNotified, "system", now_ms,
                            "level " + std::to_string(level)))
        return false;
      notified = true;
    }
    return deps_.store->UpdateAlert(a);
  });
  if (!ok) {
    StoreFailed();
    p->enqueued = false;
    return FindingResult::kStoreError;
  }
  ++stats_.opened;
  ++open_by_kind_[static_cast<int>(a.kind)];
  active_by_episode_[episode] = a.id;
  active_.emplace(a.id, a);
  if (deps_.metrics) {
    deps_.metrics->Opened(a.kind, a.severity);
    deps_.metrics->Transition("open");
    if (notified) deps_.metrics->Transition("notified");
  }
  RefreshOpenGauges();
  Alert as_opened = a;
  as_opened.state = AlertState::kOpen;
  Publish(as_opened, "opened", p);
  if (notified) Publish(a, "notified", p);
  p->opened.emplace_back(a, f);
  return FindingResult::kOpened;
}

int AlertManager::Tick() {
  Pending p;
  int acted = 0;
  {
    std::lock_guard lock(mu_);
    const int64_t now_ms = deps_.clock->NowMs();
    std::vector<int64_t> ids;
    for (const auto& [id, a] : active_) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (int64_t id : ids) {
      Alert a = active_.at(id);
      const bool waiting = a.state == AlertState::kNotified && a.next_escalation_ms > 0 &&
                           a.next_escalation_ms <= now_ms;
      const bool expired = options_.auto_resolve_after_s > 0 &&
                           (a.state == AlertState::kOpen || a.state == AlertState::kNotified) &&
                           now_ms / 1000 - a.updated_at_s >= options_.auto_resolve_after_s;
      if (expired) {
        const bool ok = deps_.store->Transaction([&] {
          a.outcome = Outcome::kActivityReturned;
          a.resolved_at_ms = now_ms;
          a.next_escalation_ms = 0;
          if (!RecordTransition(
                  &a, AlertState::kResolved, "system", now_ms,
                  "no finding for " + std::to_string(options_.auto_resolve_after_s) + " s"))
            return false;
          if (!ResolveNotice(&a, now_ms, &p)) return false;
          return deps_.store->UpdateAlert(a);
        });
        if (!ok) {
          StoreFailed();
          continue;
        }
        Forget(a);
        ++stats_.auto_resolved;
        ++acted;
        CountResolved(a);
        Publish(a, "resolved", &p);
        continue;
      }
      if (!waiting) continue;
      const int next = FirstLevelWithContacts(a, a.escalation_level + 1);
      bool escalated = false;
      const bool ok = deps_.store->Transaction([&] {
        if (next >= 0) {
          a.escalation_level = next;
          escalated = true;
          if (!NotifyLevel(&a, next, "escalated", now_ms, &p)) return false;
          if (!RecordTransition(&a, AlertState::kNotified, "system", now_ms,
                                "escalated to level " + std::to_string(next)))
            return false;
        } else if (a.repeats < options_.max_repeats) {
          ++a.repeats;
          if (!NotifyLevel(&a, a.escalation_level, "repeat", now_ms, &p)) return false;
          if (!RecordTransition(&a, AlertState::kNotified, "system", now_ms,
                                "repeat " + std::to_string(a.repeats)))
            return false;
        } else {
          a.next_escalation_ms = 0;  // bounded: nothing more to send
        }
        return deps_.store->UpdateAlert(a);
      });
      if (!ok) {
        StoreFailed();
        continue;
      }
      active_.at(id) = a;
      ++acted;
      if (escalated) {
        ++stats_.escalations;
        if (deps_.metrics) deps_.metrics->Escalation(next);
        Publish(a, "escalated", &p);
      }
    }
    RefreshOpenGauges();
  }
  RunPending(&p);
  return acted;
}

std::expected<Alert, AlertError> AlertManager::Acknowledge(int64_t id, const std::string& who) {
  Pending p;
  Alert a;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it == active_.end()) {
      if (deps_.store->GetAlert(id)) return std::unexpected(AlertError{409, "alert is resolved"});
      return std::unexpected(AlertError{404, "no such alert"});
    }
    a = it->second;
    if (a.state == AlertState::kAcknowledged)
      return std::unexpected(AlertError{409, "alert is already acknowledged"});
    const int64_t now_ms = deps_.clock->NowMs();
    a.acknowledged_at_ms = now_ms;
    a.acknowledged_by = who;
    a.next_escalation_ms = 0;
    const bool ok = deps_.store->Transaction([&] {
      // Pending escalations and repeats are moot once a person has it.
      return deps_.store->CancelPending(a.id) >= 0 &&
             RecordTransition(&a, AlertState::kAcknowledged, who, now_ms, "") &&
             deps_.store->UpdateAlert(a);
    });
    if (!ok) {
      StoreFailed();
      return std::unexpected(AlertError{500, "store error"});
    }
    it->second = a;
    if (deps_.metrics) {
      deps_.metrics->Transition("acknowledged");
      const int64_t from = a.notified_at_ms > 0 ? a.notified_at_ms : a.opened_at_s * 1000;
      deps_.metrics->AckSeconds(std::max<int64_t>(0, now_ms - from) / 1000.0);
    }
    Publish(a, "acknowledged", &p);
  }
  RunPending(&p);
  return a;
}

std::expected<Alert, AlertError> AlertManager::Resolve(int64_t id, Outcome outcome,
                                                       const std::string& note,
                                                       const std::string& who,
                                                       int64_t away_until_s) {
  if (outcome == Outcome::kNone || outcome == Outcome::kActivityReturned)
    return std::unexpected(AlertError{422, "outcome must be one a person can choose"});
  if (away_until_s != 0) {
    if (outcome != Outcome::kAway && outcome != Outcome::kHospital)
      return std::unexpected(AlertError{422, "until goes with outcome away or hospital"});
    const int64_t now_s = deps_.clock->NowMs() / 1000;
    if (away_until_s <= now_s || away_until_s > now_s + kMaxAnsweredAbsenceS)
      return std::unexpected(AlertError{422, "until must be in the next 90 days"});
  }
  Pending p;
  Alert a;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it == active_.end()) {
      if (deps_.store->GetAlert(id))
        return std::unexpected(AlertError{409, "alert is already resolved"});
      return std::unexpected(AlertError{404, "no such alert"});
    }
    a = it->second;
    const int64_t now_ms = deps_.clock->NowMs();
    a.outcome = outcome;
    a.note = note;
    a.resolved_at_ms = now_ms;
    a.next_escalation_ms = 0;
    std::vector<std::pair<HouseholdIndex, AlertKind>> feedback;
    const bool ok = deps_.store->Transaction([&] {
      if (deps_.store->CancelPending(a.id) < 0) return false;
      if (!RecordTransition(&a, AlertState::kResolved, who, now_ms,
                            std::string(OutcomeName(outcome))) ||
          !deps_.store->UpdateAlert(a))
        return false;
      if (outcome == Outcome::kAway) {
        bool registered = false;
        const Household& hh = deps_.registry->at(a.household);
        const int64_t t = a.since_s > 0 ? a.since_s : a.opened_at_s;
        for (const Absence& ab : absences_)
          if (ab.scope == "household" && ab.scope_id == hh.id && ab.from_s <= a.opened_at_s &&
              ab.to_s > t)
            registered = true;
        if (!registered) {
          FeedbackCounts c = deps_.store->GetFeedback(a.household_id, "");
          ++c.away_unregistered;
          if (!deps_.store->PutFeedback(a.household_id, "", c)) return false;
        }
      } else if (outcome == Outcome::kResidentFine) {
        for (int k = 0; k < kNumAlertKinds; ++k) {
          if (!(a.kinds_seen & (1u << k))) continue;
          const auto kind = static_cast<AlertKind>(k);
          FeedbackCounts c = deps_.store->GetFeedback(a.household_id, AlertKindName(kind));
          ++c.resident_fine;
          if (c.notches < kMaxFeedbackNotches) {
            ++c.notches;
            feedback.emplace_back(a.household, kind);
          }
          if (!deps_.store->PutFeedback(a.household_id, AlertKindName(kind), c)) return false;
        }
      }
      return true;
    });
    if (!ok) {
      StoreFailed();
      return std::unexpected(AlertError{500, "store error"});
    }
    Forget(a);
    p.feedback = std::move(feedback);
    if (IsWelfare(a.kind)) p.answered.emplace_back(a.household, outcome, now_ms / 1000);
    CountResolved(a);
    RefreshOpenGauges();
    Publish(a, "resolved", &p);
  }
  RunPending(&p);
  if (away_until_s != 0) {
    // Away until a known day: an absence, as if registered in advance, from the answer on.
    Absence ab;
    ab.scope_id = a.household_id;
    ab.from_s = a.resolved_at_ms / 1000;
    ab.to_s = away_until_s;
    ab.reason =
        "answered " + std::string(OutcomeName(outcome)) + " on alert " + std::to_string(a.id);
    ab.created_by = who;
    if (!AddAbsence(std::move(ab))) return std::unexpected(AlertError{500, "store error"});
  }
  return a;
}

std::optional<Alert> AlertManager::GetAlert(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it != active_.end()) return it->second;
  return deps_.store->GetAlert(id);
}

std::vector<Alert> AlertManager::ListAlerts(const AlertFilter& filter) const {
  return deps_.store->ListAlerts(filter);
}

std::vector<Transition> AlertManager::Transitions(int64_t alert_id) const {
  return deps_.store->ListTransitions(alert_id);
}

std::expected<Absence, AlertError> AlertManager::AddAbsence(Absence a) {
  if (a.to_s <= a.from_s) return std::unexpected(AlertError{422, "to must be after from"});
  const Registry& reg = *deps_.registry;
  bool known = false;
  if (a.scope == "household") {
    known = reg.FindHousehold(a.scope_id).has_value();
  } else if (a.scope == "grid" || a.scope == "community" || a.scope == "street") {
    for (const Household& hh : reg.households()) {
      const std::string& v =
          a.scope == "grid" ? hh.grid : (a.scope == "community" ? hh.community : hh.street);
      if (v == a.scope_id) {
        known = true;
        break;
      }
    }
  } else {
    return std::unexpected(AlertError{422, "scope must be household, grid, community or street"});
  }
  if (!known) return std::unexpected(AlertError{422, "unknown " + a.scope});
  std::lock_guard lock(mu_);
  if (!deps_.store->AddAbsence(&a)) {
    StoreFailed();
    return std::unexpected(AlertError{500, "store error"});
  }
  absences_.push_back(a);
  return a;
}

std::expected<void, AlertError> AlertManager::RemoveAbsence(int64_t id) {
  std::lock_guard lock(mu_);
  if (!deps_.store->DeleteAbsence(id)) return std::unexpected(AlertError{404, "no such absence"});
  std::erase_if(absences_, [id](const Absence& a) { return a.id == id; });
  return {};
}

std::optional<Absence> AlertManager::GetAbsence(int64_t id) const {
  std::lock_guard lock(mu_);
  for (const Absence& a : absences_)
    if (a.id == id) return a;
  return std::nullopt;
}

std::vector<Absence> AlertManager::ListAbsences() const {
  std::lock_guard lock(mu_);
  return absences_;
}

}  // namespace gridwatch
