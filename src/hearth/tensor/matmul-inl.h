// Highway kernel of matmul, compiled once per target by matmul.cpp (foreach_target): one block
// of columns of a tile of decoded weight rows times every token, 4 tokens x 4 rows at a time with
// 16 vector accumulators (8 loads per 16 FMAs), reduced across lanes at the end of the block.
#if defined(HEARTH_TENSOR_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_TENSOR_MATMUL_INL_H_
#undef HEARTH_TENSOR_MATMUL_INL_H_
#else
#define HEARTH_TENSOR_MATMUL_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 16 float lanes; matmul.cpp pads rows to kMatmulPad floats, a multiple of any width.
using MatmulTag = hn::CappedTag<float, 16>;

// out[4 * t + r] = sum_{k < n} x_t[k] * w[r * w_stride + k] for t, r < 4. n and w_stride are
// multiples of the vector length and w is vector-aligned.
HWY_INLINE void Tile4x4(const float* x0, const float* x1, const float* x2, const float* x3,
                        const float* w, int64_t w_stride, int64_t n, float* out) {
  const MatmulTag df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  auto c00 = hn::Zero(df), c01 = c00, c02 = c00, c03 = c00;
  auto c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  auto c20 = c00, c21 = c00, c22 = c00, c23 = c00;
  auto c30 = c00, c31 = c00, c32 = c00, c33 = c00;
  const float* w1 = w + w_stride;
  const float* w2 = w1 + w_stride;
  const float* w3 = w2 + w_stride;
  for (int64_t k = 0; k < n; k += lanes) {
    const auto v0 = hn::Load(df, w + k);
    const auto v1 = hn::Load(df, w1 + k);
    const auto v2 = hn::Load(df, w2 + k);
    const auto v3 = hn::Load(df, w3 + k);
    auto xv = hn::LoadU(df, x0 + k);
    c00 = hn::MulAdd(xv, v0, c00);
    c01 = hn::MulAdd(xv, v1, c01);
    c02 = hn::MulAdd(xv, v2, c02);
    c03 = hn::MulAdd(xv, v3, c03);
    xv = hn::LoadU(df, x1 + k);
    c10 = hn::MulAdd(xv, v0, c10);
    c11 = hn::MulAdd(xv, v1, c11);
    c12 = hn::MulAdd(xv, v2, c12);
    c13 = hn::MulAdd(xv, v3, c13);
    xv = hn::LoadU(df, x2 + k);
    c20 = hn::MulAdd(xv, v0, c20);
    c21 = hn::MulAdd(xv, v1, c21);
    c22 = hn::MulAdd(xv, v2, c22);
    c23 = hn::MulAdd(xv, v3, c23);
    xv = hn::LoadU(df, x3 + k);
    c30 = hn::MulAdd(xv, v0, c30);
    c31 = hn::MulAdd(xv, v1, c31);
    c32 = hn::MulAdd(xv, v2, c32);
    c33 = hn::MulAdd(xv, v3, c33);
  }
  const auto sum = [df](auto v) { return hn::GetLane(hn::SumOfLanes(df, v)); };
  out[0] = sum(c00), out[1] = sum(c01), out[2] = sum(c02), out[3] = sum(c03);
  out[4] = sum(c10), out[5] = sum(c11), out[6] = sum(c12), out[7] = sum(c13);
  out[8] = sum(c20), out[9] = sum(c21), out[10] = sum(c22), out[11] = sum(c23);
  out[12] = sum(c30), out[13] = sum(c31), out[14] = sum(c32), out[15] = sum(c33);
}

// For every token t < n_tokens and tile row r < n_valid_rows:
//   y[t * y_stride + r] (+)= sum_{k < n} x[t * x_stride + k] * w[r * w_stride + k]
// (stored on the first column block, added on later ones). `w` holds a multiple of 4 rows.
// Tokens past the last group of 4 re-read the last token and are not stored, so every y element
// gets the same operations whatever the batch.
void MatmulBlock(const float* x, int64_t x_stride, int64_t n_tokens, const float* w,
                 int64_t w_stride, int64_t n_valid_rows, int64_t n, bool accumulate, float* y,
                 int64_t y_stride) {
  float out[16];
  for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
    const float* xt[4];
    for (int64_t j = 0; j < 4; ++j) xt[j] = x + std::min(t0 + j, n_tokens - 1) * x_stride;
    const int64_t n_t = std::min<int64_t>(4, n_tokens - t0);
    for (int64_t r0 = 0; r0 < n_valid_rows; r0 += 4) {
      Tile4x4(xt[0], xt[1], xt[2], xt[3], w + r0 * w_stride, w_stride, n, out);
      const int64_t n_r = std::min<int64_t>(4, n_valid_rows - r0);
      for (int64_t j = 0; j < n_t; ++j) {
        float* yj = y + (t0 + j) * y_stride + r0;
        for (int64_t i = 0; i < n_r; ++i)
          yj[i] = accumulate ? yj[i] + out[4 * j + i] : out[4 * j + i];
      }
    }
  }
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_MATMUL_INL_H_
