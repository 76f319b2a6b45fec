// Q5_0: blocks of 32 elements, fp16 d, a little-endian uint32 of fifth bits, then 16 bytes of the
// low 4 bits (block_codes.h); code q (0..31) decodes to (q - 16) * d. Quantized as ggml's
// quantize_row_q5_0_ref: d = m / -16, m the element of largest magnitude with its sign.
#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"

namespace hearth::tensor::internal {

void quantize_row_q5_0(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQ5_0BlockSize; ++block) {
    uint8_t* dst = out + block * kQ5_0BlockBytes;
    uint8_t codes[kQ5_0BlockSize];
    store_f16(dst, symmetric_codes<32>(x + block * kQ5_0BlockSize, codes));
    store_fifth_bits(codes, dst + 2);
    pack_nibbles(codes, dst + 6);
  }
}

void dequantize_row_q5_0(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQ5_0BlockSize; ++block) {
    const uint8_t* src = in + block * kQ5_0BlockBytes;
    const float d = load_f16(src);
    uint8_t codes[kQ5_0BlockSize];
    unpack_nibbles(src + 6, codes);
    add_fifth_bits(src + 2, codes);
    for (int i = 0; i < kQ5_0BlockSize; ++i) {
      y[block * kQ5_0BlockSize + i] = static_cast<float>(codes[i] - 16) * d;
    }
  }
}

}  // namespace hearth::tensor::internal
