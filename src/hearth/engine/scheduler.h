// Continuous batching: one scheduler thread owns N slots (a KV-cache sequence each) and, every
// step, runs one forward pass holding the next token of every decoding slot plus chunks of the
// prompts still being prefilled, then samples each slot's token. Requests (already tokenized,
// validated by the caller) wait in a bounded queue and are admitted between steps into the free
// slot whose cached tokens share the longest prefix with their prompt. Not here: HTTP, JSON,
// chat templates, output parsing (chat_completion.h and the server).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hearth/engine/engine.h"

namespace hearth::engine {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // not empty, at most the engine's n_ctx tokens
  int64_t max_tokens = -1;      // < 0: until end of generation or the context is full
  sample::SamplingParams sampling;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  std::unique_ptr<sample::TokenConstraint> constraint;  // optional; used on the scheduler thread
  std::vector<int32_t> preserved_tokens;                // as GenerateOptions::preserved_tokens
  // Both are called on the scheduler thread and must not block for long. on_text receives text
  // as Session::generate's sink does (false cancels); on_done is called exactly once, last.
  TextSink on_text;
  std::function<void(const Result<GenerationStats>& result)> on_done;
};

// A submitted request, to cancel it from any thread (a client that went away). A cancelled
// request ends at the next step with StopReason::kCancelled and frees its slot.
class Ticket {
 public:
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
};

enum class Admission { kAccepted, kQueueFull, kShuttingDown, kInvalid };

struct Submitted {
  Admission admission = Admission::kAccepted;
  std::shared_ptr<Ticket> ticket;  // when accepted
  std::string message;             // why not
};

struct SchedulerOptions {
  int n_slots = 1;
  int max_queued = 64;  // requests waiting while every slot is busy; more get kQueueFull
  int64_t n_batch = 0;  // tokens per forward pass (0: the engine's n_ubatch); >= n_slots
};

// Counters since start, and the state now.
struct SchedulerStats {
  int64_t requests_finished = 0;  // ended normally (any stop reason but cancelled)
  int64_t requests_cancelled = 0;
  int64_t requests_failed = 0;  // a forward or decode error
  int64_t prompt_tokens = 0;    // prompt tokens of admitted requests
  int64_t reused_tokens = 0;    // of which found in a slot's cache
  int64_t generated_tokens = 0;
  int64_t forward_passes = 0;
  double busy_seconds = 0;  // inside forward passes and sampling
  int64_t queued = 0;
  int64_t active = 0;
  int n_slots = 0;
};

class Scheduler {
 public:
  // Creates the slots' sequences (n_ctx each) and starts the scheduler thread.
  static Result<std::unique_ptr<Scheduler>> create(Engine& engine, SchedulerOptions options);
  // Cancels everything still running (stop() with no grace).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. Refused when the queue is full, the scheduler is stopping, or the request
  // is invalid (empty or too long prompt, bad sampling parameters); on_done is then not called.
  Submitted submit(GenerationRequest request);

  // Stops admitting, lets running and queued requests finish for up to `grace`, cancels the
  // rest and joins the thread. Idempotent.
  void stop(std::chrono::milliseconds grace);

  SchedulerStats stats() const;
  Engine& engine() { return engine_; }

 private:
  struct Active;
  struct Slot {
    std::unique_ptr<model::Sequence> sequence;
    std::vector<int32_t> tokens;  // what the cache holds
    std::unique_ptr<Active> active;
    uint64_t last_used = 0;
  };
  struct Queued {
    GenerationRequest request;
    std::shared_ptr<Ticket> ticket;
  };

  Scheduler(Engine& engine, SchedulerOptions options);
  void run();
  void admit(Queued queued);
  void step();
  void sample_slot(Slot& slot, std::span<float> logits);
  void finish(Slot& slot, Result<GenerationStats> result);
  void cancel_all();

  Engine& engine_;
  SchedulerOptions options_;
  std::vector<Slot> slots_;  // touched only by the scheduler thread
  uint64_t admissions_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Queued> queue_;
  int reserved_ = 0;  // slots running a request or handed one from the queue
  bool accepting_ = true;
  bool stopping_ = false;  // the thread exits at its next turn
  SchedulerStats stats_;
  std::thread thread_;

  // Scratch of the scheduler thread.
  std::vector<model::BatchToken> batch_;
  std::vector<Slot*> batch_slots_;  // per logits row: whose
  std::vector<float> logits_;
};

}  // namespace hearth::engine
