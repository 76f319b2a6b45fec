#include "testing.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <system_error>

namespace hearth::testing {

namespace {

// The test process's own folder under the system temp directory, removed when the process exits
// normally (model files written by tests take gigabytes over a day of runs) unless
// HEARTH_KEEP_TEST_FILES is set, for looking at what a failing test wrote.
class ProcessTempDir {
 public:
  ProcessTempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("hearth-test-" + std::to_string(::getpid()))) {}
  ~ProcessTempDir() {
    const char* keep = std::getenv("HEARTH_KEEP_TEST_FILES");
    if (keep != nullptr && *keep != '\0') return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

std::filesystem::path temp_path(const std::string& name) {
  static const ProcessTempDir process_dir;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = info ? std::string(info->test_suite_name()) + "." + info->name() : "global";
  const auto dir = process_dir.path() / test;
  std::filesystem::create_directories(dir);
  return dir / name;
}

std::optional<std::filesystem::path> testdata_dir() {
  for (const char* variable : {"HEARTH_TESTDATA", "HEARTH_TESTDATA_DEFAULT"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0' && std::filesystem::is_directory(value)) {
      return std::filesystem::path(value);
    }
  }
  return std::nullopt;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

bool drop_from_page_cache(const std::filesystem::path& path, bool read_back_in_pages, off_t offset,
                          off_t length) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0 && ::posix_fadvise(fd, offset, length, POSIX_FADV_DONTNEED) == 0;
  if (ok && read_back_in_pages) {
    ok = ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) == 0;
    char page[4096];
    ssize_t got = 0;
    for (off_t at = offset; ok && (length == 0 || at < offset + length); at += got) {
      got = ::pread(fd, page, sizeof(page), at);
      if (got <= 0) {
        ok = got == 0;
        break;
      }
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace hearth::testing
