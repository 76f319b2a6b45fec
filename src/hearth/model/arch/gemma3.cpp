// Gemma 3 (general.architecture "gemma3"): embeddings scaled by sqrt(d_model); RMS norms before
// and after both attention and feed-forward ("sandwich" norms); q/k head norms; GELU(tanh) gated
// feed-forward; NeoX RoPE; five sliding-window layers (own RoPE base, rope.freq_base_swa,
// unscaled) to every global one; query scale 1/sqrt(head_dim) (1/sqrt(d_model / n_heads) for
// the 62-layer 27B, as llama.cpp does); output tied to the embedding. Norm weights are stored
// already as 1 + w (llama.cpp's converter adds the 1).
#include <cmath>

#include "hearth/model/arch/registry.h"

namespace hearth::model {
namespace {

// llama.cpp's Gemma 3: layer il slides iff il % period < period - 1 (period 6 unless the file
// says otherwise).
constexpr int64_t kDefaultSlidingPattern = 6;

class Gemma3Model final : public ArchModel {
 public:
  struct Layer {
    Vector attn_norm;       // [d_model]
    AttentionWeights attention;
    Vector post_attn_norm;  // [d_model]
    Vector ffn_norm;        // [d_model]
    FfnWeights ffn;
    Vector post_ffn_norm;   // [d_model]
  };

  Gemma3Model(ModelConfig config, OutputWeights output, std::vector<Layer> layers)
      : ArchModel(std::move(config)), output_(std::move(output)), layers_(std::move(layers)) {}

  void forward(ForwardPass& pass, std::vector<float>& logits) const override {
    const int64_t d_model = config_.d_model;
    // [n_tokens][d_model]
    float* x = pass.embed(output_.token_embd, std::sqrt(static_cast<float>(d_model)));
    float* h = pass.normed();
    float* out = pass.block_out();
    for (size_t il = 0; il < layers_.size(); ++il) {
      const Layer& layer = layers_[il];
      const auto l = static_cast<int64_t>(il);
      pass.rms_norm(x, layer.attn_norm, h, d_model);
      pass.attention(l, layer.attention, h, out);
      pass.rms_norm(out, layer.post_attn_norm, out, d_model);
      pass.add_residual(x, out);
      pass.trace(l, "attn_residual", x, d_model);
      pass.rms_norm(x, layer.ffn_norm, h, d_model);
      pass.feed_forward(layer.ffn, Activation::kGeluTanh, h, out);
      pass.rms_norm(out, layer.post_ffn_norm, out, d_model);
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

Result<std::unique_ptr<ArchModel>> load_gemma3(const gguf::File& file) {
  const gguf::Metadata& metadata = file.metadata();
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(metadata, "gemma3"));
  config.rope_layout = tensor::RopeLayout::kNeox;
  config.attention_scale =
      config.n_layers == 62 ? 1.0f / std::sqrt(static_cast<float>(config.d_model / config.n_heads))
                            : 1.0f / std::sqrt(static_cast<float>(config.head_dim));
  HEARTH_ASSIGN_OR_RETURN(const int64_t window,
                          arch_int(metadata, "gemma3", "attention.sliding_window", 0));
  HEARTH_ASSIGN_OR_RETURN(const int64_t pattern,
                          arch_int(metadata, "gemma3", "attention.sliding_window_pattern",
                                   kDefaultSlidingPattern));
  HEARTH_ASSIGN_OR_RETURN(const float swa_base,
                          arch_float(metadata, "gemma3", "rope.freq_base_swa", 10000.0f));
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const bool sliding = window > 0 && pattern > 0 && il % pattern < pattern - 1;
    if (!sliding) continue;
    config.layer_window[static_cast<size_t>(il)] = window;
    config.layer_rope[static_cast<size_t>(il)] = LayerRope{swa_base, 1.0f};
  }

  const WeightBinder binder(file);
  HEARTH_ASSIGN_OR_RETURN(OutputWeights output, bind_output(binder, config));
  std::vector<Gemma3Model::Layer> layers;
  for (int64_t il = 0; il < config.n_layers; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    const int64_t d = config.d_model;
    Gemma3Model::Layer layer;
    HEARTH_ASSIGN_OR_RETURN(layer.attn_norm, binder.vector(blk + "attn_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(layer.attention, bind_attention(binder, config, il, /*qk_norm=*/true));
    HEARTH_ASSIGN_OR_RETURN(layer.post_attn_norm,
                            binder.vector(blk + "post_attention_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn_norm, binder.vector(blk + "ffn_norm.weight", d));
    HEARTH_ASSIGN_OR_RETURN(layer.ffn, bind_ffn(binder, config, il));
    HEARTH_ASSIGN_OR_RETURN(layer.post_ffn_norm, binder.vector(blk + "post_ffw_norm.weight", d));
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<ArchModel>(
      new Gemma3Model(std::move(config), std::move(output), std::move(layers)));
}

}  // namespace hearth::model
