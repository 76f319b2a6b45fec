// Gemma 4 (general.architecture "gemma4"), dense variants (e.g. Gemma 4 31B), as llama.cpp's
// src/models/gemma4.cpp: Gemma 3's sandwich-normed decoder (embeddings scaled by sqrt(d_model),
// q/k head norms, GELU(tanh) gated feed-forward, NeoX RoPE, tied output, final logit softcap)
// with: a per-layer sliding-window flag array; sliding layers with their own head size
// (attention.key_length_swa), KV head count (head_count_kv array) and RoPE base/dims; global
// layers whose RoPE takes rope_freqs.weight ("proportional" RoPE: factors of 1e30 freeze the
// unrotated pairs) and whose values may be the key projection (no attn_v); values RMS-normed
// without a weight; attention scale 1 (the q norm carries it); each layer's output multiplied by
// blk.N.layer_output_scale. Not yet: the MoE variant (26B-A4B) and the small on-device ones (per-
// layer embeddings, KV shared between layers) — refused at load with a message.
#include <cmath>

#include "hearth/model/arch/registry.h"

namespace hearth::model {
namespace {

constexpr std::string_view kArch = "gemma4";

class Gemma4Model final : public ArchModel {
 public:
  struct Layer {
    Vector attn_norm;  // [d_model]
    AttentionWeights attention;
    Vector post_attn_norm;  // [d_model]
    Vector ffn_norm;        // [d_model]
    FfnWeights ffn;
    Vector post_ffn_norm;       // [d_model]
    float output_scale = 1.0f;  // blk.N.layer_output_scale (1 when absent)
  };

  Gemma4Model(ModelConfig config, OutputWeights output, std::vector<Layer> layers)
      : ArchModel(std::move(config)), output_(std::move(output)), layers_(std::move(layers)) {}

  void forward(ForwardPass& pass, std::vector<float>& logits) const override {
    const int64_t d_model = config_.d_model;
    // [n_tokens][d_model]
    float* x = pass.embed(output_.token_embd, std::sqrt(static_cast<float>(d_model)));
    float* h = pass.normed();       // [n_tokens][d_model]
    float* out = pass.block_out();  // [n_tokens][d_model]
    for (size_t il = 0; il < layers_.size(); ++il) {
      const Layer& layer = layers_[il];
      const auto l = static_cast<int64_t>(il);
      pass.rms_norm(x, layer.attn_norm, h, d_model);
      pass.attention(l, layer.attention, h, out);
      pass.rms_norm(out, layer.post_attn_norm, out, d_model);
      pass.add_residual(x, out);
      pass.trace(l, "attn_out", x, d_model);
      pass.rms_norm(x, layer.ffn_norm, h, d_model);
      pass.feed_forward(layer.ffn, Activation::kGeluTanh, h, out);
      pass.rms_norm(out, layer.post_ffn_norm, out, d_model);
      pass.add_residual(x, out);
      if (layer.output_scale != 1.0f) {
        tensor::scale(x, layer.output_scale, x, pass.n_tokens() * d_model);
      }
      pass.trace(l, "l_out", x, d_model);
    }
    pass.finish(x, output_.output_norm, output_.output, logits);
  }

 private:
  OutputWeights output_;
  std::vector<Layer> layers_;
};

// The keys llama.cpp's gemma4 loader requires (get_key without `false`).
Result<int64_t> required(const gguf::Metadata& metadata, std::string_view suffix) {
  HEARTH_ASSIGN_OR_RETURN(const int64_t value, arch_int(metadata, std::string(kArch), suffix, -1));
  if (value < 0) return make_error("metadata {}.{} is missing", kArch, suffix);
  return value;
}

Result<std::vector<bool>> sliding_layers(const gguf::Metadata& metadata, int64_t n_layers) {
  const std::string key = fmt::format("{}.attention.sliding_window_pattern", kArch);
  HEARTH_ASSIGN_OR_RETURN(const gguf::Array* array, metadata.get_array(key));
  if (static_cast<int64_t>(array->items.size()) != n_layers) {
    return make_error("metadata {} has {} entries for {} layers", key, array->items.size(),
                      n_layers);
  }
  std::vector<bool> sliding;
  for (const gguf::Value& item : array->items) {
    if (const auto b = item.to_bool()) {
      sliding.push_back(*b);
    } else if (const auto i = item.to_int()) {
      sliding.push_back(*i != 0);
    } else {
      return make_error("metadata {} holds a value that is not a bool", key);
    }
  }
  return sliding;
}

}  // namespace

Result<std::unique_ptr<ArchModel>> load_gemma4(const gguf::File& file) {
  const gguf::Metadata& metadata = file.metadata();
  const std::string arch(kArch);
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(metadata, arch));
  config.rope_layout = tensor::RopeLayout::kNeox;
  config.attention_scale = 1.0f;  // llama.cpp: f_attention_scale = 1 (HF's self.scaling = 1.0)

  HEARTH_ASSIGN_OR_RETURN(const int64_t per_layer_embd,
                          required(metadata, "embedding_length_per_layer_input"));
  HEARTH_ASSIGN_OR_RETURN(const int64_t shared_kv_layers,
                          arch_int(metadata, arch, "attention.shared_kv_layers", 0));
  if (per_layer_embd > 0 || shared_kv_layers > 0) {
    return make_error(
        "gemma4 with per-layer embeddings or shared KV layers (the E2B/E4B variants) is not "
        "supported yet");
  }
  if (config.n_experts > 0) {
    return make_error("gemma4 with experts (the 26B-A4B variant) is not supported yet");
  }
  HEARTH_ASSIGN_OR_RETURN(const int64_t window, required(metadata, "attention.sliding_window"));
  HEARTH_ASSIGN_OR_RETURN(const int64_t head_dim_swa,
                          required(metadata, "attention.key_length_swa"));
  HEARTH_ASSIGN_OR_RETURN(const int64_t head_dim_v_swa,
                          required(metadata, "attention.value_length_swa"));
  // llama.cpp's defaults: the global layers' rotary dims and base 10000.
  HEARTH_ASSIGN_OR_RETURN(const int64_t rope_dims_swa,
                          arch_int(metadata, arch, "rope.dimension_count_swa", config.rope_dims));
  HEARTH_ASSIGN_OR_RETURN(const float swa_base,
                          arch_float(metadata, arch, "rope.freq_base_swa", 10000.0f));
  if (config.head_dim != config.head_dim_v || head_dim_swa != head_dim_v_swa) {
    return make_error("gemma4 needs key and value heads of one size");
  }
  if (head_dim_swa <= 0 || rope_dims_swa <= 0 || rope_dims_swa > head_dim_swa ||
      rope_dims_swa % 2 != 0) {
    return make_error("metadata {}.rope.dimension_count_swa = {} does not fit head size {}", arch,
                      rope_dims_swa, head_dim_swa);
  }
  HEARTH_ASSIGN_OR_RETURN(const std::vector<bool> sliding,
                          sliding_layers(metadata, config.n_layers));
  bool any_global = false;
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const auto i = static_cast<size_t>(il);
    if (!sliding[i]) {
      any_global = true;
      continue;
    }
    config.layer_window[i] = window;
    config.layer_rope[i] = LayerRope{swa_base, 1.0f};
    LayerAttention& shape = config.layer_attention[i];
    shape.head_dim = head_dim_swa;
    shape.head_dim_v = head_dim_v_swa;
    shape.rope_dims = static_cast<int>(rope_dims_swa);
    shape.rope_freq_factors = false;  // rope_freqs is the global layers' only
  }

  const WeightBinder binder(file);
  HEARTH_ASSIGN_OR_RETURN(OutputWeights output, bind_output(binder, config));
  if (any_global) {
    HEARTH_ASSIGN_OR_RETURN(config.rope_freq_factors,
                            binder.vector("rope_freqs.weight", config.rope_dims / 2));
  }
  std::vector<Gemma4Model::Layer> layers;
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    const LayerAttention& shape = config.layer_attention[static_cast<size_t>(il)];
    const int64_t d = config.d_model;
    Gemma4Model::Layer layer;
    HEARTH_ASSIGN_OR_RETURN(layer.attn_norm, binder.vector(blk + "attn_norm.weight", d));
    AttentionWeights& attn = layer.attention;
    HEARTH_ASSIGN_OR_RETURN(
        attn.q, binder.matrix(blk + "attn_q.weight", d, config.n_heads * shape.head_dim));
    HEARTH_ASSIGN_OR_RETURN(
        attn.k, binder.matrix(blk + "attn_k.weight", d, shape.n_kv_heads * shape.head_dim));
    // Absent in layers with attention_k_eq_v (Gemma 4 31B's global layers): V = K.
    HEARTH_ASSIGN_OR_RETURN(attn.v, binder.optional_matrix(blk + "attn_v.weight", d,
                                                           shape.n_kv_heads * shape.head_dim_v));
    HEARTH_ASSIGN_OR_RETURN(attn.output, binder.matrix(blk + "attn_output.weight",
                                                       config.n_heads * shape.head_dim_v, d));
    HEARTH_ASSIGN_OR_RETURN(attn.q_norm, binder.vector(blk + "attn_q_norm.weight", shape.head_dim));
    HEARTH_ASSIGN_OR_RETURN(attn.k_norm, binder.vector(blk + "attn_k_norm.weight", shape.head_dim));
    attn.v_norm = true;
    HEARTH_ASSIGN_OR_RETURN(layer.post_attn_norm,
                            binder.vector(blk + "post_attention_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn_norm, binder.vector(blk + "ffn_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn, bind_ffn(binder, config, il));
    HEARTH_ASSIGN_OR_RETURN(layer.post_ffn_norm, binder.vector(blk + "post_ffw_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(const Vector scale,
                            binder.optional_vector(blk + "layer_output_scale.weight", 1));
    if (!scale.empty()) layer.output_scale = scale[0];
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<ArchModel>(
      new Gemma4Model(std::move(config), std::move(output), std::move(layers)));
}

}  // namespace hearth::model
