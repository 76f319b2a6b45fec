// Synthetic models: GGUF files of a real architecture (llama, qwen3, gemma3) and shape with
// random weights and a real vocabulary, laid out exactly as llama.cpp's converter writes them
// (metadata keys, tensor names and shapes), for tests, benchmarks and the default demo model.
// Owns the presets, the weight initialisation and the streaming write; not the tokenizer
// conversion (tokenizer/hf_import.h) nor the GGUF container (gguf/gguf.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/ggml_types.h"
#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"

namespace hearth::model {

// Architecture and hyper-parameters of a synthetic model, in the names of STYLE.md.
struct SynthConfig {
  std::string arch;  // "llama", "qwen3", "qwen3moe", "gemma3", "gemma4", "qwen35", "qwen35moe"
  std::string name;  // general.name
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t d_ff = 0;
  int64_t n_ctx = 0;  // {arch}.context_length (training context)
  float rope_theta = 0;
  float rms_eps = 0;
  // gemma3, gemma4: local (sliding-window) layers use their own RoPE base and window.
  float rope_theta_swa = 0;
  int64_t sliding_window = 0;
  // gemma4 only: every sliding_period-th layer is global (the others slide), with its own head
  // size and KV head count (head_dim / n_kv_heads above are the sliding layers').
  int64_t sliding_period = 0;
  int64_t head_dim_global = 0;
  int64_t n_kv_heads_global = 0;
  // Mixture-of-experts architectures (qwen3moe) only: n_experts experts of width d_ff_exp (0:
  // d_ff / n_experts_used, llama.cpp's fallback) of which each token uses n_experts_used.
  int64_t n_experts = 0;
  int64_t n_experts_used = 0;
  int64_t d_ff_exp = 0;
  // gemma4 only. n_experts > 0 puts a mixture of experts beside every layer's feed-forward
  // (26B-A4B). The on-device variants (E2B/E4B): per-layer inputs of width d_per_layer_input
  // (0: none); the last n_kv_shared_layers layers read an earlier layer's KV cache, and their
  // feed-forward is twice as wide when double_wide_ffn; global_value_proj gives the global
  // layers their own attn_v (their attention_k_eq_v is false).
  int64_t d_per_layer_input = 0;
  int64_t n_kv_shared_layers = 0;
  bool double_wide_ffn = false;
  bool global_value_proj = false;
  // qwen35moe: the shared expert's width (0: d_ff).
  int64_t d_ff_shared = 0;
  // qwen35, qwen35moe: every full_attention_interval-th layer is a gated attention layer whose
  // RoPE turns the first rope_dims dims of each head (0: all); the others are Gated DeltaNet
  // layers with delta_n_k_heads query/key heads and delta_n_v_heads value heads of
  // delta_head_dim and a causal convolution of conv_kernel taps.
  int64_t full_attention_interval = 0;
  int64_t rope_dims = 0;
  int64_t delta_n_k_heads = 0;
  int64_t delta_n_v_heads = 0;
  int64_t delta_head_dim = 0;
  int64_t conv_kernel = 0;
};

std::vector<std::string_view> synth_arches();
// Preset names, each with the architecture it belongs to ("tiny" exists for every one).
std::vector<std::pair<std::string_view, std::string_view>> synth_presets();

// The preset `preset` of `arch`; an empty arch means the preset's own (an error for "tiny").
Result<SynthConfig> synth_preset(std::string_view arch, std::string_view preset);
// "d_model,n_layers,n_heads,n_kv_heads,head_dim,d_ff[,n_ctx]" with the architecture's
// defaults for everything else. Validated.
Result<SynthConfig> synth_config_from_dims(std::string_view arch, std::string_view dims);
// Positive, consistent and within sane bounds (so sizes cannot overflow).
Status validate_synth_config(const SynthConfig& config);

// Weight types `hearth synth --type` accepts: f32, f16, bf16, q8_0, q4_0.
Result<GgmlType> synth_weight_type(std::string_view name);

// The tokenizer.* metadata of a vocabulary: copied from a GGUF file, or converted from an
// HF tokenizer.json (+ tokenizer_config.json beside it). Errors name the file.
Result<gguf::Metadata> load_synth_vocab(const std::filesystem::path& path);

struct SynthTensor {
  std::string name;
  std::vector<uint64_t> shape;  // GGUF order: shape[0] is the row length (fan-in)
  GgmlType type;
  float mean;  // weights are mean + std * N(0, 1)
  float std;
  std::vector<float> values;  // when not empty: the tensor's exact values instead (F32 only)
};

// Everything about the file except the weights' values.
struct SynthPlan {
  gguf::Metadata metadata;
  std::vector<SynthTensor> tensors;
  int64_t n_vocab = 0;
  uint64_t n_params = 0;
  uint64_t seed = 0;
  // 2-D tensors stored as F16 because their row length is not a multiple of the requested
  // block type's block size (as llama-quantize falls back).
  int n_fallback = 0;
};

// `vocab` is load_synth_vocab's result; its token count sets n_vocab.
Result<SynthPlan> plan_synth(const SynthConfig& config, GgmlType type, const gguf::Metadata& vocab,
                             uint64_t seed);

// Writes the file, generating each tensor while it is written (memory: one tensor at a time)
// on `n_threads` threads (0: one per hardware thread). The weights depend only on the seed and
// the tensor's name, not on the thread count. `progress` gets (bytes written, total bytes).
Status write_synth(const SynthPlan& plan, const std::filesystem::path& path,
                   const std::function<void(uint64_t, uint64_t)>& progress = {}, int n_threads = 0);

}  // namespace hearth::model
