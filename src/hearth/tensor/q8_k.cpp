// Q8_K: super-blocks of 256, a float32 d, 256 int8 codes and 16 int16 sums of 16 codes each
// (bsums, which llama.cpp's K-quant dot products use). Element i decodes to d * q[i]. Quantized
// as ggml's quantize_row_q8_K_ref: d = m / -127, m the element of largest magnitude with its sign.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/k_quants.h"

namespace hearth::tensor::internal {

void quantize_row_q8_k(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    const float* xs = x + block * kQkK;
    uint8_t* dst = out + block * kQ8_KBlockBytes;
    std::memset(dst, 0, kQ8_KBlockBytes);
    float max_abs = 0.0f;
    float extreme = 0.0f;
    for (int i = 0; i < kQkK; ++i) {
      if (std::fabs(xs[i]) > max_abs) {
        max_abs = std::fabs(xs[i]);
        extreme = xs[i];
      }
    }
    if (max_abs == 0.0f) continue;
    const float inverse = -127.0f / extreme;
    int8_t codes[kQkK];
    for (int i = 0; i < kQkK; ++i) {
      codes[i] = static_cast<int8_t>(std::min(127, round_to_int(inverse * xs[i])));
    }
    const float d = 1.0f / inverse;
    std::memcpy(dst, &d, sizeof(d));
    std::memcpy(dst + 4, codes, kQkK);
    for (int j = 0; j < kQkK / 16; ++j) {
      int16_t sum = 0;
      for (int i = 0; i < 16; ++i) sum = static_cast<int16_t>(sum + codes[16 * j + i]);
      std::memcpy(dst + 4 + kQkK + 2 * j, &sum, sizeof(sum));
    }
  }
}

void dequantize_row_q8_k(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    const uint8_t* src = in + block * kQ8_KBlockBytes;
    float d;
    std::memcpy(&d, src, sizeof(d));
    for (int i = 0; i < kQkK; ++i) {
      y[block * kQkK + i] = d * static_cast<float>(static_cast<int8_t>(src[4 + i]));
    }
  }
}

}  // namespace hearth::tensor::internal
