// Constrained decoding on real tiny models (issue #8): the models of ../shared/testdata, whose
// free output is noise, generate through the continuous-batching scheduler (forward pass,
// sampler chain, grammar) under JSON-schema and tool-call grammars, many seeds each (500 per
// schema on the tiny Llama; a 25th of that in sanitizer builds, where the forward pass is ~10x
// slower; the Qwen3 model, whose 151,936-token output layer costs ~5x more per token, runs its
// own families' tool calls). Every output
// must end, parse as JSON and validate against its schema (the independent validator of the
// sample tests), and every tool-call output must parse with the family's parser in the chat
// module into calls whose arguments validate.
//
// A tiny Llama whose vocabulary has tool-call markers as control tokens (Gemma 4's, Mistral's,
// Kimi K2's, DeepSeek V3's) checks the whole path of a control-token marker: the grammar makes the
// model emit the token, the scheduler renders it under the constraint, the parser reads it.
//
// Every schema and tool here has bounded outputs, and each request may generate
// Grammar::max_bytes() + 1 tokens (a token adds at least one byte): the grammar always closes
// within the cap, so every request must stop at an end token, never at the cap.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "engine_test_support.h"
#include "hearth/chat/output_parser.h"
#include "hearth/engine/scheduler.h"
#include "hearth/model/synth.h"
#include "hearth/sample/grammar_test_support.h"
#include "hearth/sample/json_schema.h"
#include "hearth/sample/tool_call_grammar.h"
#include "testing.h"

namespace hearth::engine {
namespace {

// Seeds per schema: a 25th in sanitizer and debug builds, where the forward pass is ~10x slower.
int seeds(int release_count) {
  return sample::testing::seed_count(release_count, 25);
}

// One generation: a grammar, its token cap and a seed.
struct Job {
  std::shared_ptr<sample::CompiledGrammar> grammar;
  int64_t max_tokens = 0;
  uint32_t seed = 0;
};

struct Output {
  std::string text;
  StopReason stop = StopReason::kCancelled;
  std::string error;
};

// A grammar bound to the engine's vocabulary, with the cap that lets every output close.
Job compile(Engine& engine, const std::string& gbnf) {
  auto grammar = sample::Grammar::parse(gbnf);
  EXPECT_TRUE(grammar.ok()) << grammar.error().message() << "\n" << gbnf;
  if (!grammar.ok()) return {};
  const std::optional<size_t> max_bytes = grammar->max_bytes();
  EXPECT_TRUE(max_bytes.has_value()) << "unbounded test grammar\n" << gbnf;
  if (!max_bytes) return {};
  return {sample::CompiledGrammar::create(std::move(*grammar), engine.grammar_vocabulary()),
          static_cast<int64_t>(*max_bytes) + 1};
}

// Runs every job after `prompt`, all queued at once on 64 slots, so that one forward pass
// carries up to 64 sequences' tokens whatever their grammars.
std::vector<Output> run(Engine& engine, const std::vector<int32_t>& prompt,
                        const std::vector<Job>& jobs) {
  auto scheduler =
      Scheduler::create(engine, {.n_slots = 64, .max_queued = static_cast<int>(jobs.size())});
  EXPECT_TRUE(scheduler.ok()) << scheduler.error().message();
  if (!scheduler.ok()) return {};
  std::vector<Output> outputs(jobs.size());
  std::mutex mutex;
  std::condition_variable done;
  size_t remaining = jobs.size();
  for (size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_LE(static_cast<int64_t>(prompt.size()) + jobs[i].max_tokens, engine.n_ctx());
    GenerationRequest request;
    request.prompt = prompt;
    request.max_tokens = jobs[i].max_tokens;
    request.sampling.temperature = 1.0f;
    request.sampling.seed = jobs[i].seed;
    request.constraint = std::make_unique<sample::GrammarMatcher>(jobs[i].grammar);
    Output& out = outputs[i];
    request.on_text = [&out](std::string_view piece) {
      out.text += piece;
      return true;
    };
    request.on_done = [&, i](const Result<GenerationStats>& result) {
      std::lock_guard lock(mutex);
      if (result.ok()) {
        outputs[i].stop = result->stop_reason;
      } else {
        outputs[i].error = result.error().message();
      }
      if (--remaining == 0) done.notify_one();
    };
    const Submitted submitted = (*scheduler)->submit(std::move(request));
    EXPECT_EQ(submitted.admission, Admission::kAccepted) << submitted.message;
    if (submitted.admission != Admission::kAccepted) return {};
  }
  std::unique_lock lock(mutex);
  done.wait(lock, [&] { return remaining == 0; });
  return outputs;
}

std::unique_ptr<Engine> load_engine(const std::filesystem::path& path) {
  EngineOptions options;
  options.model_path = path;
  options.n_threads = 2;
  options.n_ctx = 2048;
  auto engine = Engine::load(options);
  EXPECT_TRUE(engine.ok()) << engine.error().message();
  return engine.ok() ? std::move(*engine) : nullptr;
}

Json json(const char* text) {
  auto parsed = parse_json(text, "test");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  return parsed.ok() ? *parsed : Json();
}

// The shared test schemas, then a bounded tree (no recursion): every output has a length limit.
const std::vector<const char*> kSchemas = sample::testing::test_schemas(
    R"({"type":"object","properties":{"kind":{"const":"event"},
         "payload":{"oneOf":[{"type":"string","maxLength":5},
                             {"type":"array","items":{"type":"boolean"},"maxItems":3}]},
         "tree":{"type":"object","properties":{"v":{"type":"integer"},
                 "kids":{"type":"array","maxItems":2,"items":{"type":"object",
                         "properties":{"v":{"type":"integer"}},"required":["v"],
                         "additionalProperties":false}}},
                 "required":["v"],"additionalProperties":false}},
       "required":["kind","payload"],"additionalProperties":false})");

void check_schemas(const char* model, int n_seeds) {
  HEARTH_REQUIRE_TESTDATA(path, model);
  auto engine = load_engine(path);
  ASSERT_NE(engine, nullptr);
  std::vector<Json> schemas;
  std::vector<Job> jobs;
  for (const char* text : kSchemas) {
    schemas.push_back(json(text));
    auto gbnf = sample::grammar_from_json_schema(schemas.back());
    ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
    Job job = compile(*engine, *gbnf);
    ASSERT_NE(job.grammar, nullptr);
    for (int i = 0; i < n_seeds; ++i) {
      job.seed = static_cast<uint32_t>(jobs.size() + 1);
      jobs.push_back(job);
    }
  }
  const auto prompt = engine->tokenize_prompt("Reply in JSON:", false).value();
  const auto outputs = run(*engine, prompt, jobs);
  ASSERT_EQ(outputs.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Output& out = outputs[i];
    const Json& schema = schemas[i / n_seeds];
    SCOPED_TRACE(::testing::Message()
                 << "schema " << i / n_seeds << ", seed " << jobs[i].seed << ": " << out.text);
    ASSERT_EQ(out.error, "");
    ASSERT_EQ(out.stop, StopReason::kEndOfGeneration);
    auto value = parse_json(out.text, "output");
    ASSERT_TRUE(value.ok()) << value.error().message();
    const auto problem = sample::testing::validate(*value, schema, schema);
    ASSERT_FALSE(problem.has_value()) << *problem;
  }
}

TEST(ConstrainedDecoding, JsonSchemasTinyLlama) {
  check_schemas("models/tiny-llama-f32.gguf", seeds(500));
}

// Bounded tools (no free-form objects, every string bounded).
const char* const kTools = R"([
  {"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
    "properties":{"location":{"type":"string","maxLength":20},
                  "unit":{"enum":["celsius","fahrenheit"]}},"required":["location"]}}},
  {"type":"function","function":{"name":"search","parameters":{"type":"object","properties":{
      "query":{"type":"string","maxLength":30},
      "limit":{"type":"integer","minimum":1,"maximum":10}},"required":["query","limit"]}}},
  {"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{},
    "additionalProperties":false}}},
  {"type":"function","function":{"name":"write_note","parameters":{"type":"object","properties":{
      "text":{"type":"string","maxLength":24},
      "tags":{"type":"array","items":{"type":"string","pattern":"^[a-z]{1,6}$"},"maxItems":2},
      "pinned":{"type":"boolean"},
      "meta":{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":99},
                                            "kind":{"enum":["a","b"]}},"required":["id"]}},
    "required":["text","meta"]}}}
])";

void expect_calls(const std::string& format, const std::string& text, const Json& tools) {
  auto output_format = chat::output_format_from_name(format);
  ASSERT_TRUE(output_format.ok());
  chat::ParserOptions options;
  options.tools = tools;
  const chat::ParsedOutput parsed = chat::parse_output(*output_format, text, options);
  ASSERT_TRUE(parsed.warnings.empty()) << parsed.warnings[0];
  ASSERT_EQ(parsed.tool_calls.size(), 1u);
  EXPECT_EQ(parsed.content, "");
  const chat::ToolCall& call = parsed.tool_calls[0];
  const Json* parameters = nullptr;
  for (const Json& tool : tools) {
    if (tool["function"]["name"] == call.name) parameters = &tool["function"]["parameters"];
  }
  ASSERT_NE(parameters, nullptr) << call.name;
  auto args = parse_json(call.arguments, "arguments");
  ASSERT_TRUE(args.ok()) << call.arguments;
  const auto problem = sample::testing::validate(*args, *parameters, *parameters);
  ASSERT_FALSE(problem.has_value()) << *problem << " in " << call.arguments;
}

// Every family's required-mode grammar, all families' requests in one run.
void check_tool_calls(const char* model, const std::vector<std::string>& formats, int n_seeds) {
  HEARTH_REQUIRE_TESTDATA(path, model);
  auto engine = load_engine(path);
  ASSERT_NE(engine, nullptr);
  const Json tools = json(kTools);
  std::vector<Job> jobs;
  for (const std::string& format : formats) {
    auto gbnf = sample::tool_call_grammar(tools, format, {sample::ToolChoice::kRequired, false});
    ASSERT_TRUE(gbnf.ok()) << format << ": " << gbnf.error().message();
    Job job = compile(*engine, *gbnf);
    ASSERT_NE(job.grammar, nullptr) << format;
    for (int i = 0; i < n_seeds; ++i) {
      job.seed = static_cast<uint32_t>(7000 + jobs.size());
      jobs.push_back(job);
    }
  }
  const auto prompt = engine->tokenize_prompt("Call a tool:", false).value();
  const auto outputs = run(*engine, prompt, jobs);
  ASSERT_EQ(outputs.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Output& out = outputs[i];
    SCOPED_TRACE(::testing::Message()
                 << formats[i / n_seeds] << ", seed " << jobs[i].seed << ": " << out.text);
    ASSERT_EQ(out.error, "");
    ASSERT_EQ(out.stop, StopReason::kEndOfGeneration);
    expect_calls(formats[i / n_seeds], out.text, tools);
  }
}

TEST(ConstrainedDecoding, ToolCallsEveryFamilyTinyLlama) {
  check_tool_calls("models/tiny-llama-f32.gguf",
                   {"hermes", "qwen3_coder", "llama3", "mistral", "deepseek_v3", "deepseek_v3_2",
                    "glm4", "kimi_k2", "gemma3", "gemma4"},
                   seeds(50));
}

TEST(ConstrainedDecoding, ToolCallsQwenFamiliesTinyQwen3) {
  check_tool_calls("models/tiny-qwen3-f16.gguf", {"hermes", "qwen3_coder"}, seeds(50));
}

// Writes the tiny Llama with the last ids of its vocabulary turned into `markers`, as control
// tokens; the path of the file, or empty on failure (with a test failure).
std::filesystem::path model_with_control_markers(const std::filesystem::path& base,
                                                 const std::vector<std::string>& markers) {
  auto vocab = model::load_synth_vocab(base);
  EXPECT_TRUE(vocab.ok()) << vocab.error().message();
  if (!vocab.ok()) return {};
  const Status added = testing::add_control_tokens(*vocab, markers);
  EXPECT_TRUE(added.ok()) << added.error().message();
  if (!added.ok()) return {};
  auto config = model::synth_preset("llama", "tiny");
  EXPECT_TRUE(config.ok()) << config.error().message();
  if (!config.ok()) return {};
  auto plan = model::plan_synth(*config, GgmlType::kF16, *vocab, 8);
  EXPECT_TRUE(plan.ok()) << plan.error().message();
  if (!plan.ok()) return {};
  const auto path = hearth::testing::temp_path("markers.gguf");
  const Status written = model::write_synth(*plan, path, {}, 2);
  EXPECT_TRUE(written.ok()) << written.error().message();
  return written.ok() ? path : std::filesystem::path();
}

TEST(ConstrainedDecoding, ControlTokenMarkersTinyLlama) {
  HEARTH_REQUIRE_TESTDATA(base, "models/tiny-llama-f32.gguf");
  const std::vector<std::string> markers = {"<|tool_call>",
                                            "<tool_call|>",
                                            "<|\"|>",
                                            "[TOOL_CALLS]",
                                            "[ARGS]",
                                            "<|tool_calls_section_begin|>",
                                            "<|tool_calls_section_end|>",
                                            "<|tool_call_begin|>",
                                            "<|tool_call_argument_begin|>",
                                            "<|tool_call_end|>",
                                            "<｜tool▁calls▁begin｜>",
                                            "<｜tool▁calls▁end｜>",
                                            "<｜tool▁call▁begin｜>",
                                            "<｜tool▁sep｜>",
                                            "<｜tool▁call▁end｜>"};
  const auto path = model_with_control_markers(base, markers);
  ASSERT_FALSE(path.empty());
  auto engine = load_engine(path);
  ASSERT_NE(engine, nullptr);
  const tokenizer::Vocab& vocab = engine->tokenizer().vocab();
  const std::vector<std::pair<std::string, std::string>> formats = {
      {"gemma4", "<|tool_call>"},
      {"mistral", "[TOOL_CALLS]"},
      {"kimi_k2", "<|tool_calls_section_begin|>"},
      {"deepseek_v3", "<｜tool▁calls▁begin｜>"}};
  const Json tools = json(kTools);
  const int n_seeds = seeds(25);
  std::vector<Job> jobs;
  for (const auto& [format, opener] : formats) {
    auto gbnf = sample::tool_call_grammar(tools, format, {sample::ToolChoice::kRequired, false});
    ASSERT_TRUE(gbnf.ok()) << format << ": " << gbnf.error().message();
    Job job = compile(*engine, *gbnf);
    ASSERT_NE(job.grammar, nullptr) << format;
    // The call opens with the control token, never with its spelling.
    sample::GrammarMatcher matcher(job.grammar);
    const int32_t marker = job.grammar->vocabulary().find(opener);
    ASSERT_GE(marker, 0) << opener;
    EXPECT_EQ(vocab.types[marker], tokenizer::TokenType::kControl) << opener;
    EXPECT_TRUE(matcher.allows(marker)) << opener;
    EXPECT_FALSE(matcher.accept_bytes(opener.substr(0, 1))) << opener;
    for (int i = 0; i < n_seeds; ++i) {
      job.seed = static_cast<uint32_t>(9000 + jobs.size());
      jobs.push_back(job);
    }
  }
  const auto prompt = engine->tokenize_prompt("Call a tool:", false).value();
  const auto outputs = run(*engine, prompt, jobs);
  ASSERT_EQ(outputs.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Output& out = outputs[i];
    const auto& [format, opener] = formats[i / n_seeds];
    SCOPED_TRACE(::testing::Message() << format << ", seed " << jobs[i].seed << ": " << out.text);
    ASSERT_EQ(out.error, "");
    ASSERT_EQ(out.stop, StopReason::kEndOfGeneration);
    ASSERT_TRUE(out.text.starts_with(opener));
    expect_calls(format, out.text, tools);
  }
}

}  // namespace
}  // namespace hearth::engine
