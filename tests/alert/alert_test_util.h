// Fakes and builders shared by the alert tests: a small registry of households in two streets,
// contacts per level, a recording MessagePublisher, a recording HttpClient and Finding builders.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "alert/alert.h"
#include "alert/notifier.h"
#include "alert/publisher.h"
#include "config/registry.h"
#include "detect/finding.h"

namespace gridwatch::test_support {

// H1, H2 in street S1 / community C1 (grids G1, G2); H3 in S2 / C3 / G3.
inline std::shared_ptr<const Registry> TestRegistry() {
  return Registry::FromHouseholds({
      {"H1", "M1", "elderly_alone", "S1", "C1", "G1", "1 Plum Lane"},
      {"H2", "M2", "elderly_alone", "S1", "C1", "G2", "2 Plum Lane"},
      {"H3", "M3", "elderly_alone", "S2", "C3", "G3", "3 Pine Road"},
  });
}

inline Contact MakeContact(std::string scope, std::string scope_id, std::string name,
                           Channel channel, std::string target, std::string secret = "s3cret",
                           std::string lang = "zh-CN") {
  Contact c;
  c.scope = std::move(scope);
  c.scope_id = std::move(scope_id);
  c.name = std::move(name);
  c.channel = channel;
  c.target = std::move(target);
  c.secret = std::move(secret);
  c.lang = std::move(lang);
  return c;
}

inline Finding MakeFinding(HouseholdIndex h, AlertKind kind, FindingState state, int64_t at_ts,
                           Severity severity = Severity::kHigh) {
  Finding f;
  f.household = h;
  f.kind = kind;
  f.state = state;
  f.severity = severity;
  f.learning = LearningState::kReady;
  f.at_ts = at_ts;
  f.evidence.since_ts = at_ts - 5 * 3600;
  f.evidence.duration_h = 5;
  f.evidence.observed_kwh = 0.1;
  f.evidence.expected_kwh = 1.2;
  f.evidence.interval_s = 1800;
  f.evidence.days_learned = 30;
  f.summary_zh = "自 06:30 起无用电活动（5.0 小时）";
  f.summary_en = "no activity since 06:30 (5.0 h)";
  return f;
}

struct Published {
  std::string topic, payload;
  int qos;
};

class RecordingPublisher final : public MessagePublisher {
 public:
  bool Publish(const std::string& topic, const std::string& payload, int qos) override {
    std::lock_guard lock(mu_);
    messages_.push_back({topic, payload, qos});
    return ok_;
  }
  std::vector<Published> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  void set_ok(bool ok) {
    std::lock_guard lock(mu_);
    ok_ = ok;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Published> messages_;
  bool ok_ = true;
};

// Records requests; answers from a queue of responses (then the default).
class RecordingHttpClient final : public HttpClient {
 public:
  HttpResponse Send(const HttpRequest& req, int /*timeout_ms*/) override {
    std::lock_guard lock(mu_);
    requests_.push_back(req);
    if (!queue_.empty()) {
      HttpResponse r = queue_.front();
      queue_.pop_front();
      return r;
    }
    return default_;
  }
  void Push(HttpResponse r) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
  }
  void SetDefault(HttpResponse r) {
    std::lock_guard lock(mu_);
    default_ = std::move(r);
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
  std::deque<HttpResponse> queue_;
  HttpResponse default_{200, "", "{}"};
};

inline std::string HeaderOf(const HttpRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

}  // namespace gridwatch::test_support

#include <cstdlib>
#include <filesystem>

namespace gridwatch::test_support {

// A fresh directory removed on destruction (the alert tests' own; no dependency on others).
class AlertTempDir {
 public:
  AlertTempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gw-alert-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~AlertTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace gridwatch::test_support
