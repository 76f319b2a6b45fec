// Tests of matmul: on every compiled and supported Highway target, every type dequantize_row
// handles against matmul_reference over odd shapes (column counts across the 1024-column blocks,
// row and token counts off the 4x4 tiles, zero sizes) with x and y off vector alignment; and y
// bit-identical whatever the thread count and whatever other tokens share the batch.
#include "hearth/tensor/matmul.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hearth/tensor/quantize.h"
#include "hearth/tensor/test_targets.h"

namespace hearth::tensor {
namespace {

// Every type quantize_row/dequantize_row handle, so new formats are tested as they arrive.
std::vector<GgmlType> convertible_types() {
  std::vector<GgmlType> types;
  for (uint32_t t = 0; t < 64; ++t) {
    if (ggml_type_traits(t).has_value() && is_convertible(static_cast<GgmlType>(t))) {
      types.push_back(static_cast<GgmlType>(t));
    }
  }
  return types;
}

std::string type_name(GgmlType type) {
  return std::string(ggml_type_traits(static_cast<uint32_t>(type))->name);
}

struct Problem {
  std::vector<uint8_t> weights;
  std::vector<float> decoded;  // n_rows x n_cols, for the error bound
  std::vector<float> x_buffer;
  const float* x() const { return x_buffer.data() + 1; }  // off vector alignment
};

Problem make_problem(GgmlType type, int64_t n_rows, int64_t n_cols, int64_t n_tokens,
                     std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const uint64_t row_bytes = ggml_row_bytes(static_cast<uint32_t>(type), n_cols).value();
  Problem p;
  p.weights.resize(row_bytes * n_rows);
  p.decoded.resize(static_cast<size_t>(n_rows * n_cols));
  std::vector<float> row(static_cast<size_t>(n_cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    for (float& v : row) v = normal(rng) * (r % 3 == 2 ? 100.0f : 1.0f);
    quantize_row(type, row.data(), p.weights.data() + r * row_bytes, n_cols);
    dequantize_row(type, p.weights.data() + r * row_bytes, p.decoded.data() + r * n_cols, n_cols);
  }
  p.x_buffer.resize(static_cast<size_t>(n_tokens * n_cols) + 1);
  for (float& v : p.x_buffer) v = normal(rng);
  return p;
}

void check_shapes(GgmlType type, const std::string& target) {
  const auto block =
      static_cast<int64_t>(ggml_type_traits(static_cast<uint32_t>(type))->block_size);
  std::vector<int64_t> col_counts;
  if (block == 1) {
    col_counts = {0, 1, 7, 16, 17, 33, 1023, 1025, 2063};
  } else {
    for (const int64_t blocks : {0, 1, 3, 4, 5, 9}) col_counts.push_back(blocks * block);
    col_counts.push_back(1024 + block);
    col_counts.push_back(2048 + 3 * block);
  }
  std::mt19937 rng(42);
  for (const int64_t n_cols : col_counts) {
    for (const int64_t n_rows : {0, 1, 3, 4, 5, 33, 70}) {
      const int64_t n_tokens_max = 9;
      const Problem p = make_problem(type, n_rows, n_cols, n_tokens_max, rng);
      for (const int64_t n_tokens : {0, 1, 2, 4, 5, 9}) {
        SCOPED_TRACE(target + " " + type_name(type) + " rows " + std::to_string(n_rows) + " cols " +
                     std::to_string(n_cols) + " tokens " + std::to_string(n_tokens));
        std::vector<float> y_buffer(static_cast<size_t>(n_tokens * n_rows) + 3, -1.0f);
        float* y = y_buffer.data() + 3;
        std::vector<float> want(static_cast<size_t>(n_tokens * n_rows));
        matmul(type, p.weights.data(), n_rows, n_cols, p.x(), n_tokens, y, nullptr);
        matmul_reference(type, p.weights.data(), n_rows, n_cols, p.x(), n_tokens, want.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
          for (int64_t r = 0; r < n_rows; ++r) {
            double scale = 0.0;
            for (int64_t c = 0; c < n_cols; ++c) {
              scale +=
                  std::fabs(static_cast<double>(p.decoded[r * n_cols + c]) * p.x()[t * n_cols + c]);
            }
            // A float32 sum of n_cols products in any order: within n_cols * 2^-23 * sum |w x|.
            const double tolerance = static_cast<double>(n_cols) * FLT_EPSILON * scale;
            ASSERT_LE(std::fabs(static_cast<double>(y[t * n_rows + r]) - want[t * n_rows + r]),
                      tolerance)
                << "token " << t << " row " << r;
          }
        }
        for (int i = 0; i < 3; ++i) ASSERT_EQ(y_buffer[i], -1.0f) << "wrote before y";
      }
    }
  }
}

class MatmulTest : public testing::TestWithParam<GgmlType> {};

TEST_P(MatmulTest, MatchesReferenceOnEveryTarget) {
  for_each_target([](const std::string& target) { check_shapes(GetParam(), target); });
}

TEST_P(MatmulTest, SameResultForAnyThreadCountAndBatch) {
  const GgmlType type = GetParam();
  std::mt19937 rng(7);
  const int64_t n_rows = 301;
  const int64_t n_cols = 1280;
  const int64_t n_tokens = 11;
  const Problem p = make_problem(type, n_rows, n_cols, n_tokens, rng);
  std::vector<float> alone(static_cast<size_t>(n_tokens * n_rows));
  matmul(type, p.weights.data(), n_rows, n_cols, p.x(), n_tokens, alone.data(), nullptr);
  for (const int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> y(alone.size());
    matmul(type, p.weights.data(), n_rows, n_cols, p.x(), n_tokens, y.data(), &pool);
    EXPECT_EQ(std::memcmp(y.data(), alone.data(), y.size() * sizeof(float)), 0)
        << threads << " threads";
  }
  // Tokens 3..7 alone give the rows they had in the batch of 11.
  std::vector<float> part(static_cast<size_t>(5 * n_rows));
  matmul(type, p.weights.data(), n_rows, n_cols, p.x() + 3 * n_cols, 5, part.data(), nullptr);
  EXPECT_EQ(std::memcmp(part.data(), alone.data() + 3 * n_rows, part.size() * sizeof(float)), 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTest, testing::ValuesIn(convertible_types()),
                         [](const testing::TestParamInfo<GgmlType>& info) {
                           return type_name(info.param);
                         });

}  // namespace
}  // namespace hearth::tensor
