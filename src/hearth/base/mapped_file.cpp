// POSIX mmap behind MappedFile and LargePageBuffer. A file is mapped MAP_PRIVATE + PROT_READ:
// pages are shared with the page cache, so a model costs no resident memory beyond what is
// touched.
#include "hearth/base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

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
