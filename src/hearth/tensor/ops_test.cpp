// Tests of ops.h: on every compiled and supported Highway target, each op against its scalar
// reference over lengths 0..2N+ (tails), off vector alignment and in place; RoPE against angles
// worked out by hand for both layouts, partial n_dims and frequency factors; GELU against the
// tanh formula; get_row against dequantize_row for every convertible type; row_dots and
// weighted_row_sums against float64 sums, and a query's results alone and batched, bit for bit.
#include "hearth/tensor/ops.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "hearth/tensor/float16.h"
#include "hearth/tensor/quantize.h"
#include "hearth/tensor/test_targets.h"

namespace hearth::tensor {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Lengths covering every tail of 16-lane vectors and the 2x-unrolled loops, plus longer rows.
std::vector<int64_t> lengths() {
  std::vector<int64_t> n;
  for (int64_t i = 0; i <= 70; ++i) n.push_back(i);
  for (const int64_t i : {127, 128, 129, 257, 1000, 4096}) n.push_back(i);
  return n;
}

// |got - want| <= ulps * FLT_EPSILON * magnitude + absolute, element by element.
void expect_near(const float* got, const float* want, const std::vector<float>& magnitude,
                 int64_t n, float ulps, float absolute, const std::string& what) {
  for (int64_t i = 0; i < n; ++i) {
    const double tolerance = ulps * FLT_EPSILON * magnitude[i] + absolute;
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), tolerance)
        << what << " n=" << n << " i=" << i << " got " << got[i] << " want " << want[i];
  }
}

std::vector<float> abs_of(const float* x, int64_t n) {
  std::vector<float> a(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) a[i] = std::fabs(x[i]);
  return a;
}

TEST(Ops, NormsMatchReference) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(1);
    for (const int64_t n : lengths()) {
      if (n == 0) continue;  // a norm of nothing is undefined
      Row x = random_row(n, 3.0f, rng);
      Row w = random_row(n, 1.0f, rng);
      Row b = random_row(n, 1.0f, rng);
      for (const bool weighted : {false, true}) {
        const float* weight = weighted ? w.data() : nullptr;
        const float* bias = weighted ? b.data() : nullptr;
        std::vector<float> got(n), want(n);
        // Sums in another order move the float mean by at most an ulp: y within a few ulps.
        rms_norm(x.data(), weight, got.data(), n, 1e-6f);
        reference::rms_norm(x.data(), weight, want.data(), n, 1e-6f);
        expect_near(got.data(), want.data(), abs_of(want.data(), n), n, 4, 0, target + " rms");
        // In place gives the same values.
        std::vector<float> inplace(x.data(), x.data() + n);
        rms_norm(inplace.data(), weight, inplace.data(), n, 1e-6f);
        EXPECT_EQ(inplace, got) << target;

        // LayerNorm: y*w + b may be fused in one build and not the other, so the scale of the
        // error is |y*w| + |b|, not |result|.
        layer_norm(x.data(), weight, bias, got.data(), n, 1e-5f);
        reference::layer_norm(x.data(), weight, bias, want.data(), n, 1e-5f);
        std::vector<float> magnitude = abs_of(want.data(), n);
        for (int64_t i = 0; bias != nullptr && i < n; ++i) magnitude[i] += 2 * std::fabs(bias[i]);
        expect_near(got.data(), want.data(), magnitude, n, 8, 0, target + " layer_norm");
      }
    }
  });
}

TEST(Ops, SoftmaxMatchesReference) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(2);
    for (const int64_t n : lengths()) {
      Row x = random_row(n, 5.0f, rng);
      for (int64_t i = 0; i < n; i += 3) x.data()[i] = -kInf;  // masked positions
      std::vector<float> got(x.data(), x.data() + n), want = got;
      softmax(got.data(), n);
      reference::softmax(want.data(), n);
      // Highway's Exp is within 1 ulp, glibc's expf within 1: a few ulps after normalising;
      // the absolute term covers results near float's underflow.
      expect_near(got.data(), want.data(), want, n, 8, 1e-37f, target + " softmax");
      for (int64_t i = 0; i < n; i += 3) ASSERT_EQ(got[i], 0.0f) << target << " masked";
    }
    std::vector<float> masked(19, -kInf);
    softmax(masked.data(), 19);
    EXPECT_EQ(masked, std::vector<float>(19, 0.0f)) << target;
  });
}

TEST(Ops, ActivationsMatchReference) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(3);
    for (const int64_t n : lengths()) {
      Row gate = random_row(n, 4.0f, rng);
      // Values near ggml's GELU cut-offs at +-10 and SiLU's exp cap (-88).
      const float edges[] = {-10.0f, 10.0f, -9.999f, 9.999f, -200.0f, 200.0f, -89.0f, 0.0f};
      for (int64_t i = 0; i < n && i < 8; ++i) gate.data()[5 * i % n] = edges[i];
      Row up = random_row(n, 1.0f, rng);
      for (const bool gated : {false, true}) {
        const float* u = gated ? up.data() : nullptr;
        std::vector<float> got(n), want(n);
        // x/(1+e^-x): Exp within 1 ulp, then a division and a product; the absolute term is
        // the exp cap's at most 1e-36 below x = -88.
        silu_mul(gate.data(), u, got.data(), n);
        reference::silu_mul(gate.data(), u, want.data(), n);
        expect_near(got.data(), want.data(), abs_of(want.data(), n), n, 8, 1e-35f,
                    target + " silu");
        // GELU is one table lookup on both sides: identical.
        gelu_tanh_mul(gate.data(), u, got.data(), n);
        reference::gelu_tanh_mul(gate.data(), u, want.data(), n);
        EXPECT_EQ(got, want) << target << " gelu n=" << n;
        // In place over the gate.
        std::vector<float> inplace(gate.data(), gate.data() + n);
        gelu_tanh_mul(inplace.data(), u, inplace.data(), n);
        EXPECT_EQ(inplace, want) << target << " gelu in place";
      }
    }
  });
}

TEST(Ops, GeluIsTheTanhFormulaToHalfPrecision) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int i = 0; i < 10000; ++i) {
    const float x = normal(rng);
    float y;
    gelu_tanh_mul(&x, nullptr, &y, 1);
    const double xd = x;
    const double exact =
        0.5 * xd * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (xd + 0.044715 * xd * xd * xd)));
    // x and the result each rounded to fp16 (2^-11 relative), gelu' <= 1.13.
    ASSERT_NEAR(y, exact,
                2.2 * std::ldexp(std::fabs(xd), -11) + std::ldexp(std::fabs(exact), -11) + 1e-7)
        << "x=" << x;
  }
}

TEST(Ops, ElementwiseAreExact) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(5);
    for (const int64_t n : lengths()) {
      Row a = random_row(n, 1.0f, rng);
      Row b = random_row(n, 1.0f, rng);
      std::vector<float> sum(n), product(n), scaled(n);
      add(a.data(), b.data(), sum.data(), n);
      mul(a.data(), b.data(), product.data(), n);
      scale(a.data(), 0.3f, scaled.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(sum[i], a.data()[i] + b.data()[i]) << target;
        ASSERT_EQ(product[i], a.data()[i] * b.data()[i]) << target;
        ASSERT_EQ(scaled[i], a.data()[i] * 0.3f) << target;
      }
      add(a.data(), b.data(), a.data(), n);  // in place
      EXPECT_EQ(std::vector<float>(a.data(), a.data() + n), sum) << target;
    }
  });
}

// RoPE worked out by hand (in double): head_dim 8, n_dims 4 (dims 4..7 pass through),
// freq_base 10000, so theta_scale = 10000^(-2/4) = 0.01: at position 2 the pairs turn by 2 rad
// and 0.02 rad (with freq_factors {1, 4}: 0.005 rad; with freq_scale 0.5: half of each).
TEST(Ops, RopeMatchesHandComputedAngles) {
  struct Case {
    RopeLayout layout;
    std::vector<float> factors;
    float freq_scale;
    double angle0, angle1;
  };
  const Case cases[] = {
      {RopeLayout::kNormal, {}, 1.0f, 2.0, 0.02},
      {RopeLayout::kNeox, {}, 1.0f, 2.0, 0.02},
      {RopeLayout::kNormal, {1.0f, 4.0f}, 1.0f, 2.0, 0.005},
      {RopeLayout::kNeox, {1.0f, 4.0f}, 0.5f, 1.0, 0.0025},
  };
  for_each_target([&](const std::string& target) {
    for (const Case& c : cases) {
      const bool neox = c.layout == RopeLayout::kNeox;
      std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8};
      std::vector<double> want(x.begin(), x.end());
      for (int h = 0; h < 2; ++h) {
        // Pair p is (x[2p], x[2p+1]) in the normal layout and (x[p], x[p+2]) in NeoX.
        for (int p = 0; p < 2; ++p) {
          const int i0 = h * 8 + (neox ? p : 2 * p);
          const int i1 = h * 8 + (neox ? p + 2 : 2 * p + 1);
          const double angle = p == 0 ? c.angle0 : c.angle1;
          want[i0] = x[i0] * std::cos(angle) - x[i1] * std::sin(angle);
          want[i1] = x[i0] * std::sin(angle) + x[i1] * std::cos(angle);
        }
      }
      RopeParams params;
      params.n_dims = 4;
      params.freq_base = 10000.0f;
      params.freq_scale = c.freq_scale;
      params.freq_factors = c.factors.empty() ? nullptr : c.factors.data();
      params.layout = c.layout;
      rope(x.data(), 2, 8, 2, params);
      for (size_t i = 0; i < x.size(); ++i) {
        EXPECT_NEAR(x[i], want[i], 1e-5) << target << " neox=" << neox << " i=" << i;
      }
    }
  });
}

TEST(Ops, RopeMatchesReference) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(6);
    std::uniform_real_distribution<float> factor(1.0f, 8.0f);
    for (const RopeLayout layout : {RopeLayout::kNormal, RopeLayout::kNeox}) {
      for (const int64_t head_dim : {2, 6, 32, 64, 80, 128, 256}) {
        for (const int64_t n_dims : {head_dim, head_dim / 2 - head_dim / 2 % 2}) {
          if (n_dims == 0) continue;
          std::vector<float> factors(static_cast<size_t>(n_dims / 2));
          for (float& f : factors) f = factor(rng);
          for (const bool with_factors : {false, true}) {
            RopeParams params;
            params.n_dims = static_cast<int>(n_dims);
            params.freq_base = 1e6f;
            params.freq_scale = 0.25f;
            params.freq_factors = with_factors ? factors.data() : nullptr;
            params.layout = layout;
            const int64_t n_heads = 3;
            for (const int64_t position : {0, 1, 17, 4095, 100000}) {
              Row x = random_row(n_heads * head_dim, 1.0f, rng);
              std::vector<float> got(x.data(), x.data() + n_heads * head_dim), want = got;
              rope(got.data(), n_heads, head_dim, position, params);
              reference::rope(want.data(), n_heads, head_dim, position, params);
              // Same angles; the products may be fused on one side: |x0| + |x1| scale.
              const std::vector<float> magnitude(got.size(), 8.0f);
              expect_near(got.data(), want.data(), magnitude, static_cast<int64_t>(got.size()), 2,
                          0, target + " rope dim " + std::to_string(head_dim));
              // Dimensions past n_dims pass through.
              for (int64_t h = 0; h < n_heads; ++h) {
                for (int64_t i = n_dims; i < head_dim; ++i) {
                  ASSERT_EQ(got[h * head_dim + i], x.data()[h * head_dim + i]) << target;
                }
              }
            }
          }
        }
      }
    }
  });
}

// Rows of n_cols values N(0, 1) stored in `type`.
std::vector<uint8_t> random_rows(GgmlType type, int64_t n_rows, int64_t n_cols, std::mt19937& rng) {
  const uint64_t row_bytes = ggml_row_bytes(static_cast<uint32_t>(type), n_cols).value();
  std::vector<uint8_t> data(row_bytes * n_rows);
  for (int64_t r = 0; r < n_rows; ++r) {
    Row values = random_row(n_cols, 1.0f, rng);
    quantize_row(type, values.data(), data.data() + r * row_bytes, n_cols);
  }
  return data;
}

// Shapes for row_dots and weighted_row_sums: 1-9 queries (every group of four and its tail),
// rows odd and even, columns around the 16-lane vectors and the slices of 4 and 8 vectors.
struct AttentionShape {
  int64_t n_queries, n_rows, n_cols;
};

std::vector<AttentionShape> attention_shapes(int64_t step) {
  std::vector<AttentionShape> shapes;
  for (const int64_t n_queries : {1, 3, 4, 5, 9}) {
    for (const int64_t n_rows : {0, 1, 2, 7, 100}) {
      for (const int64_t n_cols :
           {step, 3 * step, 16 * step, 17 * step, 48 * step, 128 * step, 209 * step}) {
        shapes.push_back({n_queries, n_rows, n_cols});
      }
    }
  }
  return shapes;
}

const GgmlType kAttentionTypes[] = {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16,
                                    GgmlType::kQ8_0};

TEST(Ops, RowDotsMatchReference) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(9);
    for (const GgmlType type : kAttentionTypes) {
      for (const auto [n_x, n_rows, n_cols] : attention_shapes(type == GgmlType::kQ8_0 ? 32 : 1)) {
        const std::vector<uint8_t> rows = random_rows(type, n_rows, n_cols, rng);
        const int64_t x_stride = n_cols + 3;  // queries apart, as heads of several tokens are
        Row x = random_row(n_x * x_stride, 1.0f, rng);
        const int64_t y_stride = n_rows + 1;
        std::vector<float> got(n_x * y_stride, kInf), want(n_x * y_stride, kInf);
        row_dots(type, rows.data(), n_rows, n_cols, x.data(), n_x, x_stride, got.data(), y_stride);
        reference::row_dots(type, rows.data(), n_rows, n_cols, x.data(), n_x, x_stride, want.data(),
                            y_stride);
        for (int64_t i = 0; i < n_x; ++i) {
          // n_cols float products and sums, each rounding at most the sum of the terms'
          // magnitudes, sum_c |x_c| |R_c| <= 6 sum_c |x_c| for these values.
          float x_sum = 0.0f;
          for (int64_t c = 0; c < n_cols; ++c) x_sum += std::fabs(x.data()[i * x_stride + c]);
          const std::vector<float> magnitude(n_rows + 1, 6.0f * x_sum);
          expect_near(got.data() + i * y_stride, want.data() + i * y_stride, magnitude, n_rows,
                      2.0f * (n_cols + 1), 0.0f,
                      target + " row_dots type " + std::to_string(static_cast<int>(type)) +
                          " query " + std::to_string(i) + " of " + std::to_string(n_x));
          EXPECT_EQ(got[i * y_stride + n_rows], kInf) << "wrote past row " << n_rows;
        }
      }
    }
  });
}

TEST(Ops, WeightedRowSumsMatchReference) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(8);
    for (const GgmlType type : kAttentionTypes) {
      for (const auto [n_sets, n_rows, n_cols] :
           attention_shapes(type == GgmlType::kQ8_0 ? 32 : 1)) {
        const std::vector<uint8_t> rows = random_rows(type, n_rows, n_cols, rng);
        const int64_t weight_stride = n_rows + 2;
        Row weights = random_row(n_sets * weight_stride, 1.0f, rng);
        const int64_t y_stride = n_cols + 1;
        std::vector<float> got(n_sets * y_stride, kInf), want(n_sets * y_stride, kInf);
        weighted_row_sums(type, rows.data(), n_rows, n_cols, weights.data(), n_sets, weight_stride,
                          got.data(), y_stride);
        reference::weighted_row_sums(type, rows.data(), n_rows, n_cols, weights.data(), n_sets,
                                     weight_stride, want.data(), y_stride);
        for (int64_t i = 0; i < n_sets; ++i) {
          // Each sum of n_rows float products: n_rows roundings of at most the running sum's
          // magnitude, bounded by sum_j |w_j| |R_j| <= 6 sum_j |w_j| for these values.
          float weight_sum = 0.0f;
          for (int64_t j = 0; j < n_rows; ++j) {
            weight_sum += std::fabs(weights.data()[i * weight_stride + j]);
          }
          const std::vector<float> magnitude(n_cols + 1, 6.0f * weight_sum);
          expect_near(got.data() + i * y_stride, want.data() + i * y_stride, magnitude, n_cols,
                      2.0f * (n_rows + 1), 0.0f,
                      target + " weighted_row_sums type " + std::to_string(static_cast<int>(type)) +
                          " set " + std::to_string(i) + " of " + std::to_string(n_sets));
          EXPECT_EQ(got[i * y_stride + n_cols], kInf) << "wrote past column " << n_cols;
        }
      }
    }
  });
}

// The forward pass batches a token's queries with other heads and tokens and gives each query
// rows outside its own range zero weight; its attention must be what it gets alone, bit for bit.
TEST(Ops, AttentionProductsDoNotDependOnTheBatch) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(10);
    for (const GgmlType type : {GgmlType::kF32, GgmlType::kF16}) {
      for (const int64_t n_cols : {8, 40, 128}) {
        const int64_t n_rows = 37, n_queries = 7;
        const std::vector<uint8_t> rows = random_rows(type, n_rows, n_cols, rng);
        const int64_t row_bytes =
            static_cast<int64_t>(ggml_row_bytes(static_cast<uint32_t>(type), n_cols).value());
        Row x = random_row(n_queries * n_cols, 1.0f, rng);
        Row weights = random_row(n_queries * n_rows, 1.0f, rng);
        std::vector<float> scores(n_queries * n_rows), sums(n_queries * n_cols);
        row_dots(type, rows.data(), n_rows, n_cols, x.data(), n_queries, n_cols, scores.data(),
                 n_rows);
        // Query i's own rows: [i, n_rows - 2 i); zero weight elsewhere.
        for (int64_t i = 0; i < n_queries; ++i) {
          for (int64_t r = 0; r < n_rows; ++r) {
            if (r < i || r >= n_rows - 2 * i) weights.data()[i * n_rows + r] = 0.0f;
          }
        }
        weighted_row_sums(type, rows.data(), n_rows, n_cols, weights.data(), n_queries, n_rows,
                          sums.data(), n_cols);
        for (int64_t i = 0; i < n_queries; ++i) {
          const int64_t begin = i, count = n_rows - 3 * i;
          std::vector<float> alone_scores(count), alone_sum(n_cols);
          row_dots(type, rows.data() + begin * row_bytes, count, n_cols, x.data() + i * n_cols, 1,
                   n_cols, alone_scores.data(), count);
          weighted_row_sums(type, rows.data() + begin * row_bytes, count, n_cols,
                            weights.data() + i * n_rows + begin, 1, count, alone_sum.data(),
                            n_cols);
          const std::string what = target + " type " + std::to_string(static_cast<int>(type)) +
                                   " n_cols " + std::to_string(n_cols) + " query " +
                                   std::to_string(i);
          for (int64_t r = 0; r < count; ++r) {
            ASSERT_EQ(alone_scores[r], scores[i * n_rows + begin + r]) << what << " row " << r;
          }
          for (int64_t c = 0; c < n_cols; ++c) {
            ASSERT_EQ(alone_sum[c], sums[i * n_cols + c]) << what << " column " << c;
          }
        }
      }
    }
  });
}

TEST(Ops, RoundToF16IsF16FromF32) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(11);
    std::vector<float> x = {0.0f,      -0.0f, 1.0f,   65504.0f,      65519.99f,     65520.0f,
                            -65520.0f, 1e-8f, -3e-5f, 6.1e-5f,       5.96e-8f,      2.98e-8f,
                            1e30f,     kInf,  -kInf,  std::nanf(""), -std::nanf("")};
    std::uniform_real_distribution<float> exponent(-30.0f, 17.0f);
    std::uniform_int_distribution<int> sign(0, 1);
    for (int i = 0; i < 1000; ++i) {
      x.push_back((sign(rng) != 0 ? -1.0f : 1.0f) * std::exp2(exponent(rng)));
    }
    for (const int64_t n : lengths()) {
      if (n > static_cast<int64_t>(x.size())) break;
      std::vector<uint16_t> got(static_cast<size_t>(n) + 1, 0xabcd);
      round_to_f16(x.data(), got.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(got[i], f16_from_f32(x[i])) << target << " x=" << x[i] << " n=" << n;
      }
      EXPECT_EQ(got[n], 0xabcd) << target << " wrote past " << n;
    }
  });
}

TEST(Ops, GetRowDecodesEveryConvertibleType) {
  std::mt19937 rng(7);
  int tested = 0;
  for (uint32_t t = 0; t < 64; ++t) {
    const auto type = static_cast<GgmlType>(t);
    const auto traits = ggml_type_traits(t);
    if (!traits.has_value() || !is_convertible(type)) continue;
    const int64_t n_cols = 2 * 256;  // whole blocks of every format
    const int64_t n_rows = 5;
    const uint64_t row_bytes = ggml_row_bytes(t, n_cols).value();
    std::vector<uint8_t> data(row_bytes * n_rows);
    for (int64_t r = 0; r < n_rows; ++r) {
      Row values = random_row(n_cols, 1.0f, rng);
      quantize_row(type, values.data(), data.data() + r * row_bytes, n_cols);
    }
    for (int64_t r = 0; r < n_rows; ++r) {
      std::vector<float> got(n_cols), want(n_cols);
      get_row(type, data.data(), n_cols, r, got.data());
      dequantize_row(type, data.data() + r * row_bytes, want.data(), n_cols);
      EXPECT_EQ(got, want) << traits->name << " row " << r;
    }
    ++tested;
  }
  EXPECT_GE(tested, 5);
}

}  // namespace
}  // namespace hearth::tensor
