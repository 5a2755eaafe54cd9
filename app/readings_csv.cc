#include "app/readings_csv.h"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "common/time_util.h"
#include "config/config_error.h"

namespace gridwatch {

// Reads meter,ts,kwh rows from a .csv or .csv.gz file (zlib reads both). Unknown meters are
// counted and skipped; a malformed row throws ConfigError with the file and line.
ReadingsFile ReadReadingsCsv(const std::string& path, const Registry& registry) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw ConfigError(path, 0, "cannot open readings file");
  gzbuffer(f, 1 << 20);
  ReadingsFile out;
  std::vector<char> line(4096);
  int lineno = 0;
  std::string last_meter;
  std::optional<HouseholdIndex> last_h;
  while (gzgets(f, line.data(), static_cast<int>(line.size()))) {
    ++lineno;
    std::string_view s(line.data());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    if (s.empty()) continue;
    if (lineno == 1) {
      if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
      if (s != "meter,ts,kwh") {
        gzclose(f);
        throw ConfigError(path, 1, "header must be 'meter,ts,kwh'");
      }
      continue;
    }
    const size_t c1 = s.find(','), c2 = s.find(',', c1 == std::string_view::npos ? 0 : c1 + 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos) {
      gzclose(f);
      throw ConfigError(path, lineno, "expected 3 columns meter,ts,kwh");
    }
    const std::string_view meter = s.substr(0, c1);
    const auto ts = ParseTimestamp(s.substr(c1 + 1, c2 - c1 - 1));
    const std::string kwh_s(s.substr(c2 + 1));
    char* end = nullptr;
    const double kwh = std::strtod(kwh_s.c_str(), &end);
    if (!ts || end == kwh_s.c_str() || *end != '\0' || !(kwh >= 0) || kwh > 1e6) {
      gzclose(f);
      throw ConfigError(path, lineno, "bad timestamp or energy: '" + std::string(s) + "'");
    }
    if (meter != last_meter) {
      last_meter = std::string(meter);
      last_h = registry.FindMeter(meter);
    }
    if (!last_h) {
      ++out.unknown_meter;
      continue;
    }
    out.readings.push_back(Reading{*ts, static_cast<float>(kwh), *last_h});
  }
  gzclose(f);
  // Data time order; within one instant, household order: deterministic.
  std::stable_sort(out.readings.begin(), out.readings.end(),
                   [](const Reading& a, const Reading& b) {
                     return a.ts_s != b.ts_s ? a.ts_s < b.ts_s : a.household < b.household;
                   });
  return out;
}

}  // namespace gridwatch
