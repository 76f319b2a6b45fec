// Matrix-vector product y = W x for decode: W is a GGUF weight tensor stored row-major in its own
// type (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K), x and y are
// float32; matvec_batch does it for several x at once (batched decode, and prefill with block
// formats), reading each weight once per group of tokens. Rows are handed out to a thread pool in
// chunks and each row is summed whole by one thread, so y does not depend on the thread count or
// on which thread took which chunk. Not here: matmul (float32 prefill).
#pragma once

#include <cstdint>
#include <span>

#include "hearth/base/ggml_types.h"
#include "hearth/base/thread_pool.h"

namespace hearth::tensor {

// True when matvec handles `weight_type`.
bool has_matvec(GgmlType weight_type);

// True when matvec rounds x to 8 bits for `weight_type` (every block format; not F32/F16/BF16).
bool uses_int8_activations(GgmlType weight_type);

// y[r] = sum_c W[r][c] * x[c] for r in [0, n_rows). `weights` holds n_rows rows of n_cols
// elements each in the GGUF layout of `weight_type`, rows contiguous; n_cols must be a multiple
// of the type's block size (checked). `pool` may be null (runs on the caller).
//
// Numerics. F32/F16/BF16: weights widened exactly, products summed in float32.
// Block formats: decode is memory-bound only if the arithmetic is cheap, so, as llama.cpp does,
// x is first rounded to 8 bits in blocks of 32 (round_activations: x[c] moves by at most
// max|x over its block| / 254), then each block of 32 weight codes (less the format's zero
// point: Q4_0's 8, Q5_0's 16) is multiplied with the 8-bit x in exact integer arithmetic and
// scaled by the float32 product of the two block scales. Apart
// from the float32 summation (relative error ~ n_cols / 32 * 2^-24 of the sum of the magnitudes
// of the terms), y is therefore exactly matvec_reference(W, round_activations(x)).
// Relative to the float32-x product, the activation rounding adds an error of at most
// sum_c |W[r][c]| * max|x over c's block| / 254; for Gaussian x and W that is about 0.3% of
// |y|'s typical size, below Q8_0's own weight rounding. The block scale d is kept in fp16, so
// the 8-bit x is exactly llama.cpp's Q8_0 activation block for Q8_0/Q4_0/Q5_0 weights (its
// K-quant kernels use 256-element Q8_K blocks with a float scale instead: coarser than ours).
void matvec(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
            const float* x, float* y, ThreadPool* pool);

// matvec for each of n_tokens rows of x: y[t * n_rows + r] = sum_c W[r][c] * x[t * n_cols + c],
// and y[t * n_rows ..] is bit-identical to matvec(x + t * n_cols) whatever n_tokens, the other
// tokens and the thread count (the same kernel and operation order; matvec is its 1-token case).
// Block formats: every x row is rounded to 8-bit blocks once, then each decoded weight block is
// multiplied with a group of tokens' x in integers (llama.cpp's numerics for prefill too).
// F32/F16/BF16: one matvec per token (prefill of float weights belongs to matmul).
void matvec_batch(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
                  const float* x, int64_t n_tokens, float* y, ThreadPool* pool);

// One product of matvec_batch_shared: y[t * n_rows + r] = sum_c W[r][c] * x[t * n_cols + c].
struct MatvecProduct {
  GgmlType weight_type;
  const void* weights;
  int64_t n_rows;
  float* y;
};

// matvec_batch of one x by several matrices (a layer's q, k and v; gate and up), each y exactly
// what matvec_batch gives it: x is rounded to 8 bits once, and the products' rows share one
// pool run, so the pool's threads meet once instead of once per matrix (decode makes hundreds of
// these calls per token). At most kMaxSharedProducts products.
constexpr size_t kMaxSharedProducts = 4;
void matvec_batch_shared(std::span<const MatvecProduct> products, int64_t n_cols, const float* x,
                         int64_t n_tokens, ThreadPool* pool);

// x as the block-format kernels see it: in blocks of 32 (a partial last block is its own block),
// d = max |x| / 127 and each element becomes fp16(d) * round(x / d) (half away from zero).
void round_activations(const float* x, float* rounded, int64_t n);

// Scalar reference with float32 x as given: each row through dequantize_row, then a float64 dot
// product. (The block formats' matvec matches it for x = round_activations(x).)
void matvec_reference(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
                      const float* x, float* y);

}  // namespace hearth::tensor
