#include "ingest/ingestor.h"

#include <nlohmann/json.hpp>

#include "common/time_util.h"

namespace gridwatch {

std::string DeadLetterJson(RejectReason reason, std::string_view detail, std::string_view topic,
                           std::string_view payload, int index, int64_t received_ms) {
  nlohmann::json j;
  j["reason"] = RejectReasonName(reason);
  j["detail"] = detail;
  j["topic"] = topic;
  j["index"] = index;
  j["payload"] = payload;
  j["received_at"] = FormatRfc3339Utc(FloorDiv(received_ms, 1000));
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Ingestor::Ingestor(std::shared_ptr<const Registry> registry, IngestOptions options,
                   IngestMetrics* metrics)
    : normalizer_(std::move(registry), options), metrics_(metrics) {}

void Ingestor::CountReleased(std::size_t before, const std::vector<Reading>& out) {
  const std::size_t n = out.size() - before;
  counts_.accepted += n;
  if (metrics_ != nullptr) {
    metrics_->Accepted(n);
    metrics_->SetHeld(static_cast<double>(normalizer_.held_count()));
  }
}

void Ingestor::HandleMessage(std::string_view topic, std::string_view payload, int64_t now_ms,
                             std::vector<Reading>* out, std::vector<std::string>* dead_letters) {
  ++counts_.messages;
  const std::size_t before = out->size();
  auto reject = [&](RejectReason reason, std::string_view detail, int index) {
    ++counts_.rejected[static_cast<std::size_t>(reason)];
    if (metrics_ != nullptr) metrics_->Rejected(reason);
    dead_letters->push_back(DeadLetterJson(reason, detail, topic, payload, index, now_ms));
  };
  parser_.Parse(payload, &parsed_);
  for (const ParseReject& r : parsed_.rejects) reject(r.reason, r.detail, r.index);
  const int64_t now_s = FloorDiv(now_ms, 1000);
  for (const ParsedReading& r : parsed_.readings) {
    detail_.clear();
    Normalizer::Verdict v = normalizer_.Process(r, now_s, out, &detail_);
    switch (v.outcome) {
      case Normalizer::Outcome::kRejected:
        reject(v.reason, detail_, r.index);
        break;
      case Normalizer::Outcome::kBaseline:
        ++counts_.baseline;
        if (metrics_ != nullptr) metrics_->Baseline();
        break;
      case Normalizer::Outcome::kReleased:
      case Normalizer::Outcome::kHeld:
        break;
    }
  }
  CountReleased(before, *out);
}

void Ingestor::ReleaseDue(int64_t now_s, std::vector<Reading>* out) {
  const std::size_t before = out->size();
  normalizer_.ReleaseDue(now_s, out);
  CountReleased(before, *out);
}

void Ingestor::Flush(std::vector<Reading>* out) {
  const std::size_t before = out->size();
  normalizer_.Flush(out);
  CountReleased(before, *out);
}

}  // namespace gridwatch
