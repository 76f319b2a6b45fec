// matvec and matvec_batch: check the arguments, round each x row to 8-bit blocks for the block
// formats, hand the rows out over the pool in chunks (shrinking ones for decode) and give each
// chunk (with every token) to its format family's dispatched kernel; and the scalar reference
// matvec_reference.
#include "hearth/tensor/matvec.h"

#include "hearth/tensor/float16.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <vector>

#include "hearth/base/check.h"
#include "hearth/tensor/matvec_kernels.h"
#include "hearth/tensor/quantize.h"

namespace hearth::tensor {
namespace {

// How a job's rows are split into chunks. Decode and small batches (at most kStreamingTokens
// tokens) are bound by memory: a chunk is a long contiguous range that the prefetchers follow as
// one stream (16-row chunks taken in turn by two threads broke the streams: decode 1.6-1.8x
// slower, docs/PERFORMANCE.md), and the chunks shrink as the job runs out of rows (guided
// scheduling), so that the threads finish together: with equal chunks (4 per thread) the last
// thread streamed alone, at half the bandwidth, for half a chunk on average at the end of every
// job, and decode was 2-4% slower. Each streaming chunk is 1 / (kGuidedShare * threads) of the
// rows left, in whole groups of 8 rows (the one-token kernel's step), at least
// kMinStreamingRows. Larger batches (prefill) are bound by arithmetic: a chunk's rows are decoded
// once into L2 and every token runs over them (matvec_quant-inl.h), so longer chunks re-read the
// batch's x less often; 64 rows (prefill 5-8% faster than 16) still balance two threads on a
// 1024-row matrix.
constexpr int64_t kStreamingTokens = 16;
constexpr int64_t kGuidedShare = 2;
constexpr int64_t kMinStreamingRows = 32;
constexpr int64_t kPrefillChunkRows = 64;

// The rows of a job's products laid end to end, handed out in chunks from a shared counter; a
// chunk holds rows of one product only. Which thread sums a row never changes the row's result.
class RowChunks {
 public:
  struct Chunk {
    size_t product;
    int64_t begin, end;  // rows of that product
  };

  RowChunks(std::span<const MatvecProduct> products, int64_t n_tokens, int n_threads)
      : n_products_(products.size()),
        streaming_(n_tokens <= kStreamingTokens),
        guided_divisor_(kGuidedShare * n_threads) {
    for (size_t p = 0; p < n_products_; ++p) {
      first_row_[p + 1] = first_row_[p] + std::max<int64_t>(products[p].n_rows, 0);
    }
  }

  int64_t total_rows() const { return first_row_[n_products_]; }

  // True when the first claim takes every row (a pool would only add its wake-up).
  bool one_chunk() const { return n_products_ == 1 && chunk_rows(total_rows()) >= total_rows(); }

  // The next chunk; false once every row is taken.
  bool claim(Chunk& chunk) {
    const int64_t total = total_rows();
    int64_t begin = next_.load(std::memory_order_relaxed);
    int64_t end = 0;
    do {
      if (begin >= total) return false;
      chunk.product = 0;
      while (begin >= first_row_[chunk.product + 1]) ++chunk.product;
      end = std::min(begin + chunk_rows(total - begin), first_row_[chunk.product + 1]);
    } while (!next_.compare_exchange_weak(begin, end, std::memory_order_relaxed));
    chunk.begin = begin - first_row_[chunk.product];
    chunk.end = end - first_row_[chunk.product];
    return true;
  }

 private:
  int64_t chunk_rows(int64_t rows_left) const {
    if (!streaming_) return kPrefillChunkRows;
    const int64_t share = (rows_left + guided_divisor_ - 1) / guided_divisor_;
    return std::max(kMinStreamingRows, (share + 7) / 8 * 8);
  }

  size_t n_products_;
  bool streaming_;
  int64_t guided_divisor_;
  std::array<int64_t, kMaxSharedProducts + 1> first_row_{};  // product p: [first_row_[p], [p + 1])
  std::atomic<int64_t> next_{0};
};

constexpr int64_t kActivationBlock = 32;

int64_t row_bytes_of(GgmlType type, int64_t n_cols) {
  HEARTH_CHECK(has_matvec(type), "no matvec for ggml type {}", static_cast<uint32_t>(type));
  const auto bytes = ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols));
  HEARTH_CHECK(n_cols >= 0 && bytes.has_value(), "{} columns do not fill whole blocks", n_cols);
  return static_cast<int64_t>(*bytes);
}

// Block b of x (elements [32 b, min(32 b + 32, n))): its scale, and its codes into q[0, 32).
float quantize_activation_block(const float* x, int64_t n, int64_t b, int8_t* q) {
  const int64_t begin = b * kActivationBlock;
  const int64_t end = std::min(begin + kActivationBlock, n);
  float max_abs = 0.0f;
  for (int64_t c = begin; c < end; ++c) max_abs = std::max(max_abs, std::fabs(x[c]));
  const float d = max_abs / 127.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (int64_t c = begin; c < end; ++c) {
    q[c - begin] = static_cast<int8_t>(std::round(x[c] * inverse));
  }
  // The scale is kept in fp16, as in ggml's Q8_0 activation blocks: the same 8-bit x as
  // llama.cpp's for Q8_0/Q4_0/Q5_0 weights, which keeps the logits within its goldens' tolerance.
  return f32_from_f16(f16_from_f32(d));
}

// Token rows of x per quantization task when a batch is quantized over the pool (a prompt's
// 512 rows take ~1 ms on one thread); smaller batches (decode) quantize on the caller.
constexpr int64_t kTokensPerQuantizeTask = 16;

// 64 bytes of 8-bit codes on a cache line of their own: the kernels read x's codes 64 bytes at a
// time, and a load split across two lines costs about as much as the multiply-add it feeds
// (prefill ~20% slower with malloc's 16-byte alignment).
struct alignas(64) CodeLine {
  int8_t codes[64];
};

// The calling thread's 8-bit copy of n_tokens rows of x, n elements each, n a multiple of 32
// (every block format's block size is), reused across calls: decode calls matvec hundreds of
// times per token.
internal::Int8Activations quantize_activations(const float* x, int64_t n_tokens, int64_t n,
                                               ThreadPool* pool) {
  thread_local std::vector<CodeLine> q;
  thread_local std::vector<float> scales;
  thread_local std::vector<int32_t> code_sums;
  const int64_t n_blocks = (n + kActivationBlock - 1) / kActivationBlock;
  const int64_t scale_stride = n_blocks + 8;
  const int64_t q_stride = (n_blocks + 7) / 8 * internal::kInterleavedChunk;
  static_assert(internal::kInterleavedChunk % sizeof(CodeLine) == 0);
  q.assign(static_cast<size_t>(n_tokens * q_stride) / sizeof(CodeLine), CodeLine{});
  scales.assign(static_cast<size_t>(2 * n_tokens * scale_stride), 0.0f);
  code_sums.assign(static_cast<size_t>(2 * n_tokens * scale_stride), 0);
  // Pointers, not the thread_local vectors, inside the tasks: a pool thread has its own.
  auto* q_all = reinterpret_cast<int8_t*>(q.data());
  float* d_all = scales.data();
  float* sums_all = d_all + n_tokens * scale_stride;
  int32_t* code_sums_all = code_sums.data();
  int32_t* low_code_sums_all = code_sums_all + n_tokens * scale_stride;
  const auto quantize_token = [&](int64_t t) {
    internal::quantize_activation_row(x + t * n, n, q_all + t * q_stride, d_all + t * scale_stride,
                                      sums_all + t * scale_stride, code_sums_all + t * scale_stride,
                                      low_code_sums_all + t * scale_stride);
  };
  const int64_t n_tasks = (n_tokens + kTokensPerQuantizeTask - 1) / kTokensPerQuantizeTask;
  if (pool == nullptr || n_tasks <= 1) {
    for (int64_t t = 0; t < n_tokens; ++t) quantize_token(t);
  } else {
    pool->run(n_tasks, [&](int64_t task, int /*thread*/) {
      const int64_t end = std::min((task + 1) * kTokensPerQuantizeTask, n_tokens);
      for (int64_t t = task * kTokensPerQuantizeTask; t < end; ++t) quantize_token(t);
    });
  }
  return {q_all, d_all, sums_all, code_sums_all, low_code_sums_all, q_stride, scale_stride};
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
  matvec_batch(weight_type, weights, n_rows, n_cols, x, 1, y, pool);
}

void matvec_batch(GgmlType weight_type, const void* weights, int64_t n_rows, int64_t n_cols,
                  const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  const MatvecProduct product{weight_type, weights, n_rows, y};
  matvec_batch_shared({&product, 1}, n_cols, x, n_tokens, pool);
}

void matvec_batch_shared(std::span<const MatvecProduct> products, int64_t n_cols, const float* x,
                         int64_t n_tokens, ThreadPool* pool) {
  HEARTH_CHECK(products.size() <= kMaxSharedProducts, "{} products share one x (at most {})",
               products.size(), kMaxSharedProducts);
  // (An array, not a vector: decode calls this hundreds of times per token.)
  std::array<int64_t, kMaxSharedProducts> row_bytes{};
  bool int8 = false;
  for (size_t p = 0; p < products.size(); ++p) {
    row_bytes[p] = row_bytes_of(products[p].weight_type, n_cols);
    int8 = int8 || uses_int8_activations(products[p].weight_type);
  }
  const int n_threads = pool != nullptr ? pool->size() : 1;
  RowChunks chunks(products, n_tokens, n_threads);
  if (n_tokens <= 0 || chunks.total_rows() == 0) return;
  internal::Int8Activations x8{};
  if (int8) x8 = quantize_activations(x, n_tokens, n_cols, pool);
  const auto sum_rows = [&](const RowChunks::Chunk& chunk) {
    const MatvecProduct& product = products[chunk.product];
    const auto* bytes = static_cast<const uint8_t*>(product.weights);
    if (uses_int8_activations(product.weight_type)) {
      internal::matvec_quant_rows(product.weight_type, bytes, row_bytes[chunk.product], chunk.begin,
                                  chunk.end, n_cols, x8, n_tokens, product.y, product.n_rows);
      return;
    }
    for (int64_t token = 0; token < n_tokens; ++token) {
      internal::matvec_float_rows(product.weight_type, bytes, row_bytes[chunk.product], chunk.begin,
                                  chunk.end, n_cols, x + token * n_cols,
                                  product.y + token * product.n_rows);
    }
  };
  // One pool task per thread, each summing chunks until none is left (a worker that starts late
  // finds the rows taken and returns at once).
  const auto sum_chunks = [&](int64_t /*task*/, int /*thread*/) {
    RowChunks::Chunk chunk;
    while (chunks.claim(chunk)) sum_rows(chunk);
  };
  if (pool == nullptr || chunks.one_chunk()) {
    sum_chunks(0, 0);
  } else {
    pool->run(n_threads, sum_chunks);
  }
}

void round_activations(const float* x, float* rounded, int64_t n) {
  int8_t q[kActivationBlock];
  for (int64_t b = 0; b * kActivationBlock < n; ++b) {
    const float d = quantize_activation_block(x, n, b, q);
    for (int64_t c = b * kActivationBlock; c < std::min((b + 1) * kActivationBlock, n); ++c) {
      rounded[c] = d * static_cast<float>(q[c - b * kActivationBlock]);
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
