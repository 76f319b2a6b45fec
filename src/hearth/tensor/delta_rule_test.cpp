// Tests of delta_rule.h: on every compiled and supported Highway target, the kernel against its
// scalar reference over row lengths 0..2N+ (every vector tail), off vector alignment, over
// several tokens carried in the same state; and the reference against the rule worked out by hand.
#include "hearth/tensor/delta_rule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hearth/tensor/test_targets.h"

namespace hearth::tensor {
namespace {

TEST(DeltaRule, ReferenceMatchesTheRuleByHand) {
  // S = [[1, 2], [3, 4]], decay 0.5: S = [[0.5, 1], [1.5, 2]]. k = (1, 0): S k = (0.5, 1.5);
  // v = (1, 1), beta 0.5: delta = (0.25, -0.25); S = [[0.75, 1], [1.25, 2]].
  // q = (0, 2), o_scale 0.5: o = (1, 2).
  std::vector<float> state = {1, 2, 3, 4};
  const float k[] = {1, 0};
  const float v[] = {1, 1};
  const float q[] = {0, 2};
  float o[2];
  reference::delta_rule_step(state.data(), 2, 2, k, v, q, 0.5f, 0.5f, 0.5f, o);
  EXPECT_EQ(state, (std::vector<float>{0.75f, 1.0f, 1.25f, 2.0f}));
  EXPECT_EQ(o[0], 1.0f);
  EXPECT_EQ(o[1], 2.0f);
}

// Three tokens through one state, the kernel and the reference each time from the same state (the
// kernel's is reset to the reference's after each token, so the bounds do not compound). The
// kernel sums in another order: each dot product within a few ulps of the sum of its terms'
// magnitudes; every state entry and output is held to the bound that follows.
TEST(DeltaRule, KernelMatchesReference) {
  for_each_target([](const std::string& target) {
    std::mt19937 rng(7);
    std::vector<std::pair<int64_t, int64_t>> shapes;  // (n_rows, n_cols)
    for (int64_t n_cols = 0; n_cols <= 70; ++n_cols) shapes.emplace_back(3, n_cols);
    for (const int64_t n_cols : {127, 128, 129, 257}) shapes.emplace_back(5, n_cols);
    shapes.emplace_back(128, 128);  // Qwen3.5's heads
    shapes.emplace_back(0, 16);
    for (const auto& [n_rows, n_cols] : shapes) {
      Row state = random_row(n_rows * n_cols, 0.5f, rng);
      for (int token = 0; token < 3; ++token) {
        Row k = random_row(n_cols, 0.2f, rng);
        Row v = random_row(n_rows, 1.0f, rng);
        Row q = random_row(n_cols, 0.2f, rng);
        const float decay = 0.5f + 0.1f * static_cast<float>(token);
        const float beta = 0.3f;
        const float o_scale = 0.125f;
        const std::vector<float> before(state.data(), state.data() + n_rows * n_cols);
        std::vector<float> want_state = before;
        std::vector<float> want_o(static_cast<size_t>(n_rows)), got_o(want_o.size());
        reference::delta_rule_step(want_state.data(), n_rows, n_cols, k.data(), v.data(), q.data(),
                                   decay, beta, o_scale, want_o.data());
        delta_rule_step(state.data(), n_rows, n_cols, k.data(), v.data(), q.data(), decay, beta,
                        o_scale, got_o.data());
        const std::string what = target + " rows " + std::to_string(n_rows) + " cols " +
                                 std::to_string(n_cols) + " token " + std::to_string(token);
        for (int64_t j = 0; j < n_rows; ++j) {
          // sk's terms bound its error; delta carries it times beta into every entry, each
          // entry also rounds once or twice on its own; o's terms bound o's error.
          double sk_terms = 0.0;
          for (int64_t i = 0; i < n_cols; ++i) {
            sk_terms += std::fabs(decay * before[j * n_cols + i] * k.data()[i]);
          }
          const double delta_error = 8 * FLT_EPSILON * (sk_terms + std::fabs(v.data()[j])) * beta;
          double o_terms = 0.0;
          double o_carried = 0.0;
          for (int64_t i = 0; i < n_cols; ++i) {
            const float want = want_state[j * n_cols + i];
            const double tolerance =
                delta_error * std::fabs(k.data()[i]) +
                4 * FLT_EPSILON * (std::fabs(want) + std::fabs(decay * before[j * n_cols + i]));
            ASSERT_NEAR(state.data()[j * n_cols + i], want, tolerance)
                << what << " j " << j << " i " << i;
            o_terms += std::fabs(want * q.data()[i]);
            o_carried += tolerance * std::fabs(q.data()[i]);
          }
          const double o_tolerance = o_scale * (8 * FLT_EPSILON * o_terms + o_carried);
          ASSERT_NEAR(got_o[j], want_o[j], o_tolerance) << what << " o j " << j;
        }
        std::copy(want_state.begin(), want_state.end(), state.data());
      }
    }
  });
}

}  // namespace
}  // namespace hearth::tensor
