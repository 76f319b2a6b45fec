// matvec throughput per weight type over a 14336x4096 matrix (a Llama-3-8B FFN gate/up: 33 MiB as
// Q4_0 to 224 MiB as F32), with 1 and 2 threads, reported as bytes of weights read per second;
// and, in the same run, this machine's plain memory-read bandwidth
// (`read`), the roofline for matvec. Each matvec iteration reads the next of several copies of
// the matrix (at least 1 GiB in all: a VM here reports 480 MiB of L3, and 2 threads read 256 MiB
// at 1.15x the rate of 1-2 GiB) so that weights come from DRAM, as in decode. Rows of
// 1024 columns (Q8_0 and Q4_0: a small model's FFN matrix, called hundreds of times per token,
// and its output head) show what short rows and a call per matrix cost; rows of 8192 columns
// (Q8_0 and Q4_0: Llama-3.2-1B's FFN down matrix) what long ones do. The
// `matvec_in_cache` rows (one thread, a 1024x1024 matrix read again and again: L2 for the block
// formats, L3 for the float ones) show what a core computes when memory is not the limit. The
// streamed weights and the `read` buffer are in 2 MiB pages where the kernel gives them, as a
// model's weights are (base/mapped_file.h).
// `attention` rows: one thread, one head's two attention products (row_dots, weighted_row_sums)
// over 512 cached F16 positions of 128 dimensions for 1 to 16 queries at once (the forward pass
// gives them a GQA group's heads times a block of tokens), as queries per second.
// `attention_streamed` rows: one decoded token's attention over 8 KV heads at depth 4096 from
// DRAM (one pool task per head, as the forward pass runs it), as bytes of keys and values read
// per second beside `read`: the reads a long context adds to every token.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "hearth/base/mapped_file.h"
#include "hearth/base/thread_pool.h"
#include "hearth/tensor/matvec.h"
#include "hearth/tensor/ops.h"
#include "hearth/tensor/quantize.h"
#include "hearth/tensor/stream.h"

namespace {

using hearth::GgmlType;
using hearth::ThreadPool;

constexpr uint64_t kStreamBytes = uint64_t{1} << 30;
constexpr int64_t kRows = 14336;
constexpr int64_t kCols = 4096;
constexpr int64_t kCachedSide = 1024;
// Decode's shapes in a small model (Qwen3-0.6B): an FFN gate (1.7 MiB as Q4_0) and the output
// head over a 151936-token vocabulary.
constexpr int64_t kDecodeCols = 1024;
constexpr int64_t kDecodeRows = 3072;
constexpr int64_t kDecodeHeadRows = 151936;
// Llama-3.2-1B's FFN down matrix: few rows, each longer than StreamPrefetch's 4 KiB distance.
constexpr int64_t kLongRowsRows = 2048;
constexpr int64_t kLongRowsCols = 8192;
constexpr int64_t kDistinctRows = 64;  // quantized once, then tiled (K-quant search is slow)

ThreadPool& pool_of(int threads) {
  static ThreadPool one(1);
  static ThreadPool two(2);
  return threads == 1 ? one : two;
}

// n_rows x n_cols weights of `type`, in copies of at least stream_bytes together (0: one copy).
void bench_matvec(benchmark::State& state, GgmlType type, int threads, int64_t n_rows,
                  int64_t n_cols, uint64_t stream_bytes) {
  const uint64_t row_bytes =
      hearth::ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols)).value();
  const uint64_t matrix_bytes = row_bytes * static_cast<uint64_t>(n_rows);
  const uint64_t n_copies = std::max<uint64_t>(1, (stream_bytes + matrix_bytes - 1) / matrix_bytes);
  hearth::LargePageBuffer weights =
      hearth::LargePageBuffer::allocate(matrix_bytes * n_copies).value();
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(n_cols));
  // (A matrix of fewer rows than kDistinctRows is all distinct rows.)
  const int64_t distinct_rows =
      std::min<int64_t>(kDistinctRows, static_cast<int64_t>(weights.size() / row_bytes));
  for (int64_t r = 0; r < distinct_rows; ++r) {
    for (float& v : row) v = normal(rng);
    hearth::tensor::quantize_row(type, row.data(), weights.data() + r * row_bytes, n_cols);
  }
  const uint64_t tile = static_cast<uint64_t>(distinct_rows) * row_bytes;
  for (uint64_t at = tile; at < weights.size(); at += tile) {
    std::memcpy(weights.data() + at, weights.data(), std::min(tile, weights.size() - at));
  }
  std::vector<float> x(static_cast<size_t>(n_cols));
  for (float& v : x) v = normal(rng);
  std::vector<float> y(static_cast<size_t>(n_rows));
  ThreadPool& pool = pool_of(threads);
  uint64_t copy = 0;
  for (auto _ : state) {
    hearth::tensor::matvec(type, weights.data() + copy * matrix_bytes, n_rows, n_cols, x.data(),
                           y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    copy = (copy + 1) % n_copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * matrix_bytes));
}

// Reads 1 GiB per iteration (tensor::sum_words: 1 MiB tasks over the pool, software prefetch
// ahead as in matvec).
void bench_read(benchmark::State& state, int threads) {
  hearth::LargePageBuffer buffer = hearth::LargePageBuffer::allocate(kStreamBytes).value();
  const std::span<uint64_t> data(reinterpret_cast<uint64_t*>(buffer.data()),
                                 kStreamBytes / sizeof(uint64_t));
  std::fill(data.begin(), data.end(), uint64_t{1});
  ThreadPool& pool = pool_of(threads);
  for (auto _ : state) {
    uint64_t sum = hearth::tensor::sum_words(data, &pool);
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kStreamBytes));
}

// One head's scores and weighted value sum for n_queries queries over n_positions F16 rows.
void bench_attention(benchmark::State& state, int64_t n_positions, int64_t head_dim,
                     int64_t n_queries) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(n_positions * head_dim));
  for (float& v : values) v = normal(rng);
  std::vector<uint16_t> keys(values.size()), cached_values(values.size());
  hearth::tensor::quantize_row(GgmlType::kF16, values.data(), keys.data(),
                               static_cast<int64_t>(values.size()));
  for (float& v : values) v = normal(rng);
  hearth::tensor::quantize_row(GgmlType::kF16, values.data(), cached_values.data(),
                               static_cast<int64_t>(values.size()));
  std::vector<float> queries(static_cast<size_t>(n_queries * head_dim));
  for (float& v : queries) v = normal(rng);
  std::vector<float> scores(static_cast<size_t>(n_queries * n_positions));
  std::vector<float> out(static_cast<size_t>(n_queries * head_dim));
  for (auto _ : state) {
    hearth::tensor::row_dots(GgmlType::kF16, keys.data(), n_positions, head_dim, queries.data(),
                             n_queries, head_dim, scores.data(), n_positions);
    hearth::tensor::weighted_row_sums(GgmlType::kF16, cached_values.data(), n_positions, head_dim,
                                      scores.data(), n_queries, n_positions, out.data(), head_dim);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n_queries));
}

// One decoded token's attention at a depth, from memory as the forward pass runs it: 8 KV heads,
// one pool task each, of n_positions F16 keys and values of 128; each head's two queries (a GQA
// pair) scored, softmaxed and summed. The caches are in copies of at least 1 GiB together, so
// that they come from DRAM; reported as bytes of keys and values read per second, to set beside
// `read` (the KV cache is what a long context adds to every token's reads).
void bench_attention_streamed(benchmark::State& state, int64_t n_positions, int threads) {
  constexpr int64_t kHeads = 8, kHeadDim = 128, kQueries = 2;
  const auto head_bytes = static_cast<uint64_t>(n_positions * kHeadDim) * sizeof(uint16_t);
  const uint64_t step_bytes = 2 * kHeads * head_bytes;  // keys, then values, head by head
  const uint64_t n_copies = std::max<uint64_t>(1, (kStreamBytes + step_bytes - 1) / step_bytes);
  hearth::LargePageBuffer cache = hearth::LargePageBuffer::allocate(step_bytes * n_copies).value();
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> head(static_cast<size_t>(n_positions * kHeadDim));
  for (float& v : head) v = normal(rng);
  hearth::tensor::quantize_row(GgmlType::kF16, head.data(), cache.data(),
                               static_cast<int64_t>(head.size()));
  for (uint64_t at = head_bytes; at < cache.size(); at += head_bytes) {
    std::memcpy(cache.data() + at, cache.data(), std::min(head_bytes, cache.size() - at));
  }
  std::vector<float> queries(static_cast<size_t>(kHeads * kQueries * kHeadDim));
  for (float& v : queries) v = normal(rng) * 0.1f;
  std::vector<float> scores(static_cast<size_t>(kHeads * kQueries * n_positions));
  std::vector<float> out(queries.size());
  ThreadPool& pool = pool_of(threads);
  uint64_t copy = 0;
  for (auto _ : state) {
    const uint8_t* keys = cache.data() + copy * step_bytes;
    const uint8_t* values = keys + kHeads * head_bytes;
    pool.run(kHeads, [&](int64_t h, int) {
      float* w = scores.data() + h * kQueries * n_positions;
      const float* q = queries.data() + h * kQueries * kHeadDim;
      float* y = out.data() + h * kQueries * kHeadDim;
      hearth::tensor::row_dots(GgmlType::kF16, keys + h * head_bytes, n_positions, kHeadDim, q,
                               kQueries, kHeadDim, w, n_positions);
      for (int64_t i = 0; i < kQueries; ++i)
        hearth::tensor::softmax(w + i * n_positions, n_positions);
      hearth::tensor::weighted_row_sums(GgmlType::kF16, values + h * head_bytes, n_positions,
                                        kHeadDim, w, kQueries, n_positions, y, kHeadDim);
    });
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    copy = (copy + 1) % n_copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * step_bytes));
}

}  // namespace

int main(int argc, char** argv) {
  const GgmlType types[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0,
                            GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                            GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};
  const auto name_of = [](const char* kind, GgmlType type, int64_t n_rows, int64_t n_cols,
                          int threads) {
    return std::string(kind) + "/" +
           std::string(hearth::ggml_type_traits(static_cast<uint32_t>(type))->name) + "/" +
           std::to_string(n_rows) + "x" + std::to_string(n_cols) +
           "/threads:" + std::to_string(threads);
  };
  for (const int threads : {1, 2}) {
    const std::string read = "read/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(read.c_str(), bench_read, threads)->UseRealTime();
    for (const GgmlType type : types) {
      benchmark::RegisterBenchmark(name_of("matvec", type, kRows, kCols, threads).c_str(),
                                   bench_matvec, type, threads, kRows, kCols, kStreamBytes)
          ->UseRealTime();
    }
  }
  for (const int threads : {1, 2}) {
    for (const GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0}) {
      for (const int64_t n_rows : {kDecodeRows, kDecodeHeadRows}) {
        benchmark::RegisterBenchmark(name_of("matvec", type, n_rows, kDecodeCols, threads).c_str(),
                                     bench_matvec, type, threads, n_rows, kDecodeCols, kStreamBytes)
            ->UseRealTime();
      }
    }
    for (const GgmlType type :
         {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ6_K}) {
      benchmark::RegisterBenchmark(
          name_of("matvec", type, kLongRowsRows, kLongRowsCols, threads).c_str(), bench_matvec,
          type, threads, kLongRowsRows, kLongRowsCols, kStreamBytes)
          ->UseRealTime();
    }
  }
  for (const GgmlType type : types) {
    benchmark::RegisterBenchmark(
        name_of("matvec_in_cache", type, kCachedSide, kCachedSide, 1).c_str(), bench_matvec, type,
        1, kCachedSide, kCachedSide, uint64_t{0})
        ->UseRealTime();
  }
  for (const int64_t n_queries : {1, 2, 4, 8, 16}) {
    const std::string name = "attention/f16/512x128/queries:" + std::to_string(n_queries);
    benchmark::RegisterBenchmark(name.c_str(), bench_attention, 512, 128, n_queries)->UseRealTime();
  }
  for (const int threads : {1, 2}) {
    const std::string name = "attention_streamed/f16/4096x128/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(name.c_str(), bench_attention_streamed, 4096, threads)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
