// Memory mappings in 2 MiB pages where the kernel gives them: a read-only mapped file (the
// zero-copy home of model weights) and an anonymous buffer. Both start at a 2 MiB-aligned address
// and are advised for transparent huge pages (MADV_HUGEPAGE). Decoding streams every weight once
// per token, and with 4 KiB pages each page costs a TLB miss (a two-level walk in a VM) and a
// restart of the hardware prefetcher, which 2 MiB pages avoid. A file gets 2 MiB pages where its
// file system caches it in 2 MiB folios (ext4 and XFS on recent kernels) and its pages are read
// after the mapping is made; pages already cached in small folios stay small until
// MappedFile::recache_in_large_pages reads them again.
// Opening fails with an Error naming the path and the system's reason; an empty file maps to an
// empty span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "hearth/base/result.h"

namespace hearth {

inline constexpr size_t kLargePageBytes = size_t{2} << 20;

// An mmap'd region, unmapped when destroyed; what the two classes below hold.
class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(uint8_t* data, size_t size) : data_(data), size_(size) {}
  MappedRegion(MappedRegion&& other) noexcept;
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Of the region's pages now in memory (Rss in /proc/self/smaps), the bytes mapped in 2 MiB
  // pages (FilePmdMapped for a file, AnonHugePages for anonymous memory); zeros where smaps is
  // unavailable.
  struct Residency {
    size_t resident = 0;
    size_t in_large_pages = 0;
  };
  Residency residency() const;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

class MappedFile {
 public:
  static Result<MappedFile> open(const std::filesystem::path& path);

  const uint8_t* data() const { return region_.data(); }
  size_t size() const { return region_.size(); }
  std::span<const uint8_t> bytes() const { return {data(), size()}; }
  const std::filesystem::path& path() const { return path_; }

  MappedRegion::Residency residency() const { return region_.residency(); }

  // Gets the file's cached pages into 2 MiB pages where the page cache holds them in small folios
  // (a reader without MADV_HUGEPAGE, such as llama.cpp, or a writer of small pieces left them so,
  // and this kernel may not collapse file pages): drops them from the page cache and reads them
  // again through this mapping, whose huge-page readahead caches them in 2 MiB folios. Costs a
  // read of what it drops: where the kernel tells which whole 2 MiB pieces are in small pages
  // (PAGEMAP_SCAN, Linux 6.7), just those; elsewhere every cached piece, and only when more than
  // 1/8 of them are in small pages. Only where the file system is seen to give 2 MiB folios (one
  // piece re-read first when none is). Pages that other processes map or that are dirty stay as
  // they are; the contents never change. True when it re-read any of the file.
  bool recache_in_large_pages() const;

 private:
  MappedFile(std::filesystem::path path, MappedRegion region)
      : path_(std::move(path)), region_(std::move(region)) {}

  std::filesystem::path path_;
  MappedRegion region_;
};

// Zeroed, writable anonymous memory that is not part of any file: buffers read far more often
// than their size (the bandwidth probe's, benchmark weights).
class LargePageBuffer {
 public:
  static Result<LargePageBuffer> allocate(size_t size);
  LargePageBuffer() = default;  // empty

  uint8_t* data() const { return region_.data(); }
  size_t size() const { return region_.size(); }
  MappedRegion::Residency residency() const { return region_.residency(); }

 private:
  explicit LargePageBuffer(MappedRegion region) : region_(std::move(region)) {}

  MappedRegion region_;
};

}  // namespace hearth
