// ThreadPool: a job is published through an atomic generation counter that workers spin on
// (then sleep on with C++20 atomic wait, a futex on Linux); workers join while the job is open,
// the caller works too, closes the job and waits for the workers that joined.
#include "hearth/base/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace hearth {
namespace {

// How long a worker keeps polling for the next job before it sleeps, and the caller for the
// workers to finish before it sleeps: long enough to span the gaps between the kernels of a
// decode step, short enough not to burn a core when the pool is idle.
constexpr auto kSpin = std::chrono::microseconds(200);
// How long a poll goes before it also yields the core between polls: longer than the gaps inside
// a decode step (a few microseconds of serial work), where a yield (a system call) would only
// delay the poller's start on the next job.
constexpr auto kSpinBeforeYield = std::chrono::microseconds(50);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls until `done()` or kSpin has passed; true when done. Past kSpinBeforeYield it yields the
// core every 64 polls, so that a spinning thread lets a runnable one (a worker with a task, the
// caller) have it when the machine has fewer free cores than threads.
template <class Done>
bool spin_until(const Done& done) {
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    if (waited > kSpin) return false;
    if (waited > kSpinBeforeYield) std::this_thread::yield();
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0)
    n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::run(int64_t n_tasks, const std::function<void(int64_t, int)>& task) {
  if (n_tasks <= 0) return;
  if (workers_.empty() || n_tasks == 1) {
    for (int64_t i = 0; i < n_tasks; ++i) task(i, 0);
    return;
  }
  task_ = &task;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  open_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();  // no syscall when no worker sleeps
  work(0);
  // Every task is claimed. Closing before reading active_, while a worker increments active_
  // before reading open_ (all seq_cst): either the worker sees the job closed and leaves it
  // alone, or this thread sees the worker and waits for it.
  open_.store(false, std::memory_order_seq_cst);
  const auto idle = [this] { return active_.load(std::memory_order_seq_cst) == 0; };
  if (!spin_until(idle)) {
    for (int busy = active_.load(std::memory_order_seq_cst); busy != 0;
         busy = active_.load(std::memory_order_seq_cst)) {
      active_.wait(busy, std::memory_order_seq_cst);
    }
  }
}

void ThreadPool::work(int thread) {
  for (int64_t i = next_task_.fetch_add(1, std::memory_order_relaxed); i < n_tasks_;
       i = next_task_.fetch_add(1, std::memory_order_relaxed)) {
    (*task_)(i, thread);
  }
}

void ThreadPool::worker_loop(int thread) {
  uint32_t seen = 0;
  while (true) {
    const auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(published)) {
      while (!published()) generation_.wait(seen, std::memory_order_acquire);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_acquire)) return;
    // A worker that wakes late may find the job closed (skipped) or a newer one open (it helps
    // with that one; its tasks are claimed from the counter like any other).
    active_.fetch_add(1, std::memory_order_seq_cst);
    if (open_.load(std::memory_order_seq_cst)) work(thread);
    if (active_.fetch_sub(1, std::memory_order_seq_cst) == 1) active_.notify_one();
  }
}

void run_tasks(ThreadPool* pool, int64_t n_tasks,
               const std::function<void(int64_t task, int thread)>& task) {
  if (pool != nullptr) {
    pool->run(n_tasks, task);
    return;
  }
  for (int64_t i = 0; i < n_tasks; ++i) task(i, 0);
}

}  // namespace hearth
