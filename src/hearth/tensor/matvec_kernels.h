// The dispatched matvec kernels, one per format family, each in its own .cpp compiled for every
// Highway target (matvec_float.cpp, matvec_quant.cpp); internal to the tensor module, called by
// matvec.cpp once per chunk of rows. Each picks the CPU target with HWY_DYNAMIC_DISPATCH.
#pragma once

#include <cstdint>

#include "hearth/base/ggml_types.h"

namespace hearth::tensor::internal {

// y[r] for r in [row_begin, row_end) with F32, F16 or BF16 weights; `row_bytes` apart.
void matvec_float_rows(GgmlType type, const uint8_t* weights, int64_t row_bytes, int64_t row_begin,
                       int64_t row_end, int64_t n_cols, const float* x, float* y);

// Elements per interleaved chunk of 8-bit x: 8 blocks of 32.
inline constexpr int64_t kInterleavedChunk = 256;

// Rows of x (one per token) quantized in blocks of 32 (matvec.h's round_activations): element c
// of token t is d[t * scale_stride + c / 32] times its code; code_sums[t * scale_stride + b] is
// the sum of block b's codes, low_code_sums[..] that of its first 16 (Q6_K's sub-blocks) and
// sums[..] = d[..] * code_sums[..]. Each token's d, sums and code sums have 8 zero entries past
// its last block. The codes are interleaved so that one 32-byte vector holds 4 codes of each of 8
// blocks: in q[t * q_stride + ..], chunk i (blocks 8i..8i+7) takes bytes [256 i, 256 i + 256), and
// code 4k + b of block 8i + j is at 256 i + 32 k + 4 j + b; blocks past the last are zero. (A dot
// product instruction's 32-bit lane j then sums block j only: no reduction across lanes.)
// For the AMX kernel (a batch of at least kAmxMinTokens where amx_available()), the same codes
// also in plain order: code c of block b of token t at plain[t * plain_stride + 32 b + c], the
// blocks of the row's last chunk past its end and the rows up to a multiple of kAmxTokens zero;
// plain is null otherwise.
struct Int8Activations {
  const int8_t* q;
  const float* d;
  const float* sums;
  const int32_t* code_sums;
  const int32_t* low_code_sums;
  int64_t q_stride;
  int64_t scale_stride;
  const int8_t* plain = nullptr;
  int64_t plain_stride = 0;

  // Token t's row and those after it.
  Int8Activations token(int64_t t) const {
    const int64_t s = t * scale_stride;
    return {q + t * q_stride,  d + s,
            sums + s,          code_sums + s,
            low_code_sums + s, q_stride,
            scale_stride,      plain != nullptr ? plain + t * plain_stride : nullptr,
            plain_stride};
  }
};

// True when this CPU has AMX's int8 tiles and the OS lets this process use them (asked once).
bool amx_available();

// Tokens per AMX tile step (two tiles of 16).
inline constexpr int64_t kAmxTokens = 32;

// The fewest tokens for which matvec_quant_rows takes AMX tiles, which take 32 at a time: 16
// tokens padded to 32 ran at 0.65-0.9x the AVX-512 VNNI kernel (bench/matmul_bench.cpp), 32 at
// 1.17-1.42x and 512 at 1.53-1.95x, every format.
inline constexpr int64_t kAmxMinTokens = 32;

// One token's row x (n elements, a multiple of 32) to the 8-bit blocks above: codes into q (the
// row's whole chunks, zeroed by the caller), d, sums, code_sums and low_code_sums (n / 32 each).
// Exactly matvec.h's round_activations.
void quantize_activation_row(const float* x, int64_t n, int8_t* q, float* d, float* sums,
                             int32_t* code_sums, int32_t* low_code_sums);

// The same for the block formats (Q4_0 .. Q8_K) and n_tokens rows of 8-bit x: y[t * y_stride + r].
// Token t's y is the same whatever n_tokens and the other tokens are.
void matvec_quant_rows(GgmlType type, const uint8_t* weights, int64_t row_bytes, int64_t row_begin,
                       int64_t row_end, int64_t n_cols, const Int8Activations& x, int64_t n_tokens,
                       float* y, int64_t y_stride);

}  // namespace hearth::tensor::internal
