// Streaming weights from memory: StreamPrefetch, the software prefetch the matvec kernels run
// ahead of their reads, and sum_words, the read-bandwidth yardstick (`hearth bench`'s decode
// ceiling, the kernels benchmark's `read` rows) that streams memory the same way, so that the
// kernels are measured against the best plain read of the same technique.
#pragma once

#include <cstdint>
#include <span>

#include "hearth/base/thread_pool.h"
#include "hwy/cache_control.h"

namespace hearth::tensor {

// Asks for the cache lines of a stream kDistance bytes ahead of where its reader is: call
// reached(p) as the reads pass p, and every line up to p + kDistance not yet asked for is
// prefetched. A reader that steps through its stream at most kStep bytes at a time can instead
// call the branch-free ahead<kStep>(p, distance) at each step (no state to keep; a distance of at
// least kDistance): the loop over the lines cost a one-token matvec 8-12% in cache, where memory
// is not the limit. The hardware prefetcher alone falls behind when the host's memory is contended
// (higher latency): there a one-token Q4_0 matvec streamed at 0.6-0.7 of a plain read and 1.3-1.5x
// faster with 2-8 KiB of software prefetch (docs/PERFORMANCE.md). ahead and reached(p, true)
// also ask for each line kL2Lead bytes farther on into L2 only, so that more of the stream is on
// its way than L1's miss buffers hold: one-token decode 1.05-1.25x as fast (most with other
// tenants on the bus), an F16 matvec 1.4x, attention over a long F16 KV cache 1.15-1.2x. Where
// the stream is in the caches already (a batch's passes over the same rows), those prefetches
// only cost instructions, so reached(p) asks for lines into L1 alone.
// Prefetches never fault, so the lines past a stream's end cost only their bandwidth.
class StreamPrefetch {
 public:
  static constexpr int64_t kDistance = 4096;
  static constexpr int64_t kL2Lead = 8192;

  explicit StreamPrefetch(const uint8_t* start)
      : next_(reinterpret_cast<uintptr_t>(start) + kDistance) {}

  // from_memory: the stream is read once and from memory, so each line is also asked for into
  // L2 kL2Lead bytes farther on.
  void reached(const uint8_t* p, bool from_memory = false) {
    // Addresses as integers: the lines ahead may lie past the end of the reader's array.
    const uintptr_t end = reinterpret_cast<uintptr_t>(p) + kDistance;
    // Two loops, not a test in one: a test per line made attention 0.89-0.98x as fast.
    if (from_memory) {
      for (; next_ < end; next_ += kLineBytes) {
        hwy::Prefetch(reinterpret_cast<const uint8_t*>(next_));
        prefetch_into_l2(next_ + kL2Lead);
      }
    } else {
      for (; next_ < end; next_ += kLineBytes)
        hwy::Prefetch(reinterpret_cast<const uint8_t*>(next_));
    }
  }

  // The lines from p + distance over kStep bytes: as many as a step can newly enter, so that
  // steps of at most kStep bytes each, one call per step, ask for every line. Always inlined: GCC
  // can take this function, whose only effect is prefetches, for one without side effects and
  // delete a call it has not inlined (in one one-token kernel it left no prefetch at all).
  template <int64_t kStep>
  HWY_INLINE static void ahead(const uint8_t* p, int64_t distance) {
    const uintptr_t first = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(distance);
    constexpr uintptr_t kLines = (static_cast<uintptr_t>(kStep) + kLineBytes - 1) / kLineBytes;
    for (uintptr_t line = 0; line < kLines; ++line) {
      hwy::Prefetch(reinterpret_cast<const uint8_t*>(first + line * kLineBytes));
      prefetch_into_l2(first + kL2Lead + line * kLineBytes);
    }
  }

 private:
  static constexpr uintptr_t kLineBytes = 64;

  // Locality 2: prefetcht1 on x86, into L2.
  HWY_INLINE static void prefetch_into_l2(uintptr_t address) {
    __builtin_prefetch(reinterpret_cast<const uint8_t*>(address), 0, 2);
  }

  uintptr_t next_;
};

// The sum of `words`, read in 1 MiB tasks over the pool (null: the calling thread), each with
// StreamPrefetch ahead of it.
uint64_t sum_words(std::span<const uint64_t> words, ThreadPool* pool);

}  // namespace hearth::tensor
