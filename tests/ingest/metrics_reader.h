// Reads metric values back from a prometheus::Registry in tests. Not thread-safe beyond what
// prometheus-cpp's Collect() offers.
#pragma once

#include <prometheus/registry.h>

#include <optional>
#include <string>

namespace gridwatch::testing_ingest {

// The value of the counter or gauge `name` whose labels include {label_name=label_value}
// (or which has no labels if label_name is empty); nullopt if no such series.
inline std::optional<double> MetricValue(const prometheus::Registry& registry,
                                         const std::string& name,
                                         const std::string& label_name = "",
                                         const std::string& label_value = "") {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = label_name.empty() && m.label.empty();
      for (const auto& l : m.label)
        if (l.name == label_name && l.value == label_value) match = true;
      if (!match) continue;
      if (family.type == prometheus::MetricType::Counter) return m.counter.value;
      if (family.type == prometheus::MetricType::Gauge) return m.gauge.value;
    }
  }
  return std::nullopt;
}

}  // namespace gridwatch::testing_ingest
