#include "hearth/base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

namespace hearth {
namespace {

TEST(ThreadPool, RunsEveryTaskOnceForAnySize) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 3, 100, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<bool> bad_thread{false};
      pool.run(n, [&](int64_t task, int thread) {
        hits[static_cast<size_t>(task)].fetch_add(1);
        if (thread < 0 || thread >= threads) bad_thread = true;
      });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1);
      EXPECT_FALSE(bad_thread.load());
    }
  }
}

TEST(ThreadPool, RunTasksWithoutAPoolRunsEveryTaskInOrderOnTheCaller) {
  std::vector<int64_t> order;
  run_tasks(nullptr, 5, [&](int64_t task, int thread) {
    EXPECT_EQ(thread, 0);
    order.push_back(task);
  });
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  run_tasks(&pool, 100, [&](int64_t task, int /*thread*/) { sum += task; });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, ManyConsecutiveJobs) {
  ThreadPool pool(3);
  std::vector<int64_t> out(64);
  for (int job = 0; job < 2000; ++job) {
    pool.run(64, [&](int64_t task, int) { out[static_cast<size_t>(task)] = task * job; });
    ASSERT_EQ(std::accumulate(out.begin(), out.end(), int64_t{0}), int64_t{2016} * job);
  }
}

// Decode-like use: many tiny jobs back to back (workers stay spinning), with task counts below,
// at and above the pool size, and the inline single-task path in between.
TEST(ThreadPool, ManyRapidSmallRuns) {
  for (const int threads : {2, 4}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int64_t>> sums(8);
    for (int job = 0; job < 20000; ++job) {
      const int64_t n = 1 + job % 8;
      pool.run(n, [&](int64_t task, int) { sums[static_cast<size_t>(task)].fetch_add(job); });
    }
    // Task i ran in every job with n > i, that is for job % 8 >= i.
    for (int64_t i = 0; i < 8; ++i) {
      int64_t want = 0;
      for (int job = 0; job < 20000; ++job) want += job % 8 >= i ? job : 0;
      EXPECT_EQ(sums[static_cast<size_t>(i)].load(), want) << threads << " threads, task " << i;
    }
  }
}

// Jobs far apart, so the workers stop spinning and sleep between them; and a pool destroyed
// while its workers sleep.
TEST(ThreadPool, WakesSleepingWorkers) {
  ThreadPool pool(3);
  for (int job = 0; job < 5; ++job) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<int> ran{0};
    pool.run(30, [&](int64_t, int) { ran.fetch_add(1); });
    EXPECT_EQ(ran.load(), 30);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace
}  // namespace hearth
