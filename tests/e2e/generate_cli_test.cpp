// End-to-end tests of the in-process model commands as a user runs them: `hearth run` streams
// text and prints timings, is repeatable under a seed and the same at 1 and 2 threads;
// `hearth logits` writes llama.cpp's golden logits for a testdata model; `hearth chat` answers
// over stdin with the model's template; `hearth bench` prints its table and JSON, also at a
// depth; bad input ends in a one-line error (exit 2 for usage, 1 for a bad file), never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "hearth/base/json.h"
#include "process.h"
#include "testing.h"

namespace hearth {
namespace {

using testing::run_hearth;

TEST(Run, GreedyTextIsRepeatableAndThreadIndependent) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const std::vector<std::string> args = {"run", "-m", model.string(), "-p", "Hello, world",
                                         "-n",  "16", "--temp",       "0",  "--ignore-eos"};
  auto one = args;
  one.insert(one.end(), {"-t", "1"});
  auto two = args;
  two.insert(two.end(), {"-t", "2"});
  const auto a = run_hearth(one);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_FALSE(a.out.empty());
  EXPECT_NE(a.err.find("generation: 16 tokens"), std::string::npos) << a.err;
  const auto b = run_hearth(two);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(Run, SeedReplaysSampling) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-llama-q8_0.gguf");
  const std::vector<std::string> args = {
      "run",    "-m",  model.string(), "-p", "Once upon a time", "-n", "12",
      "--temp", "1.2", "--seed",       "7",  "--ignore-eos"};
  const auto a = run_hearth(args);
  const auto b = run_hearth(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.err.find("seed 7"), std::string::npos) << a.err;
  // -1 asks for a random seed, as in llama.cpp; the one drawn is reported for replay.
  const auto random = run_hearth(
      {"run", "-m", model.string(), "-p", "Once", "-n", "2", "--temp", "1.2", "--seed", "-1"});
  ASSERT_EQ(random.exit_code, 0) << random.err;
  EXPECT_EQ(random.err.find("seed 4294967295"), std::string::npos) << random.err;
  EXPECT_NE(random.err.find("| seed "), std::string::npos) << random.err;
  const auto too_big =
      run_hearth({"run", "-m", model.string(), "-p", "Once", "--seed", "4294967296"});
  EXPECT_EQ(too_big.exit_code, 2) << too_big.err;
}

TEST(Run, BadInputIsAOneLineError) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const auto missing = run_hearth({"run", "-m", "/nonexistent.gguf", "-p", "hi"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("hearth: error: "), std::string::npos) << missing.err;
  const auto no_prompt = run_hearth({"run", "-m", model.string()});
  EXPECT_EQ(no_prompt.exit_code, 2);
  EXPECT_NE(no_prompt.err.find("exactly one of -p TEXT and -f FILE"), std::string::npos);
  const auto bad_top_p = run_hearth({"run", "-m", model.string(), "-p", "hi", "--top-p", "3"});
  EXPECT_EQ(bad_top_p.exit_code, 2) << bad_top_p.err;
  const auto too_long = run_hearth(
      {"run", "-m", model.string(), "-c", "4", "-p", "one two three four five six seven"});
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("longer than the context of 4"), std::string::npos) << too_long.err;
  const auto bad_flag = run_hearth({"run", "-m", model.string(), "-p", "hi", "--warp", "9"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  const auto bad_kv = run_hearth({"run", "-m", model.string(), "-p", "hi", "--kv-type", "q9"});
  EXPECT_EQ(bad_kv.exit_code, 2);
}

// -p "" is an empty prompt, not a missing flag: Qwen3 adds no BOS, so it has no tokens to start
// from; Llama starts from its BOS alone, as with an empty -f FILE.
TEST(Run, EmptyPromptIsAPrompt) {
  HEARTH_REQUIRE_TESTDATA(dir, "models");
  const auto qwen3 =
      run_hearth({"run", "-m", (dir / "tiny-qwen3-f16.gguf").string(), "-p", "", "-n", "2"});
  EXPECT_EQ(qwen3.exit_code, 1);
  EXPECT_NE(qwen3.err.find("the prompt is empty"), std::string::npos) << qwen3.err;
  const auto llama = run_hearth(
      {"run", "-m", (dir / "tiny-llama-f16.gguf").string(), "-p", "", "-n", "2", "--ignore-eos"});
  ASSERT_EQ(llama.exit_code, 0) << llama.err;
  EXPECT_NE(llama.err.find("prompt: 1 tokens"), std::string::npos) << llama.err;
  EXPECT_NE(llama.err.find("generation: 2 tokens"), std::string::npos) << llama.err;
}

// The tiny models' free output is noise; constrained, it must be the JSON the schema describes.
TEST(Run, JsonSchemaConstrainsRandomModelsToValidJson) {
  HEARTH_REQUIRE_TESTDATA(dir, "models");
  const auto schema = testing::temp_path("schema.json");
  std::ofstream(schema) << R"({"type": "object", "properties": {
      "name": {"type": "string", "maxLength": 8},
      "age": {"type": "integer", "minimum": 0, "maximum": 120},
      "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3}},
    "required": ["name", "age", "tags"]})";
  const std::pair<const char*, const char*> runs[] = {{"tiny-qwen3-f16.gguf", "1"},
                                                      {"tiny-qwen3-f16.gguf", "2"},
                                                      {"tiny-gemma3-f16.gguf", "1"},
                                                      {"tiny-llama-q4_0.gguf", "3"}};
  for (const auto& [model, seed] : runs) {
    {
      const auto result = run_hearth({"run", "-m", (dir / model).string(), "-p", "JSON:", "-n",
                                      "300", "--seed", seed, "--json-schema", schema.string()});
      ASSERT_EQ(result.exit_code, 0) << model << ": " << result.err;
      const Result<Json> json = parse_json(result.out, "run output");
      ASSERT_TRUE(json.ok()) << model << " seed " << seed << ": " << result.out;
      ASSERT_TRUE((*json)["name"].is_string()) << result.out;
      const std::string name = (*json)["name"].get<std::string>();
      // maxLength counts characters: UTF-8 bytes that do not continue a character.
      EXPECT_LE(std::count_if(name.begin(), name.end(), [](char c) { return (c & 0xC0) != 0x80; }),
                8)
          << name;
      EXPECT_TRUE((*json)["age"].is_number_integer());
      EXPECT_LE((*json)["age"].get<int>(), 120);
      ASSERT_TRUE((*json)["tags"].is_array()) << result.out;
      EXPECT_LE((*json)["tags"].size(), 3u);
      for (const Json& tag : (*json)["tags"]) EXPECT_TRUE(tag == "a" || tag == "b") << tag;
    }
  }
  const auto grammar = testing::temp_path("bad.gbnf");
  std::ofstream(grammar) << "root ::= \"a\" missing\n";
  const auto bad = run_hearth({"run", "-m", (dir / "tiny-qwen3-f16.gguf").string(), "-p", "x",
                               "--grammar", grammar.string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("'missing' is used but never defined"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("column"), std::string::npos) << bad.err;
}

TEST(Logits, AllPositionsMatchLlamaCppGolden) {
  HEARTH_REQUIRE_TESTDATA(dir, "models");
  std::ifstream json_in(dir / "tiny-llama-f32.golden.json");
  const Json golden = Json::parse(json_in);
  const Json& prompt = golden["prompts"][0];
  std::string ids;
  for (const auto& id : prompt["tokens"]) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id.get<int>());
  }
  const auto out = testing::temp_path("logits.f32");
  const auto result =
      run_hearth({"logits", "-m", (dir / "tiny-llama-f32.gguf").string(), "--tokens", ids,
                  "--all-positions", "--kv-type", "f32", "-o", out.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const size_t n_vocab = golden["n_vocab"].get<size_t>();
  const size_t n_values = prompt["tokens"].size() * n_vocab;
  ASSERT_EQ(std::filesystem::file_size(out), n_values * sizeof(float));
  std::vector<float> got(n_values), want(n_values);
  std::ifstream(out, std::ios::binary).read(reinterpret_cast<char*>(got.data()), n_values * 4);
  std::ifstream bin(dir / "tiny-llama-f32.golden.bin", std::ios::binary);
  bin.seekg(golden["all_positions"]["offset_bytes"].get<std::streamoff>());
  bin.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(n_values * 4));
  double worst = 0, sum_sq = 0;
  for (size_t i = 0; i < n_values; ++i) {
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
    sum_sq += double(want[i]) * want[i];
  }
  EXPECT_LE(worst, 0.01 * std::sqrt(sum_sq / n_values));
  const auto bad_ids = run_hearth({"logits", "-m", (dir / "tiny-llama-f32.gguf").string(),
                                   "--tokens", "1,x", "-o", out.string()});
  EXPECT_EQ(bad_ids.exit_code, 2);
  EXPECT_NE(bad_ids.err.find("'x' is not a token id"), std::string::npos) << bad_ids.err;
  const auto no_ids = run_hearth(
      {"logits", "-m", (dir / "tiny-llama-f32.gguf").string(), "--tokens", "", "-o", out.string()});
  EXPECT_EQ(no_ids.exit_code, 2);
  EXPECT_NE(no_ids.err.find("'' is not a token id"), std::string::npos) << no_ids.err;
  // Qwen3's tokenizer adds nothing to an empty prompt: an error, not an empty file.
  const auto empty_file = testing::temp_path("empty-prompt.f32");
  const auto no_tokens = run_hearth({"logits", "-m", (dir / "tiny-qwen3-f16.gguf").string(),
                                     "--prompt", "", "-o", empty_file.string()});
  EXPECT_EQ(no_tokens.exit_code, 1);
  EXPECT_NE(no_tokens.err.find("the prompt is empty"), std::string::npos) << no_tokens.err;
  EXPECT_FALSE(std::filesystem::exists(empty_file));
}

TEST(Chat, AnswersOverStdinWithTheModelTemplate) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const auto result = run_hearth(
      {"chat", "-m", model.string(), "--temp", "0", "-n", "8", "--system", "You are terse."},
      "Hi there\nsecond line\\\ncontinued\n/exit\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // Two prompts shown, each followed by a reply.
  EXPECT_NE(result.out.find("> "), std::string::npos);
  EXPECT_GT(result.out.size(), 8u) << result.out;
  EXPECT_NE(result.err.find("chatting with"), std::string::npos) << result.err;
  HEARTH_REQUIRE_TESTDATA(llama, "models/tiny-llama-f32.gguf");
  const auto no_template = run_hearth({"chat", "-m", llama.string()}, "hi\n");
  EXPECT_EQ(no_template.exit_code, 1);
  EXPECT_NE(no_template.err.find("has no chat template"), std::string::npos) << no_template.err;
}

// The agent on a local model: the random weights write noise, so the run ends after one reply
// (no tool call) or at the step budget; either way it ran on the in-process engine.
TEST(Agent, RunsOnALocalModel) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const auto workspace = testing::temp_path("workspace");
  std::filesystem::create_directories(workspace);
  const auto result = run_hearth(
      {"agent", "-m", model.string(), "--context-size", "2048", "--max-steps", "2", "--temperature",
       "0", "--workspace", workspace.string(), "--db", testing::temp_path("sessions.db").string(),
       "--output", "jsonl", "List the files."});
  EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 3) << result.err;
  EXPECT_NE(result.out.find("\"type\""), std::string::npos) << result.out;
  const auto both = run_hearth({"agent", "-m", model.string(), "--script", "x.jsonl", "task"});
  EXPECT_NE(both.exit_code, 0) << both.err;
  EXPECT_NE(both.err.find("give one model backend"), std::string::npos) << both.err;
}

TEST(Bench, PrintsTableAndJson) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-llama-q4_0.gguf");
  const auto table = run_hearth({"bench", "-m", model.string(), "-p", "32", "-n", "8", "-r", "2"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("| pp32 |"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("| tg8 |"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("decode ceiling"), std::string::npos) << table.out;
  // A tiny model's weights are far smaller than the read probe's least buffer.
  EXPECT_NE(table.out.find(" GB/s (over 256 MiB); "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("the weights' own pages read at "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("weights in 2 MiB pages: "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("resident memory "), std::string::npos) << table.out;
  const auto json =
      run_hearth({"bench", "-m", model.string(), "-p", "16", "-n", "4", "-r", "1", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const Result<Json> parsed = parse_json(json.out, "bench --json");
  ASSERT_TRUE(parsed.ok()) << json.out;
  EXPECT_EQ((*parsed)["results"].size(), 2u);
  EXPECT_GT((*parsed)["results"][1]["median_tokens_per_s"].get<double>(), 0);
  // The weights' own read and the ceiling it gives, per the same bytes per token as the other.
  const double weights_read = (*parsed)["weights_read_bandwidth_bytes_per_s"].get<double>();
  EXPECT_GT(weights_read, 0);
  EXPECT_EQ((*parsed)["read_bandwidth_buffer_bytes"].get<uint64_t>(), uint64_t{256} << 20);
  EXPECT_DOUBLE_EQ((*parsed)["decode_ceiling_from_weights_read_tokens_per_s"].get<double>(),
                   weights_read / (*parsed)["weight_bytes_per_token"].get<double>());
  EXPECT_LE((*parsed)["file_resident_bytes_in_large_pages"].get<uint64_t>(),
            (*parsed)["file_resident_bytes"].get<uint64_t>());
  EXPECT_GT((*parsed)["file_resident_bytes"].get<uint64_t>(), 0u);
  // The KV cache fills in as it is written: 16 positions of a context of 16 are in memory, in
  // whole pages of its keys' and its values' buffers.
  const auto kv_resident = (*parsed)["kv_cache_resident_bytes"].get<uint64_t>();
  EXPECT_GT(kv_resident, 0u);
  EXPECT_LE(kv_resident, (*parsed)["kv_cache_bytes"].get<uint64_t>() + 2 * 4096);
  EXPECT_LE((*parsed)["file_resident_bytes"].get<uint64_t>() + kv_resident,
            (*parsed)["resident_bytes"].get<uint64_t>());
}

TEST(Bench, MeasuresAtADepthAndRefusesOneBeyondTheContext) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-llama-q4_0.gguf");
  const auto deep =
      run_hearth({"bench", "-m", model.string(), "-d", "24", "-p", "8", "-n", "4", "-r", "1"});
  ASSERT_EQ(deep.exit_code, 0) << deep.err;
  EXPECT_NE(deep.out.find("| pp8 @ d24 |"), std::string::npos) << deep.out;
  EXPECT_NE(deep.out.find("| tg4 @ d24 |"), std::string::npos) << deep.out;
  EXPECT_NE(deep.out.find("with the KV cache's "), std::string::npos) << deep.out;
  EXPECT_NE(deep.out.find(" per token at depth 24: decode ceiling "), std::string::npos)
      << deep.out;
  // tg4's tokens see 25 to 28 positions, 26.5 on average, of a context of 24 + 8 (every layer of
  // the tiny llama attends to all of them).
  const auto json = run_hearth(
      {"bench", "-m", model.string(), "-d", "24", "-p", "8", "-n", "4", "-r", "1", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const Result<Json> parsed = parse_json(json.out, "bench --json");
  ASSERT_TRUE(parsed.ok()) << json.out;
  const auto kv_cache_bytes = (*parsed)["kv_cache_bytes"].get<uint64_t>();
  EXPECT_EQ((*parsed)["kv_cache_bytes_per_token"].get<uint64_t>(), kv_cache_bytes / 32 * 265 / 10);
  EXPECT_LT((*parsed)["decode_ceiling_with_kv_cache_tokens_per_s"].get<double>(),
            (*parsed)["decode_ceiling_tokens_per_s"].get<double>());
  // 24 tokens of depth and 8 of prompt do not fit a context of 16.
  const auto full = run_hearth(
      {"bench", "-m", model.string(), "-c", "16", "-d", "24", "-p", "8", "-n", "0", "-r", "1"});
  EXPECT_NE(full.exit_code, 0) << full.out;
  EXPECT_NE(full.err.find("the context is full"), std::string::npos) << full.err;
}

}  // namespace
}  // namespace hearth
