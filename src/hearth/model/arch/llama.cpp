// Llama 2 and 3 (general.architecture "llama"): RMS pre-norms, SwiGLU feed-forward, RoPE on
// adjacent pairs (llama.cpp's LLAMA_ROPE_TYPE_NORM) with Llama 3's per-pair frequency factors
// from rope_freqs.weight, grouped-query attention, output head tied to the embedding when the
// file has no output.weight. Also the decoder qwen3 reuses (llama.h).
#include "hearth/model/arch/llama.h"

namespace hearth::model {
namespace {

class LlamaModel final : public ArchModel {
 public:
  struct Layer {
    Vector attn_norm;  // [d_model]
    AttentionWeights attention;
    Vector ffn_norm;   // [d_model]
    FfnWeights ffn;
  };

  LlamaModel(ModelConfig config, OutputWeights output, std::vector<Layer> layers)
      : ArchModel(std::move(config)), output_(std::move(output)), layers_(std::move(layers)) {}

  void forward(ForwardPass& pass, std::vector<float>& logits) const override {
    const int64_t d_model = config_.d_model;
    float* x = pass.embed(output_.token_embd, 1.0f);  // [n_tokens][d_model]
    float* h = pass.normed();
    float* out = pass.block_out();
    for (size_t il = 0; il < layers_.size(); ++il) {
      const Layer& layer = layers_[il];
      const auto l = static_cast<int64_t>(il);
      pass.rms_norm(x, layer.attn_norm, h, d_model);
      pass.attention(l, layer.attention, h, out);
      pass.add_residual(x, out);
      pass.trace(l, "attn_residual", x, d_model);
      pass.rms_norm(x, layer.ffn_norm, h, d_model);
      pass.feed_forward(layer.ffn, Activation::kSilu, h, out);
      pass.add_residual(x, out);
      pass.trace(l, "l_out", x, d_model);
    }
    pass.finish(x, output_.output_norm, output_.output, logits);
  }

 private:
  OutputWeights output_;
  std::vector<Layer> layers_;
};

}  // namespace

Result<std::unique_ptr<ArchModel>> bind_llama_family(const gguf::File& file, ModelConfig config,
                                                     bool qk_norm) {
  const WeightBinder binder(file);
  HEARTH_ASSIGN_OR_RETURN(OutputWeights output, bind_output(binder, config));
  HEARTH_ASSIGN_OR_RETURN(config.rope_freq_factors,
                          binder.optional_vector("rope_freqs.weight", config.rope_dims / 2));
  std::vector<LlamaModel::Layer> layers;
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    LlamaModel::Layer layer;
    HEARTH_ASSIGN_OR_RETURN(layer.attn_norm, binder.vector(blk + "attn_norm.weight", config.d_model));
    HEARTH_ASSIGN_OR_RETURN(layer.attention, bind_attention(binder, config, il, qk_norm));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn_norm, binder.vector(blk + "ffn_norm.weight", config.d_model));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn, bind_ffn(binder, config, il));
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<ArchModel>(
      new LlamaModel(std::move(config), std::move(output), std::move(layers)));
}

Result<std::unique_ptr<ArchModel>> load_llama(const gguf::File& file) {
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(file.metadata(), "llama"));
  config.rope_layout = tensor::RopeLayout::kNormal;
  return bind_llama_family(file, std::move(config), /*qk_norm=*/false);
}

}  // namespace hearth::model
