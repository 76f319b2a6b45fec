// Tests of the continuous-batching scheduler on the tiny Qwen3 model of testdata: concurrent
// greedy requests give the text each gives alone, a shared prefix is reused, cancelling frees
// the slot, a full queue refuses, a too-long prompt is refused with both lengths.
#include "hearth/engine/scheduler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "testing.h"

namespace hearth::engine {
namespace {

std::unique_ptr<Engine> load_engine(const std::filesystem::path& path, int64_t n_ctx = 256) {
  EngineOptions options;
  options.model_path = path;
  options.n_threads = 2;
  options.n_ctx = n_ctx;
  auto engine = Engine::load(options);
  EXPECT_TRUE(engine.ok()) << engine.error().message();
  return std::move(*engine);
}

// One request's output, filled on the scheduler thread.
struct Collector {
  std::mutex mutex;
  std::condition_variable changed;
  std::string text;
  bool done = false;
  std::optional<Result<GenerationStats>> result;

  void attach(GenerationRequest& request) {
    request.on_text = [this](std::string_view piece) {
      std::lock_guard lock(mutex);
      text += piece;
      changed.notify_all();
      return true;
    };
    request.on_done = [this](const Result<GenerationStats>& r) {
      std::lock_guard lock(mutex);
      result = r;
      done = true;
      changed.notify_all();
    };
  }
  void wait_done() {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return done; });
  }
  void wait_text() {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return done || !text.empty(); });
  }
  GenerationStats stats() {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(result->ok()) << result->error().message();
    return result->ok() ? **result : GenerationStats{};
  }
};

GenerationRequest greedy(std::vector<int32_t> prompt, int64_t n) {
  GenerationRequest request;
  request.prompt = std::move(prompt);
  request.max_tokens = n;
  request.sampling.temperature = 0;
  request.ignore_eos = true;
  return request;
}

std::unique_ptr<Scheduler> make_scheduler(Engine& engine, int n_slots, int max_queued = 16,
                                          int64_t n_batch = 8) {
  auto scheduler =
      Scheduler::create(engine, {.n_slots = n_slots, .max_queued = max_queued, .n_batch = n_batch});
  EXPECT_TRUE(scheduler.ok()) << scheduler.error().message();
  return std::move(*scheduler);
}

TEST(SchedulerTest, ConcurrentGreedyRequestsMatchOneAtATime) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  const std::vector<std::string> prompts = {
      "The quick brown fox jumps over the lazy dog.", "Once upon a time", "Hello, world",
      "In a hole in the ground there lived a hobbit. Not a nasty, dirty, wet hole"};
  std::vector<std::string> alone;
  auto session = Session::create(*engine).value();
  for (const auto& prompt : prompts) {
    GenerateOptions options;
    options.max_tokens = 10;
    options.sampling.temperature = 0;
    options.ignore_eos = true;
    std::string text;
    auto stats = session->generate(engine->tokenize_prompt(prompt, false).value(), options,
                                   [&](std::string_view piece) {
                                     text += piece;
                                     return true;
                                   });
    ASSERT_TRUE(stats.ok());
    alone.push_back(text);
  }

  // n_batch 8: the long prompts are prefilled in chunks alongside the others' decoding.
  auto scheduler = make_scheduler(*engine, 4);
  std::vector<Collector> outputs(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest request = greedy(engine->tokenize_prompt(prompts[i], false).value(), 10);
    outputs[i].attach(request);
    ASSERT_EQ(scheduler->submit(std::move(request)).admission, Admission::kAccepted);
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    outputs[i].wait_done();
    EXPECT_EQ(outputs[i].stats().n_generated, 10);
    EXPECT_EQ(outputs[i].text, alone[i]) << "prompt " << i;
  }
  const SchedulerStats stats = scheduler->stats();
  EXPECT_EQ(stats.requests_finished, 4);
  EXPECT_EQ(stats.generated_tokens, 40);
  // Four decoding slots share passes: fewer passes than one request at a time would need.
  EXPECT_LT(stats.forward_passes, 40);
}

TEST(SchedulerTest, ReusesTheLongestCachedPrefix) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  auto scheduler = make_scheduler(*engine, 2);
  const auto first =
      engine->tokenize_prompt("You are a helpful assistant. Say hello.", false).value();
  const auto other = engine->tokenize_prompt("Something unrelated entirely", false).value();
  for (const auto* prompt : {&first, &other}) {
    Collector c;
    GenerationRequest request = greedy(*prompt, 4);
    c.attach(request);
    ASSERT_EQ(scheduler->submit(std::move(request)).admission, Admission::kAccepted);
    c.wait_done();
    EXPECT_EQ(c.stats().n_reused, 0);
  }
  // A follow-up of the first conversation lands in its slot and reuses the whole first prompt.
  auto follow_up = first;
  const auto more = engine->tokenize_prompt(" And goodbye.", false).value();
  follow_up.insert(follow_up.end(), more.begin() + (follow_up.front() == more.front()), more.end());
  Collector c;
  GenerationRequest request = greedy(follow_up, 4);
  c.attach(request);
  ASSERT_EQ(scheduler->submit(std::move(request)).admission, Admission::kAccepted);
  c.wait_done();
  EXPECT_EQ(c.stats().n_reused, static_cast<int64_t>(first.size()));
  EXPECT_EQ(scheduler->stats().reused_tokens, static_cast<int64_t>(first.size()));
}

TEST(SchedulerTest, CancelFreesTheSlotAndFullQueueRefuses) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path, 4096);
  auto scheduler = make_scheduler(*engine, 1, /*max_queued=*/1);
  const auto prompt = engine->tokenize_prompt("Count forever:", false).value();

  Collector endless;
  GenerationRequest request = greedy(prompt, -1);
  endless.attach(request);
  const Submitted first = scheduler->submit(std::move(request));
  ASSERT_EQ(first.admission, Admission::kAccepted);
  endless.wait_text();  // running in the only slot

  Collector queued;
  request = greedy(prompt, 3);
  queued.attach(request);
  ASSERT_EQ(scheduler->submit(std::move(request)).admission, Admission::kAccepted);
  Collector refused;
  request = greedy(prompt, 3);
  refused.attach(request);
  const Submitted full = scheduler->submit(std::move(request));
  EXPECT_EQ(full.admission, Admission::kQueueFull);
  EXPECT_NE(full.message.find("queue is full"), std::string::npos);

  first.ticket->cancel();
  endless.wait_done();
  EXPECT_EQ(endless.stats().stop_reason, StopReason::kCancelled);
  queued.wait_done();
  EXPECT_EQ(queued.stats().n_generated, 3);
  const SchedulerStats stats = scheduler->stats();
  EXPECT_EQ(stats.requests_cancelled, 1);
  EXPECT_EQ(stats.requests_finished, 1);
}

TEST(SchedulerTest, RefusesInvalidRequestsAndCancelsOnStop) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path, 8);
  auto scheduler = make_scheduler(*engine, 1);
  Collector c;
  GenerationRequest request = greedy(
      engine->tokenize_prompt("one two three four five six seven eight nine ten", false).value(),
      4);
  c.attach(request);
  const Submitted too_long = scheduler->submit(std::move(request));
  EXPECT_EQ(too_long.admission, Admission::kInvalid);
  EXPECT_NE(too_long.message.find("longer than the context of 8 tokens"), std::string::npos)
      << too_long.message;

  request = greedy(engine->tokenize_prompt("one", false).value(), 4);
  request.sampling.top_p = 2;
  c.attach(request);
  EXPECT_EQ(scheduler->submit(std::move(request)).admission, Admission::kInvalid);

  scheduler->stop(std::chrono::milliseconds(0));
  request = greedy(engine->tokenize_prompt("one", false).value(), 4);
  c.attach(request);
  EXPECT_EQ(scheduler->submit(std::move(request)).admission, Admission::kShuttingDown);
}

}  // namespace
}  // namespace hearth::engine
