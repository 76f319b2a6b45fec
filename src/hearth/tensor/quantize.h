// Row conversion between float32 and the storage types of GGUF tensors: F32, F16, BF16, the
// 32-element block formats Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and the K-quants Q4_K, Q5_K, Q6_K, Q8_K,
// with their exact GGUF byte layouts. Decoding is bit-exact with ggml's dequantize_row_*, encoding
// byte-identical to ggml's quantize_row_*_ref (no importance matrix). These are the scalar
// references; the SIMD kernels are tested against them.
// The type is a parameter: callers never pick a per-format function.
#pragma once

#include <cstdint>

#include "hearth/base/ggml_types.h"

namespace hearth::tensor {

// True when quantize_row/dequantize_row handle `type`.
bool is_convertible(GgmlType type);

// Encodes n floats into `type`'s layout (n / block_size blocks of block_bytes each).
// Programmer errors (checked): an unsupported type, n not a multiple of the block size.
void quantize_row(GgmlType type, const float* x, void* out, int64_t n);

// Decodes n elements stored in `type`'s layout back to floats.
void dequantize_row(GgmlType type, const void* in, float* y, int64_t n);

}  // namespace hearth::tensor
