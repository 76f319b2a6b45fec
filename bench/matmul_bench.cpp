// Prefill and batched-decode throughput per weight type, as GFLOP/s (2 * n_tokens * n_rows *
// n_cols per call, counter `GFLOPS`, wall time) with 1 and 2 threads, for 1024x1024 (the
// qwen3-0.6b width), 2048x2048 and 4096x4096 weights and 4, 8, 16 (batched decode), 32 (the
// fewest that take AMX tiles where the CPU has them) or 512 (prefill) tokens, through both routes:
// `matmul` (weights decoded to float32) for every type dequantize_row handles, and `batch`
// (tensor::matvec_batch: 8-bit activations, integer block dot products, what the forward pass
// uses for the block formats). Filter with --benchmark_filter, e.g. 'batch/q4_0/.*threads:2'.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hearth/base/thread_pool.h"
#include "hearth/tensor/matmul.h"
#include "hearth/tensor/matvec.h"
#include "hearth/tensor/quantize.h"

namespace {

using hearth::GgmlType;
using hearth::ThreadPool;

ThreadPool& pool_of(int threads) {
  static ThreadPool one(1);
  static ThreadPool two(2);
  return threads == 1 ? one : two;
}

void bench_product(benchmark::State& state, GgmlType type, int64_t n, int64_t n_tokens, bool batch,
                   int threads) {
  const uint64_t row_bytes =
      hearth::ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n)).value();
  std::vector<uint8_t> weights(row_bytes * static_cast<uint64_t>(n));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    for (float& v : row) v = normal(rng);
    hearth::tensor::quantize_row(type, row.data(), weights.data() + r * row_bytes, n);
  }
  std::vector<float> x(static_cast<size_t>(n_tokens * n));
  for (float& v : x) v = normal(rng);
  std::vector<float> y(static_cast<size_t>(n_tokens * n));
  ThreadPool& pool = pool_of(threads);
  for (auto _ : state) {
    if (batch) {
      hearth::tensor::matvec_batch(type, weights.data(), n, n, x.data(), n_tokens, y.data(), &pool);
    } else {
      hearth::tensor::matmul(type, weights.data(), n, n, x.data(), n_tokens, y.data(), &pool);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(
      2.0 * static_cast<double>(n_tokens * n * n) * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (const int threads : {1, 2}) {
    for (uint32_t t = 0; t < 64; ++t) {
      const auto type = static_cast<GgmlType>(t);
      const auto traits = hearth::ggml_type_traits(t);
      if (!traits.has_value() || !hearth::tensor::is_convertible(type)) continue;
      for (const bool batch : {false, true}) {
        if (batch && !hearth::tensor::uses_int8_activations(type)) continue;
        for (const int64_t n : {1024, 2048, 4096}) {
          for (const int64_t n_tokens : {4, 8, 16, 32, 512}) {
            const std::string name = std::string(batch ? "batch/" : "matmul/") +
                                     std::string(traits->name) + "/" + std::to_string(n) + "x" +
                                     std::to_string(n) + "/tokens:" + std::to_string(n_tokens) +
                                     "/threads:" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), bench_product, type, n, n_tokens, batch,
                                         threads)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
          }
        }
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
