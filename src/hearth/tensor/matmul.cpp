// matmul: the kernel of matmul-inl.h compiled once per target; the driver that splits the
// output rows into tiles over the pool, decodes each tile block by block into per-thread float32
// scratch through dequantize_row, and calls the dispatched kernel; and matmul_reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "hearth/tensor/matmul.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hearth/tensor/matmul-inl.h"
#include "hwy/highway.h"

#if HWY_ONCE
#include <algorithm>
#include <cstring>
#include <vector>

#include "hearth/base/check.h"
#include "hearth/tensor/matmul.h"
#include "hearth/tensor/matvec.h"
#include "hearth/tensor/quantize.h"
#include "hwy/aligned_allocator.h"

namespace hearth::tensor {
HWY_EXPORT(MatmulBlock);

namespace {

// Rows of the scratch tiles are padded to a multiple of this many floats (the widest vector).
constexpr int64_t kMatmulPad = 16;
// Columns decoded and multiplied per block: a multiple of every block size (256 for K-quants)
// so blocks start on whole weight blocks; 4 tokens' x of a block (16 KiB) stay in L1 while the
// tile's rows (kTileRows x 4 KiB = 128 KiB) stay in L2.
constexpr int64_t kColumnBlock = 1024;
// Weight rows per pool task: the unit of work split, fixed so y does not depend on the pool.
constexpr int64_t kTileRows = 32;

int64_t round_up(int64_t n, int64_t to) {
  return (n + to - 1) / to * to;
}

uint64_t checked_row_bytes(GgmlType type, int64_t n_cols) {
  HEARTH_CHECK(is_convertible(type), "no matmul for ggml type {}", static_cast<uint32_t>(type));
  const auto bytes = ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols));
  HEARTH_CHECK(n_cols >= 0 && bytes.has_value(), "{} columns do not fill whole blocks", n_cols);
  return *bytes;
}

}  // namespace

void matmul(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
            const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  const uint64_t row_bytes = checked_row_bytes(weight_type, n_cols);
  if (n_tokens <= 0 || n_rows <= 0) return;
  if (n_tokens == 1 && has_matvec(weight_type) && !uses_int8_activations(weight_type)) {
    return matvec(weight_type, weights, n_rows, n_cols, x, y, pool);
  }
  if (n_cols == 0) {
    std::fill(y, y + n_tokens * n_rows, 0.0f);
    return;
  }
  // x rows padded with zeros to a whole vector when n_cols needs it (float types only: every
  // block size is a multiple of kMatmulPad), so the kernel never reads past a row.
  const int64_t x_stride = round_up(n_cols, kMatmulPad);
  std::vector<float> x_padded;
  if (x_stride != n_cols) {
    x_padded.assign(static_cast<size_t>(n_tokens * x_stride), 0.0f);
    for (int64_t t = 0; t < n_tokens; ++t) {
      std::memcpy(x_padded.data() + t * x_stride, x + t * n_cols, n_cols * sizeof(float));
    }
    x = x_padded.data();
  }
  const auto traits = ggml_type_traits(static_cast<uint32_t>(weight_type));
  const auto block_size = static_cast<int64_t>(traits->block_size);
  const auto block_bytes = static_cast<int64_t>(traits->block_bytes);
  HEARTH_CHECK(kColumnBlock % block_size == 0, "block size {} does not divide the column block",
               block_size);

  const int n_threads = pool != nullptr ? pool->size() : 1;
  const int64_t w_stride = std::min(kColumnBlock, x_stride);
  const int64_t scratch_floats = kTileRows * w_stride;
  auto scratch = hwy::AllocateAligned<float>(static_cast<size_t>(n_threads * scratch_floats));
  const auto* bytes = static_cast<const uint8_t*>(weights);
  const auto task = [&](int64_t tile, int thread) {
    float* w = scratch.get() + thread * scratch_floats;
    const int64_t r0 = tile * kTileRows;
    const int64_t n_valid_rows = std::min(kTileRows, n_rows - r0);
    const int64_t n_tile_rows = round_up(n_valid_rows, 4);
    for (int64_t c0 = 0; c0 < n_cols; c0 += kColumnBlock) {
      const int64_t n = std::min(kColumnBlock, n_cols - c0);
      const int64_t n_padded = round_up(n, kMatmulPad);
      const int64_t byte_offset = c0 / block_size * block_bytes;
      for (int64_t r = 0; r < n_tile_rows; ++r) {
        float* wr = w + r * w_stride;
        if (r < n_valid_rows) {
          dequantize_row(weight_type, bytes + (r0 + r) * row_bytes + byte_offset, wr, n);
          std::fill(wr + n, wr + n_padded, 0.0f);
        } else {
          std::fill(wr, wr + n_padded, 0.0f);  // rows past n_rows: computed, never stored
        }
      }
      HWY_DYNAMIC_DISPATCH(MatmulBlock)
      (x + c0, x_stride, n_tokens, w, w_stride, n_valid_rows, n_padded, c0 > 0, y + r0, n_rows);
    }
  };
  const int64_t n_tiles = (n_rows + kTileRows - 1) / kTileRows;
  if (pool == nullptr) {
    for (int64_t tile = 0; tile < n_tiles; ++tile) task(tile, 0);
  } else {
    pool->run(n_tiles, task);
  }
}

void matmul_reference(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
                      const float* x, int64_t n_tokens, float* y) {
  const uint64_t row_bytes = checked_row_bytes(weight_type, n_cols);
  const auto* bytes = static_cast<const uint8_t*>(weights);
  std::vector<float> row(static_cast<size_t>(n_cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    dequantize_row(weight_type, bytes + r * row_bytes, row.data(), n_cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double sum = 0.0;
      for (int64_t c = 0; c < n_cols; ++c) sum += static_cast<double>(row[c]) * x[t * n_cols + c];
      y[t * n_rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace hearth::tensor
#endif  // HWY_ONCE
