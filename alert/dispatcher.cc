#include "alert/dispatcher.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace gridwatch {

Dispatcher::Dispatcher(const AlertOptions& options, DispatcherDeps deps)
    : options_(options), deps_(std::move(deps)) {
  if (!deps_.store || !deps_.clock)
    throw std::invalid_argument("Dispatcher needs a store and a clock");
  if (!deps_.http) deps_.http = NewBeastHttpClient();
  for (const Contact& c : deps_.contacts) contacts_.emplace(c.Key(), c);
  rng_.seed(deps_.jitter_seed != 0 ? deps_.jitter_seed : std::random_device{}());
}

Dispatcher::~Dispatcher() { Stop(); }

int64_t Dispatcher::BackoffMs(int attempts) const {
  const int64_t initial = std::max<int64_t>(1, options_.retry_initial_s) * 1000;
  const int64_t max = std::max<int64_t>(initial, options_.retry_max_s * 1000);
  int64_t d = initial;
  for (int i = 1; i < attempts && d < max; ++i) d *= 2;
  return std::min(d, max);
}

void Dispatcher::Attempt(const Delivery& d, int64_t now_ms, DispatchStats* pass) {
  const int attempts = d.attempts + 1;
  const std::string channel(ChannelName(d.channel));
  std::string error;
  bool permanent = false;
  auto it = contacts_.find(d.contact_key);
  if (it == contacts_.end()) {
    error = "contact no longer configured";
    permanent = true;
  } else {
    const ChannelMessage m = BuildChannelMessage(d, it->second, deps_.sms, now_ms);
    if (!m.error.empty()) {
      error = m.error;
      permanent = true;
    } else if (m.is_mqtt) {
      if (!deps_.publisher)
        error = "no MQTT publisher";
      else if (!deps_.publisher->Publish(m.mqtt_topic, m.mqtt_payload, 1))
        error = "mqtt publish failed";
    } else {
      const HttpResponse r = deps_.http->Send(m.http, deps_.http_timeout_ms);
      if (r.status == 0) {
        error = r.error.empty() ? "no response" : r.error;
      } else if (r.status < 200 || r.status >= 300) {
        error = "HTTP " + std::to_string(r.status);
      } else if (d.channel == Channel::kWeCom || d.channel == Channel::kDingTalk) {
        // Robots answer 200 with {"errcode":N,"errmsg":...}; N != 0 is a failure.
        const auto j = nlohmann::json::parse(r.body, nullptr, false);
        if (j.is_object() && j.contains("errcode") && j["errcode"].is_number_integer() &&
            j["errcode"].get<int>() != 0)
          error = "robot errcode " + std::to_string(j["errcode"].get<int>()) + ": " +
                  j.value("errmsg", std::string());
      }
    }
  }
  if (error.empty()) {
    if (deps_.store->MarkSent(d.id, attempts, deps_.clock->NowMs())) {
      ++pass->sent;
      if (deps_.metrics) deps_.metrics->Delivery(channel, "sent");
    }
    return;
  }
  if (permanent || attempts >= options_.max_attempts) {
    if (deps_.store->MarkDead(d.id, attempts, error)) {
      ++pass->dead;
      if (deps_.metrics) {
        deps_.metrics->Delivery(channel, "dead");
        deps_.metrics->DeliveryDead();
      }
    }
    return;
  }
  const int64_t backoff = BackoffMs(attempts);
  std::uniform_int_distribution<int64_t> jitter(backoff / 2, backoff);
  if (deps_.store->MarkRetry(d.id, attempts, now_ms + jitter(rng_), error)) {
    ++pass->retried;
    if (deps_.metrics) deps_.metrics->Delivery(channel, "retry");
  }
}

DispatchStats Dispatcher::RunOnce() {
  std::lock_guard run(run_mu_);
  DispatchStats pass;
  const int64_t now_ms = deps_.clock->NowMs();
  for (const Delivery& d : deps_.store->DueDeliveries(now_ms, deps_.batch))
    Attempt(d, now_ms, &pass);
  if (deps_.metrics) {
    const int64_t after = deps_.clock->NowMs();
    deps_.metrics->SetOutboxPending(static_cast<double>(deps_.store->CountPending()));
    const auto oldest = deps_.store->OldestDuePendingMs(after);
    deps_.metrics->SetOutboxOldestPendingSeconds(oldest ? (after - *oldest) / 1000.0 : 0.0);
  }
  std::lock_guard lock(mu_);
  totals_.sent += pass.sent;
  totals_.retried += pass.retried;
  totals_.dead += pass.dead;
  return pass;
}

void Dispatcher::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    for (;;) {
      const DispatchStats pass = RunOnce();
      std::unique_lock lk(mu_);
      if (stop_) return;
      // A full batch may have more behind it: go again at once.
      if (pass.sent + pass.retried + pass.dead >= static_cast<uint64_t>(deps_.batch)) continue;
      cv_.wait_for(lk, std::chrono::milliseconds(deps_.poll_ms),
                   [this] { return stop_ || woken_; });
      woken_ = false;
      if (stop_) return;
    }
  });
}

void Dispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Dispatcher::SetContacts(const std::vector<Contact>& contacts) {
  std::lock_guard lock(run_mu_);
  contacts_.clear();
  for (const Contact& c : contacts) contacts_.emplace(c.Key(), c);
}

DispatchStats Dispatcher::stats() const {
  std::lock_guard lock(mu_);
  return totals_;
}

}  // namespace gridwatch
