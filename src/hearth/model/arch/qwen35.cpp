// Qwen 3.5 / 3.6 (general.architecture "qwen35", dense, and "qwen35moe", e.g. Qwen3.6-35B-A3B):
// a hybrid of Gated DeltaNet linear-attention layers (model/delta_net.h) and gated full-attention
// layers, by default three linear layers then one attention layer ({arch}.full_attention_interval
// = 4, or the per-layer {arch}.attention.recurrent_layers). Every layer: RMS norm, its attention,
// residual, RMS norm (post_attention_norm), feed-forward, residual. Attention layers project a
// query and a gate per head (attn_q twice as wide), RMS-norm q and k per head, rotate the first
// rope.dimension_count dims NeoX-style (llama.cpp's M-RoPE with text positions: every section
// takes the token's position) and multiply the output by sigmoid(gate). qwen35moe's feed-forward
// is a softmax top-k mixture of experts renormalised to sum 1 plus a shared expert scaled by
// sigmoid(ffn_gate_inp_shexp . h). MTP layers ({arch}.nextn_predict_layers, appended after the
// main stack) are not run, as llama.cpp's main pass does not run them.
#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hearth/model/arch/registry.h"
#include "hearth/model/delta_net.h"
#include "hearth/tensor/matvec.h"

namespace hearth::model {
namespace {

class Qwen35Model final : public ArchModel {
 public:
  struct Layer {
    Vector attn_norm;  // [d_model]
    bool recurrent = false;
    DeltaNetWeights delta_net;   // linear-attention layers
    AttentionWeights attention;  // full-attention layers
    Vector post_attention_norm;  // [d_model], before the feed-forward
    FfnWeights ffn;              // dense: [d_model] <-> [d_ff]; qwen35moe: the shared expert
    MoeWeights moe;              // qwen35moe: router and experts
    Vector shared_gate;          // qwen35moe: ffn_gate_inp_shexp [d_model]
  };

  Qwen35Model(ModelConfig config, OutputWeights output, std::vector<Layer> layers, bool moe)
      : ArchModel(std::move(config)),
        output_(std::move(output)),
        layers_(std::move(layers)),
        moe_(moe) {
    routing_ = MoeRouting{.n_experts_used = config_.n_experts_used,
                          .normalize = true,
                          .scale = 1.0f,
                          .activation = Activation::kSilu};
  }

  void forward(ForwardPass& pass, std::vector<float>& logits) const override {
    const int64_t d_model = config_.d_model;
    const int64_t n_tokens = pass.n_tokens();
    float* x = pass.embed(output_.token_embd, 1.0f);  // [n_tokens][d_model]
    float* h = pass.normed();                         // [n_tokens][d_model]
    float* out = pass.block_out();                    // [n_tokens][d_model]
    for (size_t il = 0; il < layers_.size(); ++il) {
      const Layer& layer = layers_[il];
      const auto l = static_cast<int64_t>(il);
      pass.rms_norm(x, layer.attn_norm, h, d_model);
      if (layer.recurrent) {
        delta_net_layer(pass, l, layer.delta_net, config_.delta_net, config_.rms_eps, h, out);
      } else {
        pass.attention(l, layer.attention, h, out);
      }
      pass.add_residual(x, out);
      pass.trace(l, "attn_residual", x, d_model);
      pass.rms_norm(x, layer.post_attention_norm, h, d_model);
      if (moe_) {
        pass.moe(layer.moe, routing_, h, out);
        shared_out_.resize(static_cast<size_t>(n_tokens * d_model));
        pass.feed_forward(layer.ffn, Activation::kSilu, h, shared_out_.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
          float gate = 0.0f;
          tensor::matvec(GgmlType::kF32, layer.shared_gate.data(), 1, d_model, h + t * d_model,
                         &gate, nullptr);
          gate = 1.0f / (1.0f + std::exp(-gate));
          float* row = out + t * d_model;
          const float* shared = shared_out_.data() + t * d_model;
          for (int64_t i = 0; i < d_model; ++i) row[i] += shared[i] * gate;
        }
      } else {
        pass.feed_forward(layer.ffn, Activation::kSilu, h, out);
      }
      pass.trace(l, "ffn_out", out, d_model);
      pass.add_residual(x, out);
      pass.trace(l, "l_out", x, d_model);
    }
    pass.finish(x, output_.output_norm, output_.output, logits);
  }

 private:
  OutputWeights output_;
  std::vector<Layer> layers_;
  bool moe_;
  MoeRouting routing_;
  // Forward scratch (Model::forward is not reentrant: one forward at a time per model).
  mutable std::vector<float> shared_out_;  // [n_tokens][d_model] the shared expert's output
};

// llama.cpp runs text through M-RoPE with the token position in the first three sections and 0
// in the fourth; with Qwen3.5's interleaved sections a rotary pair i (sector i mod the sections'
// sum) takes section i % 3 while sector < 3 * sections[i % 3], else the fourth. Text models are
// plain NeoX RoPE exactly when no pair falls in the fourth section.
Status check_text_rope_sections(const gguf::Metadata& metadata, const std::string& arch,
                                int rope_dims) {
  const std::string key = arch + ".rope.dimension_sections";
  HEARTH_ASSIGN_OR_RETURN(const gguf::Array* array, metadata.get_array(key));
  std::vector<int64_t> sections;
  for (const gguf::Value& item : array->items) {
    const auto value = item.to_int();
    if (!value || *value < 0) return make_error("metadata {} holds a negative or non-integer", key);
    sections.push_back(*value);
  }
  sections.resize(4, 0);
  const int64_t total = sections[0] + sections[1] + sections[2] + sections[3];
  for (int64_t pair = 0; pair < rope_dims / 2; ++pair) {
    const int64_t sector = total > 0 ? pair % total : 0;
    if (total == 0 || sector >= 3 * sections[static_cast<size_t>(sector % 3)]) {
      return make_error(
          "metadata {} = [{}, {}, {}, {}] puts rotary pair {} in the fourth M-RoPE section: "
          "hearth runs text, where every rotated pair takes the token position",
          key, sections[0], sections[1], sections[2], sections[3], pair);
    }
  }
  return {};
}

Result<ModelConfig> read_qwen35_config(const gguf::Metadata& metadata, const std::string& arch) {
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(metadata, arch));
  config.rope_layout = tensor::RopeLayout::kNeox;
  HEARTH_RETURN_IF_ERROR(check_text_rope_sections(metadata, arch, config.rope_dims));
  if (config.head_dim != config.head_dim_v) {
    return make_error("{}: key and value heads differ ({} and {}); gated attention needs one size",
                      arch, config.head_dim, config.head_dim_v);
  }

  // MTP blocks come after the main stack and are not part of the forward pass.
  HEARTH_ASSIGN_OR_RETURN(const int64_t n_nextn,
                          arch_int(metadata, arch, "nextn_predict_layers", 0));
  if (n_nextn >= config.n_layers) {
    return make_error("metadata {}.nextn_predict_layers = {} leaves no layer of {}", arch, n_nextn,
                      config.n_layers);
  }
  const int64_t n_all = config.n_layers;
  config.n_layers -= n_nextn;
  config.layer_window.resize(static_cast<size_t>(config.n_layers));
  config.layer_rope.resize(static_cast<size_t>(config.n_layers));
  config.layer_attention.resize(static_cast<size_t>(config.n_layers));
  config.layer_d_ff.resize(static_cast<size_t>(config.n_layers));

  DeltaNetShape& shape = config.delta_net;
  auto required = [&](std::string_view suffix, int64_t& value) -> Status {
    HEARTH_ASSIGN_OR_RETURN(value, arch_int(metadata, arch, suffix, 0));
    if (value <= 0) return make_error("metadata {}.{} is missing or not positive", arch, suffix);
    return {};
  };
  int64_t d_inner = 0;
  HEARTH_RETURN_IF_ERROR(required("ssm.conv_kernel", shape.conv_kernel));
  HEARTH_RETURN_IF_ERROR(required("ssm.state_size", shape.head_dim));
  HEARTH_RETURN_IF_ERROR(required("ssm.group_count", shape.n_k_heads));
  HEARTH_RETURN_IF_ERROR(required("ssm.time_step_rank", shape.n_v_heads));
  HEARTH_RETURN_IF_ERROR(required("ssm.inner_size", d_inner));
  if (shape.n_v_heads % shape.n_k_heads != 0 || d_inner != shape.n_v_heads * shape.head_dim) {
    return make_error(
        "{}: {} value heads of {} (ssm.inner_size {}) do not fit {} key heads of the same size",
        arch, shape.n_v_heads, shape.head_dim, d_inner, shape.n_k_heads);
  }

  // Which layers are linear attention: {arch}.attention.recurrent_layers when present (one flag
  // per layer, MTP layers included), else every layer but each full_attention_interval-th.
  config.layer_recurrent.assign(static_cast<size_t>(config.n_layers), false);
  const std::string recurrent_key = arch + ".attention.recurrent_layers";
  if (const gguf::Value* value = metadata.find(recurrent_key); value != nullptr) {
    const gguf::Array* array = value->array();
    if (array == nullptr || static_cast<int64_t>(array->items.size()) != n_all) {
      return make_error("metadata {} must be an array of {} flags", recurrent_key, n_all);
    }
    for (int64_t il = 0; il < config.n_layers; ++il) {
      const auto flag = array->items[static_cast<size_t>(il)].to_int();
      const auto boolean = array->items[static_cast<size_t>(il)].to_bool();
      if (!flag && !boolean) return make_error("metadata {} holds a non-flag", recurrent_key);
      config.layer_recurrent[static_cast<size_t>(il)] = boolean ? *boolean : *flag != 0;
    }
  } else {
    HEARTH_ASSIGN_OR_RETURN(const int64_t interval,
                            arch_int(metadata, arch, "full_attention_interval", 4));
    if (interval <= 0) return make_error("metadata {}.full_attention_interval is 0", arch);
    for (int64_t il = 0; il < config.n_layers; ++il) {
      config.layer_recurrent[static_cast<size_t>(il)] = (il + 1) % interval != 0;
    }
  }
  return config;
}

Result<std::unique_ptr<ArchModel>> load_qwen35_family(const gguf::File& file,
                                                      const std::string& arch, bool moe) {
  const gguf::Metadata& metadata = file.metadata();
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_qwen35_config(metadata, arch));
  int64_t d_ff_shared = 0;
  if (moe) {
    if (config.n_experts == 0)
      return make_error("metadata {}.expert_count is missing or zero", arch);
    // llama.cpp's fallbacks: the experts feed_forward_length / expert_used_count wide, the shared
    // expert feed_forward_length (itself optional in a file with experts).
    HEARTH_ASSIGN_OR_RETURN(config.d_ff_exp,
                            expert_width(metadata, arch, "expert_feed_forward_length",
                                         config.d_ff / config.n_experts_used));
    HEARTH_ASSIGN_OR_RETURN(
        d_ff_shared,
        expert_width(metadata, arch, "expert_shared_feed_forward_length", config.d_ff));
    // The shared expert runs through the dense feed-forward block, whose buffers hold d_ff.
    config.d_ff = std::max(config.d_ff, d_ff_shared);
  }

  const WeightBinder binder(file);
  HEARTH_ASSIGN_OR_RETURN(OutputWeights output, bind_output(binder, config));
  std::vector<Qwen35Model::Layer> layers;
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const std::string blk = fmt::format("blk.{}.", il);
    Qwen35Model::Layer layer;
    HEARTH_ASSIGN_OR_RETURN(layer.attn_norm,
                            binder.vector(blk + "attn_norm.weight", config.d_model));
    layer.recurrent = config.layer_recurrent[static_cast<size_t>(il)];
    if (layer.recurrent) {
      HEARTH_ASSIGN_OR_RETURN(layer.delta_net, bind_delta_net(binder, config, il));
    } else {
      HEARTH_ASSIGN_OR_RETURN(layer.attention, bind_attention(binder, config, il, /*qk_norm=*/true,
                                                              /*output_gate=*/true));
    }
    HEARTH_ASSIGN_OR_RETURN(layer.post_attention_norm,
                            binder.vector(blk + "post_attention_norm.weight", config.d_model));
    if (moe) {
      HEARTH_ASSIGN_OR_RETURN(layer.moe, bind_moe(binder, config, il));
      HEARTH_ASSIGN_OR_RETURN(layer.ffn.gate, binder.matrix(blk + "ffn_gate_shexp.weight",
                                                            config.d_model, d_ff_shared));
      HEARTH_ASSIGN_OR_RETURN(
          layer.ffn.up, binder.matrix(blk + "ffn_up_shexp.weight", config.d_model, d_ff_shared));
      HEARTH_ASSIGN_OR_RETURN(layer.ffn.down, binder.matrix(blk + "ffn_down_shexp.weight",
                                                            d_ff_shared, config.d_model));
      HEARTH_ASSIGN_OR_RETURN(layer.shared_gate,
                              binder.vector(blk + "ffn_gate_inp_shexp.weight", config.d_model));
    } else {
      HEARTH_ASSIGN_OR_RETURN(layer.ffn, bind_ffn(binder, config, il));
    }
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<ArchModel>(
      new Qwen35Model(std::move(config), std::move(output), std::move(layers), moe));
}

}  // namespace

Result<std::unique_ptr<ArchModel>> load_qwen35(const gguf::File& file) {
  return load_qwen35_family(file, "qwen35", /*moe=*/false);
}

Result<std::unique_ptr<ArchModel>> load_qwen35moe(const gguf::File& file) {
  return load_qwen35_family(file, "qwen35moe", /*moe=*/true);
}

}  // namespace hearth::model
