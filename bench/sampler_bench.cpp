// Time of one Sampler::sample() on a Qwen-sized vocabulary (151936 logits, normal with sd 3, as
// real logits roughly are): llama.cpp's default chain (top-k 40, top-p 0.95, min-p 0.05, temp
// 0.8), the same without top-k (top-p then sorts only what it needs), and greedy. Each iteration
// copies fresh logits in first (sample() uses them as scratch); `copy` measures that alone.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "hearth/sample/sampler.h"

namespace {

using hearth::sample::Sampler;
using hearth::sample::SamplingParams;

constexpr int32_t kVocab = 151936;

const std::vector<float>& logits() {
  static const std::vector<float> values = [] {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> v(kVocab);
    for (float& x : v) x = normal(rng);
    return v;
  }();
  return values;
}

void run(benchmark::State& state, const SamplingParams& params, bool sample) {
  Sampler sampler(params, kVocab);
  // A 64-token history so the repeat penalty has a window to apply.
  std::vector<int32_t> history(64);
  for (int32_t i = 0; i < 64; ++i) history[i] = i * 1000;
  sampler.add_history(history);
  std::vector<float> scratch(kVocab);
  for (auto _ : state) {
    scratch = logits();
    if (sample) benchmark::DoNotOptimize(sampler.sample(scratch));
    benchmark::ClobberMemory();
  }
}

SamplingParams defaults() {
  SamplingParams p;
  p.seed = 1;
  p.repeat_penalty = 1.1f;
  return p;
}

void BM_copy(benchmark::State& state) {
  run(state, defaults(), false);
}

void BM_default_chain(benchmark::State& state) {
  run(state, defaults(), true);
}

void BM_no_top_k(benchmark::State& state) {
  SamplingParams p = defaults();
  p.top_k = 0;
  run(state, p, true);
}

void BM_greedy(benchmark::State& state) {
  SamplingParams p = defaults();
  p.temperature = 0.0f;
  run(state, p, true);
}

BENCHMARK(BM_copy);
BENCHMARK(BM_default_chain);
BENCHMARK(BM_no_top_k);
BENCHMARK(BM_greedy);

}  // namespace

BENCHMARK_MAIN();
