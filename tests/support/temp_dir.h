// TempDir: a fresh directory under $TMPDIR for one test, removed with its contents on destruction
// (set GRIDWATCH_KEEP_TEST_DIRS=1 to keep it for post-mortems).
//
// Not thread-safe to destroy while in use; path() and File() are safe to call from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace gridwatch::test_support {

class TempDir {
 public:
  // Creates "<tmp>/<prefix>-XXXXXX". Throws std::runtime_error if mkdtemp fails.
  explicit TempDir(std::string_view prefix = "gridwatch-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The full path of `name` inside the directory (not created).
  std::string File(std::string_view name) const;
  // Writes `content` to `name` (creating subdirectories); returns the full path.
  std::string Write(std::string_view name, std::string_view content) const;
  // Reads a file inside the directory; empty if missing.
  std::string Read(std::string_view name) const;

 private:
  std::filesystem::path path_;
};

}  // namespace gridwatch::test_support
