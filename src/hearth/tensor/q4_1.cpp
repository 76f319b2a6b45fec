// Q4_1: blocks of 32 elements, fp16 d and fp16 m, then 16 bytes of 4-bit codes (block_codes.h's
// nibble order); code q decodes to q * d + m. Quantized as ggml's quantize_row_q4_1_ref: m is the
// block's minimum, d spans it to the maximum in 15 steps.
#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"

namespace hearth::tensor::internal {

void quantize_row_q4_1(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQ4_1BlockSize; ++block) {
    uint8_t* dst = out + block * kQ4_1BlockBytes;
    uint8_t codes[kQ4_1BlockSize];
    float d, min;
    asymmetric_codes<16>(x + block * kQ4_1BlockSize, codes, &d, &min);
    store_f16(dst, d);
    store_f16(dst + 2, min);
    pack_nibbles(codes, dst + 4);
  }
}

void dequantize_row_q4_1(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQ4_1BlockSize; ++block) {
    const uint8_t* src = in + block * kQ4_1BlockBytes;
    const float d = load_f16(src);
    const float m = load_f16(src + 2);
    uint8_t codes[kQ4_1BlockSize];
    unpack_nibbles(src + 4, codes);
    for (int i = 0; i < kQ4_1BlockSize; ++i) {
      y[block * kQ4_1BlockSize + i] = static_cast<float>(codes[i]) * d + m;
    }
  }
}

}  // namespace hearth::tensor::internal
