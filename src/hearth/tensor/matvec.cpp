// matvec: checks the arguments, rounds x to 8-bit blocks for the block formats, splits the rows
// into fixed chunks over the pool and hands each chunk to its format family's dispatched kernel;
// and the scalar reference matvec_reference.
#include "hearth/tensor/matvec.h"

#include "hearth/tensor/float16.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "hearth/base/check.h"
#include "hearth/tensor/matvec_kernels.h"
#include "hearth/tensor/quantize.h"

namespace hearth::tensor {
namespace {

// Rows per pool task: enough bytes per task (16 rows of 1024 Q4_0 weights = 9 KiB) that the
// pool's dispatch cost is small, enough tasks (64 for 1024 rows) to balance two to 16 threads.
constexpr int64_t kRowsPerTask = 16;
constexpr int64_t kActivationBlock = 32;

int64_t row_bytes_of(GgmlType type, int64_t n_cols) {
  HEARTH_CHECK(has_matvec(type), "no matvec for ggml type {}", static_cast<uint32_t>(type));
  const auto bytes = ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols));
  HEARTH_CHECK(n_cols >= 0 && bytes.has_value(), "{} columns do not fill whole blocks", n_cols);
  return static_cast<int64_t>(*bytes);
}

// Block b of x (elements [32 b, min(32 b + 32, n))): its scale, and its codes into q.
float quantize_activation_block(const float* x, int64_t n, int64_t b, int8_t* q) {
  const int64_t begin = b * kActivationBlock;
  const int64_t end = std::min(begin + kActivationBlock, n);
  float max_abs = 0.0f;
  for (int64_t c = begin; c < end; ++c) max_abs = std::max(max_abs, std::fabs(x[c]));
  const float d = max_abs / 127.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (int64_t c = begin; c < end; ++c) q[c] = static_cast<int8_t>(std::round(x[c] * inverse));
  // The scale is kept in fp16, as in ggml's Q8_0 activation blocks: the same 8-bit x as
  // llama.cpp's for Q8_0/Q4_0/Q5_0 weights, which keeps the logits within its goldens' tolerance.
  return f32_from_f16(f16_from_f32(d));
}

// The calling thread's 8-bit copy of x (reused across calls: decode calls matvec hundreds of
// times per token).
internal::Int8Activations quantize_activations(const float* x, int64_t n) {
  thread_local std::vector<int8_t> q;
  thread_local std::vector<float> scales;
  const int64_t n_blocks = (n + kActivationBlock - 1) / kActivationBlock;
  q.resize(static_cast<size_t>(n));
  scales.assign(static_cast<size_t>(2 * (n_blocks + 8)), 0.0f);
  float* d = scales.data();
  float* sums = d + n_blocks + 8;
  for (int64_t b = 0; b < n_blocks; ++b) {
    d[b] = quantize_activation_block(x, n, b, q.data());
    int sum = 0;
    for (int64_t c = b * kActivationBlock; c < std::min((b + 1) * kActivationBlock, n); ++c) {
      sum += q[c];
    }
    sums[b] = d[b] * static_cast<float>(sum);
  }
  return {q.data(), d, sums};
}

}  // namespace

bool has_matvec(GgmlType weight_type) {
  return weight_type == GgmlType::kF32 || weight_type == GgmlType::kF16 ||
         weight_type == GgmlType::kBF16 || uses_int8_activations(weight_type);
}

bool uses_int8_activations(GgmlType weight_type) {
  switch (weight_type) {
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
    case GgmlType::kQ8_K:
      return true;
    default:
      return false;
  }
}

void matvec(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
            const float* x, float* y, ThreadPool* pool) {
  const int64_t row_bytes = row_bytes_of(weight_type, n_cols);
  const auto* bytes = static_cast<const uint8_t*>(weights);
  const bool int8 = uses_int8_activations(weight_type);
  internal::Int8Activations x8{};
  if (int8 && n_rows > 0) x8 = quantize_activations(x, n_cols);
  const int64_t n_tasks = (n_rows + kRowsPerTask - 1) / kRowsPerTask;
  const auto task = [&](int64_t t, int /*thread*/) {
    const int64_t begin = t * kRowsPerTask;
    const int64_t end = std::min(begin + kRowsPerTask, n_rows);
    if (int8) {
      internal::matvec_quant_rows(weight_type, bytes, row_bytes, begin, end, n_cols, x8, y);
    } else {
      internal::matvec_float_rows(weight_type, bytes, row_bytes, begin, end, n_cols, x, y);
    }
  };
  if (pool == nullptr || n_tasks <= 1) {
    for (int64_t t = 0; t < n_tasks; ++t) task(t, 0);
  } else {
    pool->run(n_tasks, task);
  }
}

void round_activations(const float* x, float* rounded, int64_t n) {
  std::vector<int8_t> q(static_cast<size_t>(n));
  for (int64_t b = 0; b * kActivationBlock < n; ++b) {
    const float d = quantize_activation_block(x, n, b, q.data());
    for (int64_t c = b * kActivationBlock; c < std::min((b + 1) * kActivationBlock, n); ++c) {
      rounded[c] = d * static_cast<float>(q[c]);
    }
  }
}

void matvec_reference(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
                      const float* x, float* y) {
  const int64_t row_bytes = row_bytes_of(weight_type, n_cols);
  const auto* bytes = static_cast<const uint8_t*>(weights);
  std::vector<float> row(static_cast<size_t>(n_cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    dequantize_row(weight_type, bytes + r * row_bytes, row.data(), n_cols);
    double sum = 0.0;
    for (int64_t c = 0; c < n_cols; ++c) sum += static_cast<double>(row[c]) * x[c];
    y[r] = static_cast<float>(sum);
  }
}

}  // namespace hearth::tensor
