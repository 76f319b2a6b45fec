// Highway kernels of the element-wise and per-row ops (ops.h), compiled once per target by
// ops.cpp (foreach_target) inside HWY_NAMESPACE. Every loop handles whole vectors, then the last
// partial vector through zero-padded copies (Highway 1.0.3 has no LoadN), so the kernels never
// read or write past a row. Scalar parts that define the numerics (RoPE's angles, the GELU table)
// live in ops.cpp and are shared with the references.
#if defined(HEARTH_TENSOR_OPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_TENSOR_OPS_INL_H_
#undef HEARTH_TENSOR_OPS_INL_H_
#else
#define HEARTH_TENSOR_OPS_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "hearth/base/ggml_types.h"
#include "hearth/tensor/float16.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 16 float lanes (512 bits), so the tail buffers have a fixed size.
using OpsTag = hn::CappedTag<float, 16>;
constexpr size_t kOpsMaxLanes = 16;

// y = f(a, b) vector by vector; `b` null reads as `b_fill` everywhere. y may alias a or b (each
// vector is loaded before it is stored).
template <class Func>
HWY_INLINE void Map2(const float* a, const float* b, float b_fill, float* y, int64_t n,
                     const Func& f) {
  const OpsTag df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto vb = b != nullptr ? hn::LoadU(df, b + i) : hn::Set(df, b_fill);
    hn::StoreU(f(df, hn::LoadU(df, a + i), vb), df, y + i);
  }
  if (i < n) {
    const auto rest = static_cast<size_t>(n - i);
    float a_tail[kOpsMaxLanes] = {};
    float b_tail[kOpsMaxLanes];
    float y_tail[kOpsMaxLanes];
    std::memcpy(a_tail, a + i, rest * sizeof(float));
    for (size_t j = 0; j < kOpsMaxLanes; ++j)
      b_tail[j] = j < rest && b != nullptr ? b[i + j] : b_fill;
    hn::StoreU(f(df, hn::LoadU(df, a_tail), hn::LoadU(df, b_tail)), df, y_tail);
    std::memcpy(y + i, y_tail, rest * sizeof(float));
  }
}

// sum_i f(x[i]) in float64, f applied in float32 (ggml's norms square in float, then add as
// ggml_float); lanes past n contribute f(0), which must be 0.
template <class Func>
HWY_INLINE double SumInDouble(const float* x, int64_t n, const Func& f) {
  const hn::CappedTag<double, 8> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many float lanes as dd has doubles
  const auto lanes = static_cast<int64_t>(hn::Lanes(dd));
  auto sum0 = hn::Zero(dd);
  auto sum1 = hn::Zero(dd);
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    sum0 = hn::Add(sum0, hn::PromoteTo(dd, f(df, hn::LoadU(df, x + i))));
    sum1 = hn::Add(sum1, hn::PromoteTo(dd, f(df, hn::LoadU(df, x + i + lanes))));
  }
  for (; i < n; i += lanes) {
    float tail[8] = {};
    std::memcpy(tail, x + i, static_cast<size_t>(std::min(lanes, n - i)) * sizeof(float));
    sum1 = hn::Add(sum1, hn::PromoteTo(dd, f(df, hn::LoadU(df, tail))));
  }
  return hn::GetLane(hn::SumOfLanes(dd, hn::Add(sum0, sum1)));
}

void RmsNorm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  const double sum = SumInDouble(x, n, [](auto, auto v) { return hn::Mul(v, v); });
  // ggml: `const float mean = sum/ne00; const float scale = 1.0f/sqrtf(mean + eps);`
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  // x * scale rounded first, then * weight: ggml's RMS_NORM then MUL.
  Map2(x, weight, 1.0f, y, n,
       [scale](auto d, auto v, auto w) { return hn::Mul(hn::Mul(v, hn::Set(d, scale)), w); });
}

void LayerNorm(const float* x, const float* weight, const float* bias, float* y, int64_t n,
               float eps) {
  // ggml_compute_forward_norm_f32: the sum in float64 rounded to float, the mean in float, the
  // centred sum of squares in float64.
  const float mean =
      static_cast<float>(SumInDouble(x, n, [](auto, auto v) { return v; })) / static_cast<float>(n);
  Map2(x, nullptr, 0.0f, y, n,
       [mean](auto d, auto v, auto) { return hn::Sub(v, hn::Set(d, mean)); });
  const auto variance = static_cast<float>(
      SumInDouble(y, n, [](auto, auto v) { return hn::Mul(v, v); }) / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(variance + eps);
  Map2(y, weight, 1.0f, y, n,
       [scale](auto d, auto v, auto w) { return hn::Mul(hn::Mul(v, hn::Set(d, scale)), w); });
  if (bias != nullptr)
    Map2(y, bias, 0.0f, y, n, [](auto, auto v, auto b) { return hn::Add(v, b); });
}

// Rotates pairs (x0, x1) of every head by the angles whose cos/sin are given per pair. kNeox:
// x0 = x[i], x1 = x[i + n_dims/2]; otherwise x0 = x[2i], x1 = x[2i+1].
template <bool kNeox>
void RopeHeads(float* x, int64_t n_heads, int64_t head_dim, int64_t n_dims, const float* cos,
               const float* sin) {
  const OpsTag df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t n_pairs = n_dims / 2;
  const auto rotate = [&](float* p0, float* p1, int64_t i, auto& v0, auto& v1) {
    const auto c = hn::LoadU(df, cos + i);
    const auto s = hn::LoadU(df, sin + i);
    // ggml: dst[0] = x0*cos - x1*sin; dst[1] = x0*sin + x1*cos.
    const auto r0 = hn::Sub(hn::Mul(v0, c), hn::Mul(v1, s));
    const auto r1 = hn::Add(hn::Mul(v0, s), hn::Mul(v1, c));
    if constexpr (kNeox) {
      hn::StoreU(r0, df, p0);
      hn::StoreU(r1, df, p1);
    } else {
      hn::StoreInterleaved2(r0, r1, df, p0);
    }
  };
  for (int64_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    int64_t i = 0;
    for (; i + lanes <= n_pairs; i += lanes) {
      hn::Vec<OpsTag> v0, v1;
      if constexpr (kNeox) {
        v0 = hn::LoadU(df, head + i);
        v1 = hn::LoadU(df, head + n_pairs + i);
        rotate(head + i, head + n_pairs + i, i, v0, v1);
      } else {
        hn::LoadInterleaved2(df, head + 2 * i, v0, v1);
        rotate(head + 2 * i, nullptr, i, v0, v1);
      }
    }
    if (i < n_pairs) {
      // The last pairs through de-interleaved, padded copies (also of the angles).
      float t0[kOpsMaxLanes] = {}, t1[kOpsMaxLanes] = {};
      float tc[kOpsMaxLanes] = {}, ts[kOpsMaxLanes] = {};
      const int64_t rest = n_pairs - i;
      for (int64_t j = 0; j < rest; ++j) {
        t0[j] = kNeox ? head[i + j] : head[2 * (i + j)];
        t1[j] = kNeox ? head[n_pairs + i + j] : head[2 * (i + j) + 1];
        tc[j] = cos[i + j];
        ts[j] = sin[i + j];
      }
      const auto c = hn::LoadU(df, tc);
      const auto s = hn::LoadU(df, ts);
      const auto v0 = hn::LoadU(df, t0);
      const auto v1 = hn::LoadU(df, t1);
      hn::StoreU(hn::Sub(hn::Mul(v0, c), hn::Mul(v1, s)), df, t0);
      hn::StoreU(hn::Add(hn::Mul(v0, s), hn::Mul(v1, c)), df, t1);
      for (int64_t j = 0; j < rest; ++j) {
        (kNeox ? head[i + j] : head[2 * (i + j)]) = t0[j];
        (kNeox ? head[n_pairs + i + j] : head[2 * (i + j) + 1]) = t1[j];
      }
    }
  }
}

void Rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_dims, bool neox, const float* cos,
          const float* sin) {
  if (neox) return RopeHeads<true>(x, n_heads, head_dim, n_dims, cos, sin);
  RopeHeads<false>(x, n_heads, head_dim, n_dims, cos, sin);
}

void Softmax(float* x, int64_t n) {
  const OpsTag df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  auto max_v = hn::Set(df, kNegInf);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) max_v = hn::Max(max_v, hn::LoadU(df, x + i));
  float tail[kOpsMaxLanes];
  for (size_t j = 0; j < kOpsMaxLanes; ++j)
    tail[j] = i + static_cast<int64_t>(j) < n ? x[i + j] : kNegInf;
  max_v = hn::Max(max_v, hn::LoadU(df, tail));
  const float max = hn::GetLane(hn::MaxOfLanes(df, max_v));
  if (max == kNegInf) {  // every entry masked: all zero rather than 0/0
    if (n > 0) std::memset(x, 0, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  // exp(x - max) <= 1 with x - max <= 0, inside Exp's valid range; Exp(-inf) = 0.
  Map2(x, nullptr, 0.0f, x, n,
       [max](auto d, auto v, auto) { return hn::Exp(d, hn::Sub(v, hn::Set(d, max))); });
  // ggml_vec_soft_max_f32 sums as ggml_float, then scales by (float)(1.0/sum).
  const double sum = SumInDouble(x, n, [](auto, auto v) { return v; });
  const auto inv = static_cast<float>(1.0 / sum);
  Map2(x, nullptr, 0.0f, x, n, [inv](auto d, auto v, auto) { return hn::Mul(v, hn::Set(d, inv)); });
}

void SiluMul(const float* gate, const float* up, float* y, int64_t n) {
  Map2(gate, up, 1.0f, y, n, [](auto d, auto g, auto u) {
    // silu(x) = x / (1 + exp(-x)); exp's argument capped at 88 (e^88 < FLT_MAX) because Exp
    // is only valid up to 104: below x = -88 this gives |silu| < 1e-36 instead of 0.
    const auto e = hn::Exp(d, hn::Min(hn::Neg(g), hn::Set(d, 88.0f)));
    return hn::Mul(hn::Div(g, hn::Add(hn::Set(d, 1.0f), e)), u);
  });
}

// The fp16 bit pattern nearest to each lane (ties to even), as u32, for |x| < 65520 (no
// infinity or NaN handling): float16.cpp's f16_from_f32 in integer lanes. Highway's own DemoteTo
// truncates on some targets (HWY_SCALAR), so it cannot index the table.
template <class DF>
HWY_INLINE hn::Vec<hn::Rebind<uint32_t, DF>> F16Bits(DF df, hn::Vec<DF> x) {
  const hn::Rebind<uint32_t, DF> du;
  const auto bits = hn::BitCast(du, x);
  const auto sign = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 0x8000u));
  const auto magnitude = hn::And(bits, hn::Set(du, 0x7fffffffu));
  // Normal results: rebias the exponent (127 -> 15), round the 13 dropped bits to even.
  const auto odd = hn::And(hn::ShiftRight<13>(magnitude), hn::Set(du, 1u));
  const auto normal = hn::ShiftRight<13>(
      hn::Sub(hn::Add(hn::Add(magnitude, hn::Set(du, 0xfffu)), odd), hn::Set(du, 112u << 23)));
  // Below 2^-14 (subnormal results): adding 0.5 lines fp16's step 2^-24 up with float's last
  // bit, so the float addition rounds.
  const auto shifted = hn::BitCast(du, hn::Add(hn::BitCast(df, magnitude), hn::Set(df, 0.5f)));
  const auto subnormal = hn::Sub(shifted, hn::Set(du, 0x3f000000u));
  const auto is_subnormal = hn::Lt(magnitude, hn::Set(du, 0x38800000u));
  return hn::Or(sign, hn::IfThenElse(is_subnormal, subnormal, normal));
}

// GELU(tanh) through ggml's table (`table` holds gelu of every fp16 value, as float): x rounded
// to fp16 indexes it; x <= -10 gives 0 and x >= 10 gives x, as ggml_vec_geglu_f32 does.
void GeluTanhMul(const float* gate, const float* up, float* y, int64_t n, const float* table) {
  Map2(gate, up, 1.0f, y, n, [table](auto d, auto g, auto u) {
    const hn::Rebind<int32_t, decltype(d)> di32;
    // Lanes at or past +-10 (or NaN) look up entry 0 and take `outside` instead.
    const auto in_range = hn::Lt(hn::Abs(g), hn::Set(d, 10.0f));
    const auto index = hn::BitCast(di32, F16Bits(d, hn::IfThenElseZero(in_range, g)));
    const auto outside = hn::IfThenZeroElse(hn::Le(g, hn::Set(d, -10.0f)), g);  // NaN stays
    return hn::Mul(hn::IfThenElse(in_range, hn::GatherIndex(d, table, index), outside), u);
  });
}

void Add(const float* a, const float* b, float* y, int64_t n) {
  Map2(a, b, 0.0f, y, n, [](auto, auto va, auto vb) { return hn::Add(va, vb); });
}

void Mul(const float* a, const float* b, float* y, int64_t n) {
  Map2(a, b, 1.0f, y, n, [](auto, auto va, auto vb) { return hn::Mul(va, vb); });
}

void Scale(const float* a, float s, float* y, int64_t n) {
  Map2(a, nullptr, s, y, n, [](auto, auto va, auto vs) { return hn::Mul(va, vs); });
}

// Element c .. c + lanes of a row stored in `type` (F32, F16 or BF16), as float32. Highway 1.0.3's scalar emulation of
// the F16 conversion mishandles NaN, so the scalar target converts F16 with float16.h.
template <class DF>
HWY_INLINE hn::Vec<DF> LoadRowAsFloat(DF df, GgmlType type, const uint8_t* row, int64_t c) {
  if (type == GgmlType::kF32) return hn::LoadU(df, reinterpret_cast<const float*>(row) + c);
  if (type == GgmlType::kBF16) {
    const hn::Rebind<uint16_t, DF> du16;
    const hn::Rebind<uint32_t, DF> du32;
    const auto bits = hn::PromoteTo(du32, hn::LoadU(du16, reinterpret_cast<const uint16_t*>(row) + c));
    return hn::BitCast(df, hn::ShiftLeft<16>(bits));
  }
#if HWY_TARGET == HWY_SCALAR
  uint16_t bits;
  std::memcpy(&bits, row + 2 * c, sizeof(bits));
  return hn::Set(df, f32_from_f16(bits));
#else
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(row) + c));
#endif
}

// y[c] = sum_j weights[j] * row_j[c] over n_rows F32, F16 or BF16 rows `row_bytes` apart, each element summed in
// row order with fused multiply-adds; columns in groups of four vectors so the sums stay in
// registers while the rows stream past, then single vectors, then a scalar tail.
void WeightedRowSum(GgmlType type, const uint8_t* rows, int64_t row_bytes, int64_t n_rows,
                    int64_t n_cols, const float* weights, float* y) {
  const OpsTag df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t c = 0;
  for (; c + 4 * lanes <= n_cols; c += 4 * lanes) {
    auto sum0 = hn::Zero(df), sum1 = hn::Zero(df), sum2 = hn::Zero(df), sum3 = hn::Zero(df);
    for (int64_t j = 0; j < n_rows; ++j) {
      const uint8_t* row = rows + j * row_bytes;
      const auto w = hn::Set(df, weights[j]);
      sum0 = hn::MulAdd(w, LoadRowAsFloat(df, type, row, c), sum0);
      sum1 = hn::MulAdd(w, LoadRowAsFloat(df, type, row, c + lanes), sum1);
      sum2 = hn::MulAdd(w, LoadRowAsFloat(df, type, row, c + 2 * lanes), sum2);
      sum3 = hn::MulAdd(w, LoadRowAsFloat(df, type, row, c + 3 * lanes), sum3);
    }
    hn::StoreU(sum0, df, y + c);
    hn::StoreU(sum1, df, y + c + lanes);
    hn::StoreU(sum2, df, y + c + 2 * lanes);
    hn::StoreU(sum3, df, y + c + 3 * lanes);
  }
  for (; c + lanes <= n_cols; c += lanes) {
    auto sum = hn::Zero(df);
    for (int64_t j = 0; j < n_rows; ++j) {
      sum = hn::MulAdd(hn::Set(df, weights[j]), LoadRowAsFloat(df, type, rows + j * row_bytes, c),
                       sum);
    }
    hn::StoreU(sum, df, y + c);
  }
  const hn::CappedTag<float, 1> d1;
  for (; c < n_cols; ++c) {
    auto sum = hn::Zero(d1);
    for (int64_t j = 0; j < n_rows; ++j) {
      sum = hn::MulAdd(hn::Set(d1, weights[j]), LoadRowAsFloat(d1, type, rows + j * row_bytes, c),
                       sum);
    }
    y[c] = hn::GetLane(sum);
  }
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_OPS_INL_H_
