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

// x quantized in blocks of 32 (matvec.h's round_activations): element c is d[c / 32] * q[c];
// sums[b] = d[b] * (sum of block b's q). d and sums have 8 zero entries past the last block.
struct Int8Activations {
  const int8_t* q;
  const float* d;
  const float* sums;
};

// The same for the block formats (Q4_0 .. Q8_K), with x as 8-bit blocks.
void matvec_quant_rows(GgmlType type, const uint8_t* weights, int64_t row_bytes, int64_t row_begin,
                       int64_t row_end, int64_t n_cols, const Int8Activations& x, float* y);

}  // namespace hearth::tensor::internal
