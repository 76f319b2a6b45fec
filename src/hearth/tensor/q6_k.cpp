// Q6_K: super-blocks of 256 = 16 sub-blocks of 16 with signed 8-bit scales. 128 bytes ql of low
// nibbles, 64 bytes qh of 2-bit high parts, int8 scales[16], fp16 d. Element e decodes to
// d * scales[e / 16] * (q - 32), q = 6 bits spread as q6_k_code() reads them. Quantized as ggml's
// quantize_row_q6_K_ref: each sub-block fitted by fit_symmetric_scale, scales to 8 bits under d.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/k_quants.h"

namespace hearth::tensor::internal {
namespace {

constexpr int kSub = 16;

// Where the 6 bits of element e (0..255) live: each half of 128 elements has 64 ql bytes and 32
// qh bytes; its quarter k (32 elements) uses the low (k < 2) or high nibble of ql bytes
// 32 * (k % 2) + l, and bits 2k, 2k + 1 of qh byte l.
struct Q6Place {
  int ql;
  int ql_shift;
  int qh;
  int qh_shift;
};

Q6Place q6_place(int e) {
  const int half = e / 128;
  const int k = (e % 128) / 32;
  const int l = e % 32;
  return {64 * half + 32 * (k % 2) + l, 4 * (k / 2), 32 * half + l, 2 * k};
}

}  // namespace

void quantize_row_q6_k(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    const float* xs = x + block * kQkK;
    uint8_t* dst = out + block * kQ6_KBlockBytes;
    std::memset(dst, 0, kQ6_KBlockBytes);
    uint8_t codes[kQkK];
    float scales[kQkK / kSub];
    float max_abs_scale = 0.0f;
    float max_scale = 0.0f;
    for (int j = 0; j < kQkK / kSub; ++j) {
      scales[j] = fit_symmetric_scale(kSub, 32, xs + kSub * j, codes + kSub * j);
      if (std::fabs(scales[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (max_abs_scale < 1e-15f) continue;  // all zero, d = 0
    const float inverse = -128.0f / max_scale;
    store_f16(dst + 208, 1.0f / inverse);
    auto* sub_scales = reinterpret_cast<int8_t*>(dst + 192);
    for (int j = 0; j < kQkK / kSub; ++j) {
      sub_scales[j] = static_cast<int8_t>(std::min(127, round_to_int(inverse * scales[j])));
    }
    const float d = load_f16(dst + 208);
    for (int j = 0; j < kQkK / kSub; ++j) {
      const float sub_d = d * static_cast<float>(sub_scales[j]);
      if (sub_d == 0.0f) continue;  // keeps the search's codes, as ggml does
      for (int i = 0; i < kSub; ++i) {
        const int l = round_to_int(xs[kSub * j + i] / sub_d);
        codes[kSub * j + i] = static_cast<uint8_t>(std::max(-32, std::min(31, l)) + 32);
      }
    }
    for (int e = 0; e < kQkK; ++e) {
      const Q6Place place = q6_place(e);
      dst[place.ql] |= static_cast<uint8_t>((codes[e] & 0x0f) << place.ql_shift);
      dst[128 + place.qh] |= static_cast<uint8_t>((codes[e] >> 4) << place.qh_shift);
    }
  }
}

void dequantize_row_q6_k(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    const uint8_t* src = in + block * kQ6_KBlockBytes;
    const float d = load_f16(src + 208);
    const auto* sub_scales = reinterpret_cast<const int8_t*>(src + 192);
    for (int e = 0; e < kQkK; ++e) {
      const Q6Place place = q6_place(e);
      const int code = ((src[place.ql] >> place.ql_shift) & 0x0f) |
                       (((src[128 + place.qh] >> place.qh_shift) & 3) << 4);
      y[block * kQkK + e] =
          d * static_cast<float>(sub_scales[e / kSub]) * static_cast<float>(code - 32);
    }
  }
}

}  // namespace hearth::tensor::internal
