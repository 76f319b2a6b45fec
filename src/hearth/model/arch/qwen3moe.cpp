// Qwen3-MoE (general.architecture "qwen3moe", e.g. Qwen3-30B-A3B): the Qwen3 decoder (q/k RMS
// norms per head, NeoX RoPE) with a mixture of experts in place of every feed-forward block:
// softmax router over {arch}.expert_count experts, the top {arch}.expert_used_count renormalised
// to sum 1 (llama.cpp's qwen3moe always normalises, as HF's norm_top_k_prob = true), SwiGLU
// experts of width {arch}.expert_feed_forward_length (default feed_forward_length /
// expert_used_count, as llama.cpp). No shared expert.
#include "hearth/model/arch/registry.h"

namespace hearth::model {
namespace {

class Qwen3MoeModel final : public ArchModel {
 public:
  struct Layer {
    Vector attn_norm;  // [d_model]
    AttentionWeights attention;
    Vector ffn_norm;  // [d_model]
    MoeWeights moe;   // router [d_model] -> [n_experts]; experts [d_model] <-> [d_ff_exp]
  };

  Qwen3MoeModel(ModelConfig config, OutputWeights output, std::vector<Layer> layers)
      : ArchModel(std::move(config)), output_(std::move(output)), layers_(std::move(layers)) {
    routing_ = MoeRouting{.n_experts_used = config_.n_experts_used,
                          .normalize = true,
                          .scale = 1.0f,
                          .activation = Activation::kSilu};
  }

  void forward(ForwardPass& pass, std::vector<float>& logits) const override {
    const int64_t d_model = config_.d_model;
    float* x = pass.embed(output_.token_embd, 1.0f);  // [n_tokens][d_model]
    float* h = pass.normed();                         // [n_tokens][d_model]
    float* out = pass.block_out();                    // [n_tokens][d_model]
    for (size_t il = 0; il < layers_.size(); ++il) {
      const Layer& layer = layers_[il];
      const auto l = static_cast<int64_t>(il);
      pass.rms_norm(x, layer.attn_norm, h, d_model);
      pass.attention(l, layer.attention, h, out);
      pass.add_residual(x, out);
      pass.trace(l, "ffn_inp", x, d_model);
      pass.rms_norm(x, layer.ffn_norm, h, d_model);
      pass.moe(layer.moe, routing_, h, out);
      pass.trace(l, "ffn_moe_out", out, d_model);
      pass.add_residual(x, out);
      pass.trace(l, "l_out", x, d_model);
    }
    pass.finish(x, output_.output_norm, output_.output, logits);
  }

 private:
  OutputWeights output_;
  std::vector<Layer> layers_;
  MoeRouting routing_;
};

}  // namespace

Result<std::unique_ptr<ArchModel>> load_qwen3moe(const gguf::File& file) {
  const gguf::Metadata& metadata = file.metadata();
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(metadata, "qwen3moe"));
  config.rope_layout = tensor::RopeLayout::kNeox;
  if (config.n_experts == 0) {
    return make_error("metadata qwen3moe.expert_count is missing or zero");
  }
  HEARTH_ASSIGN_OR_RETURN(config.d_ff_exp,
                          expert_width(metadata, "qwen3moe", "expert_feed_forward_length",
                                       config.d_ff / config.n_experts_used));

  const WeightBinder binder(file);
  HEARTH_ASSIGN_OR_RETURN(OutputWeights output, bind_output(binder, config));
  std::vector<Qwen3MoeModel::Layer> layers;
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    Qwen3MoeModel::Layer layer;
    HEARTH_ASSIGN_OR_RETURN(layer.attn_norm,
                            binder.vector(blk + "attn_norm.weight", config.d_model));
    HEARTH_ASSIGN_OR_RETURN(layer.attention, bind_attention(binder, config, il, /*qk_norm=*/true));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn_norm, binder.vector(blk + "ffn_norm.weight", config.d_model));
    HEARTH_ASSIGN_OR_RETURN(layer.moe, bind_moe(binder, config, il));
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<ArchModel>(
      new Qwen3MoeModel(std::move(config), std::move(output), std::move(layers)));
}

}  // namespace hearth::model
