// ConfigLoader: turns config/gridwatch.yaml into the plain option structs of config/options.h.
// Every field of options.h is settable under the section of the same name; anything the file
// leaves out keeps its options.h default. Unknown keys and bad values are ConfigErrors naming the
// file, the line and the key's full path ("detect.half_life_days").
//
// Pure functions of their inputs (the file, the environment, /usr/share/zoneinfo); thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/options.h"

namespace gridwatch {

// Loads and validates the YAML file at `path`. Relative paths in it (data_dir, households_csv,
// detect.holidays_file, alert.contacts_csv / tokens_csv, mqtt TLS files) are resolved against the
// file's directory; detect.holidays_file's dates are appended to detect.holidays. The broker
// password comes from the variable named by mqtt.password_env if set, else from
// GRIDWATCH_MQTT_PASSWORD if set, else from mqtt.password.
// Throws ConfigError (config/config_error.h) with file:line for any problem.
Config LoadConfig(const std::string& path);

// The options.h defaults (source "<defaults>"), with GRIDWATCH_MQTT_PASSWORD applied if set.
Config DefaultConfig();

// Detector kind names accepted under detect.detectors and detect.category_overrides.<category>.
// Kept here (config depends on no stage); a unit test checks it matches detect/finding.h.
const std::vector<std::string>& KnownDetectorKinds();

// Levenshtein edit distance; used for "did you mean" hints. Exposed for tests.
int EditDistance(std::string_view a, std::string_view b);

}  // namespace gridwatch
