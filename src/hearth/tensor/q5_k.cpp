// Q5_K: super-blocks of 256 = 8 sub-blocks of 32. fp16 d, fp16 dmin, 12 bytes of 6-bit scales
// and mins (k_quants.h), 32 bytes qh of fifth bits (bit j of qh[l] is the fifth bit of element l
// of sub-block j), 128 bytes of low nibbles laid out as Q4_K's. Element i of sub-block j decodes
// to d * scale_j * q - dmin * min_j. Quantized as ggml's quantize_row_q5_K_ref (31 levels, 15 grid
// steps from -0.5 in 0.1 increments).
#include <cstring>

#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/k_quants.h"

namespace hearth::tensor::internal {

void quantize_row_q5_k(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    uint8_t* dst = out + block * kQ5_KBlockBytes;
    uint8_t codes[kQkK];
    quantize_k_superblock(x + block * kQkK, 31, -0.5f, 0.1f, 15, dst, codes);
    uint8_t* qh = dst + 16;
    uint8_t* qs = dst + 48;
    std::memset(qh, 0, 32 + 128);  // qh, then qs
    for (int j = 0; j < 8; ++j) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t code = codes[32 * j + l];
        qh[l] |= static_cast<uint8_t>((code >> 4) << j);
        qs[32 * (j / 2) + l] |= static_cast<uint8_t>((code & 0x0f) << (4 * (j % 2)));
      }
    }
  }
}

void dequantize_row_q5_k(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    const uint8_t* src = in + block * kQ5_KBlockBytes;
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const uint8_t* qh = src + 16;
    const uint8_t* qs = src + 48;
    float* dst = y + block * kQkK;
    for (int j = 0; j < 8; ++j) {
      int scale, min;
      unpack_k_scale(j, src + 4, &scale, &min);
      const float sub_d = d * static_cast<float>(scale);
      const float sub_min = dmin * static_cast<float>(min);
      const uint8_t* bytes = qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) {
        const int code = ((bytes[l] >> shift) & 0x0f) | (((qh[l] >> j) & 1) << 4);
        dst[32 * j + l] = sub_d * static_cast<float>(code) - sub_min;
      }
    }
  }
}

}  // namespace hearth::tensor::internal
