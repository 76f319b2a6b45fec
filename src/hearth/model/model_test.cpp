// Tests of the forward pass: llama.cpp's goldens for the tiny models in testdata (logits at every
// position, last-position logits of every prompt, 32-token greedy continuations) with the
// tolerances of issue #6; thread-count independence; sequences that are truncated and reused;
// load errors that name the tensor or key; and MoE files without {arch}.feed_forward_length.
#include "hearth/model/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "hearth/base/json.h"
#include "hearth/base/mapped_file.h"
#include "hearth/gguf/gguf.h"
#include "hearth/model/synth.h"
#include "testing.h"

namespace hearth::model {
namespace {

struct Golden {
  Json json;
  std::vector<float> bin;
  std::filesystem::path model_path;

  std::vector<float> block(const Json& ref) const {
    const size_t offset = ref["offset_bytes"].get<size_t>() / sizeof(float);
    size_t count = 0;
    if (ref.contains("count")) {
      count = ref["count"].get<size_t>();
    } else {
      count = ref["shape"][0].get<size_t>() * ref["shape"][1].get<size_t>();
    }
    return std::vector<float>(bin.begin() + offset, bin.begin() + offset + count);
  }
};

Golden read_golden(const std::filesystem::path& dir, const std::string& model) {
  Golden golden;
  std::ifstream json_in(dir / (model + ".golden.json"));
  golden.json = Json::parse(json_in);
  std::ifstream bin_in(dir / (model + ".golden.bin"), std::ios::binary | std::ios::ate);
  golden.bin.resize(static_cast<size_t>(bin_in.tellg()) / sizeof(float));
  bin_in.seekg(0);
  bin_in.read(reinterpret_cast<char*>(golden.bin.data()),
              static_cast<std::streamsize>(golden.bin.size() * sizeof(float)));
  golden.model_path = dir / (model + ".gguf");
  return golden;
}

std::vector<int32_t> tokens_of(const Json& prompt) {
  return prompt["tokens"].get<std::vector<int32_t>>();
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

double rms(std::span<const float> values) {
  double sum = 0;
  for (float v : values) sum += double(v) * v;
  return std::sqrt(sum / double(values.size()));
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  return worst;
}

// Runs `tokens` as one batch on a fresh F32-cache sequence (the golden settings), returning the
// logits of every position when `all` and of the last one otherwise.
std::vector<float> run_prompt(Model& model, Sequence& sequence, const std::vector<int32_t>& tokens,
                              bool all, ThreadPool* pool) {
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.push_back({&sequence, tokens[i], all || i + 1 == tokens.size()});
  }
  std::vector<float> logits;
  const Status status = model.forward(batch, logits, pool);
  EXPECT_TRUE(status.ok()) << status.error().message();
  return logits;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesLlamaCpp) {
  HEARTH_REQUIRE_TESTDATA(dir, "models/" + GetParam() + ".gguf");
  const Golden golden = read_golden(dir.parent_path(), GetParam());
  auto loaded = Model::load(golden.model_path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  Model& model = **loaded;
  const int64_t n_vocab = model.config().n_vocab;
  ASSERT_EQ(n_vocab, golden.json["n_vocab"].get<int64_t>());

  // Every position of prompt 0: top-1 equal and |Δ| <= 1% of the RMS.
  {
    const Json& all = golden.json["all_positions"];
    const std::vector<float> expected = golden.block(all);
    const auto tokens = tokens_of(golden.json["prompts"][all["prompt_index"].get<size_t>()]);
    auto sequence = model.new_sequence(256, KvType::kF32).value();
    const std::vector<float> logits = run_prompt(model, *sequence, tokens, true, nullptr);
    ASSERT_EQ(logits.size(), expected.size());
    for (size_t pos = 0; pos < tokens.size(); ++pos) {
      const std::span<const float> want(expected.data() + pos * n_vocab, size_t(n_vocab));
      const std::span<const float> got(logits.data() + pos * n_vocab, size_t(n_vocab));
      EXPECT_EQ(argmax(got), argmax(want)) << "position " << pos;
      EXPECT_LE(max_abs_diff(got, want), 0.01 * rms(want)) << "position " << pos;
    }
  }

  for (const Json& prompt : golden.json["prompts"]) {
    SCOPED_TRACE(prompt["text"].get<std::string>());
    const auto tokens = tokens_of(prompt);
    auto sequence = model.new_sequence(256, KvType::kF32).value();
    std::vector<float> logits = run_prompt(model, *sequence, tokens, false, nullptr);
    const std::vector<float> want = golden.block(prompt["last_logits"]);
    // Quantized models too: hearth rounds activations to 8 bits as llama.cpp does (fp16 block
    // scales), so their logits agree as closely as the F16 ones (the issue allows 10%).
    EXPECT_LE(max_abs_diff(logits, want), 0.01 * rms(want));

    // Greedy continuation, one token at a time: identical, except after a step whose golden top-1
    // margin is a near-tie (below kTieMargin, 0.2% of the logits' RMS: llama.cpp's own output
    // moves by 0.06-0.16 with its default F16 KV cache and diverges at those very steps, see
    // default_settings_greedy_common_prefix). There hearth may take the runner-up, but only
    // if it is within kTieMargin of it too.
    constexpr double kTieMargin = 0.1;
    const Json& greedy = prompt["greedy"];
    const auto expected_tokens = greedy["tokens"].get<std::vector<int32_t>>();
    const auto margins = greedy["step_margins"].get<std::vector<double>>();
    for (size_t step = 0; step < expected_tokens.size(); ++step) {
      const int32_t next = argmax(logits);
      const int32_t expected = expected_tokens[step];
      if (next != expected) {
        ASSERT_LT(margins[step], kTieMargin)
            << "greedy step " << step << ": " << next << " instead of " << expected;
        EXPECT_LT(logits[size_t(next)] - logits[size_t(expected)], kTieMargin)
            << "greedy step " << step;
        break;  // a different, equally valid continuation from here on
      }
      const BatchToken token{sequence.get(), next, true};
      ASSERT_TRUE(model.forward({&token, 1}, logits, nullptr).ok());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, GoldenTest,
                         ::testing::Values("tiny-llama-f32", "tiny-llama-f16", "tiny-llama-q8_0",
                                           "tiny-llama-q4_0", "tiny-qwen3-f16", "tiny-gemma3-f16"));

TEST(ModelTest, SameLogitsWithOneOrTwoThreads) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto model = Model::load(path).value();
  const std::vector<int32_t> tokens = {9707, 11, 1879, 0, 576, 374, 264, 1273, 13};
  auto one = model->new_sequence(64, KvType::kF16).value();
  auto two = model->new_sequence(64, KvType::kF16).value();
  ThreadPool pool(2);
  const auto a = run_prompt(*model, *one, tokens, true, nullptr);
  const auto b = run_prompt(*model, *two, tokens, true, &pool);
  ASSERT_EQ(a, b);
}

TEST(ModelTest, TruncatedSequenceIsReusedAndBatchesMixSequences) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-llama-f32.gguf");
  auto model = Model::load(path).value();
  const std::vector<int32_t> prompt = {1, 450, 4996, 17354, 1701, 432};
  // Reference: the whole prompt on a fresh sequence.
  auto fresh = model->new_sequence(32, KvType::kF32).value();
  const auto want = run_prompt(*model, *fresh, prompt, false, nullptr);

  // A sequence that saw another continuation, rewound to the shared prefix.
  auto reused = model->new_sequence(32, KvType::kF32).value();
  run_prompt(*model, *reused, {1, 450, 4996, 29871, 29896}, false, nullptr);
  reused->truncate(3);
  std::vector<float> got = run_prompt(*model, *reused, {17354, 1701, 432}, false, nullptr);
  EXPECT_LE(max_abs_diff(got, want), 1e-4);
  EXPECT_EQ(reused->size(), 6);

  // Two sequences in one batch give what each gives alone.
  auto s1 = model->new_sequence(32, KvType::kF32).value();
  auto s2 = model->new_sequence(32, KvType::kF32).value();
  std::vector<BatchToken> batch;
  for (int32_t t : prompt) batch.push_back({s1.get(), t, false});
  batch.push_back({s2.get(), 1, false});
  batch.push_back({s2.get(), 450, true});
  batch[prompt.size() - 1].want_logits = true;
  std::vector<float> logits;
  ASSERT_TRUE(model->forward(batch, logits, nullptr).ok());
  const int64_t n_vocab = model->config().n_vocab;
  ASSERT_EQ(logits.size(), size_t(2 * n_vocab));
  EXPECT_LE(max_abs_diff({logits.data(), size_t(n_vocab)}, want), 1e-4);
  auto s3 = model->new_sequence(32, KvType::kF32).value();
  const auto alone = run_prompt(*model, *s3, {1, 450}, false, nullptr);
  EXPECT_LE(max_abs_diff({logits.data() + n_vocab, size_t(n_vocab)}, alone), 1e-4);
}

TEST(ModelTest, FullContextAndBadTokenAreErrors) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-llama-f32.gguf");
  auto model = Model::load(path).value();
  auto sequence = model->new_sequence(4, KvType::kF16).value();
  std::vector<BatchToken> batch;
  for (int32_t t : {1, 2, 3, 4, 5}) batch.push_back({sequence.get(), t, false});
  std::vector<float> logits;
  const Status full = model->forward(batch, logits, nullptr);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().message().find("context of 4"), std::string::npos);
  EXPECT_EQ(sequence->size(), 0);
  const BatchToken bad{sequence.get(), 32000, true};
  const Status out_of_vocab = model->forward({&bad, 1}, logits, nullptr);
  ASSERT_FALSE(out_of_vocab.ok());
  EXPECT_NE(out_of_vocab.error().message().find("32000"), std::string::npos);
  // A cache larger than the address space is an error that names it, not a crash.
  const auto huge = model->new_sequence(int64_t{1} << 44, KvType::kF32);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message().find("KV cache of 17592186044416 positions"), std::string::npos)
      << huge.error().message();
}

// A copy of `source` without tensor `drop` (and with `reshape` given a wrong shape).
std::filesystem::path broken_copy(const std::filesystem::path& source, const std::string& drop,
                                  const std::string& reshape) {
  const gguf::File file = gguf::File::open(source).value();
  gguf::Writer writer;
  for (const auto& [key, value] : file.metadata().entries()) writer.metadata().set(key, value);
  for (const auto& tensor : file.tensors()) {
    if (tensor.name == drop) continue;
    std::vector<uint64_t> shape = tensor.shape;
    if (tensor.name == reshape) std::swap(shape[0], shape[1]);
    EXPECT_TRUE(writer.add_tensor(tensor.name, shape, tensor.type, tensor.data).ok());
  }
  const auto path = testing::temp_path("broken.gguf");
  EXPECT_TRUE(writer.write(path).ok());
  return path;
}

TEST(ModelTest, MissingOrMisshapenTensorIsNamed) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto missing = Model::load(broken_copy(path, "blk.1.ffn_up.weight", ""));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("'blk.1.ffn_up.weight' is missing"), std::string::npos)
      << missing.error().message();
  auto misshapen = Model::load(broken_copy(path, "", "blk.0.attn_q.weight"));
  ASSERT_FALSE(misshapen.ok());
  EXPECT_NE(misshapen.error().message().find("'blk.0.attn_q.weight' has shape [128, 64]"),
            std::string::npos)
      << misshapen.error().message();
}

TEST(ModelTest, UnknownArchitectureIsNamed) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  const gguf::File file = gguf::File::open(path).value();
  gguf::Writer writer;
  for (const auto& [key, value] : file.metadata().entries()) writer.metadata().set(key, value);
  writer.metadata().set("general.architecture", gguf::Value{std::string("mamba9")});
  const auto out = testing::temp_path("mamba.gguf");
  ASSERT_TRUE(writer.write(out).ok());
  auto loaded = Model::load(out);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("architecture 'mamba9' is not supported"),
            std::string::npos);
}

// A tiny synthetic model of `arch` (q8_0 weights, tiny-llama's 32000-token vocabulary) at `name`.
std::filesystem::path tiny_synth(const std::filesystem::path& vocab_source, const std::string& arch,
                                 const std::string& name, const std::string& preset = "tiny") {
  const auto vocab = load_synth_vocab(vocab_source);
  const auto config = synth_preset(arch, preset);
  EXPECT_TRUE(vocab.ok() && config.ok());
  const auto plan = plan_synth(*config, GgmlType::kQ8_0, *vocab, 5);
  EXPECT_TRUE(plan.ok()) << plan.error().message();
  const auto path = testing::temp_path(name);
  EXPECT_TRUE(write_synth(*plan, path, {}, 2).ok());
  return path;
}

// The bytes of `file` mapped in 2 MiB pages once every page has been read.
size_t in_large_pages_when_read(const MappedFile& file) {
  for (size_t at = 0; at < file.size(); at += 4096) {
    [[maybe_unused]] volatile uint8_t byte = file.data()[at];
  }
  return file.residency().in_large_pages;
}

// Model::load reads a file that the page cache holds in 4 KiB folios (as llama.cpp's reads leave
// it) again, so that the weights are mapped in 2 MiB pages: all but the partial 2 MiB at the end.
TEST(ModelTest, LoadReadsAFileCachedInSmallPagesAgainIntoLargePages) {
  HEARTH_REQUIRE_TESTDATA(vocab, "models/tiny-llama-q4_0.gguf");
  const auto path = tiny_synth(vocab, "llama", "recache.gguf");  // 10 MB
  ASSERT_TRUE(testing::drop_from_page_cache(path, false));
  if (in_large_pages_when_read(MappedFile::open(path).value()) == 0) {
    GTEST_SKIP() << "this file system or kernel maps no file pages in 2 MiB pages";
  }
  ASSERT_TRUE(testing::drop_from_page_cache(path, true));
  if (in_large_pages_when_read(MappedFile::open(path).value()) != 0) {
    GTEST_SKIP() << "this kernel read the file back in large folios, not in 4 KiB ones";
  }
  auto model = Model::load(path);
  ASSERT_TRUE(model.ok()) << model.error().message();
  const MappedFile& mapping = *(*model)->file().mapping();
  EXPECT_EQ(in_large_pages_when_read(mapping), mapping.size() / kLargePageBytes * kLargePageBytes);
}

// A copy of `source` without the metadata keys `drop`.
std::filesystem::path without_keys(const std::filesystem::path& source,
                                   const std::vector<std::string>& drop, const std::string& name) {
  const gguf::File file = gguf::File::open(source).value();
  gguf::Writer writer;
  for (const auto& [key, value] : file.metadata().entries()) {
    if (std::find(drop.begin(), drop.end(), key) == drop.end()) writer.metadata().set(key, value);
  }
  for (const auto& tensor : file.tensors()) {
    EXPECT_TRUE(writer.add_tensor(tensor.name, tensor.shape, tensor.type, tensor.data).ok());
  }
  const auto path = testing::temp_path(name);
  EXPECT_TRUE(writer.write(path).ok());
  return path;
}

// llama.cpp reads {arch}.feed_forward_length as optional: a file with experts that gives their
// widths loads without it and computes the same logits; where hearth would need it for a width,
// and in a dense model, the error names the key.
TEST(ModelTest, FeedForwardLengthIsOptionalForExperts) {
  HEARTH_REQUIRE_TESTDATA(vocab, "models/tiny-llama-q4_0.gguf");
  const std::vector<int32_t> tokens = {1, 450, 4996, 17354, 1701};
  std::filesystem::path qwen35moe;
  for (const std::string arch : {"qwen3moe", "qwen35moe"}) {
    const auto path = tiny_synth(vocab, arch, arch + ".gguf");
    if (arch == "qwen35moe") qwen35moe = path;
    auto model = Model::load(path).value();
    auto sequence = model->new_sequence(16, KvType::kF32).value();
    const auto want = run_prompt(*model, *sequence, tokens, true, nullptr);

    const std::string key = arch + ".feed_forward_length";
    auto loaded = Model::load(without_keys(path, {key}, arch + "-no-d_ff.gguf"));
    ASSERT_TRUE(loaded.ok()) << arch << ": " << loaded.error().message();
    EXPECT_EQ((*loaded)->config().d_ff_exp, model->config().d_ff_exp);
    auto without = (*loaded)->new_sequence(16, KvType::kF32).value();
    EXPECT_EQ(run_prompt(**loaded, *without, tokens, true, nullptr), want) << arch;
  }

  // A width neither key gives: the error names the keys (was, for qwen3moe, the misshapen
  // expert tensor), and Gemma 4, whose every layer has a dense block, needs feed_forward_length.
  const auto missing = [&](const std::filesystem::path& path, const std::vector<std::string>& keys,
                           const std::string& message) {
    auto loaded = Model::load(without_keys(path, keys, path.stem().string() + "-missing.gguf"));
    ASSERT_FALSE(loaded.ok()) << message;
    EXPECT_NE(loaded.error().message().find(message), std::string::npos)
        << loaded.error().message();
  };
  missing(qwen35moe,
          {"qwen35moe.feed_forward_length", "qwen35moe.expert_shared_feed_forward_length"},
          "qwen35moe.expert_shared_feed_forward_length is missing, and no "
          "qwen35moe.feed_forward_length");
  missing(tiny_synth(vocab, "qwen3moe", "qwen3moe-widths.gguf"),
          {"qwen3moe.feed_forward_length", "qwen3moe.expert_feed_forward_length"},
          "qwen3moe.expert_feed_forward_length is missing, and no qwen3moe.feed_forward_length");
  missing(tiny_synth(vocab, "gemma4", "gemma4-moe.gguf", "tiny-moe"),
          {"gemma4.feed_forward_length"}, "gemma4.feed_forward_length is missing");

  HEARTH_REQUIRE_TESTDATA(dense, "models/tiny-qwen3-f16.gguf");
  auto no_dense = Model::load(without_keys(dense, {"qwen3.feed_forward_length"}, "qwen3.gguf"));
  ASSERT_FALSE(no_dense.ok());
  EXPECT_NE(no_dense.error().message().find("qwen3.feed_forward_length is missing"),
            std::string::npos)
      << no_dense.error().message();
}

}  // namespace
}  // namespace hearth::model
