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
// tokens) are bound by memory: each thread reads one long contiguous range, which the prefetchers
// follow as one stream (16-row chunks taken in turn by two threads broke the streams: decode
// 1.6-1.8x slower, docs/PERFORMANCE.md), and the threads must finish together: with one fixed
// half each, the last thread streamed alone at the end of every job and decode was 3.5-4.7%
// slower. So each thread owns a contiguous share of the rows and takes chunks from its front, and
// a thread whose share is done takes chunks from the back of the share with the most rows left;
// the chunks shrink as a share runs out (guided scheduling): 1 / (kGuidedShare * threads) of the
// share's rows left, in whole groups of 8 rows (the one-token kernel's step), at least
// kMinStreamingRows. (Chunks handed out in turn from one counter balanced as well, but every
// chunk started a new stream: a 3072x1024 Q4_0 matvec 1.04x and qwen3-0.6b's decode 1.02x slower
// than with shares.) Larger batches (prefill) are bound by arithmetic: a chunk's rows
// are decoded once into L2 and every token runs over them (matvec_quant-inl.h), so longer chunks
// re-read the batch's x less often; 64 rows (prefill 5-8% faster than 16) still balance two
// threads on a 1024-row matrix.
constexpr int64_t kStreamingTokens = 16;
constexpr int64_t kGuidedShare = 2;
constexpr int64_t kMinStreamingRows = 32;
constexpr int64_t kPrefillChunkRows = 64;

// The rows of a job's products laid end to end, split into one share per thread (up to
// kMaxShares; threads past it own none) and handed out in chunks as above; a chunk holds rows of
// one product only. Which thread sums a row never changes the row's result.
class RowChunks {
 public:
  struct Chunk {
    size_t product;
    int64_t begin, end;  // rows of that product
  };

  RowChunks(std::span<const MatvecProduct> products, int64_t n_tokens, int n_threads)
      : n_products_(products.size()),
        streaming_(n_tokens <= kStreamingTokens),
        guided_divisor_(kGuidedShare * n_threads),
        n_shares_(std::clamp(n_threads, 1, kMaxShares)) {
    for (size_t p = 0; p < n_products_; ++p) {
      first_row_[p + 1] = first_row_[p] + std::max<int64_t>(products[p].n_rows, 0);
    }
    const int64_t total = total_rows();
    HEARTH_CHECK(total <= INT32_MAX, "{} rows in one matvec", total);
    const int64_t groups_per_share = (total + 8 * n_shares_ - 1) / (8 * n_shares_);
    for (int s = 0; s < n_shares_; ++s) {
      shares_[s].rows.store(pack(std::min(total, 8 * groups_per_share * s),
                                 std::min(total, 8 * groups_per_share * (s + 1))),
                            std::memory_order_relaxed);
    }
  }

  int64_t total_rows() const { return first_row_[n_products_]; }

  // True when the rows make one chunk (a pool would only add its wake-up).
  bool one_chunk() const { return n_products_ == 1 && chunk_rows(total_rows()) >= total_rows(); }

  // The next chunk for `thread`: from the front of its own share, else from the back of the
  // share with the most rows left; false once every row is taken.
  bool claim(int thread, Chunk& chunk) {
    if (thread < n_shares_ && take(shares_[thread], /*from_front=*/true, chunk)) return true;
    while (true) {
      Share* fullest = nullptr;
      int64_t most_rows = 0;
      for (int s = 0; s < n_shares_; ++s) {
        const uint64_t rows = shares_[s].rows.load(std::memory_order_relaxed);
        if (back(rows) - front(rows) > most_rows) {
          most_rows = back(rows) - front(rows);
          fullest = &shares_[s];
        }
      }
      if (fullest == nullptr) return false;
      if (take(*fullest, /*from_front=*/false, chunk)) return true;
    }
  }

 private:
  static constexpr int kMaxShares = 64;
  // A share's rows not yet taken, [front, back), in one word so that its owner (at the front)
  // and the other threads (at the back) take from it with one compare-and-swap.
  struct alignas(64) Share {
    std::atomic<uint64_t> rows{0};
  };
  static uint64_t pack(int64_t front, int64_t back) {
    return static_cast<uint64_t>(front) | static_cast<uint64_t>(back) << 32;
  }
  static int64_t front(uint64_t rows) { return static_cast<int64_t>(rows & 0xffffffffu); }
  static int64_t back(uint64_t rows) { return static_cast<int64_t>(rows >> 32); }

  // A chunk from one end of `share`, within one product; false when the share is empty.
  bool take(Share& share, bool from_front, Chunk& chunk) {
    uint64_t rows = share.rows.load(std::memory_order_relaxed);
    int64_t begin = 0;
    int64_t end = 0;
    do {
      if (front(rows) >= back(rows)) return false;
      const int64_t n = chunk_rows(back(rows) - front(rows));
      if (from_front) {
        begin = front(rows);
        chunk.product = product_of(begin);
        end = std::min({begin + n, back(rows), first_row_[chunk.product + 1]});
      } else {
        end = back(rows);
        chunk.product = product_of(end - 1);
        begin = std::max({end - n, front(rows), first_row_[chunk.product]});
      }
    } while (!share.rows.compare_exchange_weak(
        rows, from_front ? pack(end, back(rows)) : pack(front(rows), begin),
        std::memory_order_relaxed));
    chunk.begin = begin - first_row_[chunk.product];
    chunk.end = end - first_row_[chunk.product];
    return true;
  }

  size_t product_of(int64_t row) const {
    size_t product = 0;
    while (row >= first_row_[product + 1]) ++product;
    return product;
  }

  int64_t chunk_rows(int64_t rows_left) const {
    if (!streaming_) return kPrefillChunkRows;
    const int64_t share = (rows_left + guided_divisor_ - 1) / guided_divisor_;
    return std::max(kMinStreamingRows, (share + 7) / 8 * 8);
  }

  size_t n_products_;
  bool streaming_;
  int64_t guided_divisor_;
  int n_shares_;
  std::array<int64_t, kMaxSharedProducts + 1> first_row_{};  // product p: [first_row_[p], [p + 1])
  std::array<Share, kMaxShares> shares_;
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
  thread_local std::vector<CodeLine> plain;
  const int64_t n_blocks = (n + kActivationBlock - 1) / kActivationBlock;
  const int64_t scale_stride = n_blocks + 8;
  const int64_t q_stride = (n_blocks + 7) / 8 * internal::kInterleavedChunk;
  static_assert(internal::kInterleavedChunk % sizeof(CodeLine) == 0);
  // Grown, never cleared: each token's row overwrites its blocks, and only what lies past them
  // (its last chunk's unused blocks, the scales' tails) is zeroed below.
  q.resize(std::max(q.size(), static_cast<size_t>(n_tokens * q_stride) / sizeof(CodeLine)));
  scales.resize(std::max(scales.size(), static_cast<size_t>(2 * n_tokens * scale_stride)));
  code_sums.resize(std::max(code_sums.size(), static_cast<size_t>(2 * n_tokens * scale_stride)));
  // Pointers, not the thread_local vectors, inside the tasks: a pool thread has its own.
  auto* q_all = reinterpret_cast<int8_t*>(q.data());
  float* d_all = scales.data();
  float* sums_all = d_all + n_tokens * scale_stride;
  int32_t* code_sums_all = code_sums.data();
  int32_t* low_code_sums_all = code_sums_all + n_tokens * scale_stride;
  // The AMX kernel's plain copy, its rows up to a multiple of kAmxTokens zero. Its rows lie a
  // line more than q_stride apart: a tile load reads 16 rows, which a stride of 4096 or 8192
  // bytes put all in one set of L1, missing in turn (4096 x 4096 batches 1.05-1.17x as fast,
  // Q6_K the most; Llama Q4_K_M pp512 1.04-1.06x).
  const int64_t plain_stride = q_stride + static_cast<int64_t>(sizeof(CodeLine));
  int8_t* plain_all = nullptr;
  if (n_tokens >= internal::kAmxMinTokens && internal::amx_available()) {
    const int64_t padded_tokens =
        (n_tokens + internal::kAmxTokens - 1) / internal::kAmxTokens * internal::kAmxTokens;
    plain.resize(std::max(plain.size(),
                          static_cast<size_t>(padded_tokens * plain_stride) / sizeof(CodeLine)));
    plain_all = reinterpret_cast<int8_t*>(plain.data());
    std::fill(plain_all + n_tokens * plain_stride, plain_all + padded_tokens * plain_stride,
              int8_t{0});
  }
  const auto quantize_token = [&](int64_t t) {
    // What the kernels read past the row's blocks: its last chunk's unused blocks and the tails
    // of its scales and sums, all zero.
    if (n_blocks % 8 != 0) {
      std::fill_n(q_all + (t + 1) * q_stride - internal::kInterleavedChunk,
                  internal::kInterleavedChunk, int8_t{0});
    }
    const auto zero_tail = [&](auto* row_values) {
      std::fill(row_values + t * scale_stride + n_blocks, row_values + (t + 1) * scale_stride, 0);
    };
    zero_tail(d_all);
    zero_tail(sums_all);
    zero_tail(code_sums_all);
    zero_tail(low_code_sums_all);
    internal::quantize_activation_row(x + t * n, n, q_all + t * q_stride, d_all + t * scale_stride,
                                      sums_all + t * scale_stride, code_sums_all + t * scale_stride,
                                      low_code_sums_all + t * scale_stride);
    if (plain_all != nullptr) {
      // Chunk i holds code 4k + b of block 8i + j at 32k + 4j + b; the plain row at 32j + 4k + b.
      const int8_t* chunk = q_all + t * q_stride;
      int8_t* out = plain_all + t * plain_stride;
      for (int64_t i = 0; i < q_stride; i += internal::kInterleavedChunk) {
        for (int j = 0; j < 8; ++j) {
          for (int k = 0; k < 8; ++k)
            std::memcpy(out + i + 32 * j + 4 * k, chunk + i + 32 * k + 4 * j, 4);
        }
      }
    }
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
  return {q_all,    d_all,        sums_all,  code_sums_all, low_code_sums_all,
          q_stride, scale_stride, plain_all, plain_stride};
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
  // One pool task per thread, each summing chunks until none is left (the others take the share
  // of a worker that starts late, which then finds the rows taken and returns at once).
  const auto sum_chunks = [&](int64_t /*task*/, int thread) {
    RowChunks::Chunk chunk;
    while (chunks.claim(thread, chunk)) sum_rows(chunk);
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
