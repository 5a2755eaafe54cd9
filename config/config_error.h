// ConfigError: the one exception type of start-up. Its message names the file and line:
// "config/gridwatch.yaml:12: detect.half_life_days: must be > 0 (got -3)".
#pragma once

#include <stdexcept>
#include <string>

namespace gridwatch {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, const std::string& message)
      : std::runtime_error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                           message),
        file_(file),
        line_(line) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string file_;
  int line_;
};

}  // namespace gridwatch
