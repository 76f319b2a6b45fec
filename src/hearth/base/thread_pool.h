// A fixed pool of worker threads for data-parallel kernels (Highway 1.0.3 has none). The
// calling thread works too, so a pool of size 1 runs everything inline. Tasks are claimed from
// an atomic counter; which thread runs a task must not change its result (kernels partition
// outputs, never reductions, so results are independent of the thread count).
//
// Dispatch is built for decode, which calls run() hundreds of times per token: a job is published
// by bumping an atomic generation counter, workers spin on it for a while after each job (so
// back-to-back jobs start in well under a microsecond) and only then sleep on it (a futex, via
// C++20 atomic wait). Workers join a job only while it is open; the caller closes it once every
// task is claimed and waits only for the workers that joined, so a worker the OS has not
// scheduled (more threads than free cores) never holds a job up.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
 public:
  // `n_threads` counts the caller; 0 means one per hardware thread.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls task(i, thread) for every i in [0, n_tasks) and returns when all have finished.
  // `thread` is in [0, size()): an index for per-thread scratch space. Not reentrant, and one
  // caller at a time.
  void run(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& task);

 private:
  void worker_loop(int thread);
  void work(int thread);

  std::vector<std::thread> workers_;
  // The job, written by run() before it opens the job (seq_cst store of open_) and read by
  // workers only after they joined (active_) and saw it open; run() returns, and so may rewrite
  // them, only after closing the job and seeing no worker in it.
  const std::function<void(int64_t, int)>* task_ = nullptr;
  int64_t n_tasks_ = 0;
  // Separate cache lines: the task counter is hammered while the others are polled.
  alignas(64) std::atomic<int64_t> next_task_{0};
  alignas(64) std::atomic<uint32_t> generation_{0};  // bumped per job; workers wait on it
  std::atomic<bool> stopping_{false};
  alignas(64) std::atomic<bool> open_{false};  // the current job accepts workers
  std::atomic<int> active_{0};                 // workers inside the current job
};

// pool->run(n_tasks, task), or without a pool every task in order on the calling thread (as
// thread 0).
void run_tasks(ThreadPool* pool, int64_t n_tasks,
               const std::function<void(int64_t task, int thread)>& task);

}  // namespace hearth
