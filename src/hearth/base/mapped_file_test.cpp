#include "hearth/base/mapped_file.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "testing.h"

namespace hearth {
namespace {

TEST(MappedFile, MapsContents) {
  const auto path = testing::temp_path("mapped.bin");
  std::ofstream(path, std::ios::binary) << "hello";
  Result<MappedFile> file = MappedFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  ASSERT_EQ(file->size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(file->data()), 5), "hello");
  MappedFile moved = std::move(file).value();
  EXPECT_EQ(moved.size(), 5u);
}

TEST(MappedFile, EmptyFileIsEmptySpan) {
  const auto path = testing::temp_path("empty.bin");
  std::ofstream(path, std::ios::binary).flush();
  Result<MappedFile> file = MappedFile::open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->size(), 0u);
  EXPECT_TRUE(file->bytes().empty());
}

TEST(MappedFile, MissingFileNamesPath) {
  Result<MappedFile> file = MappedFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().message(),
            "cannot open '/nonexistent/model.gguf': No such file or directory");
}

TEST(MappedFile, DirectoryIsRejected) {
  Result<MappedFile> file = MappedFile::open("/tmp");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message().find("not a regular file"), std::string::npos);
}

// Several large pages and a partial one: mapped at a 2 MiB boundary, every byte as in the file,
// and no more of it in large pages than is resident (how much is depends on the kernel).
TEST(MappedFile, MapsAtLargePageBoundary) {
  const auto path = testing::temp_path("large.bin");
  std::vector<char> contents(3 * kLargePageBytes + 12345);
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7 + i / 4096);
  std::ofstream(path, std::ios::binary).write(contents.data(), std::streamsize(contents.size()));
  Result<MappedFile> file = MappedFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file->data()) % kLargePageBytes, 0u);
  ASSERT_EQ(file->size(), contents.size());
  EXPECT_EQ(std::memcmp(file->data(), contents.data(), contents.size()), 0);
  const MappedRegion::Residency residency = file->residency();
  EXPECT_LE(residency.in_large_pages, residency.resident);
  EXPECT_GE(residency.resident, contents.size());  // every byte was just compared
  MappedFile moved = std::move(file).value();
  EXPECT_EQ(moved.data()[contents.size() - 1], static_cast<uint8_t>(contents.back()));
}

void touch_every_page(const MappedFile& file) {
  for (size_t at = 0; at < file.size(); at += 4096) {
    [[maybe_unused]] volatile uint8_t byte = file.data()[at];
  }
}

// A file the page cache holds in 4 KiB folios (as llama.cpp's reads leave it) is read again into
// 2 MiB pages, with the same contents; a file not cached, or already in 2 MiB pages, is left.
TEST(MappedFile, RecachesSmallPagesInLargePages) {
  const auto path = testing::temp_path("recache.bin");
  std::vector<char> contents(4 * kLargePageBytes + 4096);
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 13 + i / 4096);
  std::ofstream(path, std::ios::binary).write(contents.data(), std::streamsize(contents.size()));
  ASSERT_TRUE(testing::drop_from_page_cache(path, false));
  {
    Result<MappedFile> uncached = MappedFile::open(path);
    ASSERT_TRUE(uncached.ok());
    EXPECT_FALSE(uncached->recache_in_large_pages());  // nothing cached: nothing to re-read
    touch_every_page(*uncached);
    if (uncached->residency().in_large_pages == 0) {
      GTEST_SKIP() << "this file system or kernel maps no file pages in 2 MiB pages";
    }
  }

  ASSERT_TRUE(testing::drop_from_page_cache(path, true));
  Result<MappedFile> file = MappedFile::open(path);
  ASSERT_TRUE(file.ok());
  touch_every_page(*file);
  if (file->residency().in_large_pages != 0) {
    GTEST_SKIP() << "this kernel read the file back in large folios, not in 4 KiB ones";
  }
  EXPECT_TRUE(file->recache_in_large_pages());
  touch_every_page(*file);
  EXPECT_EQ(file->residency().in_large_pages, 4 * kLargePageBytes);
  EXPECT_EQ(std::memcmp(file->data(), contents.data(), contents.size()), 0);
  EXPECT_FALSE(file->recache_in_large_pages());
}

// Linux 6.7 tells which pieces of a mapping are in small pages (PAGEMAP_SCAN): there one piece
// in small pages among ten, below the 1/8 that makes an older kernel read every piece again, is
// read again alone.
TEST(MappedFile, RecachesTheOnePieceInSmallPages) {
  const auto path = testing::temp_path("recache_piece.bin");
  constexpr size_t kPieces = 10;
  std::vector<char> contents(kPieces * kLargePageBytes);
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7 + i / 4096);
  std::ofstream(path, std::ios::binary).write(contents.data(), std::streamsize(contents.size()));
  ASSERT_TRUE(testing::drop_from_page_cache(path, false));
  {
    Result<MappedFile> fresh = MappedFile::open(path);
    ASSERT_TRUE(fresh.ok());
    touch_every_page(*fresh);
    if (fresh->residency().in_large_pages != kPieces * kLargePageBytes) {
      GTEST_SKIP() << "this file system or kernel maps no file pages in 2 MiB pages";
    }
  }
  ASSERT_TRUE(testing::drop_from_page_cache(path, true, 3 * kLargePageBytes, kLargePageBytes));
  Result<MappedFile> file = MappedFile::open(path);
  ASSERT_TRUE(file.ok());
  touch_every_page(*file);
  if (file->residency().in_large_pages == kPieces * kLargePageBytes) {
    GTEST_SKIP() << "this kernel read the piece back in a large folio, not in 4 KiB ones";
  }
  ASSERT_EQ(file->residency().in_large_pages, (kPieces - 1) * kLargePageBytes);
  utsname system{};
  ASSERT_EQ(::uname(&system), 0);
  int major = 0, minor = 0;
  ASSERT_EQ(std::sscanf(system.release, "%d.%d", &major, &minor), 2) << system.release;
  if (major * 100 + minor < 607) {
    EXPECT_FALSE(file->recache_in_large_pages()) << "Linux " << system.release;
    GTEST_SKIP() << "Linux " << system.release << " cannot tell which pieces are in small pages";
  }
  EXPECT_TRUE(file->recache_in_large_pages());
  touch_every_page(*file);
  EXPECT_EQ(file->residency().in_large_pages, kPieces * kLargePageBytes);
  EXPECT_EQ(std::memcmp(file->data(), contents.data(), contents.size()), 0);
  EXPECT_FALSE(file->recache_in_large_pages());
}

TEST(LargePageBuffer, IsZeroedWritableAndAligned) {
  Result<LargePageBuffer> buffer = LargePageBuffer::allocate(kLargePageBytes + 100);
  ASSERT_TRUE(buffer.ok()) << buffer.error().message();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer->data()) % kLargePageBytes, 0u);
  ASSERT_EQ(buffer->size(), kLargePageBytes + 100);
  for (size_t i = 0; i < buffer->size(); i += 4096) EXPECT_EQ(buffer->data()[i], 0);
  buffer->data()[buffer->size() - 1] = 42;
  LargePageBuffer moved = std::move(buffer).value();
  EXPECT_EQ(moved.data()[moved.size() - 1], 42);
  EXPECT_EQ(LargePageBuffer::allocate(0)->size(), 0u);
}

}  // namespace
}  // namespace hearth
