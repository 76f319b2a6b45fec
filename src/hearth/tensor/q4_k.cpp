// Q4_K: super-blocks of 256 = 8 sub-blocks of 32. fp16 d, fp16 dmin, 12 bytes of 6-bit scales
// and mins (k_quants.h), 128 bytes of 4-bit codes: each 32 bytes hold two sub-blocks, the first in
// the low nibbles. Element i of sub-block j decodes to d * scale_j * q - dmin * min_j. Quantized
// as ggml's quantize_row_q4_K_ref (15 levels, 20 grid steps from -1 in 0.1 increments).
#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/k_quants.h"

namespace hearth::tensor::internal {

void quantize_row_q4_k(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    uint8_t* dst = out + block * kQ4_KBlockBytes;
    uint8_t codes[kQkK];
    quantize_k_superblock(x + block * kQkK, 15, -1.0f, 0.1f, 20, dst, codes);
    uint8_t* qs = dst + 16;
    for (int chunk = 0; chunk < kQkK / 64; ++chunk) {
      for (int l = 0; l < 32; ++l) {
        qs[32 * chunk + l] =
            static_cast<uint8_t>(codes[64 * chunk + l] | (codes[64 * chunk + 32 + l] << 4));
      }
    }
  }
}

void dequantize_row_q4_k(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQkK; ++block) {
    const uint8_t* src = in + block * kQ4_KBlockBytes;
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const uint8_t* qs = src + 16;
    float* dst = y + block * kQkK;
    for (int j = 0; j < 8; ++j) {
      int scale, min;
      unpack_k_scale(j, src + 4, &scale, &min);
      const float sub_d = d * static_cast<float>(scale);
      const float sub_min = dmin * static_cast<float>(min);
      const uint8_t* bytes = qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) {
        dst[32 * j + l] = sub_d * static_cast<float>((bytes[l] >> shift) & 0x0f) - sub_min;
      }
    }
  }
}

}  // namespace hearth::tensor::internal
