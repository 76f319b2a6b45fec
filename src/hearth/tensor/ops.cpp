// The ops of ops.h: the Highway kernels of ops-inl.h compiled once per target and dispatched
// per call; the parts that fix the numerics and are shared with the scalar references (RoPE's
// angles, the GELU table) and the references themselves; get_row through dequantize_row.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "hearth/tensor/ops.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hearth/tensor/ops-inl.h"
#include "hwy/highway.h"

#if HWY_ONCE
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "hearth/base/check.h"
#include "hearth/tensor/float16.h"
#include "hearth/tensor/ops.h"
#include "hearth/tensor/quantize.h"

namespace hearth::tensor {
HWY_EXPORT(RmsNorm);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(Rope);
HWY_EXPORT(Softmax);
HWY_EXPORT(SiluMul);
HWY_EXPORT(GeluTanhMul);
HWY_EXPORT(Add);
HWY_EXPORT(Mul);
HWY_EXPORT(Scale);
HWY_EXPORT(RowToF16);
HWY_EXPORT(RowDots);
HWY_EXPORT(WeightedRowSums);

namespace {

// Rotated pairs per head that rope handles without allocating (head_dim up to 1024).
constexpr int kMaxRopePairs = 512;

void check_rope(int64_t head_dim, const RopeParams& params) {
  HEARTH_CHECK(params.n_dims > 0 && params.n_dims % 2 == 0 && params.n_dims <= head_dim &&
                   params.n_dims / 2 <= kMaxRopePairs,
               "rope n_dims {} with head_dim {}", params.n_dims, head_dim);
}

// ggml's GELU table (GGML_GELU_FP16): for every fp16 bit pattern h, fp16(gelu(float(h))) as a
// float, with gelu(x) = 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))) evaluated in float as
// ggml_gelu_f32 does. Looking x up by its fp16 rounding reproduces ggml's GELU exactly; it is
// within about 2^-11 relative of the formula (the two fp16 roundings).
const float* gelu_table() {
  static const std::vector<float> table = [] {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    constexpr float kCoefA = 0.044715f;
    std::vector<float> t(1 << 16);
    for (uint32_t h = 0; h < t.size(); ++h) {
      const float x = f32_from_f16(static_cast<uint16_t>(h));
      const float gelu = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
      t[h] = f32_from_f16(f16_from_f32(gelu));
    }
    return t;
  }();
  return table.data();
}

}  // namespace

void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, weight, y, n, eps);
}

void layer_norm(const float* x, const float* weight, const float* bias, float* y, int64_t n,
                float eps) {
  HWY_DYNAMIC_DISPATCH(LayerNorm)(x, weight, bias, y, n, eps);
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t position, const RopeParams& params) {
  check_rope(head_dim, params);
  std::array<float, kMaxRopePairs> cos, sin;
  rope_angles(position, params, cos.data(), sin.data());
  rope_rotate(x, n_heads, head_dim, params, cos.data(), sin.data());
}

// Computed as ggml_rope_cache_init does without YaRN (ext_factor 0, attn_factor 1): theta starts
// at the position and is multiplied by theta_scale = freq_base^(-2/n_dims) pair after pair (in
// float, so the rounding matches), each pair's theta divided by its frequency factor, then
// multiplied by freq_scale.
void rope_angles(int64_t position, const RopeParams& params, float* cos, float* sin) {
  const float theta_scale = std::pow(params.freq_base, -2.0f / static_cast<float>(params.n_dims));
  float theta = static_cast<float>(position);
  for (int i = 0; i < params.n_dims / 2; ++i) {
    const float factor = params.freq_factors != nullptr ? params.freq_factors[i] : 1.0f;
    const float angle = params.freq_scale * (theta / factor);
    cos[i] = std::cos(angle);
    sin[i] = std::sin(angle);
    theta *= theta_scale;
  }
}

void rope_rotate(float* x, int64_t n_heads, int64_t head_dim, const RopeParams& params,
                 const float* cos, const float* sin) {
  check_rope(head_dim, params);
  HWY_DYNAMIC_DISPATCH(Rope)
  (x, n_heads, head_dim, params.n_dims, params.layout == RopeLayout::kNeox, cos, sin);
}

void softmax(float* x, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Softmax)(x, n);
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(SiluMul)(gate, up, y, n);
}

void gelu_tanh_mul(const float* gate, const float* up, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(GeluTanhMul)(gate, up, y, n, gelu_table());
}

void add(const float* a, const float* b, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Add)(a, b, y, n);
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Mul)(a, b, y, n);
}

void scale(const float* a, float s, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Scale)(a, s, y, n);
}

namespace {

// n_rows rows of n_cols elements of `type` as the float kernels read them: F32, F16 and BF16 in
// place, other types decoded to F32 into `decoded`.
struct FloatRows {
  GgmlType type;
  const uint8_t* bytes;
  int64_t stride;
};

FloatRows float_rows(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols,
                     std::vector<float>& decoded) {
  const auto row_bytes = ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols));
  HEARTH_CHECK(is_convertible(type) && row_bytes.has_value(), "no rows of {} columns of type {}",
               n_cols, static_cast<uint32_t>(type));
  const auto* bytes = static_cast<const uint8_t*>(rows);
  const auto stride = static_cast<int64_t>(*row_bytes);
  if (type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) {
    return {type, bytes, stride};
  }
  decoded.resize(static_cast<size_t>(n_rows * n_cols));
  for (int64_t j = 0; j < n_rows; ++j) {
    dequantize_row(type, bytes + j * stride, decoded.data() + j * n_cols, n_cols);
  }
  return {GgmlType::kF32, reinterpret_cast<const uint8_t*>(decoded.data()),
          n_cols * static_cast<int64_t>(sizeof(float))};
}

}  // namespace

void row_dots(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols, const float* x,
              int64_t n_x, int64_t x_stride, float* y, int64_t y_stride) {
  std::vector<float> decoded;
  const FloatRows r = float_rows(type, rows, n_rows, n_cols, decoded);
  HWY_DYNAMIC_DISPATCH(RowDots)
  (r.type, r.bytes, r.stride, n_rows, n_cols, x, n_x, x_stride, y, y_stride);
}

void weighted_row_sums(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols,
                       const float* weights, int64_t n_sets, int64_t weight_stride, float* y,
                       int64_t y_stride) {
  std::vector<float> decoded;
  const FloatRows r = float_rows(type, rows, n_rows, n_cols, decoded);
  HWY_DYNAMIC_DISPATCH(WeightedRowSums)
  (r.type, r.bytes, r.stride, n_rows, n_cols, weights, n_sets, weight_stride, y, y_stride);
}

void round_to_f16(const float* x, uint16_t* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(RowToF16)(x, y, n);
}

void get_row(GgmlType type, const void* data, int64_t n_cols, int64_t row, float* y) {
  const auto row_bytes = ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols));
  HEARTH_CHECK(is_convertible(type) && row_bytes.has_value(), "no row of {} columns of type {}",
               n_cols, static_cast<uint32_t>(type));
  dequantize_row(type, static_cast<const uint8_t*>(data) + row * static_cast<int64_t>(*row_bytes),
                 y, n_cols);
}

namespace reference {

void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] * scale;
    y[i] = weight != nullptr ? v * weight[i] : v;
  }
}

void layer_norm(const float* x, const float* weight, const float* bias, float* y, int64_t n,
                float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float mean = static_cast<float>(sum) / static_cast<float>(n);
  double sum2 = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] - mean;
    sum2 += static_cast<double>(y[i] * y[i]);
  }
  const auto variance = static_cast<float>(sum2 / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(variance + eps);
  for (int64_t i = 0; i < n; ++i) {
    float v = y[i] * scale;
    if (weight != nullptr) v *= weight[i];
    if (bias != nullptr) v += bias[i];
    y[i] = v;
  }
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t position, const RopeParams& params) {
  check_rope(head_dim, params);
  std::array<float, kMaxRopePairs> cos, sin;
  rope_angles(position, params, cos.data(), sin.data());
  const int64_t n_pairs = params.n_dims / 2;
  const bool neox = params.layout == RopeLayout::kNeox;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (int64_t i = 0; i < n_pairs; ++i) {
      float& a = neox ? head[i] : head[2 * i];
      float& b = neox ? head[i + n_pairs] : head[2 * i + 1];
      const float x0 = a;
      const float x1 = b;
      a = x0 * cos[i] - x1 * sin[i];
      b = x0 * sin[i] + x1 * cos[i];
    }
  }
}

void softmax(float* x, int64_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max == -std::numeric_limits<float>::infinity()) {
    for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float silu = gate[i] / (1.0f + std::exp(-gate[i]));
    y[i] = up != nullptr ? silu * up[i] : silu;
  }
}

void gelu_tanh_mul(const float* gate, const float* up, float* y, int64_t n) {
  const float* table = gelu_table();
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    const float gelu = x <= -10.0f ? 0.0f : x >= 10.0f ? x : table[f16_from_f32(x)];
    y[i] = up != nullptr ? gelu * up[i] : gelu;
  }
}

namespace {

std::vector<float> decoded_rows(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols) {
  const auto row_bytes = ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols));
  HEARTH_CHECK(row_bytes.has_value(), "no rows of {} columns of type {}", n_cols,
               static_cast<uint32_t>(type));
  std::vector<float> decoded(static_cast<size_t>(n_rows * n_cols));
  for (int64_t j = 0; j < n_rows; ++j) {
    dequantize_row(type, static_cast<const uint8_t*>(rows) + j * static_cast<int64_t>(*row_bytes),
                   decoded.data() + j * n_cols, n_cols);
  }
  return decoded;
}

}  // namespace

void row_dots(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols, const float* x,
              int64_t n_x, int64_t x_stride, float* y, int64_t y_stride) {
  const std::vector<float> r = decoded_rows(type, rows, n_rows, n_cols);
  for (int64_t i = 0; i < n_x; ++i) {
    for (int64_t j = 0; j < n_rows; ++j) {
      double sum = 0.0;
      for (int64_t c = 0; c < n_cols; ++c) {
        sum += static_cast<double>(x[i * x_stride + c]) * r[j * n_cols + c];
      }
      y[i * y_stride + j] = static_cast<float>(sum);
    }
  }
}

void weighted_row_sums(GgmlType type, const void* rows, int64_t n_rows, int64_t n_cols,
                       const float* weights, int64_t n_sets, int64_t weight_stride, float* y,
                       int64_t y_stride) {
  const std::vector<float> r = decoded_rows(type, rows, n_rows, n_cols);
  for (int64_t i = 0; i < n_sets; ++i) {
    for (int64_t c = 0; c < n_cols; ++c) {
      double sum = 0.0;
      for (int64_t j = 0; j < n_rows; ++j) {
        sum += static_cast<double>(weights[i * weight_stride + j]) * r[j * n_cols + c];
      }
      y[i * y_stride + c] = static_cast<float>(sum);
    }
  }
}

}  // namespace reference
}  // namespace hearth::tensor
#endif  // HWY_ONCE
