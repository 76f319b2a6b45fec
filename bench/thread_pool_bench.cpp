// ThreadPool dispatch latency: the wall time of one run() whose tasks do (almost) nothing, for
// pools of 1, 2 and 4 threads and as many tasks as threads or 64, back to back as in decode; and
// run() after an idle gap long enough for the workers to fall asleep (the futex wake-up path).
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "hearth/base/thread_pool.h"

namespace {

void bench_run(benchmark::State& state) {
  hearth::ThreadPool pool(static_cast<int>(state.range(0)));
  const int64_t n_tasks = state.range(1) == 0 ? pool.size() : state.range(1);
  std::atomic<int64_t> sink{0};
  for (auto _ : state) {
    pool.run(n_tasks, [&](int64_t task, int) { sink.fetch_add(task, std::memory_order_relaxed); });
  }
  benchmark::DoNotOptimize(sink.load());
}

// Each iteration sleeps 2 ms untimed (workers stop spinning after 0.2 ms), then times one run.
void bench_run_after_idle(benchmark::State& state) {
  hearth::ThreadPool pool(static_cast<int>(state.range(0)));
  std::atomic<int64_t> sink{0};
  for (auto _ : state) {
    state.PauseTiming();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    state.ResumeTiming();
    pool.run(pool.size(),
             [&](int64_t task, int) { sink.fetch_add(task, std::memory_order_relaxed); });
  }
  benchmark::DoNotOptimize(sink.load());
}

}  // namespace

// Args: {threads, tasks (0 = one per thread)}.
BENCHMARK(bench_run)->ArgsProduct({{1, 2, 4}, {0, 64}})->UseRealTime();
BENCHMARK(bench_run_after_idle)->Arg(2)->Arg(4)->UseRealTime()->Iterations(300);
BENCHMARK_MAIN();
