// Hyper-parameters of a loaded model, read from GGUF metadata with llama.cpp's keys and defaults
// (`{arch}.embedding_length`, `{arch}.attention.key_length`, ...). The generic keys are read here
// once; each architecture file adds its own (sliding windows, scaling) and its defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"
#include "hearth/tensor/ops.h"

namespace hearth::model {

struct LayerRope {
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
};

// The attention shape of one layer. read_common_config gives every layer the file's uniform
// values; Gemma 4 gives its sliding-window layers their own head size ({arch}.attention.
// key_length_swa) and KV head count ({arch}.attention.head_count_kv as a per-layer array).
struct LayerAttention {
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;    // of queries and keys
  int64_t head_dim_v = 0;  // of values
  int rope_dims = 0;
  bool rope_freq_factors = true;  // whether config.rope_freq_factors apply to this layer
  // The layer whose KV cache holds this layer's keys and values: itself, or for Gemma 4's
  // shared-KV layers ({arch}.attention.shared_kv_layers) an earlier layer of the same kind,
  // which this layer only reads (it projects no keys or values of its own).
  int64_t kv_layer = 0;
};

// The Gated DeltaNet (linear attention) layers of hybrid models (qwen35, qwen35moe), with
// llama.cpp's keys: {arch}.ssm.conv_kernel, .ssm.group_count (key heads), .ssm.time_step_rank
// (value heads), .ssm.state_size (the size of every key and value head), .ssm.inner_size
// (n_v_heads * head_dim).
struct DeltaNetShape {
  int64_t conv_kernel = 0;  // taps of the causal depthwise convolution
  int64_t n_k_heads = 0;    // query/key heads; value head h reads key head h % n_k_heads
  int64_t n_v_heads = 0;
  int64_t head_dim = 0;
  int64_t key_dim() const { return n_k_heads * head_dim; }
  int64_t value_dim() const { return n_v_heads * head_dim; }
  // Channels of the convolution: queries, keys, values.
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
  // Floats a sequence keeps per layer: the last conv_kernel - 1 inputs of the convolution, and
  // one [head_dim][head_dim] state matrix per value head.
  int64_t conv_state() const { return (conv_kernel - 1) * conv_dim(); }
  int64_t recurrent_state() const { return n_v_heads * head_dim * head_dim; }
};

struct ModelConfig {
  std::string arch;  // general.architecture
  std::string name;  // general.name, or the file name
  int64_t n_vocab = 0;
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // of layer 0 (per layer: layer_attention)
  int64_t head_dim = 0;    // of queries and keys ({arch}.attention.key_length)
  int64_t head_dim_v = 0;  // of values ({arch}.attention.value_length)
  // The dense feed-forward width of the widest layer ({arch}.feed_forward_length, one value or
  // per layer). Optional in files with experts, as in llama.cpp: 0 for every layer when absent
  // (the architecture then derives its expert widths from their own keys, or reports them missing).
  int64_t d_ff = 0;
  std::vector<int64_t> layer_d_ff;  // per layer (Gemma 4 E2B doubles it in its shared-KV layers)
  // Mixture of experts (0 for dense models): {arch}.expert_count experts, of which each token
  // uses {arch}.expert_used_count; each expert's feed-forward width ({arch}.
  // expert_feed_forward_length, read by the architectures that have experts).
  int64_t n_experts = 0;
  int64_t n_experts_used = 0;
  int64_t d_ff_exp = 0;
  int64_t n_ctx_train = 0;  // {arch}.context_length
  float rms_eps = 1e-5f;

  tensor::RopeLayout rope_layout = tensor::RopeLayout::kNormal;
  int rope_dims = 0;  // {arch}.rope.dimension_count, default head_dim
  LayerRope rope;     // {arch}.rope.freq_base, 1 / {arch}.rope.scaling.factor
  // Attention logits are q.k * attention_scale (default 1/sqrt(head_dim)).
  float attention_scale = 0.0f;
  // Per layer: attends only to the last `sliding_window` positions (0: every position).
  std::vector<int64_t> layer_window;
  // Per layer RoPE (differs between sliding and global layers in Gemma 3).
  std::vector<LayerRope> layer_rope;
  // Per layer attention shape (n_layers entries).
  std::vector<LayerAttention> layer_attention;
  // Hybrid models: which layers are Gated DeltaNet layers (no KV cache, a recurrent state
  // instead) and their shape. Empty when every layer attends.
  std::vector<bool> layer_recurrent;
  DeltaNetShape delta_net;
  float final_logit_softcap = 0.0f;  // {arch}.final_logit_softcapping; 0 = none
  // Llama 3's long-context RoPE: per-pair divisors of the frequency, from the rope_freqs.weight
  // tensor (rope_dims / 2 values); empty when the file has none.
  std::vector<float> rope_freq_factors;
};

// The keys every architecture shares: `arch` is general.architecture. n_vocab is left for the
// weight binding (the token embedding's row count).
Result<ModelConfig> read_common_config(const gguf::Metadata& metadata, std::string arch);

// `{arch}.<suffix>` as an integer / float, or `fallback` when absent; an Error when present with
// a wrong type or out of range.
Result<int64_t> arch_int(const gguf::Metadata& metadata, const std::string& arch,
                         std::string_view suffix, int64_t fallback);
// An Error naming {arch}.feed_forward_length unless every layer's width is positive: what a
// model needs whose every layer has a dense feed-forward block (read_common_config asks it of
// files without experts; Gemma 4's MoE layers keep a dense block beside the experts).
Status require_dense_widths(const ModelConfig& config, const std::string& arch);
// An expert width `{arch}.<suffix>`, or when it is absent or 0 llama.cpp's `fallback` (derived
// from {arch}.feed_forward_length, 0 when that is absent too); an Error naming both keys when
// neither gives a positive width.
Result<int64_t> expert_width(const gguf::Metadata& metadata, const std::string& arch,
                             std::string_view suffix, int64_t fallback);
// `{arch}.<suffix>` as one integer for every layer or an array of n_layers integers (llama.cpp's
// get_key_or_arr); `fallback` for every layer when absent.
Result<std::vector<int64_t>> arch_int_per_layer(const gguf::Metadata& metadata,
                                                const std::string& arch, std::string_view suffix,
                                                int64_t n_layers, int64_t fallback);
Result<float> arch_float(const gguf::Metadata& metadata, const std::string& arch,
                         std::string_view suffix, float fallback);

}  // namespace hearth::model
