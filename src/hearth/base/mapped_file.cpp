// POSIX mmap behind MappedFile and LargePageBuffer. A file is mapped MAP_PRIVATE + PROT_READ:
// pages are shared with the page cache, so a model costs no resident memory beyond what is
// touched.
#include "hearth/base/mapped_file.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "hearth/base/log.h"

namespace hearth {
namespace {

size_t page_rounded(size_t size) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (size + page - 1) / page * page;
}

// Maps `size` bytes of `fd` from offset 0 (fd -1: anonymous memory) at a 2 MiB-aligned address,
// advised for huge pages: reserves 2 MiB more than needed, maps over the aligned part and returns
// the rest. MAP_FAILED with errno set on failure.
void* map_large_page_aligned(size_t size, int prot, int fd) {
  const size_t mapped = page_rounded(size);
  const size_t reserved_size = mapped + kLargePageBytes;
  void* reserved =
      ::mmap(nullptr, reserved_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return MAP_FAILED;
  const auto base = reinterpret_cast<uintptr_t>(reserved);
  const uintptr_t aligned = (base + kLargePageBytes - 1) / kLargePageBytes * kLargePageBytes;
  const int flags = MAP_PRIVATE | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0);
  void* mapping = ::mmap(reinterpret_cast<void*>(aligned), size, prot, flags, fd, 0);
  if (mapping == MAP_FAILED) {
    const int err = errno;
    ::munmap(reserved, reserved_size);
    errno = err;
    return MAP_FAILED;
  }
  if (aligned > base) ::munmap(reserved, aligned - base);
  if (base + reserved_size > aligned + mapped) {
    ::munmap(reinterpret_cast<void*>(aligned + mapped), base + reserved_size - (aligned + mapped));
  }
  // Only advice: kernels without transparent huge pages refuse it, and 4 KiB pages still work.
  ::madvise(mapping, mapped, MADV_HUGEPAGE);
  return mapping;
}

// Reads the first byte of each listed 2 MiB piece of a mapping, so that each is mapped: from the
// page cache where it is cached, else read from the file by the mapping's readahead.
void touch_pieces(const uint8_t* mapping, std::span<const size_t> pieces) {
  for (const size_t piece : pieces) {
    [[maybe_unused]] volatile uint8_t byte = mapping[piece * kLargePageBytes];
  }
}

// The PAGEMAP_SCAN ioctl of /proc/self/pagemap (Linux 6.7; defined here, since older kernel
// headers lack it): which pages of a range are mapped by a huge page table entry.
struct PagemapRegion {
  uint64_t start, end, categories;
};
struct PagemapScanArg {
  uint64_t size = 0, flags = 0, start = 0, end = 0, walk_end = 0, vec = 0, vec_len = 0,
           max_pages = 0, category_inverted = 0, category_mask = 0, category_anyof_mask = 0,
           return_mask = 0;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PagemapScanArg);
constexpr uint64_t kPageIsHuge = uint64_t{1} << 6;

// The pieces among `pieces` (2 MiB each from `mapping`, each with a page mapped) that are not
// mapped in one 2 MiB page; nullopt where the kernel cannot tell (before Linux 6.7).
std::optional<std::vector<size_t>> pieces_in_small_pages(const uint8_t* mapping,
                                                         std::span<const size_t> pieces) {
  const int pagemap = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) return std::nullopt;
  std::vector<size_t> small;
  for (const size_t piece : pieces) {
    const auto start = reinterpret_cast<uint64_t>(mapping + piece * kLargePageBytes);
    PagemapRegion huge{};
    PagemapScanArg scan{.size = sizeof(PagemapScanArg),
                        .start = start,
                        .end = start + kLargePageBytes,
                        .vec = reinterpret_cast<uint64_t>(&huge),
                        .vec_len = 1,
                        .category_mask = kPageIsHuge,
                        .return_mask = kPageIsHuge};
    const int found = ::ioctl(pagemap, kPagemapScan, &scan);
    if (found < 0) {
      ::close(pagemap);
      return std::nullopt;
    }
    if (found == 0 || huge.start != start || huge.end != start + kLargePageBytes)
      small.push_back(piece);
  }
  ::close(pagemap);
  return small;
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open '{}': {}", path.string(), std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error("cannot stat '{}': {}", path.string(), std::strerror(err));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error("'{}' is not a regular file", path.string());
  }
  const auto size = static_cast<size_t>(info.st_size);
  if (size == 0) {
    ::close(fd);
    return MappedFile(path, MappedRegion());
  }
  void* mapping = map_large_page_aligned(size, PROT_READ, fd);
  const int err = errno;
  ::close(fd);
  if (mapping == MAP_FAILED) {
    return make_error("cannot map '{}' ({} bytes): {}", path.string(), size, std::strerror(err));
  }
  return MappedFile(path, MappedRegion(static_cast<uint8_t*>(mapping), size));
}

bool MappedFile::recache_in_large_pages() const {
  // A partial piece at the end of the file is never a 2 MiB folio.
  const size_t n_pieces = size() / kLargePageBytes;
  if (n_pieces == 0) return false;
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t pages_per_piece = kLargePageBytes / page;
  std::vector<unsigned char> page_cached(n_pieces * pages_per_piece);
  if (::mincore(region_.data(), n_pieces * kLargePageBytes, page_cached.data()) != 0) return false;
  std::vector<size_t> cached_pieces;
  for (size_t piece = 0; piece < n_pieces; ++piece) {
    const auto first = page_cached.begin() + static_cast<ptrdiff_t>(piece * pages_per_piece);
    if (std::any_of(first, first + static_cast<ptrdiff_t>(pages_per_piece),
                    [](unsigned char flags) { return (flags & 1) != 0; })) {
      cached_pieces.push_back(piece);
    }
  }
  touch_pieces(data(), cached_pieces);
  const size_t large_pieces =
      std::min(residency().in_large_pages / kLargePageBytes, cached_pieces.size());
  // The pieces to read again: those in small pages where the kernel says which; else, when more
  // than 1/8 of them are small, every cached piece.
  std::vector<size_t> small_pieces;
  if (auto small = pieces_in_small_pages(data(), cached_pieces)) {
    small_pieces = std::move(*small);
  } else if ((cached_pieces.size() - large_pieces) * 8 > cached_pieces.size()) {
    small_pieces = cached_pieces;
  }
  if (small_pieces.empty()) return false;

  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // Unmaps the range from this mapping, then drops its clean, unmapped pages from the page cache.
  const auto drop = [&](size_t offset, size_t length) {
    ::madvise(region_.data() + offset, length, MADV_DONTNEED);
    ::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                    POSIX_FADV_DONTNEED);
  };
  bool gives_large_folios = large_pieces > 0;
  if (!gives_large_folios) {
    const size_t probe = small_pieces.front();
    drop(probe * kLargePageBytes, kLargePageBytes);
    touch_pieces(data(), {&probe, 1});
    gives_large_folios = residency().in_large_pages > 0;
  }
  if (gives_large_folios) {
    log::info(
        "{}: re-reading {} MiB of it that the page cache holds in small pages into 2 MiB "
        "pages (faster decoding)",
        path_.string(), small_pieces.size() * (kLargePageBytes >> 20));
    for (const size_t piece : small_pieces) drop(piece * kLargePageBytes, kLargePageBytes);
    touch_pieces(data(), small_pieces);
  }
  ::close(fd);
  return gives_large_folios;
}

MappedRegion::MappedRegion(MappedRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedRegion::~MappedRegion() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

MappedRegion::Residency MappedRegion::residency() const {
  Residency residency;
  std::FILE* smaps = data() != nullptr ? std::fopen("/proc/self/smaps", "r") : nullptr;
  if (smaps == nullptr) return residency;
  const auto begin = reinterpret_cast<uintptr_t>(data());
  const uintptr_t end = begin + page_rounded(size());
  // Each mapping's header line ("start-end perms ...") is followed by its fields in kB.
  bool inside = false;
  char line[512];
  while (std::fgets(line, sizeof(line), smaps) != nullptr) {
    uintptr_t start = 0, stop = 0;
    size_t kib = 0;
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &stop) == 2) {
      inside = start >= begin && stop <= end;
    } else if (inside && std::sscanf(line, "Rss: %zu kB", &kib) == 1) {
      residency.resident += kib * 1024;
    } else if (inside && (std::sscanf(line, "FilePmdMapped: %zu kB", &kib) == 1 ||
                          std::sscanf(line, "AnonHugePages: %zu kB", &kib) == 1)) {
      residency.in_large_pages += kib * 1024;
    }
  }
  std::fclose(smaps);
  return residency;
}

Result<LargePageBuffer> LargePageBuffer::allocate(size_t size) {
  if (size == 0) return LargePageBuffer();
  void* mapping = map_large_page_aligned(size, PROT_READ | PROT_WRITE, -1);
  if (mapping == MAP_FAILED) {
    return make_error("cannot allocate {} bytes: {}", size, std::strerror(errno));
  }
  return LargePageBuffer(MappedRegion(static_cast<uint8_t*>(mapping), size));
}

}  // namespace hearth
