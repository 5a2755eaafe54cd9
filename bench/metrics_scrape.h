// ScrapeCounter: reads one unlabelled metric's value from a Prometheus text endpoint over plain
// HTTP (the benchmarks count on the receiving side). Returns -1 if it cannot.
#pragma once

#include <string>

namespace gridwatch {

double ScrapeCounter(const std::string& url, const std::string& metric);

}  // namespace gridwatch
