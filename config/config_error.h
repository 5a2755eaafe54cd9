// ConfigError: the one exception type of start-up. Its message names the file and line:
// "config/gridwatch.yaml:12: detect.half_life_days: must be > 0 (got -3)".
#pragma once

#include <stdexcept>
#include <string>

namespace gridwatch {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, const std::string& message)
      : std::runtime_error(What(file, line, message)), file_(file), line_(line) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  // Appended piece by piece: `":" + std::to_string(line)` (operator+ on a temporary) trips
  // GCC 12's -Wrestrict false positive in optimized builds.
  static std::string What(const std::string& file, int line, const std::string& message) {
    std::string s = file;
    if (line > 0) {
      s += ':';
      s += std::to_string(line);
    }
    s += ": ";
    s += message;
    return s;
  }

  std::string file_;
  int line_;
};

}  // namespace gridwatch
