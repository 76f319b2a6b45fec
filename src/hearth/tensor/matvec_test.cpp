// Tests of matvec: on every Highway target compiled in and supported by this CPU (AVX3_DL, the
// VNNI target, included), each weight type against matvec_reference over odd shapes (tails, zero
// sizes, tiny fp16 scales, all-zero x blocks, x blocks of exact rounding ties) with x and y off
// vector alignment; the block formats also against the float-x product within the
// activation-rounding bound; bit-identical y whatever the thread count; and matvec_batch
// bit-identical to matvec token by token.
#include "hearth/tensor/matvec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/matvec_kernels.h"
#include "hearth/tensor/quantize.h"
#include "hearth/tensor/test_targets.h"
#include "hwy/highway.h"
#include "hwy/targets.h"

namespace hearth::tensor {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0,
                               GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                               GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kQ8_K};

int64_t block_size_of(GgmlType type) {
  return ggml_type_traits(static_cast<uint32_t>(type))->block_size;
}

// A weight matrix in `type`, stored `offset` bytes into its buffer (off vector alignment but on
// the element's natural one), with rows of magnitude 1, 100 or 1e-6 (the last gives fp16
// subnormal block scales).
struct Weights {
  std::vector<uint8_t> buffer;
  size_t offset = 0;
  const void* data() const { return buffer.data() + offset; }
};

Weights make_weights(GgmlType type, int64_t n_rows, int64_t n_cols, std::mt19937& rng) {
  const uint64_t row_bytes =
      ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols)).value();
  Weights w;
  w.offset = type == GgmlType::kF32 ? 4 : 2;
  w.buffer.resize(w.offset + row_bytes * static_cast<uint64_t>(n_rows));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float magnitudes[] = {1.0f, 100.0f, 1e-6f};
  std::vector<float> row(static_cast<size_t>(n_cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    for (float& v : row) v = normal(rng) * magnitudes[r % 3];
    quantize_row(type, row.data(), w.buffer.data() + w.offset + r * row_bytes, n_cols);
  }
  return w;
}

// Per row, the scale of the kernel's float32 rounding errors: sum_c |W[r][c]| |x[c]| for the
// float types; for the block formats sum_c 2 G(c) |x[c]|, G(c) the largest |W[r][.]| in c's group
// of 32, since the kernel sums code * scale and offset terms (Q4_1/Q5_1 min, K-quant dmin * min)
// separately and each is at most about the group's largest weight. Also, per row,
// sum_c |W[r][c]| |x[c] - x'[c]| with x' = round_activations(x): the activation rounding's bound.
struct RowScales {
  std::vector<double> rounding;
  std::vector<double> activation;
};

RowScales row_scales(GgmlType type, const Weights& w, int64_t n_rows, int64_t n_cols,
                     const float* x, const float* x_rounded) {
  const uint64_t row_bytes =
      ggml_row_bytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n_cols)).value();
  RowScales scales{std::vector<double>(static_cast<size_t>(n_rows)),
                   std::vector<double>(static_cast<size_t>(n_rows))};
  std::vector<float> row(static_cast<size_t>(n_cols));
  const bool int8 = uses_int8_activations(type);
  for (int64_t r = 0; r < n_rows && n_cols > 0; ++r) {
    dequantize_row(type, static_cast<const uint8_t*>(w.data()) + r * row_bytes, row.data(), n_cols);
    for (int64_t c = 0; c < n_cols; ++c) {
      double magnitude = std::fabs(row[c]);
      if (int8) {
        const int64_t group = c / 32 * 32;
        for (int64_t i = group; i < group + 32; ++i) {
          magnitude = std::max<double>(magnitude, std::fabs(row[i]));
        }
        magnitude *= 2.0;
      }
      scales.rounding[r] += magnitude * std::fabs(x_rounded[c]);
      scales.activation[r] +=
          std::fabs(static_cast<double>(row[c])) * std::fabs(x[c] - x_rounded[c]);
    }
  }
  return scales;
}

// The targets that HWY_TARGETS compiled and this CPU runs, one bit each.
std::vector<int64_t> runnable_targets() {
  hwy::SetSupportedTargetsForTest(0);
  std::vector<int64_t> targets;
  for (int64_t bits = hwy::SupportedTargets() & HWY_TARGETS; bits != 0; bits &= bits - 1) {
    targets.push_back(bits & -bits);
  }
  return targets;
}

// Checks every shape against the reference with the target currently chosen.
void check_against_reference(GgmlType type, const std::string& target) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<int64_t> col_counts;
  if (block_size_of(type) == 256) {
    for (int64_t blocks = 0; blocks <= 3; ++blocks) col_counts.push_back(256 * blocks);
  } else if (uses_int8_activations(type)) {
    // Chunks of 8 blocks and their tails.
    for (int64_t blocks = 0; blocks <= 17; ++blocks) col_counts.push_back(32 * blocks);
  } else {
    // 0..2N for N = 64 (16 lanes x 4 accumulators), then a few longer rows.
    for (int64_t n = 0; n <= 129; ++n) col_counts.push_back(n);
    col_counts.push_back(200);
    col_counts.push_back(257);
  }
  const int64_t row_counts[] = {0, 1, 2, 3, 15, 16, 17, 33, 70};
  for (const int64_t n_cols : col_counts) {
    for (const int64_t n_rows : row_counts) {
      SCOPED_TRACE(target + " " + std::to_string(n_rows) + "x" + std::to_string(n_cols));
      const Weights w = make_weights(type, n_rows, n_cols, rng);
      std::vector<float> x_buffer(static_cast<size_t>(n_cols) + 1);
      for (float& v : x_buffer) v = normal(rng);
      // An all-zero activation block (scale 0), a tiny one, and one of exact ties: its scale is
      // 127 / 127 = 1, so +-(k + 0.5) must round away from zero as std::round does.
      for (int64_t c = 32; c < std::min<int64_t>(64, n_cols); ++c) x_buffer[1 + c] = 0.0f;
      for (int64_t c = 64; c < std::min<int64_t>(96, n_cols); ++c) x_buffer[1 + c] *= 1e-30f;
      for (int64_t c = 96; c < std::min<int64_t>(128, n_cols); ++c) {
        x_buffer[1 + c] = c == 96 ? 127.0f : static_cast<float>(c % 2 ? -1 : 1) * (c - 96.5f);
      }
      const float* x = x_buffer.data() + 1;
      std::vector<float> y_buffer(static_cast<size_t>(n_rows) + 3, -1.0f);
      float* y = y_buffer.data() + 3;
      std::vector<float> expected(static_cast<size_t>(n_rows));
      matvec(type, w.data(), n_rows, n_cols, x, y, nullptr);
      // The kernel's x: rounded to 8-bit blocks for the block formats.
      std::vector<float> x_rounded(x, x + n_cols);
      if (uses_int8_activations(type)) round_activations(x, x_rounded.data(), n_cols);
      matvec_reference(type, w.data(), n_rows, n_cols, x_rounded.data(), expected.data());
      std::vector<float> unrounded(static_cast<size_t>(n_rows));
      matvec_reference(type, w.data(), n_rows, n_cols, x, unrounded.data());
      const RowScales scales = row_scales(type, w, n_rows, n_cols, x, x_rounded.data());
      for (int64_t r = 0; r < n_rows; ++r) {
        // A float32 sum of n_cols terms in any order is within n_cols * 2^-23 of the exact sum
        // relative to the terms' magnitudes; the integer parts are exact.
        const double tolerance = static_cast<double>(n_cols) * FLT_EPSILON * scales.rounding[r];
        ASSERT_LE(std::fabs(static_cast<double>(y[r]) - expected[r]), tolerance) << "row " << r;
        ASSERT_LE(std::fabs(static_cast<double>(y[r]) - unrounded[r]),
                  tolerance + scales.activation[r] * 1.0001)
            << "row " << r;
      }
      for (int i = 0; i < 3; ++i) ASSERT_EQ(y_buffer[i], -1.0f) << "wrote before y";
    }
  }
}

class MatvecTest : public testing::TestWithParam<GgmlType> {};

TEST_P(MatvecTest, MatchesReferenceOnEveryTarget) {
  const auto targets = runnable_targets();
  ASSERT_FALSE(targets.empty());
  for (const int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    check_against_reference(GetParam(), hwy::TargetName(target));
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST_P(MatvecTest, SameResultForAnyThreadCount) {
  const GgmlType type = GetParam();
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n_rows = 301;
  const int64_t n_cols = 256;
  const Weights w = make_weights(type, n_rows, n_cols, rng);
  std::vector<float> x(static_cast<size_t>(n_cols));
  for (float& v : x) v = normal(rng);
  std::vector<float> alone(static_cast<size_t>(n_rows));
  matvec(type, w.data(), n_rows, n_cols, x.data(), alone.data(), nullptr);
  for (const int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> y(static_cast<size_t>(n_rows));
    matvec(type, w.data(), n_rows, n_cols, x.data(), y.data(), &pool);
    EXPECT_EQ(std::memcmp(y.data(), alone.data(), y.size() * sizeof(float)), 0)
        << threads << " threads";
  }
}

// matvec_batch against matvec one token at a time, bit for bit: token counts 1..17 (groups of
// tokens and the tokens left over), each batch a different window of 17 rows of x so a token
// sits at every position of a group, with an all-zero and a tiny activation block.
void check_batch_against_matvec(GgmlType type, const std::string& target) {
  std::mt19937 rng(4321);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t block = block_size_of(type);
  std::vector<int64_t> col_counts;
  // 4352 columns = 17 chunks: a batch's second pass over the columns (8 chunks a pass) and, with
  // 70 rows, a task of 64 rows whose prepared chunks take two blocks (matvec_quant-inl.h).
  if (block == 256) {
    col_counts = {256, 768, 4352};
  } else if (uses_int8_activations(type)) {
    col_counts = {32, 96, 288, 544, 4352};  // one group, a partial chunk, chunk + tail, two + tail
  } else {
    col_counts = {1, 33, 100};
  }
  constexpr int64_t kMaxTokens = 17;
  for (const int64_t n_cols : col_counts) {
    for (const int64_t n_rows : {1, 17, 33, 70}) {
      const Weights w = make_weights(type, n_rows, n_cols, rng);
      std::vector<float> x(static_cast<size_t>(kMaxTokens * n_cols));
      for (float& v : x) v = normal(rng);
      for (int64_t c = 32; c < std::min<int64_t>(64, n_cols); ++c) x[c] = 0.0f;
      for (int64_t c = 64; c < std::min<int64_t>(96, n_cols); ++c) x[n_cols + c] *= 1e-30f;
      std::vector<float> alone(static_cast<size_t>(kMaxTokens * n_rows));
      for (int64_t t = 0; t < kMaxTokens; ++t) {
        matvec(type, w.data(), n_rows, n_cols, x.data() + t * n_cols, alone.data() + t * n_rows,
               nullptr);
      }
      for (int64_t n_tokens = 1; n_tokens <= kMaxTokens; ++n_tokens) {
        SCOPED_TRACE(target + " " + std::to_string(n_rows) + "x" + std::to_string(n_cols) + ", " +
                     std::to_string(n_tokens) + " tokens");
        const int64_t first = kMaxTokens - n_tokens;
        std::vector<float> y(static_cast<size_t>(n_tokens * n_rows), -1.0f);
        matvec_batch(type, w.data(), n_rows, n_cols, x.data() + first * n_cols, n_tokens, y.data(),
                     nullptr);
        for (int64_t t = 0; t < n_tokens; ++t) {
          ASSERT_EQ(std::memcmp(y.data() + t * n_rows, alone.data() + (first + t) * n_rows,
                                static_cast<size_t>(n_rows) * sizeof(float)),
                    0)
              << "token " << t;
        }
      }
    }
  }
}

TEST_P(MatvecTest, BatchEqualsMatvecPerTokenOnEveryTarget) {
  for_each_target(
      [](const std::string& target) { check_batch_against_matvec(GetParam(), target); });
}

// Q6_K rows 0-3 at the edges of the AMX kernel's split weights (sub-scale times q - 32, as
// 128 hi + lo): every code 0 or 63 (q - 32 = -32 or 31) against sub-scales of -128 or 127 in the
// first half of each group, and -1 in the second.
void set_q6_k_extremes(Weights& w, int64_t n_rows, int64_t n_cols) {
  const uint64_t row_bytes =
      ggml_row_bytes(static_cast<uint32_t>(GgmlType::kQ6_K), static_cast<uint64_t>(n_cols)).value();
  for (int64_t r = 0; r < std::min<int64_t>(4, n_rows); ++r) {
    for (int64_t b = 0; b < n_cols / internal::kQkK; ++b) {
      uint8_t* block = w.buffer.data() + w.offset + r * row_bytes + b * internal::kQ6_KBlockBytes;
      std::memset(block, r % 2 == 0 ? 0x00 : 0xff, 192);  // ql, qh
      for (int j = 0; j < 16; ++j) {
        block[192 + j] = static_cast<uint8_t>(j % 2 == 1 ? -1 : r < 2 ? -128 : 127);
      }
    }
  }
}

// A prompt-sized batch, which takes AMX tiles where the CPU has them (internal::kAmxMinTokens):
// 32 tokens at a time and a partial last 32, rows 32 (16 for Q6_K) at a time and a partial last
// block, a partial last chunk of groups, Q6_K's extreme weights; still bit for bit matvec's.
TEST_P(MatvecTest, PromptSizedBatchEqualsMatvecPerTokenOnEveryTarget) {
  const GgmlType type = GetParam();
  if (!uses_int8_activations(type)) GTEST_SKIP() << "float weights take one matvec per token";
  if (!internal::amx_available()) std::printf("(no AMX here: the AVX-512 / AVX2 kernels only)\n");
  for_each_target([type](const std::string& target) {
    std::mt19937 rng(99);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t n_tokens = internal::kAmxMinTokens + 35;
    const int64_t n_cols = block_size_of(type) == 256 ? 768 : 288;
    for (const int64_t n_rows : {17, 70}) {
      SCOPED_TRACE(target + " " + std::to_string(n_rows) + " rows");
      Weights w = make_weights(type, n_rows, n_cols, rng);
      if (type == GgmlType::kQ6_K) set_q6_k_extremes(w, n_rows, n_cols);
      std::vector<float> x(static_cast<size_t>(n_tokens * n_cols));
      for (float& v : x) v = normal(rng);
      for (int64_t c = 0; c < 32; ++c) x[5 * n_cols + c] = 0.0f;  // an all-zero block
      std::vector<float> y(static_cast<size_t>(n_tokens * n_rows));
      matvec_batch(type, w.data(), n_rows, n_cols, x.data(), n_tokens, y.data(), nullptr);
      std::vector<float> alone(static_cast<size_t>(n_rows));
      for (int64_t t = 0; t < n_tokens; ++t) {
        matvec(type, w.data(), n_rows, n_cols, x.data() + t * n_cols, alone.data(), nullptr);
        ASSERT_EQ(std::memcmp(y.data() + t * n_rows, alone.data(),
                              static_cast<size_t>(n_rows) * sizeof(float)),
                  0)
            << "token " << t;
      }
    }
  });
}

TEST_P(MatvecTest, BatchSameResultForAnyThreadCount) {
  const GgmlType type = GetParam();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n_rows = 301;
  const int64_t n_cols = 512;
  const int64_t n_tokens = 37;  // quantized over the pool in more than one task
  const Weights w = make_weights(type, n_rows, n_cols, rng);
  std::vector<float> x(static_cast<size_t>(n_tokens * n_cols));
  for (float& v : x) v = normal(rng);
  std::vector<float> alone(static_cast<size_t>(n_tokens * n_rows));
  matvec_batch(type, w.data(), n_rows, n_cols, x.data(), n_tokens, alone.data(), nullptr);
  for (const int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> y(alone.size());
    matvec_batch(type, w.data(), n_rows, n_cols, x.data(), n_tokens, y.data(), &pool);
    EXPECT_EQ(std::memcmp(y.data(), alone.data(), y.size() * sizeof(float)), 0)
        << threads << " threads";
  }
}

// q, k and v of a Q4_K_M layer (two types), an F16 one, and a gate/up pair: each y exactly as
// matvec_batch gives it, for decode and a prompt, on the caller and on a pool.
TEST(MatvecShared, EachProductAsMatvecBatchGivesIt) {
  std::mt19937 rng(6);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n_cols = 512;
  struct Shape {
    GgmlType type;
    int64_t n_rows;
  };
  const std::vector<std::vector<Shape>> groups = {
      {{GgmlType::kQ4_K, 256}, {GgmlType::kQ4_K, 64}, {GgmlType::kQ6_K, 64}},
      {{GgmlType::kQ4_0, 300}, {GgmlType::kF16, 17}},
      {{GgmlType::kQ8_0, 1}, {GgmlType::kQ8_0, 0}, {GgmlType::kQ5_0, 129}, {GgmlType::kQ4_0, 70}}};
  ThreadPool pool(2);
  for (const std::vector<Shape>& group : groups) {
    for (const int64_t n_tokens : {1, 3, 37}) {
      for (ThreadPool* threads : {static_cast<ThreadPool*>(nullptr), &pool}) {
        std::vector<float> x(static_cast<size_t>(n_tokens * n_cols));
        for (float& v : x) v = normal(rng);
        std::vector<Weights> weights;
        std::vector<std::vector<float>> want, got;
        std::vector<MatvecProduct> products;
        for (const Shape& shape : group) {
          weights.push_back(make_weights(shape.type, shape.n_rows, n_cols, rng));
          want.emplace_back(static_cast<size_t>(n_tokens * shape.n_rows));
          got.emplace_back(static_cast<size_t>(n_tokens * shape.n_rows), -1.0f);
          matvec_batch(shape.type, weights.back().data(), shape.n_rows, n_cols, x.data(), n_tokens,
                       want.back().data(), threads);
        }
        for (size_t p = 0; p < group.size(); ++p) {
          products.push_back({group[p].type, weights[p].data(), group[p].n_rows, got[p].data()});
        }
        matvec_batch_shared(products, n_cols, x.data(), n_tokens, threads);
        for (size_t p = 0; p < group.size(); ++p) {
          // (memcmp, bit for bit; not on an empty product's null data.)
          EXPECT_TRUE(got[p].empty() || std::memcmp(got[p].data(), want[p].data(),
                                                    got[p].size() * sizeof(float)) == 0)
              << "product " << p << " of " << group.size() << ", " << n_tokens << " tokens, "
              << (threads != nullptr ? "pool" : "caller");
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatvecTest, testing::ValuesIn(kTypes),
                         [](const testing::TestParamInfo<GgmlType>& info) {
                           return std::string(
                               ggml_type_traits(static_cast<uint32_t>(info.param))->name);
                         });

}  // namespace
}  // namespace hearth::tensor
