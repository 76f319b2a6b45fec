// Tests of `hearth quantize`'s library half: the mix names, the per-tensor type policy on the
// tensor lists of synthetic models (expected types written out per tensor, as llama-quantize
// chooses them), and the rewrite: bytes equal to quantize_row of the dequantized input, the
// metadata updated, and the same file whatever the thread count.
#include "hearth/model/quantize_model.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "hearth/base/files.h"
#include "hearth/model/synth.h"
#include "hearth/tensor/quantize.h"
#include "testing.h"

namespace hearth::model {
namespace {

using enum GgmlType;

gguf::Value string_value(std::string text) {
  gguf::Value value;
  value.storage = std::move(text);
  return value;
}

// A vocabulary of n made-up tokens: enough to plan and write a model.
gguf::Metadata small_vocab(int n) {
  gguf::Metadata vocab;
  vocab.set("tokenizer.ggml.model", string_value("gpt2"));
  gguf::Array tokens{gguf::ValueType::kString, {}};
  for (int i = 0; i < n; ++i) tokens.items.push_back(string_value("t" + std::to_string(i)));
  gguf::Value value;
  value.storage = std::move(tokens);
  vocab.set("tokenizer.ggml.tokens", std::move(value));
  return vocab;
}

SynthPlan synth_plan(std::string_view arch, std::string_view preset, GgmlType type = kF16,
                     int n_vocab = 1000) {
  auto config = synth_preset(arch, preset);
  EXPECT_TRUE(config.ok()) << config.error().message();
  auto plan = plan_synth(*config, type, small_vocab(n_vocab), 1);
  EXPECT_TRUE(plan.ok()) << plan.error().message();
  return std::move(plan).value();
}

// The tensor infos a GGUF file of `plan` would have (no data: the policy reads none).
std::vector<gguf::TensorInfo> infos(const SynthPlan& plan) {
  std::vector<gguf::TensorInfo> result;
  for (const SynthTensor& tensor : plan.tensors) {
    gguf::TensorInfo info;
    info.name = tensor.name;
    info.shape = tensor.shape;
    info.type = static_cast<uint32_t>(tensor.type);
    info.known_type = true;
    info.n_elements = 1;
    for (const uint64_t dim : tensor.shape) info.n_elements *= dim;
    info.n_bytes = *ggml_row_bytes(info.type, info.n_elements);
    result.push_back(std::move(info));
  }
  return result;
}

QuantMix mix(std::string_view name) {
  auto result = quant_mix(name);
  EXPECT_TRUE(result.ok()) << result.error().message();
  return *result;
}

int layer_of(const std::string& name) {
  return name.starts_with("blk.") ? std::stoi(name.substr(4)) : -1;
}

bool is_norm(const std::string& name) {
  return name.find("_norm.weight") != name.npos;
}

bool has(const std::string& name, std::string_view part) {
  return name.find(part) != name.npos;
}

// Plans `mix` for `plan` and compares every tensor's type with `expected(name)`.
void expect_types(const SynthPlan& plan, std::string_view mix_name,
                  const std::function<GgmlType(const std::string&)>& expected,
                  int expected_fallbacks) {
  const auto tensors = infos(plan);
  const auto result = plan_quantization(plan.metadata, tensors, mix(mix_name));
  ASSERT_TRUE(result.ok()) << result.error().message();
  ASSERT_EQ(result->tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgmlType want = expected(tensors[i].name);
    EXPECT_EQ(result->tensors[i].to, want)
        << mix_name << " " << tensors[i].name << ": got "
        << ggml_type_traits(static_cast<uint32_t>(result->tensors[i].to))->name << ", expected "
        << ggml_type_traits(static_cast<uint32_t>(want))->name;
  }
  EXPECT_EQ(result->n_fallback, expected_fallbacks) << mix_name;
  EXPECT_EQ(result->n_requantized, 0);
}

TEST(QuantMix, NamesNumbersAndAliases) {
  EXPECT_EQ(mix("q4_k_m").file_type, 15u);
  EXPECT_EQ(mix("Q4_K_M").default_type, kQ4_K);
  EXPECT_EQ(mix("q4_k").name, "q4_k_m");  // llama-quantize's alias
  EXPECT_EQ(mix("q5_k").name, "q5_k_m");
  EXPECT_EQ(mix("q5_k_m").file_type, 17u);
  EXPECT_EQ(mix("q6_k").file_type, 18u);
  EXPECT_EQ(mix("q8_0").file_type, 7u);
  EXPECT_EQ(mix("q4_0").file_type, 2u);
  EXPECT_EQ(mix("f16").file_type, 1u);
  EXPECT_EQ(mix("bf16").file_type, 32u);
  EXPECT_EQ(mix("f32").file_type, 0u);
  const auto unknown = quant_mix("q3_k_m");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("unknown quantization type 'q3_k_m'"),
            std::string::npos);
  EXPECT_NE(unknown.error().message().find("q4_k_m"), std::string::npos);
}

// Llama 3.2 1B's shapes (16 layers, untied output in hearth's synth): llama.cpp gives attn_v
// and ffn_down Q6_K in layers 0-1, 14-15 and every third layer from 4 (use_more_bits).
TEST(QuantPolicy, Llama32_1bQ4_K_M) {
  const SynthPlan plan = synth_plan("llama", "llama-3.2-1b");
  const std::set<int> more_bits = {0, 1, 4, 7, 10, 13, 14, 15};
  expect_types(
      plan, "q4_k_m",
      [&](const std::string& name) {
        if (is_norm(name)) return kF32;
        if (name == "output.weight") return kQ6_K;
        if (has(name, "attn_v") || has(name, "ffn_down")) {
          return more_bits.count(layer_of(name)) ? kQ6_K : kQ4_K;
        }
        return kQ4_K;  // token_embd (untied), attn_q/k/output, ffn_gate/up
      },
      0);
  expect_types(
      plan, "q5_k_m",
      [&](const std::string& name) {
        if (is_norm(name)) return kF32;
        if (name == "output.weight") return kQ6_K;
        if (has(name, "attn_v") || has(name, "ffn_down")) {
          return more_bits.count(layer_of(name)) ? kQ6_K : kQ5_K;
        }
        return kQ5_K;
      },
      0);
  // Q4_K_S: Q5_K for the first four attn_v and the first eighth of ffn_down.
  expect_types(
      plan, "q4_k_s",
      [&](const std::string& name) {
        if (is_norm(name)) return kF32;
        if (name == "output.weight") return kQ6_K;
        if (has(name, "attn_v")) return layer_of(name) < 4 ? kQ5_K : kQ4_K;
        if (has(name, "ffn_down")) return layer_of(name) < 2 ? kQ5_K : kQ4_K;
        return kQ4_K;
      },
      0);
  // Single-type mixes still keep the output matrix at Q6_K (except q8_0), norms at F32.
  expect_types(
      plan, "q4_0",
      [&](const std::string& name) {
        return is_norm(name) ? kF32 : name == "output.weight" ? kQ6_K : kQ4_0;
      },
      0);
  expect_types(
      plan, "q8_0", [&](const std::string& name) { return is_norm(name) ? kF32 : kQ8_0; }, 0);
  expect_types(
      plan, "bf16", [&](const std::string& name) { return is_norm(name) ? kF32 : kBF16; }, 0);
}

// Qwen3 0.6B: the output is the tied token embedding, so token_embd gets Q6_K; 28 layers make
// 14 of the attn_v / ffn_down tensors Q6_K.
TEST(QuantPolicy, Qwen3_0_6bQ4_K_M) {
  const SynthPlan plan = synth_plan("qwen3", "qwen3-0.6b");
  const std::set<int> more_bits = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
  expect_types(
      plan, "q4_k_m",
      [&](const std::string& name) {
        if (is_norm(name)) return kF32;  // includes attn_q_norm / attn_k_norm
        if (name == "token_embd.weight") return kQ6_K;
        if (has(name, "attn_v") || has(name, "ffn_down")) {
          return more_bits.count(layer_of(name)) ? kQ6_K : kQ4_K;
        }
        return kQ4_K;
      },
      0);
}

// The tiny Qwen3 (d_model 128, d_ff 384): no row fits a 256 block, so Q4_K falls back to Q5_0
// and Q6_K to Q8_0, and the tied output takes Q8_0 directly (llama.cpp counts no fallback there).
TEST(QuantPolicy, TinyQwen3FallsBackLikeLlamaCpp) {
  const SynthPlan plan = synth_plan("qwen3", "tiny");
  expect_types(
      plan, "q4_k_m",
      [&](const std::string& name) {
        if (is_norm(name)) return kF32;
        if (name == "token_embd.weight") return kQ8_0;
        if (has(name, "attn_v") || has(name, "ffn_down"))
          return layer_of(name) >= 2 ? kQ8_0 : kQ5_0;
        return kQ5_0;
      },
      4 * 7);
  expect_types(
      plan, "q5_k_s",
      [&](const std::string& name) {
        if (is_norm(name)) return kF32;
        return name == "token_embd.weight" ? kQ8_0 : kQ5_1;
      },
      4 * 7);
  expect_types(
      plan, "f16", [&](const std::string& name) { return is_norm(name) ? kF32 : kF16; }, 0);
}

TEST(QuantPolicy, TinyLlamaQ6_K) {
  const SynthPlan plan = synth_plan("llama", "tiny");
  // Untied: token_embd is an ordinary matrix (Q6_K -> Q8_0, a fallback); output.weight takes
  // Q8_0 by the output rule.
  expect_types(
      plan, "q6_k", [&](const std::string& name) { return is_norm(name) ? kF32 : kQ8_0; },
      1 + 4 * 7);
}

// MoE: the router stays F32; expert tensors [n_in, n_out, n_experts] are quantized, ffn_down's
// layer read from the name.
TEST(QuantPolicy, MixtureOfExperts) {
  const SynthPlan plan = synth_plan("qwen3moe", "tiny");
  expect_types(
      plan, "q4_k_m",
      [&](const std::string& name) {
        if (is_norm(name) || has(name, "ffn_gate_inp")) return kF32;
        if (name == "output.weight") return kQ8_0;
        if (has(name, "attn_v") || has(name, "ffn_down_exps")) {
          return layer_of(name) >= 2 ? kQ8_0 : kQ5_0;
        }
        return kQ5_0;
      },
      1 + 4 * 7);
  // Eight experts (Mixtral's rule): attn_v and attn_k Q8_0, attn_output Q5_K.
  auto config = synth_config_from_dims("qwen3moe", "256,4,4,2,64,512");
  ASSERT_TRUE(config.ok());
  config->n_experts = 8;
  config->n_experts_used = 2;
  config->d_ff_exp = 256;
  const auto eight = plan_synth(*config, kF16, small_vocab(300), 1);
  ASSERT_TRUE(eight.ok());
  expect_types(
      *eight, "q4_k_m",
      [&](const std::string& name) {
        if (is_norm(name) || has(name, "ffn_gate_inp")) return kF32;
        if (name == "output.weight" || (has(name, "ffn_down_exps") && layer_of(name) >= 2)) {
          return kQ6_K;
        }
        if (has(name, "attn_v") || has(name, "attn_k.")) return kQ8_0;
        if (has(name, "attn_output")) return kQ5_K;
        return kQ4_K;
      },
      0);
}

TEST(QuantPolicy, UnknownAndUnconvertibleTypesNameTheTensor) {
  auto tensors = infos(synth_plan("llama", "tiny"));
  tensors[3].known_type = false;
  tensors[3].type = 99;
  const auto unknown = plan_quantization({}, tensors, mix("q8_0"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("tensor '" + tensors[3].name + "' has unknown type 99"),
            std::string::npos)
      << unknown.error().message();

  tensors = infos(synth_plan("llama", "tiny"));
  tensors[2].type = static_cast<uint32_t>(kQ2_K);  // a type hearth reads but cannot decode
  tensors[2].shape = {256, 4};
  const auto q2 = plan_quantization({}, tensors, mix("q8_0"));
  ASSERT_FALSE(q2.ok());
  EXPECT_NE(q2.error().message().find("tensor '" + tensors[2].name + "' has type q2_K"),
            std::string::npos)
      << q2.error().message();
  // A tensor the mix leaves alone (1-D) is copied whatever its type.
  tensors[2].shape = {1024};
  EXPECT_TRUE(plan_quantization({}, tensors, mix("q8_0")).ok());
}

// Each output row is quantize_row(to, dequantize_row(from, input row)).
void expect_requantized(const gguf::File& in, const gguf::File& out) {
  ASSERT_EQ(in.tensors().size(), out.tensors().size());
  for (size_t i = 0; i < in.tensors().size(); ++i) {
    const gguf::TensorInfo& a = in.tensors()[i];
    const gguf::TensorInfo& b = out.tensors()[i];
    ASSERT_EQ(a.name, b.name);
    EXPECT_EQ(a.shape, b.shape) << a.name;
    const auto from = static_cast<GgmlType>(a.type);
    const auto to = static_cast<GgmlType>(b.type);
    const auto n = static_cast<int64_t>(a.shape[0]);
    const int64_t rows = static_cast<int64_t>(a.n_elements) / n;
    const uint64_t in_row = *ggml_row_bytes(a.type, n);
    const uint64_t out_row = *ggml_row_bytes(b.type, n);
    ASSERT_EQ(b.n_bytes, out_row * rows) << a.name;
    std::vector<float> values(n);
    std::vector<uint8_t> expected(out_row * rows);
    for (int64_t r = 0; r < rows; ++r) {
      tensor::dequantize_row(from, a.data.data() + r * in_row, values.data(), n);
      tensor::quantize_row(to, values.data(), expected.data() + r * out_row, n);
    }
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), b.data.begin())) << a.name;
  }
}

Result<gguf::File> write_and_open(const SynthPlan& plan, const std::string& name) {
  const auto path = testing::temp_path(name);
  HEARTH_RETURN_IF_ERROR(write_synth(plan, path, {}, 2));
  return gguf::File::open(path);
}

TEST(QuantizeModel, F16ToQ8_0RoundTrip) {
  const auto in = write_and_open(synth_plan("qwen3", "tiny", kF16, 512), "in.gguf");
  ASSERT_TRUE(in.ok()) << in.error().message();
  const auto plan = plan_quantization(in->metadata(), in->tensors(), mix("q8_0"));
  ASSERT_TRUE(plan.ok());
  const auto out_path = testing::temp_path("out.gguf");
  uint64_t last_done = 0;
  ASSERT_TRUE(write_quantized(*in, *plan, out_path, [&](uint64_t done, uint64_t) {
                last_done = done;
              }).ok());
  EXPECT_EQ(last_done, plan->n_bytes_out);
  const auto out = gguf::File::open(out_path);
  ASSERT_TRUE(out.ok()) << out.error().message();
  expect_requantized(*in, *out);
  for (const gguf::TensorInfo& t : out->tensors()) {
    EXPECT_EQ(t.type, static_cast<uint32_t>(t.shape.size() == 1 ? kF32 : kQ8_0)) << t.name;
  }
  uint64_t n_bytes = 0;
  for (const gguf::TensorInfo& t : out->tensors()) n_bytes += t.n_bytes;
  EXPECT_EQ(plan->n_bytes_out, n_bytes);
  // Metadata: everything carried over, file type and quantization version set.
  EXPECT_EQ(out->metadata().get_int("general.file_type").value_or(-1), 7);
  EXPECT_EQ(out->metadata().get_int("general.quantization_version").value_or(-1), 2);
  ASSERT_EQ(out->metadata().entries().size(), in->metadata().entries().size());
  for (const auto& [key, value] : in->metadata().entries()) {
    if (key == "general.file_type") continue;
    const gguf::Value* copied = out->metadata().find(key);
    ASSERT_NE(copied, nullptr) << key;
    EXPECT_EQ(copied->type(), value.type()) << key;
  }
  EXPECT_EQ(*out->metadata().get_string("general.name"),
            *in->metadata().get_string("general.name"));
}

// Already-quantized input is dequantized and quantized again (and counted); a tensor already
// of its target type is copied.
TEST(QuantizeModel, RequantizesQuantizedInput) {
  const auto in = write_and_open(synth_plan("llama", "tiny", kQ8_0, 300), "q8.gguf");
  ASSERT_TRUE(in.ok()) << in.error().message();
  const auto plan = plan_quantization(in->metadata(), in->tensors(), mix("q4_0"));
  ASSERT_TRUE(plan.ok());
  // output.weight (128 columns) becomes Q8_0 by the output rule: already so, copied.
  EXPECT_EQ(plan->n_requantized, 4 * 7 + 1);
  const auto out_path = testing::temp_path("q4.gguf");
  ASSERT_TRUE(write_quantized(*in, *plan, out_path).ok());
  const auto out = gguf::File::open(out_path);
  ASSERT_TRUE(out.ok());
  expect_requantized(*in, *out);
}

TEST(QuantizeModel, SameBytesWhateverTheThreadCount) {
  auto config = synth_config_from_dims("qwen3", "256,2,4,2,64,768");
  ASSERT_TRUE(config.ok());
  // 17000 x 256 embedding: more than one slab of rows (4M elements) in write_quantized.
  const auto synth = plan_synth(*config, kF16, small_vocab(17000), 3);
  ASSERT_TRUE(synth.ok());
  const auto in = write_and_open(*synth, "in.gguf");
  ASSERT_TRUE(in.ok()) << in.error().message();
  const auto plan = plan_quantization(in->metadata(), in->tensors(), mix("q4_k_m"));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->n_fallback, 0);
  std::vector<std::string> files;
  for (const int n_threads : {1, 3}) {
    const auto path = testing::temp_path("t" + std::to_string(n_threads) + ".gguf");
    ASSERT_TRUE(write_quantized(*in, *plan, path, {}, n_threads).ok());
    auto bytes = read_file(path);
    ASSERT_TRUE(bytes.ok());
    files.push_back(std::move(bytes).value());
  }
  EXPECT_EQ(files[0], files[1]);
  const auto out = gguf::File::open(testing::temp_path("t1.gguf"));
  ASSERT_TRUE(out.ok());
  expect_requantized(*in, *out);
}

TEST(QuantizeModel, UnwritableOutputFailsCleanly) {
  const auto in = write_and_open(synth_plan("llama", "tiny", kF16, 300), "in.gguf");
  ASSERT_TRUE(in.ok());
  const auto plan = plan_quantization(in->metadata(), in->tensors(), mix("q8_0"));
  ASSERT_TRUE(plan.ok());
  const Status status = write_quantized(*in, *plan, "/nonexistent-dir/out.gguf");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("/nonexistent-dir/out.gguf"), std::string::npos)
      << status.error().message();
}

}  // namespace
}  // namespace hearth::model
