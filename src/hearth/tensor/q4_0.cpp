// Q4_0: blocks of 32 elements, an fp16 scale d and 16 bytes of 4-bit codes (block_codes.h's
// nibble order); code q decodes to (q - 8) * d. As in ggml's quantize_row_q4_0_ref, d = m / -8
// where m is the element of largest magnitude (with its sign), so m itself maps exactly to code 0
// and the other side gets 15 steps.
#include "hearth/tensor/block_codes.h"
#include "hearth/tensor/block_formats.h"

namespace hearth::tensor::internal {

void quantize_row_q4_0(const float* x, uint8_t* out, int64_t n) {
  for (int64_t block = 0; block < n / kQ4_0BlockSize; ++block) {
    uint8_t* dst = out + block * kQ4_0BlockBytes;
    uint8_t codes[kQ4_0BlockSize];
    store_f16(dst, symmetric_codes<16>(x + block * kQ4_0BlockSize, codes));
    pack_nibbles(codes, dst + 2);
  }
}

void dequantize_row_q4_0(const uint8_t* in, float* y, int64_t n) {
  for (int64_t block = 0; block < n / kQ4_0BlockSize; ++block) {
    const uint8_t* src = in + block * kQ4_0BlockBytes;
    const float d = load_f16(src);
    uint8_t codes[kQ4_0BlockSize];
    unpack_nibbles(src + 2, codes);
    for (int i = 0; i < kQ4_0BlockSize; ++i) {
      y[block * kQ4_0BlockSize + i] = static_cast<float>(codes[i] - 8) * d;
    }
  }
}

}  // namespace hearth::tensor::internal
