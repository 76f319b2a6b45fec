// Element-wise and per-row kernels of the forward pass, on float32 rows: RMSNorm, LayerNorm,
// RoPE (normal and NeoX layouts, optional frequency factors), softmax, SiLU and GELU(tanh)
// (alone and gated), add/mul/scale, and embedding row lookup for every storage type. Each has a
// Highway-dispatched implementation and a scalar reference (namespace `reference`) that the tests
// compare against on every compiled target. Numerics follow ggml's CPU backend (norms accumulate
// in float64 as ggml does). These run on the calling thread; callers parallelise over rows or
// heads, so results never depend on the thread count.
#pragma once

#include <cstdint>

#include "hearth/base/ggml_types.h"

namespace hearth::tensor {

// y[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]; `weight` may be null (no scaling).
// x and y may alias.
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps);

// y[i] = (x[i] - mean) / sqrt(var + eps) * weight[i] + bias[i]; weight/bias may be null.
void layer_norm(const float* x, const float* weight, const float* bias, float* y, int64_t n,
                float eps);

enum class RopeLayout {
  kNormal,  // rotates adjacent pairs (x[2i], x[2i+1]) — llama.cpp's LLAMA_ROPE_TYPE_NORM
  kNeox,    // rotates halves (x[i], x[i + n_dims/2]) — LLAMA_ROPE_TYPE_NEOX (Qwen, Gemma)
};

struct RopeParams {
  int n_dims = 0;  // rotated dimensions of each head (<= head_dim; the rest pass through)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;              // linear position scaling (1 = none)
  const float* freq_factors = nullptr;  // n_dims / 2 divisors of each pair's frequency, or null
  RopeLayout layout = RopeLayout::kNormal;
};

// Rotates, in place, n_heads heads of head_dim floats each (contiguous) at `position`:
// theta_i = position * freq_scale * freq_base^(-2i / n_dims) / freq_factors[i].
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t position, const RopeParams& params);
// rope in two steps, for callers that rotate many rows at one position (every layer of a token
// with the same parameters): cos and sin of the n_dims / 2 pairs' angles at `position`, as ggml
// computes them, then the rotation by those angles.
void rope_angles(int64_t position, const RopeParams& params, float* cos, float* sin);
void rope_rotate(float* x, int64_t n_heads, int64_t head_dim, const RopeParams& params,
                 const float* cos, const float* sin);

// In place: x[i] = exp(x[i] - max) / sum. -inf entries become 0 (masked attention).
void softmax(float* x, int64_t n);

// y[i] = silu(gate[i]) * up[i] (SwiGLU) and y[i] = gelu_tanh(gate[i]) * up[i] (GeGLU); `up`
// may be null for the plain activation. y may alias gate or up.
void silu_mul(const float* gate, const float* up, float* y, int64_t n);
void gelu_tanh_mul(const float* gate, const float* up, float* y, int64_t n);

// y[i] = a[i] + b[i]; y[i] = a[i] * b[i]; y[i] = a[i] * s. y may alias a or b.
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
void scale(const float* a, float s, float* y, int64_t n);

// Attention's two products over one head's cached keys or values, for several queries at once
// (a GQA group's heads, a block of tokens), so that each row is read once per four queries: R_r
// are n_rows contiguous rows of n_cols elements stored in `type` (F32, F16 and BF16 read in
// place; other types decoded first).
//
// y[i * y_stride + r] = x_i . R_r for x_i = x + i * x_stride, i < n_x (query-key scores). Each
// dot is computed by the same operations whatever n_x, n_rows and its place among them.
void row_dots(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols, const float* x,
              int64_t n_x, int64_t x_stride, float* y, int64_t y_stride);
// y_i[c] = sum_r w_i[r] * R_r[c] for w_i = weights + i * weight_stride and
// y_i = y + i * y_stride, i < n_sets (weighted sums of value rows). Each y_i[c] is summed in row
// order with fused multiply-adds from zero, whatever n_sets and the column's place; so rows of
// zero weight (and finite values) before or after the others leave it unchanged.
void weighted_row_sums(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols,
                       const float* weights, int64_t n_sets, int64_t weight_stride, float* y,
                       int64_t y_stride);

// y[i] = f16_from_f32(x[i]) (float16.h: nearest, ties to even; NaN to a quiet NaN): the F16
// KV cache's stores.
void round_to_f16(const float* x, uint16_t* y, int64_t n);

// Row `row` of a matrix of n_cols-element rows stored in `type`, decoded to float32 (embedding
// lookup). Every type dequantize_row handles.
void get_row(GgmlType type, const void* data, int64_t n_cols, int64_t row, float* y);

namespace reference {
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps);
void layer_norm(const float* x, const float* weight, const float* bias, float* y, int64_t n,
                float eps);
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t position, const RopeParams& params);
void softmax(float* x, int64_t n);
void silu_mul(const float* gate, const float* up, float* y, int64_t n);
void gelu_tanh_mul(const float* gate, const float* up, float* y, int64_t n);
// Rows through dequantize_row, sums in float64.
void row_dots(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols, const float* x,
              int64_t n_x, int64_t x_stride, float* y, int64_t y_stride);
void weighted_row_sums(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols,
                       const float* weights, int64_t n_sets, int64_t weight_stride, float* y,
                       int64_t y_stride);
}  // namespace reference

}  // namespace hearth::tensor
