// Gemma 4 (general.architecture "gemma4"), every variant llama.cpp's src/models/gemma4.cpp runs:
// Gemma 3's sandwich-normed decoder (embeddings scaled by sqrt(d_model), q/k head norms,
// GELU(tanh) gated feed-forward, NeoX RoPE, tied output, final logit softcap) with a per-layer
// sliding-window flag array; sliding layers with their own head size, KV heads and RoPE; global
// layers with "proportional" RoPE (rope_freqs.weight) and values that may be the key projection;
// values RMS-normed without a weight; attention scale 1; each layer's output scaled by
// blk.N.layer_output_scale. Plus, where the file has them:
// - experts (26B-A4B): beside the dense feed-forward (the shared expert), a mixture of experts
//   whose router reads the unweighted RMS norm of the residual / sqrt(d_model) * a learned scale;
// - per-layer inputs (E2B/E4B): a second token embedding of n_layers x {arch}.embedding_length_
//   per_layer_input, mixed with a projection of the input embedding, gating a small residual
//   branch at the end of every layer;
// - shared KV ({arch}.attention.shared_kv_layers): the last layers project only queries and read
//   the cache of the last earlier layer of their kind (llama.cpp's layer_reuse_cb);
// - per-layer feed-forward widths (E2B doubles them in the shared-KV layers).
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
    FfnWeights ffn;         // [d_model] <-> [layer d_ff]; the shared expert in an MoE layer
    Vector post_ffn_norm;   // [d_model]
    // Mixture-of-experts layers only (moe.router empty otherwise).
    Vector post_ffn_norm_1;  // [d_model] after the dense feed-forward
    Vector pre_ffn_norm_2;   // [d_model] before the experts
    Vector router_scale;     // [d_model] ffn_gate_inp.scale
    MoeWeights moe;          // router [d_model] -> [n_experts]; experts [d_model] <-> [d_ff_exp]
    Vector post_ffn_norm_2;  // [d_model] after the experts
    // Per-layer input branch (empty when the model has none).
    Matrix per_layer_gate;       // inp_gate [d_model] -> [width]
    Matrix per_layer_proj;       // proj [width] -> [d_model]
    Vector per_layer_post_norm;  // [d_model]
    float output_scale = 1.0f;   // blk.N.layer_output_scale (1 when absent)
  };

  // The model-wide part of the per-layer inputs; width 0 when the model has none.
  struct PerLayerInputs {
    int64_t width = 0;  // {arch}.embedding_length_per_layer_input
    Matrix token_embd;  // per_layer_token_embd: [n_layers * width] x n_vocab rows
    Matrix model_proj;  // per_layer_model_proj: [d_model] -> [n_layers * width]
    Vector proj_norm;   // per_layer_proj_norm: [width]
  };

  Gemma4Model(ModelConfig config, OutputWeights output, PerLayerInputs per_layer,
              std::vector<Layer> layers)
      : ArchModel(std::move(config)),
        output_(std::move(output)),
        per_layer_(std::move(per_layer)),
        layers_(std::move(layers)) {
    // llama.cpp: build_moe_ffn(..., LLM_FFN_GELU, norm_w = true, w_scale = 1, softmax gating).
    routing_ = MoeRouting{.n_experts_used = config_.n_experts_used,
                          .normalize = true,
                          .scale = 1.0f,
                          .activation = Activation::kGeluTanh};
  }

  void forward(ForwardPass& pass, std::vector<float>& logits) const override {
    const int64_t d_model = config_.d_model;
    // [n_tokens][d_model]
    float* x = pass.embed(output_.token_embd, std::sqrt(static_cast<float>(d_model)));
    float* h = pass.normed();       // [n_tokens][d_model]
    float* out = pass.block_out();  // [n_tokens][d_model]
    // [n_tokens][n_layers][width], from the scaled embeddings before any layer.
    const float* per_layer = per_layer_.width > 0 ? per_layer_inputs(pass, x) : nullptr;
    for (size_t il = 0; il < layers_.size(); ++il) {
      const Layer& layer = layers_[il];
      const auto l = static_cast<int64_t>(il);
      pass.rms_norm(x, layer.attn_norm, h, d_model);
      pass.attention(l, layer.attention, h, out);
      pass.rms_norm(out, layer.post_attn_norm, out, d_model);
      pass.add_residual(x, out);
      pass.trace(l, "attn_out", x, d_model);
      if (layer.moe.router) {
        shared_and_routed_experts(pass, layer, x, h, out);
      } else {
        pass.rms_norm(x, layer.ffn_norm, h, d_model);
        pass.feed_forward(layer.ffn, Activation::kGeluTanh, h, out);
      }
      pass.rms_norm(out, layer.post_ffn_norm, out, d_model);
      pass.add_residual(x, out);
      if (per_layer != nullptr) add_per_layer_input(pass, layer, l, per_layer, x);
      if (layer.output_scale != 1.0f) {
        tensor::scale(x, layer.output_scale, x, pass.n_tokens() * d_model);
      }
      pass.trace(l, "l_out", x, d_model);
    }
    pass.finish(x, output_.output_norm, output_.output, logits);
  }

 private:
  // Scratch slots of the pass (ForwardPass::scratch).
  static constexpr size_t kPerLayerInputs = 0;  // [n_tokens][n_layers][width], whole pass
  static constexpr size_t kRows = 1;            // [n_tokens][d_model or n_layers * width]
  static constexpr size_t kRouterLogits = 2;    // [n_tokens][n_experts]
  static constexpr size_t kGate = 3;            // [n_tokens][width]

  // llama.cpp's build_inp_per_layer + project_per_layer_inputs: (rms_norm(per_layer_model_proj
  // x / sqrt(d_model)) * proj_norm + per_layer_token_embd[token] * sqrt(width)) / sqrt(2), for
  // each layer's slice of width; x is the scaled input embedding.
  const float* per_layer_inputs(ForwardPass& pass, const float* x) const {
    const int64_t n_tokens = pass.n_tokens();
    const int64_t width = per_layer_.width;
    const int64_t n = n_tokens * config_.n_layers * width;
    float* inputs = pass.scratch(kPerLayerInputs, n);
    pass.gather_rows(per_layer_.token_embd, std::sqrt(static_cast<float>(width)), inputs);
    float* projected = pass.scratch(kRows, n);
    pass.linear(per_layer_.model_proj, x, projected);
    tensor::scale(projected, 1.0f / std::sqrt(static_cast<float>(config_.d_model)), projected, n);
    for (int64_t row = 0; row < n_tokens * config_.n_layers; ++row) {
      float* slice = projected + row * width;
      tensor::rms_norm(slice, per_layer_.proj_norm.data(), slice, width, config_.rms_eps);
    }
    tensor::add(projected, inputs, inputs, n);
    tensor::scale(inputs, 1.0f / std::sqrt(2.0f), inputs, n);
    pass.trace(-1, "inp_per_layer", inputs, config_.n_layers * width);
    return inputs;
  }

  // x += rms_norm(proj(gelu(inp_gate x) * per_layer[t][layer])) * post_norm.
  void add_per_layer_input(ForwardPass& pass, const Layer& layer, int64_t il,
                           const float* per_layer, float* x) const {
    const int64_t n_tokens = pass.n_tokens();
    const int64_t width = per_layer_.width;
    float* gate = pass.scratch(kGate, n_tokens * width);  // [n_tokens][width]
    pass.linear(layer.per_layer_gate, x, gate);
    for (int64_t t = 0; t < n_tokens; ++t) {
      float* row = gate + t * width;
      tensor::gelu_tanh_mul(row, per_layer + (t * config_.n_layers + il) * width, row, width);
    }
    float* branch = pass.scratch(kRows, n_tokens * config_.d_model);  // [n_tokens][d_model]
    pass.linear(layer.per_layer_proj, gate, branch);
    pass.rms_norm(branch, layer.per_layer_post_norm, branch, config_.d_model);
    pass.trace(il, "per_layer_embd_out", branch, config_.d_model);
    pass.add_residual(x, branch);
  }

  // out = post_norm_1(ffn(ffn_norm(x))) + post_norm_2(experts(pre_norm_2(x))), the experts
  // routed by router(rms_norm(x) / sqrt(d_model) * router_scale).
  void shared_and_routed_experts(ForwardPass& pass, const Layer& layer, const float* x, float* h,
                                 float* out) const {
    const int64_t n_tokens = pass.n_tokens();
    const int64_t d_model = config_.d_model;
    pass.rms_norm(x, layer.ffn_norm, h, d_model);
    pass.feed_forward(layer.ffn, Activation::kGeluTanh, h, out);
    pass.rms_norm(out, layer.post_ffn_norm_1, out, d_model);

    float* rows = pass.scratch(kRows, n_tokens * d_model);  // [n_tokens][d_model]
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d_model));
    for (int64_t t = 0; t < n_tokens; ++t) {
      float* row = rows + t * d_model;
      tensor::rms_norm(x + t * d_model, nullptr, row, d_model, config_.rms_eps);
      tensor::scale(row, inv_sqrt_d, row, d_model);
      tensor::mul(row, layer.router_scale.data(), row, d_model);
    }
    float* router_logits = pass.scratch(kRouterLogits, n_tokens * config_.n_experts);
    pass.linear(layer.moe.router, rows, router_logits);  // [n_tokens][n_experts]

    pass.rms_norm(x, layer.pre_ffn_norm_2, h, d_model);
    pass.moe(layer.moe, routing_, h, rows, router_logits);  // rows: [n_tokens][d_model]
    pass.rms_norm(rows, layer.post_ffn_norm_2, rows, d_model);
    tensor::add(out, rows, out, n_tokens * d_model);
  }

  OutputWeights output_;
  PerLayerInputs per_layer_;
  std::vector<Layer> layers_;
  MoeRouting routing_;
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

// The last attention.shared_kv_layers layers read an earlier layer's cache: llama.cpp's reuse
// callback maps a sliding layer to layer n_kv - 2 and a global one to n_kv - 1 (n_kv: the layers
// with their own cache), which must be of the same kind and shape.
Status share_kv(ModelConfig& config, const std::vector<bool>& sliding, int64_t n_shared) {
  if (n_shared == 0) return Status();
  const int64_t n_kv = config.n_layers - n_shared;
  if (n_kv < 2) {
    return make_error(
        "metadata {}.attention.shared_kv_layers = {} leaves fewer than 2 of {} layers "
        "with a KV cache of their own",
        kArch, n_shared, config.n_layers);
  }
  for (int64_t il = n_kv; il < config.n_layers; ++il) {
    const auto i = static_cast<size_t>(il);
    const int64_t source = n_kv - (sliding[i] ? 2 : 1);
    const auto s = static_cast<size_t>(source);
    const LayerAttention& from = config.layer_attention[s];
    LayerAttention& to = config.layer_attention[i];
    if (sliding[s] != sliding[i] || from.n_kv_heads != to.n_kv_heads ||
        from.head_dim != to.head_dim || from.head_dim_v != to.head_dim_v) {
      return make_error(
          "layer {} ({}) would share the KV cache of layer {} ({}), which differs in kind or "
          "shape",
          il, sliding[i] ? "sliding" : "global", source, sliding[s] ? "sliding" : "global");
    }
    to.kv_layer = source;
  }
  return Status();
}

}  // namespace

Result<std::unique_ptr<ArchModel>> load_gemma4(const gguf::File& file) {
  const gguf::Metadata& metadata = file.metadata();
  const std::string arch(kArch);
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(metadata, arch));
  config.rope_layout = tensor::RopeLayout::kNeox;
  config.attention_scale = 1.0f;  // llama.cpp: f_attention_scale = 1 (HF's self.scaling = 1.0)

  HEARTH_ASSIGN_OR_RETURN(const int64_t per_layer_width,
                          required(metadata, "embedding_length_per_layer_input"));
  HEARTH_ASSIGN_OR_RETURN(const int64_t shared_kv_layers,
                          arch_int(metadata, arch, "attention.shared_kv_layers", 0));
  if (shared_kv_layers >= config.n_layers) {
    return make_error("metadata {}.attention.shared_kv_layers = {} is not below {} layers", arch,
                      shared_kv_layers, config.n_layers);
  }
  // Every layer has a dense feed-forward block (an MoE layer's shared expert beside the experts),
  // so Gemma 4 needs the width the other MoE architectures may leave out.
  HEARTH_RETURN_IF_ERROR(require_dense_widths(config, arch));
  if (config.n_experts > 0) {
    // llama.cpp reads it per layer (get_key_or_arr); hearth's experts have one width.
    HEARTH_ASSIGN_OR_RETURN(
        const std::vector<int64_t> d_ff_exp,
        arch_int_per_layer(metadata, arch, "expert_feed_forward_length", config.n_layers, 0));
    config.d_ff_exp = d_ff_exp.front();
    for (const int64_t width : d_ff_exp) {
      if (width <= 0 || width != config.d_ff_exp) {
        return make_error(
            "metadata {}.expert_feed_forward_length must be one positive width for every layer",
            arch);
      }
    }
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
  HEARTH_RETURN_IF_ERROR(share_kv(config, sliding, shared_kv_layers));

  const WeightBinder binder(file);
  const int64_t d = config.d_model;
  HEARTH_ASSIGN_OR_RETURN(OutputWeights output, bind_output(binder, config));
  if (any_global) {
    HEARTH_ASSIGN_OR_RETURN(config.rope_freq_factors,
                            binder.vector("rope_freqs.weight", config.rope_dims / 2));
  }
  Gemma4Model::PerLayerInputs per_layer;
  if (per_layer_width > 0) {
    per_layer.width = per_layer_width;
    const int64_t all_layers = config.n_layers * per_layer_width;
    HEARTH_ASSIGN_OR_RETURN(per_layer.token_embd, binder.matrix("per_layer_token_embd.weight",
                                                                all_layers, config.n_vocab));
    HEARTH_ASSIGN_OR_RETURN(per_layer.model_proj,
                            binder.matrix("per_layer_model_proj.weight", d, all_layers));
    HEARTH_ASSIGN_OR_RETURN(per_layer.proj_norm,
                            binder.vector("per_layer_proj_norm.weight", per_layer_width));
  }
  std::vector<Gemma4Model::Layer> layers;
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    const LayerAttention& shape = config.layer_attention[static_cast<size_t>(il)];
    Gemma4Model::Layer layer;
    HEARTH_ASSIGN_OR_RETURN(layer.attn_norm, binder.vector(blk + "attn_norm.weight", d));
    AttentionWeights& attn = layer.attention;
    HEARTH_ASSIGN_OR_RETURN(
        attn.q, binder.matrix(blk + "attn_q.weight", d, config.n_heads * shape.head_dim));
    HEARTH_ASSIGN_OR_RETURN(attn.q_norm, binder.vector(blk + "attn_q_norm.weight", shape.head_dim));
    if (shape.kv_layer == il) {  // a layer that reads another's cache needs no k, v, k norm
      HEARTH_ASSIGN_OR_RETURN(
          attn.k, binder.matrix(blk + "attn_k.weight", d, shape.n_kv_heads * shape.head_dim));
      // Absent in layers with attention_k_eq_v (26B-A4B's and 31B's global layers): V = K.
      HEARTH_ASSIGN_OR_RETURN(attn.v, binder.optional_matrix(blk + "attn_v.weight", d,
                                                             shape.n_kv_heads * shape.head_dim_v));
      HEARTH_ASSIGN_OR_RETURN(attn.k_norm,
                              binder.vector(blk + "attn_k_norm.weight", shape.head_dim));
      attn.v_norm = true;
    }
    HEARTH_ASSIGN_OR_RETURN(attn.output, binder.matrix(blk + "attn_output.weight",
                                                       config.n_heads * shape.head_dim_v, d));
    HEARTH_ASSIGN_OR_RETURN(layer.post_attn_norm,
                            binder.vector(blk + "post_attention_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn_norm, binder.vector(blk + "ffn_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn, bind_ffn(binder, config, il));
    HEARTH_ASSIGN_OR_RETURN(layer.post_ffn_norm, binder.vector(blk + "post_ffw_norm.weight", d));
    // As llama.cpp: a layer is a mixture-of-experts layer when it has a router.
    if (binder.contains(blk + "ffn_gate_inp.weight")) {
      if (config.n_experts == 0) {
        return make_error(
            "layer {} has a router (ffn_gate_inp) but metadata {}.expert_count is "
            "missing",
            il, arch);
      }
      HEARTH_ASSIGN_OR_RETURN(layer.moe, bind_moe(binder, config, il));
      HEARTH_ASSIGN_OR_RETURN(layer.router_scale, binder.vector(blk + "ffn_gate_inp.scale", d));
      HEARTH_ASSIGN_OR_RETURN(layer.pre_ffn_norm_2,
                              binder.vector(blk + "pre_ffw_norm_2.weight", d));
      HEARTH_ASSIGN_OR_RETURN(layer.post_ffn_norm_1,
                              binder.vector(blk + "post_ffw_norm_1.weight", d));
      HEARTH_ASSIGN_OR_RETURN(layer.post_ffn_norm_2,
                              binder.vector(blk + "post_ffw_norm_2.weight", d));
    }
    if (per_layer_width > 0) {
      HEARTH_ASSIGN_OR_RETURN(layer.per_layer_gate,
                              binder.matrix(blk + "inp_gate.weight", d, per_layer_width));
      HEARTH_ASSIGN_OR_RETURN(layer.per_layer_proj,
                              binder.matrix(blk + "proj.weight", per_layer_width, d));
      HEARTH_ASSIGN_OR_RETURN(layer.per_layer_post_norm,
                              binder.vector(blk + "post_norm.weight", d));
    }
    HEARTH_ASSIGN_OR_RETURN(const Vector scale,
                            binder.optional_vector(blk + "layer_output_scale.weight", 1));
    if (!scale.empty()) layer.output_scale = scale[0];
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<ArchModel>(new Gemma4Model(std::move(config), std::move(output),
                                                    std::move(per_layer), std::move(layers)));
}

}  // namespace hearth::model
