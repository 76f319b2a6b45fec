// The scale searches of the K-quants and the Q4_K/Q5_K super-block fit (k_quants.h). Written
// from the description of ggml's make_qkx2_quants / make_qx_quants / quantize_row_q4_K_ref; the
// results are byte-identical to them (checked against libggml, see quantize_test.cpp).
#include "hearth/tensor/k_quants.h"

#include <algorithm>
#include <cstring>

#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"

namespace hearth::tensor::internal {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

int clamp_code(int value, int lo, int hi) {
  return std::max(lo, std::min(hi, value));
}

}  // namespace

float fit_scale_and_min(int n, int n_max, const float* x, const float* weights, uint8_t* codes,
                        float* min_out, float r_min, float r_delta, int n_steps) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  min = std::min(min, 0.0f);
  if (max == min) {
    std::fill(codes, codes + n, uint8_t{0});
    *min_out = -min;
    return 0.0f;
  }
  float inverse = static_cast<float>(n_max) / (max - min);
  float scale = 1.0f / inverse;
  float best_error = 0.0f;
  for (int i = 0; i < n; ++i) {
    codes[i] = static_cast<uint8_t>(clamp_code(round_to_int(inverse * (x[i] - min)), 0, n_max));
    const float diff = scale * codes[i] + min - x[i];
    best_error += weights[i] * (diff * diff);
  }
  if (n_steps < 1) {
    *min_out = -min;
    return scale;
  }
  uint8_t trial[kQkK];
  for (int step = 0; step <= n_steps; ++step) {
    inverse =
        (r_min + r_delta * static_cast<float>(step) + static_cast<float>(n_max)) / (max - min);
    float sum_l = 0.0f;
    float sum_l2 = 0.0f;
    float sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_code(round_to_int(inverse * (x[i] - min)), 0, n_max);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += weights[i] * static_cast<float>(l);
      sum_l2 += weights[i] * static_cast<float>(l) * static_cast<float>(l);
      sum_xl += weights[i] * static_cast<float>(l) * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.0f) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0.0f) {
      this_min = 0.0f;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * trial[i] + this_min - x[i];
      error += weights[i] * (diff * diff);
    }
    if (error < best_error) {
      std::copy(trial, trial + n, codes);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *min_out = -min;
  return scale;
}

float fit_symmetric_scale(int n, int n_max, const float* x, uint8_t* codes) {
  float max_abs = 0.0f;
  float extreme = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > max_abs) {
      max_abs = std::fabs(x[i]);
      extreme = x[i];
    }
  }
  if (max_abs < kGroupMaxEps) {
    std::fill(codes, codes + n, uint8_t{0});
    return 0.0f;
  }
  // Sums of w*x*l and w*l*l with w = x^2 for the grid of `inverse`; writes the codes if asked.
  const auto fit = [&](float inverse, float* sum_xl, float* sum_l2, uint8_t* out) {
    *sum_xl = 0.0f;
    *sum_l2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_code(round_to_int(inverse * x[i]), -n_max, n_max - 1);
      const float w = x[i] * x[i];
      *sum_xl += w * x[i] * static_cast<float>(l);
      *sum_l2 += w * static_cast<float>(l) * static_cast<float>(l);
      if (out != nullptr) out[i] = static_cast<uint8_t>(l + n_max);
    }
  };
  float sum_xl, sum_l2;
  fit(-static_cast<float>(n_max) / extreme, &sum_xl, &sum_l2, codes);
  float scale = sum_l2 != 0.0f ? sum_xl / sum_l2 : 0.0f;
  float best = scale * sum_xl;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    const float inverse = -(static_cast<float>(n_max) + 0.1f * static_cast<float>(step)) / extreme;
    fit(inverse, &sum_xl, &sum_l2, nullptr);
    if (sum_l2 > 0.0f && sum_xl * sum_xl > best * sum_l2) {
      fit(inverse, &sum_xl, &sum_l2, codes);
      scale = sum_xl / sum_l2;
      best = scale * sum_xl;
    }
  }
  return scale;
}

void pack_k_scales(const uint8_t* scales, const uint8_t* mins, uint8_t* packed) {
  std::memset(packed, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      packed[j] = scales[j];
      packed[j + 4] = mins[j];
    } else {
      packed[j + 4] = static_cast<uint8_t>((scales[j] & 0x0f) | ((mins[j] & 0x0f) << 4));
      packed[j - 4] |= static_cast<uint8_t>((scales[j] >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((mins[j] >> 4) << 6);
    }
  }
}

void quantize_k_superblock(const float* x, int n_max, float r_min, float r_delta, int n_steps,
                           uint8_t* header, uint8_t* codes) {
  constexpr int kSub = 32;
  float scales[kQkK / kSub];
  float mins[kQkK / kSub];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int j = 0; j < kQkK / kSub; ++j) {
    const float* xs = x + kSub * j;
    float sum_x2 = 0.0f;
    for (int i = 0; i < kSub; ++i) sum_x2 += xs[i] * xs[i];
    const float average = std::sqrt(sum_x2 / kSub);
    float weights[kSub];
    for (int i = 0; i < kSub; ++i) weights[i] = average + std::fabs(xs[i]);
    scales[j] = fit_scale_and_min(kSub, n_max, xs, weights, codes + kSub * j, &mins[j], r_min,
                                  r_delta, n_steps);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inverse_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inverse_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  uint8_t scale_codes[8];
  uint8_t min_codes[8];
  for (int j = 0; j < 8; ++j) {
    scale_codes[j] = static_cast<uint8_t>(std::min(63, round_to_int(inverse_scale * scales[j])));
    min_codes[j] = static_cast<uint8_t>(std::min(63, round_to_int(inverse_min * mins[j])));
  }
  store_f16(header, max_scale / 63.0f);
  store_f16(header + 2, max_min / 63.0f);
  pack_k_scales(scale_codes, min_codes, header + 4);
  const float d = load_f16(header);
  const float dmin = load_f16(header + 2);
  for (int j = 0; j < 8; ++j) {
    int scale_code, min_code;
    unpack_k_scale(j, header + 4, &scale_code, &min_code);
    const float sub_d = d * static_cast<float>(scale_code);
    if (sub_d == 0.0f) continue;  // keeps the search's codes, as ggml does
    const float sub_min = dmin * static_cast<float>(min_code);
    for (int i = 0; i < kSub; ++i) {
      const int l = round_to_int((x[kSub * j + i] + sub_min) / sub_d);
      codes[kSub * j + i] = static_cast<uint8_t>(clamp_code(l, 0, n_max));
    }
  }
}

}  // namespace hearth::tensor::internal
