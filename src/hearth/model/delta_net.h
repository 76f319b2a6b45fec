// The Gated DeltaNet linear-attention layer of hybrid models (Qwen3.5 / Qwen3.6, llama.cpp's
// qwen35 and qwen35moe): input projections, a causal depthwise convolution over the last
// conv_kernel inputs, the gated delta rule over a per-head state matrix, and the gated RMS norm
// before the output projection. The convolution inputs and state matrices live in each sequence
// (Sequence::conv_state / recurrent_state), so a batch may mix sequences. Knows nothing of the
// layers around it.
#pragma once

#include <cstdint>

#include "hearth/model/blocks.h"
#include "hearth/model/config.h"
#include "hearth/model/weights.h"

namespace hearth::model {

// Shapes in DeltaNetShape's names; conv_dim = 2 * key_dim + value_dim.
struct DeltaNetWeights {
  Matrix qkv;      // attn_qkv: [d_model] -> [conv_dim] (queries, keys, values)
  Matrix gate;     // attn_gate: [d_model] -> [value_dim] (z, the output gate)
  Matrix beta;     // ssm_beta: [d_model] -> [n_v_heads] (sigmoid: the write strength)
  Matrix alpha;    // ssm_alpha: [d_model] -> [n_v_heads] (the decay's input)
  Vector conv;     // ssm_conv1d: [conv_kernel][conv_dim], oldest input's tap first
  Vector dt_bias;  // ssm_dt.bias: [n_v_heads]
  Vector a;        // ssm_a: [n_v_heads], -exp(A_log) as llama.cpp's converter stores it
  Vector norm;     // ssm_norm: [head_dim], RMS norm weight of each value head's output
  Matrix out;      // ssm_out: [value_dim] -> [d_model]
};

// Binds blk.N.{attn_qkv, attn_gate, ssm_beta, ssm_alpha, ssm_conv1d, ssm_dt.bias, ssm_a,
// ssm_norm, ssm_out} for config.delta_net.
Result<DeltaNetWeights> bind_delta_net(const WeightBinder& binder, const ModelConfig& config,
                                       int64_t layer);

// Layer `layer` on the normed input h ([n_tokens][d_model]) of the batch in `pass`; the output
// projection into out ([n_tokens][d_model]). Advances each sequence's state of this layer by its
// tokens, in batch order. Its activations are the pass's block scratch.
void delta_net_layer(ForwardPass& pass, int64_t layer, const DeltaNetWeights& w,
                     const DeltaNetShape& shape, float rms_eps, const float* h, float* out);

}  // namespace hearth::model
