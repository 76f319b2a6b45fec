// The block formats' row functions, one .cpp per format; internal to the tensor module (callers
// use quantize.h, which dispatches on the type). Each block is packed exactly as in GGUF (ggml's
// block_q*_* structs, little-endian, no padding); sizes are stated beside each constant.
#pragma once

#include <cstdint>

namespace hearth::tensor::internal {

// The 32-element formats.
inline constexpr int kQ8_0BlockSize = 32;
inline constexpr int kQ8_0BlockBytes = 34;  // fp16 d, int8 q[32]
inline constexpr int kQ4_0BlockSize = 32;
inline constexpr int kQ4_0BlockBytes = 18;  // fp16 d, 16 bytes of nibbles
inline constexpr int kQ4_1BlockSize = 32;
inline constexpr int kQ4_1BlockBytes = 20;  // fp16 d, fp16 m, 16 bytes of nibbles
inline constexpr int kQ5_0BlockSize = 32;
inline constexpr int kQ5_0BlockBytes = 22;  // fp16 d, uint32 fifth bits, 16 bytes of nibbles
inline constexpr int kQ5_1BlockSize = 32;
inline constexpr int kQ5_1BlockBytes = 24;  // fp16 d, fp16 m, uint32 fifth bits, 16 nibble bytes

// The K-quants: super-blocks of 256 elements.
inline constexpr int kQkK = 256;
inline constexpr int kQ4_KBlockBytes = 144;  // fp16 d, fp16 dmin, 12 scale bytes, 128 nibbles
inline constexpr int kQ5_KBlockBytes = 176;  // fp16 d, fp16 dmin, 12 scale bytes, 32 qh, 128 qs
inline constexpr int kQ6_KBlockBytes = 210;  // 128 ql, 64 qh, int8 scales[16], fp16 d
inline constexpr int kQ8_KBlockBytes = 292;  // float d, int8 q[256], int16 bsums[16]

void quantize_row_q8_0(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q8_0(const uint8_t* in, float* y, int64_t n);
void quantize_row_q4_0(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q4_0(const uint8_t* in, float* y, int64_t n);
void quantize_row_q4_1(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q4_1(const uint8_t* in, float* y, int64_t n);
void quantize_row_q5_0(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q5_0(const uint8_t* in, float* y, int64_t n);
void quantize_row_q5_1(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q5_1(const uint8_t* in, float* y, int64_t n);
void quantize_row_q4_k(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q4_k(const uint8_t* in, float* y, int64_t n);
void quantize_row_q5_k(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q5_k(const uint8_t* in, float* y, int64_t n);
void quantize_row_q6_k(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q6_k(const uint8_t* in, float* y, int64_t n);
void quantize_row_q8_k(const float* x, uint8_t* out, int64_t n);
void dequantize_row_q8_k(const uint8_t* in, float* y, int64_t n);

// n F16 (or BF16) values to float32, with SIMD (widen.cpp).
void widen_16bit_row(bool bf16, const uint8_t* in, float* y, int64_t n);

}  // namespace hearth::tensor::internal
