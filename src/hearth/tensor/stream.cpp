// sum_words: a plain read of memory, four independent sums per task so that the adds keep up.
#include "hearth/tensor/stream.h"

#include <algorithm>
#include <vector>

namespace hearth::tensor {

uint64_t sum_words(std::span<const uint64_t> words, ThreadPool* pool) {
  constexpr int64_t kTaskWords = (int64_t{1} << 20) / sizeof(uint64_t);
  const auto n = static_cast<int64_t>(words.size());
  const int64_t n_tasks = (n + kTaskWords - 1) / kTaskWords;
  std::vector<uint64_t> sums(static_cast<size_t>(n_tasks));
  const auto sum_task = [&](int64_t task, int /*thread*/) {
    const uint64_t* p = words.data() + task * kTaskWords;
    const int64_t count = std::min(kTaskWords, n - task * kTaskWords);
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
      // The one-token kernels' prefetches: into L1 kDistance ahead and into L2 farther on.
      StreamPrefetch::ahead<64>(reinterpret_cast<const uint8_t*>(p + i), StreamPrefetch::kDistance);
      s0 += p[i] + p[i + 4];
      s1 += p[i + 1] + p[i + 5];
      s2 += p[i + 2] + p[i + 6];
      s3 += p[i + 3] + p[i + 7];
    }
    for (; i < count; ++i) s0 += p[i];
    sums[static_cast<size_t>(task)] = s0 + s1 + s2 + s3;
  };
  if (pool == nullptr) {
    for (int64_t task = 0; task < n_tasks; ++task) sum_task(task, 0);
  } else {
    pool->run(n_tasks, sum_task);
  }
  uint64_t total = 0;
  for (const uint64_t s : sums) total += s;
  return total;
}

}  // namespace hearth::tensor
