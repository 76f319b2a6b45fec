// Q5_1: blocks of 32 elements, fp16 d, fp16 m, a little-endian uint32 of fifth bits, then 16
// bytes of the low 4 bits (block_codes.h); code q (0..31) decodes to q * d + m. Quantized as
// ggml's quantize_row_q5_1_ref: [min, max] in 31 steps.
#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"

namespace hearth::tensor::internal {

void quantize_row_q5_1(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQ5_1BlockSize; ++block) {
    uint8_t* dst = out + block * kQ5_1BlockBytes;
    uint8_t codes[kQ5_1BlockSize];
    float d, min;
    asymmetric_codes<32>(x + block * kQ5_1BlockSize, codes, &d, &min);
    store_f16(dst, d);
    store_f16(dst + 2, min);
    store_fifth_bits(codes, dst + 4);
    pack_nibbles(codes, dst + 8);
  }
}

void dequantize_row_q5_1(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQ5_1BlockSize; ++block) {
    const uint8_t* src = in + block * kQ5_1BlockBytes;
    const float d = load_f16(src);
    const float m = load_f16(src + 2);
    uint8_t codes[kQ5_1BlockSize];
    unpack_nibbles(src + 8, codes);
    add_fifth_bits(src + 4, codes);
    for (int i = 0; i < kQ5_1BlockSize; ++i) {
      y[block * kQ5_1BlockSize + i] = static_cast<float>(codes[i]) * d + m;
    }
  }
}

}  // namespace hearth::tensor::internal
