// Tests of the synthetic model writer: presets and --dims parsing, the metadata keys and tensor
// shapes per architecture, weights that read back with the planned statistics, the same bytes
// for the same seed, and the vocabulary loaders.
#include "hearth/model/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "hearth/base/files.h"
#include "hearth/model/model.h"
#include "hearth/tensor/quantize.h"
#include "testing.h"

namespace hearth::model {
namespace {

gguf::Value string_value(std::string text) {
  gguf::Value value;
  value.storage = std::move(text);
  return value;
}

// A byte-level vocabulary of n tokens: enough for everything but llama.cpp.
gguf::Metadata small_vocab(int n = 256) {
  gguf::Metadata vocab;
  vocab.set("tokenizer.ggml.model", string_value("gpt2"));
  gguf::Array tokens{gguf::ValueType::kString, {}};
  for (int i = 0; i < n; ++i) tokens.items.push_back(string_value(fmt::format("t{}", i)));
  gguf::Value value;
  value.storage = std::move(tokens);
  vocab.set("tokenizer.ggml.tokens", std::move(value));
  return vocab;
}

SynthConfig preset(std::string_view arch, std::string_view name) {
  auto config = synth_preset(arch, name);
  EXPECT_TRUE(config.ok()) << config.error().message();
  return config.ok() ? *config : SynthConfig{};
}

std::map<std::string, std::vector<uint64_t>> shapes(const SynthPlan& plan) {
  std::map<std::string, std::vector<uint64_t>> result;
  for (const SynthTensor& tensor : plan.tensors) result[tensor.name] = tensor.shape;
  return result;
}

TEST(SynthPresets, EveryPresetIsValid) {
  for (const auto& [name, arch] : synth_presets()) {
    const auto config = synth_preset(arch, name);
    ASSERT_TRUE(config.ok()) << name << ": " << config.error().message();
    EXPECT_EQ(config->arch, arch);
    EXPECT_TRUE(validate_synth_config(*config).ok()) << name;
  }
  for (const std::string_view arch : synth_arches()) EXPECT_TRUE(synth_preset(arch, "tiny").ok());
}

TEST(SynthPresets, RealShapes) {
  const SynthConfig qwen3 = preset("", "qwen3-0.6b");
  EXPECT_EQ(qwen3.arch, "qwen3");
  EXPECT_EQ(qwen3.d_model, 1024);
  EXPECT_EQ(qwen3.n_layers, 28);
  EXPECT_EQ(qwen3.n_heads * qwen3.head_dim, 2048);  // q dim != d_model
  const SynthConfig llama = preset("llama", "llama-3.2-1b");
  EXPECT_EQ(llama.d_model, 2048);
  EXPECT_EQ(llama.n_kv_heads, 8);
  EXPECT_EQ(llama.rope_theta, 500000.0f);
  EXPECT_EQ(preset("qwen3", "qwen3-4b").d_ff, 9728);
  const SynthConfig moe = preset("", "qwen3-30b-a3b");  // Qwen3-30B-A3B's config.json
  EXPECT_EQ(moe.arch, "qwen3moe");
  EXPECT_EQ(moe.n_layers, 48);
  EXPECT_EQ(moe.n_experts, 128);
  EXPECT_EQ(moe.n_experts_used, 8);
  EXPECT_EQ(moe.d_ff_exp, 768);
  const SynthConfig gemma4 = preset("", "gemma4-31b");  // Gemma 4 31B's config.json
  EXPECT_EQ(gemma4.arch, "gemma4");
  EXPECT_EQ(gemma4.n_layers, 60);
  EXPECT_EQ(gemma4.d_model, 5376);
  EXPECT_EQ(gemma4.head_dim, 256);
  EXPECT_EQ(gemma4.head_dim_global, 512);
  EXPECT_EQ(gemma4.n_kv_heads, 16);
  EXPECT_EQ(gemma4.n_kv_heads_global, 4);
  EXPECT_EQ(gemma4.sliding_period, 6);
  const SynthConfig gemma4_moe = preset("", "gemma4-26b-a4b");  // google/gemma-4-26B-A4B
  EXPECT_EQ(gemma4_moe.n_layers, 30);
  EXPECT_EQ(gemma4_moe.d_model, 2816);
  EXPECT_EQ(gemma4_moe.d_ff, 2112);
  EXPECT_EQ(gemma4_moe.n_experts, 128);
  EXPECT_EQ(gemma4_moe.n_experts_used, 8);
  EXPECT_EQ(gemma4_moe.d_ff_exp, 704);
  EXPECT_EQ(gemma4_moe.n_kv_heads_global, 2);
  const SynthConfig e2b = preset("", "gemma4-e2b");  // google/gemma-4-E2B
  EXPECT_EQ(e2b.n_layers, 35);
  EXPECT_EQ(e2b.sliding_period, 5);
  EXPECT_EQ(e2b.d_per_layer_input, 256);
  EXPECT_EQ(e2b.n_kv_shared_layers, 20);
  EXPECT_TRUE(e2b.double_wide_ffn);
  const SynthConfig e4b = preset("", "gemma4-e4b");  // google/gemma-4-E4B
  EXPECT_EQ(e4b.n_layers, 42);
  EXPECT_EQ(e4b.d_model, 2560);
  EXPECT_EQ(e4b.n_kv_shared_layers, 18);
  EXPECT_FALSE(e4b.double_wide_ffn);
}

// Gemma 4's MoE and on-device layouts, as its converter writes them: E2B's per-layer inputs,
// its last 20 layers without keys and values of their own and with a feed-forward twice as
// wide, global layers with their own values; 26B-A4B's fused expert gate/up, router scale and
// per-expert output scale beside the dense feed-forward.
TEST(SynthPlan, Gemma4VariantsAsTheConverterWritesThem) {
  const gguf::Metadata vocab = small_vocab();
  const auto e2b = plan_synth(preset("", "gemma4-e2b"), GgmlType::kQ4_0, vocab, 1);
  ASSERT_TRUE(e2b.ok()) << e2b.error().message();
  const gguf::Metadata& m = e2b->metadata;
  EXPECT_EQ(m.get_int("gemma4.attention.shared_kv_layers").value_or(-1), 20);
  EXPECT_EQ(m.get_int("gemma4.embedding_length_per_layer_input").value_or(-1), 256);
  const auto widths = m.get_array("gemma4.feed_forward_length");
  ASSERT_TRUE(widths.ok());
  ASSERT_EQ((*widths)->items.size(), 35u);
  EXPECT_EQ((*widths)->items[14].to_int(), 6144);
  EXPECT_EQ((*widths)->items[15].to_int(), 12288);
  auto shape = shapes(*e2b);
  const uint64_t n_vocab = static_cast<uint64_t>(e2b->n_vocab);
  EXPECT_EQ(shape["per_layer_token_embd.weight"], (std::vector<uint64_t>{35 * 256, n_vocab}));
  EXPECT_EQ(shape["per_layer_model_proj.weight"], (std::vector<uint64_t>{1536, 35 * 256}));
  EXPECT_EQ(shape["blk.34.inp_gate.weight"], (std::vector<uint64_t>{1536, 256}));
  EXPECT_EQ(shape["blk.34.proj.weight"], (std::vector<uint64_t>{256, 1536}));
  EXPECT_TRUE(shape.contains("blk.4.attn_v.weight"));  // global, with its own values
  EXPECT_TRUE(shape.contains("blk.14.attn_k.weight"));
  EXPECT_FALSE(shape.contains("blk.15.attn_k.weight"));  // shared KV: queries only
  EXPECT_FALSE(shape.contains("blk.15.attn_k_norm.weight"));
  EXPECT_EQ(shape["blk.15.ffn_up.weight"], (std::vector<uint64_t>{1536, 12288}));

  const auto moe = plan_synth(preset("", "gemma4-26b-a4b"), GgmlType::kQ4_0, vocab, 1);
  ASSERT_TRUE(moe.ok()) << moe.error().message();
  EXPECT_EQ(moe->metadata.get_int("gemma4.expert_count").value_or(-1), 128);
  EXPECT_EQ(moe->metadata.get_int("gemma4.expert_used_count").value_or(-1), 8);
  EXPECT_EQ(moe->metadata.get_int("gemma4.expert_feed_forward_length").value_or(-1), 704);
  shape = shapes(*moe);
  EXPECT_EQ(shape["blk.0.ffn_gate_up_exps.weight"], (std::vector<uint64_t>{2816, 1408, 128}));
  EXPECT_EQ(shape["blk.0.ffn_down_exps.weight"], (std::vector<uint64_t>{704, 2816, 128}));
  EXPECT_EQ(shape["blk.0.ffn_down_exps.scale"], (std::vector<uint64_t>{128}));
  EXPECT_EQ(shape["blk.0.ffn_gate_inp.scale"], (std::vector<uint64_t>{2816}));
  EXPECT_EQ(shape["blk.0.ffn_up.weight"], (std::vector<uint64_t>{2816, 2112}));
  EXPECT_FALSE(shape.contains("blk.5.attn_v.weight"));  // global: values = keys
  for (const char* norm : {"pre_ffw_norm_2", "post_ffw_norm_1", "post_ffw_norm_2"}) {
    EXPECT_TRUE(shape.contains(fmt::format("blk.29.{}.weight", norm))) << norm;
  }
}

// Gemma 4's sliding and global layers differ in head size and KV heads; the file says so per
// layer, and the model reads it back.
TEST(SynthPlan, Gemma4PerLayerAttention) {
  const auto plan = plan_synth(preset("gemma4", "tiny"), GgmlType::kF32, small_vocab(), 1);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  const gguf::Metadata& m = plan->metadata;
  EXPECT_EQ(m.get_int("gemma4.attention.key_length").value_or(-1), 64);
  EXPECT_EQ(m.get_int("gemma4.attention.key_length_swa").value_or(-1), 32);
  const auto kv_heads = m.get_array("gemma4.attention.head_count_kv");
  const auto sliding = m.get_array("gemma4.attention.sliding_window_pattern");
  ASSERT_TRUE(kv_heads.ok() && sliding.ok());
  ASSERT_EQ((*kv_heads)->items.size(), 6u);
  ASSERT_EQ((*sliding)->items.size(), 6u);
  for (size_t il = 0; il < 6; ++il) {
    const bool global = il % 3 == 2;
    EXPECT_EQ((*sliding)->items[il].to_bool(), !global) << il;
    EXPECT_EQ((*kv_heads)->items[il].to_int(), global ? 1 : 2) << il;
  }
  std::map<std::string, std::vector<uint64_t>> shapes;
  for (const SynthTensor& tensor : plan->tensors) shapes[tensor.name] = tensor.shape;
  EXPECT_EQ(shapes["rope_freqs.weight"], (std::vector<uint64_t>{32}));
  EXPECT_EQ(shapes["blk.0.attn_k.weight"], (std::vector<uint64_t>{128, 64}));
  EXPECT_EQ(shapes["blk.2.attn_k.weight"], (std::vector<uint64_t>{128, 64}));
  EXPECT_EQ(shapes["blk.2.attn_q.weight"], (std::vector<uint64_t>{128, 256}));
  EXPECT_TRUE(shapes.contains("blk.0.attn_v.weight"));
  EXPECT_FALSE(shapes.contains("blk.2.attn_v.weight"));  // global layers: V = K

  const auto path = testing::temp_path("gemma4.gguf");
  ASSERT_TRUE(write_synth(*plan, path, {}, 1).ok());
  const auto model = Model::load(path);
  ASSERT_TRUE(model.ok()) << model.error().message();
  const ModelConfig& config = (*model)->config();
  ASSERT_EQ(config.layer_attention.size(), 6u);
  EXPECT_EQ(config.layer_attention[0].head_dim, 32);
  EXPECT_EQ(config.layer_attention[0].n_kv_heads, 2);
  EXPECT_EQ(config.layer_attention[2].head_dim, 64);
  EXPECT_EQ(config.layer_attention[2].n_kv_heads, 1);
  EXPECT_EQ(config.layer_window[0], 16);
  EXPECT_EQ(config.layer_window[2], 0);
  EXPECT_EQ(config.rope_freq_factors.size(), 32u);
  EXPECT_EQ(config.final_logit_softcap, 30.0f);
  EXPECT_EQ(config.attention_scale, 1.0f);
}

TEST(SynthPresets, ErrorsNameTheProblem) {
  const auto unknown_arch = synth_preset("mamba", "tiny");
  ASSERT_FALSE(unknown_arch.ok());
  EXPECT_EQ(unknown_arch.error().message(),
            "unknown architecture 'mamba' (known: llama, qwen3, qwen3moe, gemma3, gemma4, qwen35, "
            "qwen35moe)");
  const auto wrong_arch = synth_preset("llama", "qwen3-4b");
  ASSERT_FALSE(wrong_arch.ok());
  EXPECT_NE(wrong_arch.error().message().find("no preset 'qwen3-4b' for architecture llama"),
            std::string::npos);
  EXPECT_FALSE(synth_preset("", "tiny").ok());
  EXPECT_FALSE(synth_preset("", "huge").ok());
}

TEST(SynthDims, ParsesSixOrSeven) {
  const auto six = synth_config_from_dims("qwen3", "256,3,8,2,64,512");
  ASSERT_TRUE(six.ok()) << six.error().message();
  EXPECT_EQ(six->d_model, 256);
  EXPECT_EQ(six->n_layers, 3);
  EXPECT_EQ(six->n_heads, 8);
  EXPECT_EQ(six->n_kv_heads, 2);
  EXPECT_EQ(six->head_dim, 64);
  EXPECT_EQ(six->d_ff, 512);
  EXPECT_EQ(six->n_ctx, 40960);  // the architecture's default
  EXPECT_EQ(six->rope_theta, 1e6f);
  const auto seven = synth_config_from_dims("gemma3", "256,3,8,2,64,512,1024");
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(seven->n_ctx, 1024);
  EXPECT_EQ(seven->sliding_window, 512);
}

TEST(SynthDims, RejectsBadDims) {
  const std::pair<const char*, const char*> cases[] = {
      {"256,3,8,2,64", "expected 6 or 7"},
      {"256,3,8,2,64,512,1,2", "expected 6 or 7"},
      {"256,3,x,2,64,512", "n_heads 'x' is not an integer"},
      {"256,3,8,,64,512", "n_kv_heads '' is not an integer"},
      {"256,3,8,3,64,512", "n_heads (8) must be a multiple of n_kv_heads (3)"},
      {"0,3,8,2,64,512", "d_model is 0"},
      {"256,3,8,2,63,512", "head_dim (63) must be even"},
      {"256,3,8,2,64,-5", "d_ff is -5"},
      {"256,3,8,2,64,512,99999999999", "n_ctx is 99999999999"},
  };
  for (const auto& [dims, message] : cases) {
    const auto config = synth_config_from_dims("llama", dims);
    ASSERT_FALSE(config.ok()) << dims;
    EXPECT_NE(config.error().message().find(message), std::string::npos)
        << dims << ": " << config.error().message();
  }
}

TEST(SynthTypes, KnownAndUnknown) {
  EXPECT_EQ(synth_weight_type("q4_0").value_or(GgmlType::kF32), GgmlType::kQ4_0);
  EXPECT_EQ(synth_weight_type("bf16").value_or(GgmlType::kF32), GgmlType::kBF16);
  const auto q4_k = synth_weight_type("q4_K");
  ASSERT_FALSE(q4_k.ok());
  EXPECT_EQ(q4_k.error().message(),
            "unknown weight type 'q4_K' (known: f32, f16, bf16, q8_0, q4_0)");
}

TEST(SynthPlan, MetadataKeysPerArchitecture) {
  const std::vector<std::string> common = {"general.architecture", "general.type",
                                           "general.name",         "general.size_label",
                                           "general.file_type",    "general.quantization_version",
                                           "tokenizer.ggml.model", "tokenizer.ggml.tokens"};
  const std::vector<std::string> hparams = {
      "block_count",          "context_length",
      "embedding_length",     "feed_forward_length",
      "attention.head_count", "attention.head_count_kv",
      "rope.freq_base",       "attention.layer_norm_rms_epsilon",
      "attention.key_length", "attention.value_length"};
  const std::map<std::string, std::vector<std::string>> only = {
      {"llama", {"vocab_size", "rope.dimension_count"}},
      {"qwen3", {}},
      {"qwen3moe", {"expert_count", "expert_used_count", "expert_feed_forward_length"}},
      {"gemma3", {"attention.sliding_window", "rope.freq_base_swa"}},
  };
  for (const auto& [arch, extra] : only) {
    const auto plan = plan_synth(preset(arch, "tiny"), GgmlType::kQ8_0, small_vocab(), 1);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    const gguf::Metadata& m = plan->metadata;
    for (const std::string& key : common) EXPECT_TRUE(m.contains(key)) << arch << " " << key;
    for (const std::string& key : hparams) EXPECT_TRUE(m.contains(arch + "." + key)) << key;
    for (const auto& [other, keys] : only) {
      for (const std::string& key : keys) {
        EXPECT_EQ(m.contains(arch + "." + key), other == arch) << arch << " " << key;
      }
    }
    EXPECT_EQ(m.get_string("general.architecture").value_or(""), arch);
    EXPECT_EQ(m.get_int("general.file_type").value_or(-1), 7);
    EXPECT_EQ(m.get_int("general.quantization_version").value_or(-1), 2);
    EXPECT_EQ(m.get_int(arch + ".embedding_length").value_or(-1), 128);
    EXPECT_EQ(m.find(arch + ".rope.freq_base")->type(), gguf::ValueType::kFloat32);
    EXPECT_EQ(m.find(arch + ".block_count")->type(), gguf::ValueType::kUint32);
    EXPECT_EQ(m.get_string("general.name").value_or(""), "hearth-synth-" + arch + "-tiny");
  }
  const auto llama = plan_synth(preset("llama", "tiny"), GgmlType::kF16, small_vocab(300), 1);
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ(llama->metadata.get_int("llama.vocab_size").value_or(-1), 300);
  EXPECT_EQ(llama->metadata.get_int("llama.rope.dimension_count").value_or(-1), 32);
  EXPECT_EQ(llama->metadata.get_int("general.file_type").value_or(-1), 1);
}

TEST(SynthPlan, TensorShapesPerArchitecture) {
  const auto vocab = small_vocab(320);
  const auto llama = plan_synth(preset("llama", "tiny"), GgmlType::kF16, vocab, 1);
  const auto qwen3 = plan_synth(preset("qwen3", "tiny"), GgmlType::kF16, vocab, 1);
  const auto gemma3 = plan_synth(preset("gemma3", "tiny"), GgmlType::kF16, vocab, 1);
  ASSERT_TRUE(llama.ok() && qwen3.ok() && gemma3.ok());
  using Shape = std::vector<uint64_t>;

  auto l = shapes(*llama);
  EXPECT_EQ(l.size(), 3u + 4 * 9);
  EXPECT_EQ(l["token_embd.weight"], (Shape{128, 320}));
  EXPECT_EQ(l["output.weight"], (Shape{128, 320}));
  EXPECT_EQ(l["output_norm.weight"], (Shape{128}));
  EXPECT_EQ(l["blk.3.attn_q.weight"], (Shape{128, 128}));
  EXPECT_EQ(l["blk.3.attn_k.weight"], (Shape{128, 64}));
  EXPECT_EQ(l["blk.3.attn_output.weight"], (Shape{128, 128}));
  EXPECT_EQ(l["blk.0.ffn_down.weight"], (Shape{384, 128}));
  EXPECT_EQ(l.count("blk.0.attn_q_norm.weight"), 0u);

  const auto moe = plan_synth(preset("qwen3moe", "tiny"), GgmlType::kQ8_0, vocab, 1);
  ASSERT_TRUE(moe.ok());
  auto m = shapes(*moe);
  EXPECT_EQ(m.size(), 3u + 4 * 12);
  EXPECT_EQ(m["blk.1.ffn_gate_inp.weight"], (Shape{128, 16}));
  EXPECT_EQ(m["blk.1.ffn_gate_exps.weight"], (Shape{128, 64, 16}));
  EXPECT_EQ(m["blk.1.ffn_up_exps.weight"], (Shape{128, 64, 16}));
  EXPECT_EQ(m["blk.1.ffn_down_exps.weight"], (Shape{64, 128, 16}));
  EXPECT_EQ(m.count("blk.1.ffn_up.weight"), 0u);
  EXPECT_EQ(moe->metadata.get_int("qwen3moe.expert_feed_forward_length").value_or(-1), 64);
  for (const auto& tensor : moe->tensors) {
    if (tensor.name.ends_with("ffn_gate_inp.weight")) {
      EXPECT_EQ(tensor.type, GgmlType::kF32);
    }
    if (tensor.name.ends_with("_exps.weight")) {
      EXPECT_EQ(tensor.type, GgmlType::kQ8_0);
    }
  }
  // Qwen3-30B-A3B: 30.5B parameters, as published.
  const auto big =
      plan_synth(preset("qwen3moe", "qwen3-30b-a3b"), GgmlType::kQ4_0, small_vocab(151936), 1);
  ASSERT_TRUE(big.ok()) << big.error().message();
  EXPECT_NEAR(double(big->n_params) / 1e9, 30.5, 0.1);

  auto q = shapes(*qwen3);
  EXPECT_EQ(q.size(), 2u + 4 * 11);
  EXPECT_EQ(q.count("output.weight"), 0u);  // tied to token_embd
  EXPECT_EQ(q["blk.1.attn_q_norm.weight"], (Shape{32}));
  EXPECT_EQ(q["blk.1.attn_k_norm.weight"], (Shape{32}));

  auto g = shapes(*gemma3);
  EXPECT_EQ(g.size(), 2u + 6 * 13);
  EXPECT_EQ(g.count("output.weight"), 0u);
  EXPECT_EQ(g["blk.5.post_attention_norm.weight"], (Shape{128}));
  EXPECT_EQ(g["blk.5.post_ffw_norm.weight"], (Shape{128}));
  EXPECT_EQ(g["blk.0.attn_k.weight"], (Shape{128, 32}));  // one KV head
  EXPECT_EQ(gemma3->metadata.get_int("gemma3.attention.sliding_window").value_or(0), 16);

  for (const SynthTensor& tensor : gemma3->tensors) {
    EXPECT_EQ(tensor.type, tensor.shape.size() == 1 ? GgmlType::kF32 : GgmlType::kF16)
        << tensor.name;
  }
  EXPECT_EQ(
      qwen3->n_params,
      128u * 320 + 128 + 4 * (2 * 128 + 2 * 32 + 128 * (128 + 64 * 2) + 128 * 128 + 3 * 128 * 384));
}

TEST(SynthPlan, BlockTypesFallBackToF16ForShortRows) {
  const auto config = synth_config_from_dims("llama", "48,1,3,1,16,96");
  ASSERT_TRUE(config.ok()) << config.error().message();
  const auto plan = plan_synth(*config, GgmlType::kQ4_0, small_vocab(), 1);
  ASSERT_TRUE(plan.ok());
  // Rows of 48 (d_model) do not split into blocks of 32; rows of 96 (d_ff) do.
  EXPECT_EQ(plan->n_fallback, 8);
  for (const SynthTensor& tensor : plan->tensors) {
    if (tensor.shape.size() == 1) continue;
    EXPECT_EQ(tensor.type, tensor.shape[0] == 96 ? GgmlType::kQ4_0 : GgmlType::kF16) << tensor.name;
  }
  EXPECT_TRUE(write_synth(*plan, testing::temp_path("fallback.gguf")).ok());
}

TEST(SynthPlan, RejectsTensorsTooLargeToHold) {
  const auto config = synth_config_from_dims("llama", "65536,1,64,8,128,1024");
  ASSERT_TRUE(config.ok());
  const auto plan = plan_synth(*config, GgmlType::kF32, small_vocab(70000), 1);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message(),
            "tensor 'token_embd.weight' would take 17.1 GiB, more than the 16 GiB allowed");
}

TEST(SynthPlan, RejectsEmptyVocabulary) {
  const auto plan = plan_synth(preset("qwen3", "tiny"), GgmlType::kF16, gguf::Metadata{}, 1);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("tokenizer.ggml.tokens"), std::string::npos);
}

struct Moments {
  double mean = 0;
  double std = 0;
};

Moments moments(const gguf::TensorInfo& tensor) {
  std::vector<float> values(tensor.n_elements);
  tensor::dequantize_row(static_cast<GgmlType>(tensor.type), tensor.data.data(), values.data(),
                         static_cast<int64_t>(values.size()));
  double sum = 0;
  double sum_squares = 0;
  for (const float v : values) {
    sum += v;
    sum_squares += double(v) * v;
  }
  const double n = static_cast<double>(values.size());
  return {sum / n, std::sqrt(std::max(0.0, sum_squares / n - (sum / n) * (sum / n)))};
}

TEST(SynthWrite, ReadsBackWithPlannedShapesAndStatistics) {
  const auto plan = plan_synth(preset("qwen3", "tiny"), GgmlType::kQ8_0, small_vocab(512), 7);
  ASSERT_TRUE(plan.ok());
  const auto path = testing::temp_path("qwen3.gguf");
  uint64_t last_done = 0;
  uint64_t last_total = 0;
  ASSERT_TRUE(write_synth(*plan, path, [&](uint64_t done, uint64_t total) {
                last_done = done;
                last_total = total;
              }).ok());
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(last_total, std::filesystem::file_size(path));

  const auto file = gguf::File::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->metadata().entries().size(), plan->metadata.entries().size());
  ASSERT_EQ(file->tensors().size(), plan->tensors.size());
  for (size_t i = 0; i < plan->tensors.size(); ++i) {
    const SynthTensor& planned = plan->tensors[i];
    const gguf::TensorInfo& written = file->tensors()[i];
    EXPECT_EQ(written.name, planned.name);
    EXPECT_EQ(written.shape, planned.shape);
    EXPECT_EQ(written.type, static_cast<uint32_t>(planned.type));
    const Moments m = moments(written);
    // Normal samples: the mean within 5 standard errors, the std within 10%.
    const double n = static_cast<double>(written.n_elements);
    EXPECT_NEAR(m.mean, planned.mean, 5 * planned.std / std::sqrt(n) + 1e-3) << planned.name;
    EXPECT_NEAR(m.std, planned.std, 0.1 * planned.std + 0.5 / std::sqrt(n)) << planned.name;
  }
}

TEST(SynthWrite, SameSeedSameBytesWhateverTheThreadCount) {
  const auto vocab = small_vocab(1000);
  const SynthConfig config = preset("gemma3", "tiny");
  std::vector<std::string> bytes;
  const std::pair<uint64_t, int> runs[] = {{42, 1}, {42, 3}, {43, 2}};  // (seed, threads)
  for (const auto& [seed, n_threads] : runs) {
    const auto plan = plan_synth(config, GgmlType::kQ4_0, vocab, seed);
    ASSERT_TRUE(plan.ok());
    const auto path = testing::temp_path("seed" + std::to_string(bytes.size()) + ".gguf");
    ASSERT_TRUE(write_synth(*plan, path, {}, n_threads).ok());
    auto contents = read_file(path);
    ASSERT_TRUE(contents.ok());
    bytes.push_back(std::move(contents).value());
  }
  EXPECT_EQ(bytes[0], bytes[1]);
  EXPECT_NE(bytes[0], bytes[2]);
  EXPECT_EQ(bytes[0].size(), bytes[2].size());
}

TEST(SynthWrite, FailsCleanlyOnUnwritablePath) {
  const auto plan = plan_synth(preset("llama", "tiny"), GgmlType::kF16, small_vocab(), 1);
  ASSERT_TRUE(plan.ok());
  const Status status = write_synth(*plan, "/nonexistent-dir/model.gguf");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("/nonexistent-dir/model.gguf"), std::string::npos)
      << status.error().message();
}

TEST(SynthVocab, CopiesTokenizerKeysFromGguf) {
  HEARTH_REQUIRE_TESTDATA(path, "tokenizers/llama2_meta_gguf/ggml-vocab-llama-spm.gguf");
  const auto vocab = load_synth_vocab(path);
  ASSERT_TRUE(vocab.ok()) << vocab.error().message();
  EXPECT_EQ((*vocab->get_array("tokenizer.ggml.tokens"))->items.size(), 32000u);
  EXPECT_EQ(vocab->get_string("tokenizer.ggml.model").value_or(""), "llama");
  EXPECT_EQ(vocab->get_int("tokenizer.ggml.bos_token_id").value_or(-1), 1);
  for (const auto& [key, value] : vocab->entries()) {
    EXPECT_EQ(key.rfind("tokenizer.", 0), 0u) << key;  // llama.*, general.* stay behind
  }
  const auto plan = plan_synth(preset("llama", "tiny"), GgmlType::kF16, *vocab, 1);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->n_vocab, 32000);
  EXPECT_EQ(plan->metadata.get_int("llama.vocab_size").value_or(0), 32000);
  EXPECT_EQ(plan->metadata.get_int("llama.block_count").value_or(0), 4);  // ours, not the file's
}

TEST(SynthVocab, ImportsTokenizerJson) {
  HEARTH_REQUIRE_TESTDATA(path, "tokenizers/qwen3/tokenizer.json");
  const auto vocab = load_synth_vocab(path);
  ASSERT_TRUE(vocab.ok()) << vocab.error().message();
  EXPECT_EQ(vocab->get_string("tokenizer.ggml.model").value_or(""), "gpt2");
  EXPECT_GT((*vocab->get_array("tokenizer.ggml.tokens"))->items.size(), 151000u);
}

TEST(SynthVocab, ErrorsNameTheFile) {
  const auto missing = load_synth_vocab("/nonexistent/vocab.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/vocab.gguf"), std::string::npos)
      << missing.error().message();
  const auto missing_json = load_synth_vocab("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing_json.ok());
  EXPECT_NE(missing_json.error().message().find("/nonexistent/tokenizer.json"), std::string::npos)
      << missing_json.error().message();

  // A valid GGUF file without a vocabulary.
  gguf::Writer writer;
  writer.metadata().set("general.architecture", string_value("llama"));
  const auto no_vocab = testing::temp_path("no_vocab.gguf");
  ASSERT_TRUE(writer.write(no_vocab).ok());
  const auto result = load_synth_vocab(no_vocab);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(),
            "vocabulary '" + no_vocab.string() + "' has no tokenizer.ggml.tokens string array");
}

}  // namespace
}  // namespace hearth::model
