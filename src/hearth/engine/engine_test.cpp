// Tests of the engine on the tiny Qwen3 model of testdata: greedy generation is repeatable and
// independent of prefix reuse; a seed replays sampled text; stop strings end the text before
// them; a cancelled sink stops; a prompt longer than the context is a clear error.
#include "hearth/engine/engine.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace hearth::engine {
namespace {

std::unique_ptr<Engine> load_engine(const std::filesystem::path& path, int64_t n_ctx = 128) {
  EngineOptions options;
  options.model_path = path;
  options.n_threads = 2;
  options.n_ctx = n_ctx;
  options.n_ubatch = 4;  // several prefill chunks even for short prompts
  auto engine = Engine::load(options);
  EXPECT_TRUE(engine.ok()) << engine.error().message();
  return std::move(*engine);
}

std::vector<int32_t> encode(const Engine& engine, std::string_view text) {
  return engine.tokenize_prompt(text, false).value();
}

struct Generated {
  std::string text;
  GenerationStats stats;
};

Generated generate(Session& session, const std::vector<int32_t>& prompt, GenerateOptions options) {
  Generated out;
  auto stats = session.generate(prompt, options, [&](std::string_view piece) {
    out.text += piece;
    return true;
  });
  EXPECT_TRUE(stats.ok()) << stats.error().message();
  if (stats.ok()) out.stats = *stats;
  return out;
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions options;
  options.max_tokens = n;
  options.sampling.temperature = 0;
  options.ignore_eos = true;
  return options;
}

TEST(EngineTest, LoadsTokenizerTemplateAndEndTokens) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  EXPECT_EQ(engine->config().arch, "qwen3");
  EXPECT_NE(engine->chat_template(), nullptr);
  EXPECT_EQ(engine->output_format(), chat::OutputFormat::kHermes);
  EXPECT_TRUE(engine->is_end_of_generation(151645));  // <|im_end|>
  EXPECT_TRUE(engine->is_end_of_generation(151643));  // <|endoftext|>
  EXPECT_FALSE(engine->is_end_of_generation(9707));
}

TEST(EngineTest, GreedyIsRepeatableWithAndWithoutPrefixReuse) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  const auto prompt = encode(*engine, "The quick brown fox jumps over the lazy dog.");
  auto fresh = Session::create(*engine).value();
  const Generated first = generate(*fresh, prompt, greedy(12));
  EXPECT_EQ(first.stats.n_generated, 12);
  EXPECT_EQ(first.stats.stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(first.stats.n_reused, 0);
  EXPECT_FALSE(first.text.empty());

  // The same session again: the whole prompt but its last token comes from the cache.
  const Generated again = generate(*fresh, prompt, greedy(12));
  EXPECT_EQ(again.stats.n_reused, static_cast<int64_t>(prompt.size()) - 1);
  EXPECT_EQ(again.text, first.text);
}

TEST(EngineTest, SeedReplaysSampledText) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  const auto prompt = encode(*engine, "Once upon a time");
  GenerateOptions options;
  options.max_tokens = 10;
  options.ignore_eos = true;
  options.sampling.temperature = 1.5f;
  options.sampling.seed = 42;
  auto session = Session::create(*engine).value();
  const Generated a = generate(*session, prompt, options);
  const Generated b = generate(*session, prompt, options);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.stats.seed, 42u);
}

TEST(EngineTest, StopStringEndsTextBeforeIt) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  const auto prompt = encode(*engine, "Hello, world");
  auto session = Session::create(*engine).value();
  const Generated free_run = generate(*session, prompt, greedy(16));
  ASSERT_GE(free_run.text.size(), 6u);
  // Stop at a piece of the text greedy decoding produces.
  GenerateOptions options = greedy(16);
  const std::string stop = free_run.text.substr(3, 3);
  options.stop = {stop};
  const Generated stopped = generate(*session, prompt, options);
  EXPECT_EQ(stopped.stats.stop_reason, StopReason::kStopString);
  EXPECT_EQ(stopped.text, free_run.text.substr(0, free_run.text.find(stop)));
}

TEST(EngineTest, SinkCancelsGeneration) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  auto session = Session::create(*engine).value();
  int calls = 0;
  auto stats = session->generate(encode(*engine, "Hello"), greedy(50), [&](std::string_view) {
    return ++calls < 3;
  });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop_reason, StopReason::kCancelled);
  EXPECT_EQ(calls, 3);
}

TEST(EngineTest, PromptLongerThanContextIsAnError) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path, 8);
  auto session = Session::create(*engine).value();
  const auto prompt = encode(*engine, "one two three four five six seven eight nine ten");
  auto stats = session->generate(prompt, greedy(4), [](std::string_view) { return true; });
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.error().message().find("longer than the context of 8"), std::string::npos)
      << stats.error().message();
  // Generation that reaches the end of the context stops with a reason, not an error.
  const auto short_prompt = encode(*engine, "one two");
  const Generated full = generate(*session, short_prompt, greedy(100));
  EXPECT_EQ(full.stats.stop_reason, StopReason::kContextFull);
}

}  // namespace
}  // namespace hearth::engine
