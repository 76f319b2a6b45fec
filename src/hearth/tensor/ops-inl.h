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
#include "hearth/tensor/kernel_common-inl.h"
#include "hearth/tensor/stream.h"
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

// The fp16 bit pattern nearest to each lane (ties to even), as u32: float16.cpp's f16_from_f32
// in integer lanes (past 65520 infinity, NaN the quiet NaN 0x7e00 with x's sign). Highway's own
// DemoteTo truncates on some targets (HWY_SCALAR), so it cannot index the GELU table.
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
  // At or past 65520: infinity, or NaN.
  const auto is_nan = hn::Gt(magnitude, hn::Set(du, 0x7f800000u));
  const auto special = hn::IfThenElse(is_nan, hn::Set(du, 0x7e00u), hn::Set(du, 0x7c00u));
  const auto finite = hn::IfThenElse(is_subnormal, subnormal, normal);
  return hn::Or(sign, hn::IfThenElse(hn::Gt(magnitude, hn::Set(du, 0x477fefffu)), special, finite));
}

void RowToF16(const float* x, uint16_t* y, int64_t n) {
  const OpsTag df;
  const hn::Rebind<int32_t, OpsTag> di;
  const hn::Rebind<uint16_t, OpsTag> d16;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto bits = hn::BitCast(di, F16Bits(df, hn::LoadU(df, x + i)));
    hn::StoreU(hn::DemoteTo(d16, bits), d16, y + i);
  }
  for (; i < n; ++i) y[i] = f16_from_f32(x[i]);
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

// Element c of a row stored in kType, as float32 (the scalar tails).
template <GgmlType kType>
HWY_INLINE float RowElement(const uint8_t* row, int64_t c) {
  return hn::GetLane(LoadRowAsFloat<kType>(hn::CappedTag<float, 1>(), row, c));
}

// f.template operator()<kType>() for the float row type `type` (F32, F16 or BF16).
template <class Func>
HWY_INLINE void WithFloatRowType(GgmlType type, const Func& f) {
  if (type == GgmlType::kF32) {
    f.template operator()<GgmlType::kF32>();
  } else if (type == GgmlType::kF16) {
    f.template operator()<GgmlType::kF16>();
  } else {
    f.template operator()<GgmlType::kBF16>();
  }
}

// Combines kN (a power of two) vectors pairwise, v[i] = pairs(v[2i + 1], v[2i]), until v[0]
// holds them all.
template <int64_t kN, class Pairs, class V>
HWY_INLINE void CombinePairs(const Pairs& pairs, V* v) {
  if constexpr (kN > 1) {
    ForEachIndex<kN / 2>([&](auto i) { v[i] = pairs(v[2 * i + 1], v[2 * i]); });
    CombinePairs<kN / 2>(pairs, v);
  }
}

// sums[i] = the sum of the lanes of v[i] for kCount (a power of two) vectors, which it
// overwrites. Pairs of vectors are combined into one, each lane the sum of two neighbouring lanes
// of one of them, until one vector holds them all; so every sum goes through the same tree of
// pairwise adds (neighbours first), and a dot product rounds the same in any slot and with any
// kCount.
template <int64_t kCount, class DF, class V>
HWY_INLINE void SumsOfLanes(DF df, V* v, float* sums) {
#if HWY_TARGET == HWY_SCALAR
  (void)df;
  for (int64_t i = 0; i < kCount; ++i) sums[i] = hn::GetLane(v[i]);
#else
  constexpr auto kLanes = static_cast<int64_t>(hn::MaxLanes(df));
  if constexpr (kCount > kLanes) {
    SumsOfLanes<kCount / 2>(df, v, sums);
    SumsOfLanes<kCount / 2>(df, v + kCount / 2, sums + kCount / 2);
  } else {
    const auto pairs = [df](V hi, V lo) {
      return hn::Add(hn::ConcatEven(df, hi, lo), hn::ConcatOdd(df, hi, lo));
    };
    CombinePairs<kCount>(pairs, v);
    V all = v[0];
    for (int64_t n = kLanes; n > kCount; n /= 2) all = pairs(all, all);
    HWY_ALIGN float lanes[kOpsMaxLanes];
    hn::Store(all, df, lanes);
    std::memcpy(sums, lanes, kCount * sizeof(float));
  }
#endif
}

// Rows of RowDots' passes.
constexpr int64_t kRowsPerPass = 4;

// Runs pass<kSlots>(first, ...) over n items in passes of 4, then 2, then 1: the kernels below
// take that many queries or weight vectors at a time, each with its own registers.
template <class Pass>
HWY_INLINE void InPassesOf4(int64_t n, const Pass& pass) {
  int64_t first = 0;
  for (; first + 4 <= n; first += 4) pass.template operator()<4>(first);
  if (first + 2 <= n) {
    pass.template operator()<2>(first);
    first += 2;
  }
  if (first < n) pass.template operator()<1>(first);
}

// True when InPassesOf4(n, ...) makes a single pass (n is 1, 2 or 4).
inline bool OnePassOf4(int64_t n) {
  return n == 1 || n == 2 || n == 4;
}

// y[i * y_stride + r] = x_i . R_r for n_x vectors x_i = x + i * x_stride and n_rows rows R_r,
// `row_bytes` apart, of n_cols kType elements. Each dot is one float32 sum per lane over the
// whole vectors in column order (fused multiply-adds), SumsOfLanes, then the tail columns added
// in order: the same operations whatever n_x, n_rows or its place among them. Rows go four at a
// time and the x_i up to four at a time, so each row vector loaded serves every x_i of the pass
// and each x vector loaded serves four rows (with one vector load per multiply-add, L1's loads
// would bound it). The rows are prefetched ahead (StreamPrefetch): at a depth, decode streams
// the KV cache as it streams the weights (one pass over the rows: from memory); a batch's passes
// find them in the caches.
template <GgmlType kType>
void RowDotsOf(const uint8_t* rows, int64_t row_bytes, int64_t n_rows, int64_t n_cols,
               const float* x, int64_t n_x, int64_t x_stride, float* y, int64_t y_stride) {
  const OpsTag df;
  using V = hn::Vec<OpsTag>;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t n_whole = n_cols / lanes * lanes;
  const bool one_pass = OnePassOf4(n_x);
  InPassesOf4(n_x, [&]<int64_t kSlots>(int64_t first) {
    const float* xs[kSlots];
    for (int64_t j = 0; j < kSlots; ++j) xs[j] = x + (first + j) * x_stride;
    // Row k's sums in slots k * kSlots .. k * kSlots + kSlots - 1.
    constexpr int64_t kSums = kRowsPerPass * kSlots;
    StreamPrefetch prefetch(rows);
    for (int64_t r = 0; r < n_rows; r += kRowsPerPass) {
      prefetch.reached(rows + (r + kRowsPerPass) * row_bytes, /*from_memory=*/one_pass);
      const uint8_t* row[kRowsPerPass];  // rows past n_rows repeat the last
      for (int64_t k = 0; k < kRowsPerPass; ++k) {
        row[k] = rows + std::min(r + k, n_rows - 1) * row_bytes;
      }
      V acc[kSums];
      ForEachIndex<kSums>([&](auto i) { acc[i] = hn::Zero(df); });
      for (int64_t c = 0; c < n_whole; c += lanes) {
        V k[kRowsPerPass];
        ForEachIndex<kRowsPerPass>([&](auto i) { k[i] = LoadRowAsFloat<kType>(df, row[i], c); });
        ForEachIndex<kSlots>([&](auto j) {
          const V v = hn::LoadU(df, xs[j] + c);
          ForEachIndex<kRowsPerPass>(
              [&](auto i) { acc[i * kSlots + j] = hn::MulAdd(v, k[i], acc[i * kSlots + j]); });
        });
      }
      float sums[kSums];
      SumsOfLanes<kSums>(df, acc, sums);
      // The tail through one-lane vectors: MulAdd fuses (or not) as in the whole vectors,
      // whatever the compiler would make of `sum += x * k` in each kSlots' code.
      const hn::CappedTag<float, 1> d1;
      for (int64_t c = n_whole; c < n_cols; ++c) {
        for (int64_t i = 0; i < kRowsPerPass; ++i) {
          const auto k = hn::Set(d1, RowElement<kType>(row[i], c));
          for (int64_t j = 0; j < kSlots; ++j) {
            float& sum = sums[i * kSlots + j];
            sum = hn::GetLane(hn::MulAdd(hn::Set(d1, xs[j][c]), k, hn::Set(d1, sum)));
          }
        }
      }
      for (int64_t j = 0; j < kSlots; ++j) {
        float* yj = y + (first + j) * y_stride;
        for (int64_t i = 0; i < kRowsPerPass && r + i < n_rows; ++i)
          yj[r + i] = sums[i * kSlots + j];
      }
    }
  });
}

// y_i[c] = sum_r w_i[r] * R_r[c] for n_sets weight vectors w_i = weights + i * weight_stride,
// y_i = y + i * y_stride, over n_rows rows R_r, `row_bytes` apart, of n_cols kType elements. Each
// y_i[c] is summed in row order with fused multiply-adds from zero, whatever n_sets or the
// column's place: up to four weight vectors at a time over slices of four vectors of columns
// (eight for up to two weight vectors with AVX-512; each row vector loaded serves every sum of the
// pass), then single vectors, then single columns. Rows are prefetched ahead as in RowDots; a
// single pass over them with one slice of columns reads them from memory.
template <GgmlType kType>
void WeightedRowSumsOf(const uint8_t* rows, int64_t row_bytes, int64_t n_rows, int64_t n_cols,
                       const float* weights, int64_t n_sets, int64_t weight_stride, float* y,
                       int64_t y_stride) {
  const OpsTag df;
  const bool one_pass = OnePassOf4(n_sets);
  InPassesOf4(n_sets, [&]<int64_t kSlots>(int64_t first) {
    const float* ws[kSlots];
    for (int64_t j = 0; j < kSlots; ++j) ws[j] = weights + (first + j) * weight_stride;
    int64_t c = 0;
    // Columns [c, c + kWidth * Lanes(d)) for every set, while they fit.
    const auto columns = [&]<int64_t kWidth>(auto d) {
      using V = hn::Vec<decltype(d)>;
      const auto width = static_cast<int64_t>(kWidth * hn::Lanes(d));
      for (; c + width <= n_cols; c += width) {
        V acc[kSlots * kWidth];
        ForEachIndex<kSlots * kWidth>([&](auto i) { acc[i] = hn::Zero(d); });
        StreamPrefetch prefetch(rows);
        const bool from_memory = one_pass && c == 0;  // the rows' only read
        for (int64_t r = 0; r < n_rows; ++r) {
          const uint8_t* row = rows + r * row_bytes;
          prefetch.reached(row + row_bytes, from_memory);
          V v[kWidth];
          ForEachIndex<kWidth>([&](auto k) {
            v[k] = LoadRowAsFloat<kType>(d, row, c + k * static_cast<int64_t>(hn::Lanes(d)));
          });
          ForEachIndex<kSlots>([&](auto j) {
            const V w = hn::Set(d, ws[j][r]);
            ForEachIndex<kWidth>(
                [&](auto k) { acc[j * kWidth + k] = hn::MulAdd(w, v[k], acc[j * kWidth + k]); });
          });
        }
        ForEachIndex<kSlots * kWidth>([&](auto i) {
          hn::StoreU(acc[i], d,
                     y + (first + i / kWidth) * y_stride + c +
                         i % kWidth * static_cast<int64_t>(hn::Lanes(d)));
        });
      }
    };
    // With 16-lane vectors (AVX-512's 32 registers) one or two sets take 8 vectors of columns at
    // a time: a head of 128 in one pass over the rows, each row read whole and in order.
    if constexpr (kSlots <= 2 && hn::MaxLanes(OpsTag()) == 16) columns.template operator()<8>(df);
    columns.template operator()<4>(df);
    columns.template operator()<1>(df);
    columns.template operator()<1>(hn::CappedTag<float, 1>());
  });
}

void RowDots(GgmlType type, const uint8_t* rows, int64_t row_bytes, int64_t n_rows, int64_t n_cols,
             const float* x, int64_t n_x, int64_t x_stride, float* y, int64_t y_stride) {
  WithFloatRowType(type, [&]<GgmlType kType>() {
    RowDotsOf<kType>(rows, row_bytes, n_rows, n_cols, x, n_x, x_stride, y, y_stride);
  });
}

void WeightedRowSums(GgmlType type, const uint8_t* rows, int64_t row_bytes, int64_t n_rows,
                     int64_t n_cols, const float* weights, int64_t n_sets, int64_t weight_stride,
                     float* y, int64_t y_stride) {
  WithFloatRowType(type, [&]<GgmlType kType>() {
    WeightedRowSumsOf<kType>(rows, row_bytes, n_rows, n_cols, weights, n_sets, weight_stride, y,
                             y_stride);
  });
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_OPS_INL_H_
