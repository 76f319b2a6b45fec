// Tests of stream.h: sum_words over lengths that end inside a task, inside the unrolled loop and
// on its edges, with and without a pool. (StreamPrefetch only hints; the matvec tests check that
// the kernels using it still give the reference's results.)
#include "hearth/tensor/stream.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

namespace hearth::tensor {
namespace {

TEST(SumWords, SumsEveryWordWithAndWithoutAPool) {
  ThreadPool pool(2);
  constexpr int64_t kTaskWords = (int64_t{1} << 20) / sizeof(uint64_t);
  for (const int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{8}, int64_t{9}, int64_t{1000},
                          kTaskWords - 1, kTaskWords, 3 * kTaskWords + 5}) {
    std::vector<uint64_t> words(static_cast<size_t>(n));
    for (size_t i = 0; i < words.size(); ++i) words[i] = i * 2654435761u + 1;
    const uint64_t expected = std::accumulate(words.begin(), words.end(), uint64_t{0});
    EXPECT_EQ(sum_words(words, nullptr), expected) << n << " words";
    EXPECT_EQ(sum_words(words, &pool), expected) << n << " words, two threads";
  }
}

}  // namespace
}  // namespace hearth::tensor
