// The Gated DeltaNet layer, token by token as llama.cpp's fused CPU op (ggml_gated_delta_net)
// computes it. Per value head h, with the state S a [head_dim][head_dim] matrix (row j: value
// dim j, column i: key dim i) and, per token, q and k L2-normalised, beta = sigmoid(beta_in) and
// g = softplus(alpha + dt_bias) * a (a < 0):
//   S *= exp(g);  delta_j = (v_j - S_j . k) * beta;  S_j += delta_j * k;  o_j = S_j . q / sqrt(d)
// Value head h reads query/key head h % n_k_heads (llama.cpp tiles the key heads). The
// convolution splits channels over the pool, the recurrence value heads; each walks the batch's
// tokens in order, so a sequence's state carries from one token to the next and across calls.
#include "hearth/model/delta_net.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hearth/base/check.h"
#include "hearth/tensor/delta_rule.h"
#include "hearth/tensor/ops.h"
#include "hearth/tensor/quantize.h"

namespace hearth::model {

Result<DeltaNetWeights> bind_delta_net(const WeightBinder& binder, const ModelConfig& config,
                                       int64_t layer) {
  const std::string blk = fmt::format("blk.{}.", layer);
  const DeltaNetShape& shape = config.delta_net;
  const int64_t d = config.d_model;
  DeltaNetWeights w;
  HEARTH_ASSIGN_OR_RETURN(w.qkv, binder.matrix(blk + "attn_qkv.weight", d, shape.conv_dim()));
  HEARTH_ASSIGN_OR_RETURN(w.gate, binder.matrix(blk + "attn_gate.weight", d, shape.value_dim()));
  HEARTH_ASSIGN_OR_RETURN(w.beta, binder.matrix(blk + "ssm_beta.weight", d, shape.n_v_heads));
  HEARTH_ASSIGN_OR_RETURN(w.alpha, binder.matrix(blk + "ssm_alpha.weight", d, shape.n_v_heads));
  // The kernel is a 2-D tensor [conv_kernel, conv_dim] (F32 in llama.cpp's files): a row of taps
  // per channel, decoded once and transposed so that each tap's channels are contiguous.
  HEARTH_ASSIGN_OR_RETURN(const Matrix conv, binder.matrix(blk + "ssm_conv1d.weight",
                                                           shape.conv_kernel, shape.conv_dim()));
  w.conv.resize(static_cast<size_t>(shape.conv_kernel * shape.conv_dim()));
  std::vector<float> taps(static_cast<size_t>(shape.conv_kernel));
  for (int64_t c = 0; c < shape.conv_dim(); ++c) {
    tensor::get_row(conv.type, conv.data, shape.conv_kernel, c, taps.data());
    for (int64_t k = 0; k < shape.conv_kernel; ++k) {
      w.conv[static_cast<size_t>(k * shape.conv_dim() + c)] = taps[static_cast<size_t>(k)];
    }
  }
  HEARTH_ASSIGN_OR_RETURN(w.dt_bias, binder.vector(blk + "ssm_dt.bias", shape.n_v_heads));
  HEARTH_ASSIGN_OR_RETURN(w.a, binder.vector(blk + "ssm_a", shape.n_v_heads));
  HEARTH_ASSIGN_OR_RETURN(w.norm, binder.vector(blk + "ssm_norm.weight", shape.head_dim));
  HEARTH_ASSIGN_OR_RETURN(w.out, binder.matrix(blk + "ssm_out.weight", shape.value_dim(), d));
  return w;
}

namespace {

// ggml's l2_norm: x / max(|x|, eps), the sum of squares in double.
void l2_normalize(float* x, int64_t n, float eps) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * x[i];
  const float scale = 1.0f / std::max(std::sqrt(static_cast<float>(sum)), eps);
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
}

// ggml's softplus: log(1 + e^x), x itself above 20.
float softplus(float x) {
  return x > 20.0f ? x : std::log1p(std::exp(x));
}

}  // namespace

void delta_net_layer(ForwardPass& pass, int64_t layer, const DeltaNetWeights& w,
                     const DeltaNetShape& shape, float rms_eps, const float* h, float* out) {
  const std::span<const BatchToken> batch = pass.batch();
  const int64_t n_tokens = pass.n_tokens();
  const int64_t conv_dim = shape.conv_dim();
  const int64_t key_dim = shape.key_dim();
  const int64_t value_dim = shape.value_dim();
  const int64_t n_v_heads = shape.n_v_heads;
  const int64_t n_k_heads = shape.n_k_heads;
  const int64_t d = shape.head_dim;
  const int64_t kernel = shape.conv_kernel;
  // qkv: [n_tokens][conv_dim], convolved in place; z: [n_tokens][value_dim];
  // betas: [n_tokens][n_v_heads]; decays: [n_tokens][n_v_heads], alpha, then the log of the
  // decay; outputs: [n_tokens][value_dim].
  const auto [qkv, z, betas, decays, outputs] =
      pass.block_scratch<5>({n_tokens * conv_dim, n_tokens * value_dim, n_tokens * n_v_heads,
                             n_tokens * n_v_heads, n_tokens * value_dim});
  pass.linear(w.qkv, h, qkv);
  pass.linear(w.gate, h, z);
  pass.linear(w.beta, h, betas);
  pass.linear(w.alpha, h, decays);
  pass.trace(layer, "linear_attn_qkv_mixed", qkv, conv_dim);

  // Causal convolution, in place: out[t][c] = sum_k conv[k][c] * in[t - kernel + 1 + k][c], the
  // earlier inputs from the sequence's conv state, which then shifts in in[t]. Each task takes a
  // block of channels, tap by tap over contiguous channels (loops the compiler vectorizes).
  constexpr int64_t kChannelsPerTask = 256;
  run_tasks(pass.pool(), (conv_dim + kChannelsPerTask - 1) / kChannelsPerTask,
            [&](int64_t task, int) {
              const int64_t c0 = task * kChannelsPerTask;
              const int64_t n = std::min(conv_dim, c0 + kChannelsPerTask) - c0;
              float sum[kChannelsPerTask];
              for (int64_t t = 0; t < n_tokens; ++t) {
                // [kernel - 1][conv_dim], oldest input first
                float* state = batch[t].sequence->conv_state(layer) + c0;
                float* x = qkv + t * conv_dim + c0;
                std::fill_n(sum, n, 0.0f);
                for (int64_t k = 0; k + 1 < kernel; ++k) {
                  const float* in = state + k * conv_dim;
                  const float* tap = w.conv.data() + k * conv_dim + c0;
                  for (int64_t c = 0; c < n; ++c) sum[c] += in[c] * tap[c];
                }
                const float* last_tap = w.conv.data() + (kernel - 1) * conv_dim + c0;
                for (int64_t c = 0; c < n; ++c) sum[c] += x[c] * last_tap[c];
                for (int64_t k = 0; k + 2 < kernel; ++k) {
                  std::copy_n(state + (k + 1) * conv_dim, n, state + k * conv_dim);
                }
                if (kernel > 1) std::copy_n(x, n, state + (kernel - 2) * conv_dim);
                std::copy_n(sum, n, x);
              }
            });
  tensor::silu_mul(qkv, nullptr, qkv, n_tokens * conv_dim);
  pass.trace(layer, "conv_output_silu", qkv, conv_dim);

  for (int64_t t = 0; t < n_tokens; ++t) {
    float* row = qkv + t * conv_dim;
    for (int64_t head = 0; head < 2 * n_k_heads; ++head) {  // queries, then keys
      l2_normalize(row + head * d, d, rms_eps);
    }
    for (int64_t head = 0; head < n_v_heads; ++head) {
      float& beta = betas[t * n_v_heads + head];
      beta = 1.0f / (1.0f + std::exp(-beta));
      float& g = decays[t * n_v_heads + head];
      g = softplus(g + w.dt_bias[static_cast<size_t>(head)]) * w.a[static_cast<size_t>(head)];
    }
  }

  // The gated delta rule, one value head per task (heads are independent, so the result does not
  // depend on the thread count): S *= decay; delta = (v - S k) * beta; S += delta k^T;
  // o = S q / sqrt(d), fused into one pass over S per token.
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  run_tasks(pass.pool(), n_v_heads, [&](int64_t head, int) {
    const int64_t k_head = head % n_k_heads;
    for (int64_t t = 0; t < n_tokens; ++t) {
      float* state = batch[t].sequence->recurrent_state(layer) + head * d * d;
      const float* row = qkv + t * conv_dim;
      const float* q = row + k_head * d;
      const float* k = row + key_dim + k_head * d;
      const float* v = row + 2 * key_dim + head * d;
      const float beta = betas[t * n_v_heads + head];
      const float decay = std::exp(decays[t * n_v_heads + head]);
      tensor::delta_rule_step(state, d, d, k, v, q, decay, beta, scale,
                              outputs + t * value_dim + head * d);
    }
  });
  pass.trace(layer, "attn_output", outputs, value_dim);

  // Gated RMS norm of each head's output: rms_norm(o) * norm * silu(z).
  tensor::silu_mul(z, nullptr, z, n_tokens * value_dim);
  for (int64_t row = 0; row < n_tokens * n_v_heads; ++row) {
    float* o = outputs + row * d;
    tensor::rms_norm(o, w.norm.data(), o, d, rms_eps);
    tensor::mul(o, z + row * d, o, d);
  }
  pass.trace(layer, "final_output", outputs, value_dim);
  pass.linear(w.out, outputs, out);  // [n_tokens][d_model]
}

}  // namespace hearth::model
