// llama.cpp goldens for the architectures whose test models are not in ../shared/testdata
// (tests/data/goldens, made by tests/data/make_goldens.sh; format in tests/data/README.md). Each
// golden names the `hearth synth` flags of its model: the test writes that file again, checks it
// is byte-for-byte the one llama.cpp ran (size and FNV-1a), and compares hearth's logits with the
// stored top-64 logits, RMS and argmax, and the greedy continuation, with issue #6's tolerances;
// a deviation past them passes only at a near-tie of hearth's expert router where the other
// expert matches llama.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hearth/base/json.h"
#include "hearth/model/model.h"
#include "hearth/model/synth.h"
#include "testing.h"

namespace hearth::model {
namespace {

const std::filesystem::path kSourceDir = HEARTH_SOURCE_DIR;

uint32_t fnv1a32(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  uint32_t hash = 0x811c9dc5u;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<size_t>(in.gcount());
    for (size_t i = 0; i < n; ++i) hash = (hash ^ static_cast<uint8_t>(buffer[i])) * 0x01000193u;
  }
  return hash;
}

// Writes the model a golden was made from, as make_goldens.sh did.
std::filesystem::path synthesize(const Json& spec) {
  const auto vocab = load_synth_vocab(kSourceDir / spec["vocab"].get<std::string>());
  EXPECT_TRUE(vocab.ok()) << vocab.error().message();
  const auto config =
      synth_preset(spec["arch"].get<std::string>(), spec["preset"].get<std::string>());
  EXPECT_TRUE(config.ok()) << config.error().message();
  const auto type = synth_weight_type(spec["type"].get<std::string>());
  EXPECT_TRUE(type.ok());
  if (!vocab.ok() || !config.ok() || !type.ok()) return {};
  const auto plan = plan_synth(*config, *type, *vocab, spec["seed"].get<uint64_t>());
  EXPECT_TRUE(plan.ok()) << plan.error().message();
  const auto path = testing::temp_path("model.gguf");
  const Status written = write_synth(*plan, path, {}, 2);
  EXPECT_TRUE(written.ok()) << written.error().message();
  return path;
}

// How one stored position or greedy step compares: its largest deviation as a fraction of
// the logit RMS, and what failed (empty when it matches).
struct Comparison {
  double deviation = 0;
  std::string failure;
};

// One position's logits against its golden summary: same argmax (when `top1`), every golden
// top-64 logit within `tolerance`, no other token above the golden 64th logit by more than
// `tolerance` (so the largest logits, the ones sampling sees, all agree), the RMS within it.
Comparison compare_position(std::span<const float> got, const Json& want, double tolerance,
                            bool top1) {
  const auto top = want["top"].get<std::vector<std::pair<int32_t, double>>>();
  const double want_rms = want["rms"].get<double>();
  Comparison result;
  const auto argmax = static_cast<int32_t>(std::max_element(got.begin(), got.end()) - got.begin());
  if (top1 && argmax != want["argmax"].get<int32_t>()) {
    result.failure +=
        fmt::format("argmax {}, llama.cpp {}; ", argmax, want["argmax"].get<int32_t>());
  }
  double worst = 0;
  std::vector<bool> in_top(got.size(), false);
  for (const auto& [id, logit] : top) {
    worst = std::max(worst, std::fabs(got[static_cast<size_t>(id)] - logit));
    in_top[static_cast<size_t>(id)] = true;
  }
  if (worst > tolerance) {
    result.failure +=
        fmt::format("max |Δlogit| over the golden top-{} {:.4g}; ", top.size(), worst);
  }
  double outside = -INFINITY;
  for (size_t id = 0; id < got.size(); ++id) {
    if (!in_top[id]) outside = std::max(outside, double(got[id]));
  }
  const double above = outside - top.back().second;
  if (above > tolerance) {
    result.failure += fmt::format("a token outside the golden top-{} ranks above it by {:.4g}; ",
                                  top.size(), above);
  }
  double sum = 0;
  for (const float v : got) sum += double(v) * v;
  const double rms_error = std::fabs(std::sqrt(sum / double(got.size())) - want_rms);
  if (rms_error > tolerance) result.failure += fmt::format("logit RMS off by {:.4g}; ", rms_error);
  result.deviation = std::max({worst, above, rms_error}) / want_rms;
  return result;
}

// Issue #6's tolerances, as a fraction of the logit RMS: 1% for float weights, 10% for block
// formats (llama.cpp rounds activations to 8 bits for those), and for block formats the greedy
// continuation only up to the first step whose golden margin is below 0.5.
struct Tolerance {
  bool quantized = false;
  double fraction = 0.01;
  static constexpr double kQuantizedHorizonMargin = 0.5;
};

// Mixture-of-experts routing near-ties. Where the n-th and (n+1)-th experts of a token's router
// (n = n_experts_used) score almost the same, rounding decides which one runs: llama.cpp's
// rounding and hearth's differ in the last bits (summation order, and every 16-bit or 8-bit
// activation rounding that such a difference flips upstream), so the two may run different
// experts at one layer and token, and that token's logits (and, through the KV cache and the
// recurrent state, later ones) jump by a few percent of the RMS. So a position past the
// tolerance is accepted only where hearth's router has a near-tie at that token or an earlier
// one and running the other expert there makes every check up to and including it match
// llama.cpp (a hybrid model's recurrent state carries a flip to later tokens, and a prompt's
// positions are checked at its last token only: measured up to 39 tokens before).
// Near: a margin below the tolerance fraction of the spread (standard deviation) of the
// token's router logits, i.e. router logits may differ as much, relative to their spread, as
// the output logits may. Measured (hearth against itself, a prompt in one batch against token
// by token, which sums in another order): router logits move by up to 0.017 for F16 weights
// and 0.11 for Q8_0, against a spread of about 1.9 (bounds 0.019 and 0.19).
struct RouteTie {
  int64_t moe_block = 0;
  int64_t position = 0;
  double margin = 0;  // router logit of the n-th expert minus the (n+1)-th's
  bool operator==(const RouteTie& other) const {
    return moe_block == other.moe_block && position == other.position;
  }
};

// One prompt through hearth (with the experts of `flips` swapped), checked against its golden
// up to the first check that fails.
struct PromptRun {
  int passed = 0;           // checks (positions, then greedy steps) passed before the first failure
  int clear_steps = 0;      // greedy steps whose argmax was compared
  std::string failure;      // empty when every check passed
  double deviation = 0;     // of the failing check, as a fraction of the RMS
  double worst_passed = 0;  // the largest deviation of the checks passed
  int64_t failed_position = -1;
  std::vector<RouteTie> ties;  // hearth's near-ties up to the failing position
};

PromptRun run_prompt(Model& model, const Json& prompt, const Tolerance& tolerance,
                     std::span<const RouteTie> flips, ThreadPool& pool) {
  const auto n_used = static_cast<size_t>(model.config().n_experts_used);
  std::vector<RouteTie> ties;  // every near-tie of the run
  model.set_moe_route_hook([&](int64_t block, int64_t position, std::span<const float> probs,
                               std::span<int32_t> ranking) {
    if (ranking.size() <= n_used) return;
    double mean = 0, squares = 0;
    for (const float p : probs) mean += std::log(p) / double(probs.size());
    for (const float p : probs) squares += (std::log(p) - mean) * (std::log(p) - mean);
    const double spread = std::sqrt(squares / double(probs.size()));
    const RouteTie tie{block, position,
                       std::log(probs[static_cast<size_t>(ranking[n_used - 1])]) -
                           std::log(probs[static_cast<size_t>(ranking[n_used])])};
    if (tie.margin < tolerance.fraction * spread) ties.push_back(tie);
    if (std::find(flips.begin(), flips.end(), tie) != flips.end()) {
      std::swap(ranking[n_used - 1], ranking[n_used]);
    }
  });
  PromptRun run;
  auto fail = [&](int64_t position, const Comparison& comparison, const std::string& where) {
    run.failure = where + ": " + comparison.failure;
    run.deviation = comparison.deviation;
    run.failed_position = position;
    for (const RouteTie& tie : ties) {
      if (tie.position <= position) run.ties.push_back(tie);
    }
    model.set_moe_route_hook({});
    return run;
  };

  const int64_t n_vocab = model.config().n_vocab;
  const auto tokens = prompt["tokens"].get<std::vector<int32_t>>();
  std::unordered_map<int64_t, const Json*> wanted;
  for (const Json& position : prompt["positions"]) {
    wanted[position["index"].get<int64_t>()] = &position;
  }
  auto sequence = model.new_sequence(256, KvType::kF32).value();
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.push_back({sequence.get(), tokens[i], wanted.contains(static_cast<int64_t>(i))});
  }
  // The prompt in chunks of 16 tokens, as the engine's chunked prefill: the longest prompt
  // crosses chunk boundaries, so the KV cache and any recurrent state carry between calls.
  constexpr size_t kPrefillChunk = 16;
  std::vector<float> logits, chunk_logits;
  for (size_t begin = 0; begin < batch.size(); begin += kPrefillChunk) {
    const size_t n = std::min(kPrefillChunk, batch.size() - begin);
    EXPECT_TRUE(model.forward({batch.data() + begin, n}, chunk_logits, &pool).ok());
    logits.insert(logits.end(), chunk_logits.begin(), chunk_logits.end());
  }
  EXPECT_EQ(logits.size(), wanted.size() * size_t(n_vocab));
  size_t row = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!batch[i].want_logits) continue;
    const Json& want = *wanted[static_cast<int64_t>(i)];
    // Block formats: the argmax only where it is clear (llama.cpp's 8-bit activations).
    const double bound = tolerance.fraction * want["rms"].get<double>();
    const bool check_top1 = !tolerance.quantized || want["margin"].get<double>() > 2 * bound;
    const Comparison comparison =
        compare_position({logits.data() + row * n_vocab, size_t(n_vocab)}, want, bound, check_top1);
    ++row;
    if (!comparison.failure.empty()) {
      return fail(static_cast<int64_t>(i), comparison, fmt::format("position {}", i));
    }
    ++run.passed;
    run.worst_passed = std::max(run.worst_passed, comparison.deviation);
  }

  // Greedy continuation, one token at a time, fed llama.cpp's tokens (so one step's near-tie
  // does not end the comparison): at every step the chosen token's logit within a bound, the
  // tolerance, and the same choice wherever the golden top-1 margin exceeds twice the bound
  // (below that a difference the bound allows may legitimately flip it). Block formats: the
  // same choice at every step up to the first whose golden margin is below 0.5 (issue #6);
  // from there on a bound of twice the tolerance. Once any one of hearth's 8-bit roundings
  // comes out otherwise than llama.cpp's (a last-bit difference upstream puts a value on the
  // other side of a rounding boundary), the two runs carry independent 8-bit rounding noise:
  // measured 1-4% of the RMS at most steps and single steps up to 13%, in models without
  // experts too (tiny-qwen35-q8_0), and no near-tie there; still far below what a wrong cache
  // position, state or expert weight does (about the RMS).
  const Json& greedy = prompt["greedy"];
  const auto expected = greedy["tokens"].get<std::vector<int32_t>>();
  const auto margins = greedy["step_margins"].get<std::vector<double>>();
  const auto top_logits = greedy["step_top_logits"].get<std::vector<double>>();
  const double rms = prompt["positions"].back()["rms"].get<double>();
  bool within_horizon = tolerance.quantized;
  std::vector<float> last(logits.end() - n_vocab, logits.end());
  for (size_t step = 0; step < expected.size(); ++step) {
    within_horizon = within_horizon && margins[step] >= Tolerance::kQuantizedHorizonMargin;
    const double step_tolerance = tolerance.fraction * rms;
    const double bound =
        tolerance.quantized && !within_horizon ? 2 * step_tolerance : step_tolerance;
    Comparison comparison;
    const double error = std::fabs(last[static_cast<size_t>(expected[step])] - top_logits[step]);
    comparison.deviation = error / rms;
    if (error > bound) {
      comparison.failure = fmt::format("the chosen token's logit off by {:.4g}; ", error);
    }
    if (within_horizon || margins[step] > 2 * bound) {
      const auto next =
          static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
      if (next != expected[step]) {
        comparison.failure += fmt::format("argmax {}, llama.cpp {}; ", next, expected[step]);
      }
      ++run.clear_steps;
    }
    if (!comparison.failure.empty()) {
      // Step s reads the logits of position n_tokens - 1 + s.
      return fail(static_cast<int64_t>(tokens.size() - 1 + step), comparison,
                  fmt::format("greedy step {}", step));
    }
    ++run.passed;
    run.worst_passed = std::max(run.worst_passed, comparison.deviation);
    const BatchToken token{sequence.get(), expected[step], true};
    EXPECT_TRUE(model.forward({&token, 1}, last, &pool).ok());
  }
  model.set_moe_route_hook({});
  return run;
}

class ArchGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchGoldenTest, MatchesLlamaCpp) {
  const auto golden_path = kSourceDir / "tests/data/goldens" / (GetParam() + ".golden.json");
  std::ifstream golden_in(golden_path);
  ASSERT_TRUE(golden_in) << "missing " << golden_path;
  const Json golden = Json::parse(golden_in);
  const Json& spec = golden["model"];

  const auto path = synthesize(spec);
  ASSERT_FALSE(path.empty());
  ASSERT_EQ(std::filesystem::file_size(path), spec["file_bytes"].get<uint64_t>())
      << "hearth synth no longer writes the file the golden was made from";
  ASSERT_EQ(fmt::format("{:08x}", fnv1a32(path)), spec["fnv1a32"].get<std::string>())
      << "hearth synth no longer writes the file the golden was made from";

  auto loaded = Model::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  Model& model = **loaded;
  ASSERT_EQ(model.config().n_vocab, golden["n_vocab"].get<int64_t>());
  const std::string type = spec["type"].get<std::string>();
  Tolerance tolerance;
  tolerance.quantized = type != "f32" && type != "f16" && type != "bf16";
  tolerance.fraction = tolerance.quantized ? 0.10 : 0.01;

  ThreadPool pool(2);
  int clear_steps = 0;
  for (size_t index = 0; index < golden["prompts"].size(); ++index) {
    const Json& prompt = golden["prompts"][index];
    SCOPED_TRACE(prompt["text"].get<std::string>());
    std::vector<RouteTie> flips;  // near-ties where llama.cpp evidently ran the other expert
    PromptRun run = run_prompt(model, prompt, tolerance, flips, pool);
    while (!run.failure.empty()) {
      // The nearest positions first, then the closest ties.
      std::sort(run.ties.begin(), run.ties.end(), [](const RouteTie& a, const RouteTie& b) {
        return std::pair(-a.position, a.margin) < std::pair(-b.position, b.margin);
      });
      std::string tried;
      bool resolved = false;
      for (const RouteTie& tie : run.ties) {
        flips.push_back(tie);
        PromptRun flipped = run_prompt(model, prompt, tolerance, flips, pool);
        if (flipped.passed > run.passed) {
          fmt::print(
              "{}, prompt {}: {}({:.2f}% of the RMS, position {}); hearth's router has a "
              "near-tie at MoE block {}, position {} (margin {:.3g}); with the other "
              "expert there it matches (largest deviation {:.2f}%)\n",
              GetParam(), index, run.failure, 100 * run.deviation, run.failed_position,
              tie.moe_block, tie.position, tie.margin, 100 * flipped.worst_passed);
          run = std::move(flipped);
          resolved = true;
          break;
        }
        tried +=
            fmt::format("\n  the other expert at MoE block {}, position {} (margin {:.3g}): {}",
                        tie.moe_block, tie.position, tie.margin, flipped.failure);
        flips.pop_back();
      }
      if (!resolved) {
        ADD_FAILURE() << run.failure << "(" << 100 * run.deviation << "% of the RMS)"
                      << (tried.empty() ? std::string("; no near-tie of hearth's router there")
                                        : tried);
        break;
      }
    }
    clear_steps += run.clear_steps;
  }
  EXPECT_GT(clear_steps, 0) << "no greedy step had a clear margin";
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  return worst;
}

// The mixture of experts groups a batch's tokens by expert, Gemma 4's shared-KV layers read the
// cache an earlier layer wrote in the same pass, and a hybrid model's recurrent state carries
// across calls: the same logits whether a prompt runs as one batch, token by token, on one or two
// threads, or mixed with another sequence.
struct BatchCase {
  std::string arch, preset;
  int64_t n_experts = 0;  // tiny MoE presets: 16 experts of width 64, 4 per token
  // Token by token against one batch: matmul sums over rows in another order than for one
  // row, and Gemma 4's synthetic models (attention logits of RMS 4, a norm around every block)
  // carry such rounding further than qwen3moe's: measured 0.003 for tiny gemma4 (dense),
  // 0.005 for tiny-e2b, 0.017 for tiny-moe, against a logit RMS of 4 (a token routed to the
  // wrong experts or reading the wrong cache moves logits by about the RMS). Those get 0.04,
  // 1% of the RMS (the goldens' tolerance for float weights).
  double decode_tolerance = 1e-3;
};

void PrintTo(const BatchCase& c, std::ostream* os) {
  *os << c.arch << " " << c.preset;
}

class BatchTest : public ::testing::TestWithParam<BatchCase> {};

TEST_P(BatchTest, PrefillEqualsDecodeAndMixedBatches) {
  const Json spec = {{"arch", GetParam().arch},
                     {"preset", GetParam().preset},
                     {"type", "f32"},
                     {"seed", 5},
                     {"vocab", "data/vocab/qwen3/tokenizer.json"}};
  const auto path = synthesize(spec);
  ASSERT_FALSE(path.empty());
  auto model = Model::load(path).value();
  const int64_t n_vocab = model->config().n_vocab;
  EXPECT_EQ(model->config().n_experts, GetParam().n_experts);
  if (GetParam().n_experts > 0) {
    EXPECT_EQ(model->config().n_experts_used, 4);
    EXPECT_EQ(model->config().d_ff_exp, 64);
  }
  const std::vector<int32_t> tokens = {785, 6722, 315, 9625, 374, 264, 3283, 448, 1657, 13};
  ThreadPool pool(2);

  auto run = [&](Sequence& sequence, const std::vector<int32_t>& ids, ThreadPool* threads) {
    std::vector<BatchToken> batch;
    for (const int32_t id : ids) batch.push_back({&sequence, id, true});
    std::vector<float> logits;
    EXPECT_TRUE(model->forward(batch, logits, threads).ok());
    return logits;
  };
  auto batched = model->new_sequence(64, KvType::kF32).value();
  const std::vector<float> all = run(*batched, tokens, nullptr);

  auto two_threads = model->new_sequence(64, KvType::kF32).value();
  EXPECT_EQ(run(*two_threads, tokens, &pool), all);

  auto stepped = model->new_sequence(64, KvType::kF32).value();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::vector<float> one = run(*stepped, {tokens[i]}, &pool);
    const std::span<const float> want(all.data() + i * n_vocab, size_t(n_vocab));
    EXPECT_LE(max_abs_diff(one, want), GetParam().decode_tolerance) << "position " << i;
  }

  // Two sequences in one batch: each as it is alone.
  auto a = model->new_sequence(64, KvType::kF32).value();
  auto b = model->new_sequence(64, KvType::kF32).value();
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.push_back({a.get(), tokens[i], i + 1 == tokens.size()});
    if (i < 3) batch.push_back({b.get(), tokens[tokens.size() - 1 - i], i == 2});
  }
  std::vector<float> mixed;
  ASSERT_TRUE(model->forward(batch, mixed, &pool).ok());
  ASSERT_EQ(mixed.size(), size_t(2 * n_vocab));
  auto alone = model->new_sequence(64, KvType::kF32).value();
  const auto b_alone = run(*alone, {tokens[9], tokens[8], tokens[7]}, nullptr);
  // Batch order: b's last token comes before a's. An expert that one of b's tokens shares with
  // no other token in one batch but with another in the other multiplies by matvec's summation
  // order in one and matmul's in the other: the token-by-token tolerance (measured 0.0015 for
  // tiny-moe).
  EXPECT_LE(max_abs_diff({mixed.data(), size_t(n_vocab)},
                         {b_alone.data() + 2 * n_vocab, size_t(n_vocab)}),
            GetParam().decode_tolerance);
  EXPECT_LE(max_abs_diff({mixed.data() + n_vocab, size_t(n_vocab)},
                         {all.data() + 9 * n_vocab, size_t(n_vocab)}),
            GetParam().decode_tolerance);
}

INSTANTIATE_TEST_SUITE_P(Tiny, BatchTest,
                         ::testing::Values(BatchCase{"qwen3moe", "tiny", 16},
                                           BatchCase{"gemma4", "tiny-moe", 16, 0.04},
                                           BatchCase{"gemma4", "tiny-e2b", 0, 0.04},
                                           BatchCase{"qwen35", "tiny", 0},
                                           BatchCase{"qwen35moe", "tiny", 16}),
                         [](const auto& info) {
                           std::string name = info.param.arch + "_" + info.param.preset;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Gemma 4 E2B's layout as hearth reads it: layers 3-5 read the caches of layers 1 (sliding) and
// 2 (global), keep none of their own, and have a feed-forward twice as wide.
TEST(Gemma4Test, SharedKvLayersAndWideFeedForward) {
  const Json spec = {{"arch", "gemma4"},
                     {"preset", "tiny-e2b"},
                     {"type", "f16"},
                     {"seed", 5},
                     {"vocab", "data/vocab/qwen3/tokenizer.json"}};
  const auto path = synthesize(spec);
  ASSERT_FALSE(path.empty());
  const auto model = Model::load(path).value();
  const ModelConfig& config = model->config();
  std::vector<int64_t> kv_layers;
  for (const LayerAttention& layer : config.layer_attention) kv_layers.push_back(layer.kv_layer);
  EXPECT_EQ(kv_layers, (std::vector<int64_t>{0, 1, 2, 1, 1, 2}));
  EXPECT_EQ(config.layer_d_ff, (std::vector<int64_t>{384, 384, 384, 768, 768, 768}));
  EXPECT_EQ(config.d_ff, 768);
  // Sliding layers 2 KV heads of 32, global 1 of 64; keys and values of F32, 10 positions:
  // layers 0-2 only.
  const auto sequence = model->new_sequence(10, KvType::kF32).value();
  EXPECT_EQ(sequence->bytes(), size_t{2 * 10 * 4 * (2 * 2 * 32 + 1 * 64)});
}

// A shared-KV layer count that would map a layer onto a cache of the other kind is an error
// naming both: with 2 shared layers of 6, llama.cpp's mapping sends sliding layer 4 to layer
// n_kv - 2 = 2, a global one.
TEST(Gemma4Test, SharedKvLayersOfTheWrongKindAreAnError) {
  const Json spec = {{"arch", "gemma4"},
                     {"preset", "tiny-e2b"},
                     {"type", "f16"},
                     {"seed", 5},
                     {"vocab", "data/vocab/qwen3/tokenizer.json"}};
  const auto path = synthesize(spec);
  ASSERT_FALSE(path.empty());
  const gguf::File file = gguf::File::open(path).value();
  gguf::Writer writer;
  for (const auto& [key, value] : file.metadata().entries()) writer.metadata().set(key, value);
  writer.metadata().set("gemma4.attention.shared_kv_layers", gguf::Value{uint32_t{2}});
  for (const auto& tensor : file.tensors()) {
    ASSERT_TRUE(writer.add_tensor(tensor.name, tensor.shape, tensor.type, tensor.data).ok());
  }
  const auto broken = testing::temp_path("broken.gguf");
  ASSERT_TRUE(writer.write(broken).ok());
  const auto loaded = Model::load(broken);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("layer 4 (sliding) would share the KV cache of layer 2 "
                                          "(global)"),
            std::string::npos)
      << loaded.error().message();
}

TEST(MoeTest, MisshapenExpertTensorIsNamed) {
  const Json spec = {{"arch", "qwen3moe"},
                     {"preset", "tiny"},
                     {"type", "f16"},
                     {"seed", 5},
                     {"vocab", "data/vocab/qwen3/tokenizer.json"}};
  const auto path = synthesize(spec);
  ASSERT_FALSE(path.empty());
  const gguf::File file = gguf::File::open(path).value();
  gguf::Writer writer;
  for (const auto& [key, value] : file.metadata().entries()) writer.metadata().set(key, value);
  for (const auto& tensor : file.tensors()) {
    std::vector<uint64_t> shape = tensor.shape;
    if (tensor.name == "blk.2.ffn_up_exps.weight") std::swap(shape[1], shape[2]);
    ASSERT_TRUE(writer.add_tensor(tensor.name, shape, tensor.type, tensor.data).ok());
  }
  const auto broken = testing::temp_path("broken.gguf");
  ASSERT_TRUE(writer.write(broken).ok());
  const auto loaded = Model::load(broken);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find(
                "'blk.2.ffn_up_exps.weight' has shape [128, 16, 64], expected [128, 64, 16]"),
            std::string::npos)
      << loaded.error().message();
}

// Hybrid models (Gated DeltaNet layers with a recurrent state per sequence; BatchTest checks that
// the state carries across calls and sequences): the layer pattern, and a state that is kept
// whole or reset, never cut.
class HybridTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HybridTest, StateIsKeptWholeOrReset) {
  const Json spec = {{"arch", GetParam()},
                     {"preset", "tiny"},
                     {"type", "f32"},
                     {"seed", 7},
                     {"vocab", "data/vocab/qwen3/tokenizer.json"}};
  const auto path = synthesize(spec);
  ASSERT_FALSE(path.empty());
  auto model = Model::load(path).value();
  EXPECT_EQ(model->config().layer_recurrent,
            (std::vector<bool>{true, true, false, true, true, false}));
  const std::vector<int32_t> tokens = {785, 6722, 315, 9625, 374, 264, 3283, 448, 1657, 13};
  auto run = [&](Sequence& sequence) {
    std::vector<BatchToken> batch;
    for (const int32_t id : tokens) batch.push_back({&sequence, id, true});
    std::vector<float> logits;
    EXPECT_TRUE(model->forward(batch, logits, nullptr).ok());
    return logits;
  };
  auto sequence = model->new_sequence(64, KvType::kF32).value();
  ASSERT_TRUE(sequence->has_recurrent_state());
  const std::vector<float> all = run(*sequence);

  // Prefix reuse: the whole sequence or nothing; truncating to 0 starts again from zeros.
  EXPECT_EQ(sequence->reusable_prefix(20), 10);
  EXPECT_EQ(sequence->reusable_prefix(10), 10);
  EXPECT_EQ(sequence->reusable_prefix(9), 0);
  sequence->truncate(10);
  sequence->truncate(0);
  EXPECT_EQ(run(*sequence), all);
}

INSTANTIATE_TEST_SUITE_P(Qwen35, HybridTest, ::testing::Values("qwen35", "qwen35moe"));

// Metadata hearth cannot run is named: a missing DeltaNet size, and M-RoPE sections that give
// rotary pairs the fourth (non-text) position.
TEST(HybridMetadataTest, BadMetadataIsNamed) {
  const Json spec = {{"arch", "qwen35"},
                     {"preset", "tiny"},
                     {"type", "f32"},
                     {"seed", 7},
                     {"vocab", "data/vocab/qwen3/tokenizer.json"}};
  const auto path = synthesize(spec);
  ASSERT_FALSE(path.empty());
  const gguf::File file = gguf::File::open(path).value();
  auto rewrite = [&](const std::function<void(gguf::Metadata&)>& edit) {
    gguf::Writer writer;
    for (const auto& [key, value] : file.metadata().entries()) writer.metadata().set(key, value);
    edit(writer.metadata());
    for (const auto& tensor : file.tensors()) {
      EXPECT_TRUE(writer.add_tensor(tensor.name, tensor.shape, tensor.type, tensor.data).ok());
    }
    const auto broken = testing::temp_path("broken.gguf");
    EXPECT_TRUE(writer.write(broken).ok());
    const auto loaded = Model::load(broken);
    EXPECT_FALSE(loaded.ok());
    return loaded.ok() ? std::string() : loaded.error().message();
  };
  const std::string missing = rewrite([](gguf::Metadata& m) { m.erase("qwen35.ssm.state_size"); });
  EXPECT_NE(missing.find("qwen35.ssm.state_size is missing"), std::string::npos) << missing;
  const std::string sections = rewrite([](gguf::Metadata& m) {
    gguf::Array array{.element_type = gguf::ValueType::kInt32, .items = {}};
    for (const int32_t section : {3, 3, 1, 1}) array.items.push_back(gguf::Value{section});
    m.set("qwen35.rope.dimension_sections", gguf::Value{std::move(array)});
  });
  EXPECT_NE(sections.find("fourth M-RoPE section"), std::string::npos) << sections;
}

INSTANTIATE_TEST_SUITE_P(
    Goldens, ArchGoldenTest,
    ::testing::Values("tiny-qwen3moe-f32", "tiny-qwen3moe-f16", "tiny-qwen3moe-q8_0",
                      "tiny-gemma4-f32", "tiny-gemma4-f16", "tiny-gemma4-q8_0",
                      "tiny-gemma4-moe-f32", "tiny-gemma4-moe-f16", "tiny-gemma4-moe-q8_0",
                      "tiny-gemma4-e2b-f32", "tiny-gemma4-e2b-f16", "tiny-gemma4-e2b-q8_0",
                      "tiny-qwen35-f32", "tiny-qwen35-f16", "tiny-qwen35-q8_0",
                      "tiny-qwen35moe-f32", "tiny-qwen35moe-f16", "tiny-qwen35moe-q8_0"));

}  // namespace
}  // namespace hearth::model
