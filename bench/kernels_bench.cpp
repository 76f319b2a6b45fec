// matvec throughput per weight type over a 14336x4096 matrix (a Llama-3-8B FFN gate/up: 33 MiB as
// Q4_0 to 224 MiB as F32, past this machine's 32 MiB L3), with 1 and 2 threads, reported as bytes
// of weights read per second; and, in the same run, this machine's plain memory-read bandwidth
// (`read`), the roofline for matvec. Each matvec iteration reads the next of several copies of
// the matrix (at least 256 MiB in all) so that weights come from DRAM, as in decode.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hearth/base/thread_pool.h"
#include "hearth/tensor/matvec.h"
#include "hearth/tensor/quantize.h"

namespace {

using hearth::GgmlType;
using hearth::ThreadPool;

constexpr uint64_t kStreamBytes = uint64_t{256} << 20;
constexpr int64_t kRows = 14336;
constexpr int64_t kCols = 4096;
constexpr int64_t kDistinctRows = 64;  // quantized once, then tiled (K-quant search is slow)

ThreadPool& pool_of(int threads) {
  static ThreadPool one(1);
  static ThreadPool two(2);
  return threads == 1 ? one : two;
}

void bench_matvec(benchmark::State& state, GgmlType type, int threads) {
  const uint64_t row_bytes =
      hearth::ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(kCols)).value();
  const uint64_t matrix_bytes = row_bytes * static_cast<uint64_t>(kRows);
  const uint64_t n_copies = (kStreamBytes + matrix_bytes - 1) / matrix_bytes;
  std::vector<uint8_t> weights(matrix_bytes * n_copies);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(kCols));
  for (int64_t r = 0; r < kDistinctRows; ++r) {
    for (float& v : row) v = normal(rng);
    hearth::tensor::quantize_row(type, row.data(), weights.data() + r * row_bytes, kCols);
  }
  const uint64_t tile = kDistinctRows * row_bytes;
  for (uint64_t at = tile; at < weights.size(); at += tile) {
    std::memcpy(weights.data() + at, weights.data(), std::min(tile, weights.size() - at));
  }
  std::vector<float> x(static_cast<size_t>(kCols));
  for (float& v : x) v = normal(rng);
  std::vector<float> y(static_cast<size_t>(kRows));
  ThreadPool& pool = pool_of(threads);
  uint64_t copy = 0;
  for (auto _ : state) {
    hearth::tensor::matvec(type, weights.data() + copy * matrix_bytes, kRows, kCols, x.data(),
                           y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    copy = (copy + 1) % n_copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * matrix_bytes));
}

// Reads 256 MiB per iteration (a sum of 64-bit words, split over the pool like matvec's rows).
void bench_read(benchmark::State& state, int threads) {
  std::vector<uint64_t> data(kStreamBytes / sizeof(uint64_t), 1);
  ThreadPool& pool = pool_of(threads);
  constexpr int64_t kTasks = 256;
  const auto per_task = static_cast<int64_t>(data.size()) / kTasks;
  std::vector<uint64_t> sums(kTasks);
  for (auto _ : state) {
    pool.run(kTasks, [&](int64_t task, int) {
      const uint64_t* p = data.data() + task * per_task;
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t i = 0; i < per_task; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
      }
      sums[task] = s0 + s1 + s2 + s3;
    });
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kStreamBytes));
}

}  // namespace

int main(int argc, char** argv) {
  const GgmlType types[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0,
                            GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                            GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};
  for (const int threads : {1, 2}) {
    const std::string suffix = "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(("read" + suffix).c_str(), bench_read, threads)->UseRealTime();
    for (const GgmlType type : types) {
      const std::string name =
          "matvec/" + std::string(hearth::ggml_type_traits(static_cast<uint32_t>(type))->name) +
          "/" + std::to_string(kRows) + "x" + std::to_string(kCols) + suffix;
      benchmark::RegisterBenchmark(name.c_str(), bench_matvec, type, threads)->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
