// Helpers for tests of every module: a fresh temporary path per test, and the shared testdata
// folder ($HEARTH_TESTDATA, else ../shared/testdata beside the repository). A test that needs
// testdata skips with a message when it is absent, except under CI=true, where that fails.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace hearth::testing {

// A path inside a directory unique to the running test (created; the file itself is not). The
// test process's directory is removed when it exits, unless HEARTH_KEEP_TEST_FILES is set.
std::filesystem::path temp_path(const std::string& name);

// The testdata root, or nullopt when it does not exist.
std::optional<std::filesystem::path> testdata_dir();

bool running_in_ci();

// Writes `path`'s pages back and drops the bytes [offset, offset + length) from the page cache
// (length 0: to the end); with `read_back_in_pages`, then reads them in 4 KiB reads without
// readahead, so that the page cache holds them in 4 KiB folios (as another program's small reads
// leave a model). False when the system refuses a step.
bool drop_from_page_cache(const std::filesystem::path& path, bool read_back_in_pages,
                          off_t offset = 0, off_t length = 0);

}  // namespace hearth::testing

// Declares `var` as testdata_dir()/relative, or skips (fails under CI=true) when missing.
#define HEARTH_REQUIRE_TESTDATA(var, relative)                                     \
  std::filesystem::path var;                                                       \
  do {                                                                             \
    const auto hearth_root_ = ::hearth::testing::testdata_dir();                   \
    if (!hearth_root_ || !std::filesystem::exists(*hearth_root_ / (relative))) {   \
      if (::hearth::testing::running_in_ci()) {                                    \
        FAIL() << "testdata '" << (relative) << "' missing (CI=true requires it)"; \
      }                                                                            \
      GTEST_SKIP() << "testdata '" << (relative)                                   \
                   << "' not found; set HEARTH_TESTDATA to ../shared/testdata";    \
    }                                                                              \
    var = *hearth_root_ / (relative);                                              \
  } while (0)
