// The gated delta rule step of delta_rule.h: its Highway kernel compiled once per target
// (foreach_target) and dispatched per call, and the scalar reference. Decode spends its DeltaNet
// time here: the states of a layer (n_v_heads x head_dim^2 floats, 2 MiB for Qwen3.6-35B-A3B)
// stream from memory, so the kernel touches each row once, loading it twice while it is in L1 and
// storing it once.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "hearth/tensor/delta_rule.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Per row, two passes over its columns: two vectors at a time into two accumulators (independent
// FMA chains), then one vector, then a scalar tail. Pass one sums decay * s . k; pass two
// recomputes decay * s (the same rounding), adds delta * k, stores the row and sums it . q.
void DeltaRuleStep(float* state, int64_t n_rows, int64_t n_cols, const float* k, const float* v,
                   const float* q, float decay, float beta, float o_scale, float* o) {
  const hn::CappedTag<float, 16> df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const auto decay_v = hn::Set(df, decay);
  for (int64_t j = 0; j < n_rows; ++j) {
    float* row = state + j * n_cols;

    auto sk0 = hn::Zero(df);
    auto sk1 = hn::Zero(df);
    int64_t i = 0;
    for (; i + 2 * lanes <= n_cols; i += 2 * lanes) {
      sk0 = hn::MulAdd(hn::Mul(decay_v, hn::LoadU(df, row + i)), hn::LoadU(df, k + i), sk0);
      sk1 = hn::MulAdd(hn::Mul(decay_v, hn::LoadU(df, row + i + lanes)),
                       hn::LoadU(df, k + i + lanes), sk1);
    }
    for (; i + lanes <= n_cols; i += lanes) {
      sk0 = hn::MulAdd(hn::Mul(decay_v, hn::LoadU(df, row + i)), hn::LoadU(df, k + i), sk0);
    }
    float sk = hn::GetLane(hn::SumOfLanes(df, hn::Add(sk0, sk1)));
    for (; i < n_cols; ++i) sk += decay * row[i] * k[i];

    const float delta = (v[j] - sk) * beta;
    const auto delta_v = hn::Set(df, delta);
    auto sq0 = hn::Zero(df);
    auto sq1 = hn::Zero(df);
    i = 0;
    for (; i + 2 * lanes <= n_cols; i += 2 * lanes) {
      const auto s0 =
          hn::MulAdd(delta_v, hn::LoadU(df, k + i), hn::Mul(decay_v, hn::LoadU(df, row + i)));
      const auto s1 = hn::MulAdd(delta_v, hn::LoadU(df, k + i + lanes),
                                 hn::Mul(decay_v, hn::LoadU(df, row + i + lanes)));
      hn::StoreU(s0, df, row + i);
      hn::StoreU(s1, df, row + i + lanes);
      sq0 = hn::MulAdd(s0, hn::LoadU(df, q + i), sq0);
      sq1 = hn::MulAdd(s1, hn::LoadU(df, q + i + lanes), sq1);
    }
    for (; i + lanes <= n_cols; i += lanes) {
      const auto s0 =
          hn::MulAdd(delta_v, hn::LoadU(df, k + i), hn::Mul(decay_v, hn::LoadU(df, row + i)));
      hn::StoreU(s0, df, row + i);
      sq0 = hn::MulAdd(s0, hn::LoadU(df, q + i), sq0);
    }
    float sq = hn::GetLane(hn::SumOfLanes(df, hn::Add(sq0, sq1)));
    for (; i < n_cols; ++i) {
      row[i] = decay * row[i] + delta * k[i];
      sq += row[i] * q[i];
    }
    o[j] = sq * o_scale;
  }
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hearth/tensor/delta_rule.h"

namespace hearth::tensor {
HWY_EXPORT(DeltaRuleStep);

void delta_rule_step(float* state, int64_t n_rows, int64_t n_cols, const float* k, const float* v,
                     const float* q, float decay, float beta, float o_scale, float* o) {
  HWY_DYNAMIC_DISPATCH(DeltaRuleStep)(state, n_rows, n_cols, k, v, q, decay, beta, o_scale, o);
}

namespace reference {

void delta_rule_step(float* state, int64_t n_rows, int64_t n_cols, const float* k, const float* v,
                     const float* q, float decay, float beta, float o_scale, float* o) {
  for (int64_t j = 0; j < n_rows; ++j) {
    float* row = state + j * n_cols;
    double sk = 0.0;
    for (int64_t i = 0; i < n_cols; ++i) {
      row[i] *= decay;
      sk += static_cast<double>(row[i]) * k[i];
    }
    const float delta = (v[j] - static_cast<float>(sk)) * beta;
    double sq = 0.0;
    for (int64_t i = 0; i < n_cols; ++i) {
      row[i] += delta * k[i];
      sq += static_cast<double>(row[i]) * q[i];
    }
    o[j] = static_cast<float>(sq) * o_scale;
  }
}

}  // namespace reference
}  // namespace hearth::tensor
#endif  // HWY_ONCE
