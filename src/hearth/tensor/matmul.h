// Matrix product for prefill, Y = X W^T: W is a GGUF weight tensor (rows of n_cols elements in
// any type dequantize_row handles, so new block formats work without new kernels), X and Y are
// float32 rows, one per token. Tiles of weight rows are decoded to float32 scratch per thread
// and multiplied by a register-blocked Highway kernel (matmul-inl.h). Not here: matvec (decode),
// and matvec_batch, which the forward pass uses for the block formats' prefill (8-bit x, integer
// block dot products: llama.cpp's numerics and about twice this kernel's speed).
#pragma once

#include <cstdint>

#include "hearth/base/ggml_types.h"
#include "hearth/base/thread_pool.h"

namespace hearth::tensor {

// y[t * n_rows + r] = sum_c W[r][c] * x[t * n_cols + c] for t < n_tokens, r < n_rows. `weights`
// holds n_rows contiguous rows in `weight_type`'s layout; n_cols must fill whole blocks
// (checked). `pool` may be null (runs on the caller).
//
// Work is split by tiles of output rows and every y element is summed by one task in a fixed
// order, so y does not depend on the thread count, nor (n_tokens > 1) on which other tokens share
// the batch. Numerics
// as matvec's: weights decoded exactly, float32 products and sums (no 8-bit activations), within
// n_cols * 2^-23 * sum_c |W[r][c] x[t][c]| of the exact sum. n_tokens == 1 goes to matvec where
// its numerics are these (float types: the same bound, another summation order), not where it
// rounds x to 8 bits (block formats; decode should call matvec itself for its speed).
void matmul(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
            const float* x, int64_t n_tokens, float* y, ThreadPool* pool);

// Scalar reference: each row through dequantize_row, float64 dot products.
void matmul_reference(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
                      const float* x, int64_t n_tokens, float* y);

}  // namespace hearth::tensor
