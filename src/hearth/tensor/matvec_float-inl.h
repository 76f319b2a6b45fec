// Highway kernel for matvec over the float storage types F32, F16 and BF16: one row at a time,
// weights widened to float32 and multiplied into four accumulators (to hide FMA latency), the
// rows prefetched ahead at each step (StreamPrefetch::ahead, into L1 and L2: an F16 matvec
// streamed 1.4x as fast as with reached's loop over lines into L1). The storage type is a
// template parameter; only the load differs. Included by matvec_float.cpp once per target
// (foreach_target), inside HWY_NAMESPACE.
#if defined(HEARTH_TENSOR_MATVEC_FLOAT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_TENSOR_MATVEC_FLOAT_INL_H_
#undef HEARTH_TENSOR_MATVEC_FLOAT_INL_H_
#else
#define HEARTH_TENSOR_MATVEC_FLOAT_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hearth/base/ggml_types.h"
#include "hearth/tensor/kernel_common-inl.h"
#include "hearth/tensor/stream.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 16 float lanes (512 bits), so the tail buffers below have a fixed size.
using FloatRowTag = hn::CappedTag<float, 16>;

template <GgmlType kType>
constexpr int64_t kFloatElementBytes = kType == GgmlType::kF32 ? 4 : 2;

template <GgmlType kType>
void FloatRows(const uint8_t* weights, int64_t row_bytes, int64_t row_begin, int64_t row_end,
               int64_t n_cols, const float* x, float* y) {
  const FloatRowTag df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = weights + r * row_bytes;
    auto sum0 = hn::Zero(df);
    auto sum1 = hn::Zero(df);
    auto sum2 = hn::Zero(df);
    auto sum3 = hn::Zero(df);
    int64_t i = 0;
    for (; i + 4 * n <= n_cols; i += 4 * n) {
      StreamPrefetch::ahead<4 * hn::MaxLanes(df) * kFloatElementBytes<kType>>(
          row + i * kFloatElementBytes<kType>, StreamPrefetch::kDistance);
      sum0 = hn::MulAdd(LoadRowAsFloat<kType>(df, row, i), hn::LoadU(df, x + i), sum0);
      sum1 = hn::MulAdd(LoadRowAsFloat<kType>(df, row, i + n), hn::LoadU(df, x + i + n), sum1);
      sum2 =
          hn::MulAdd(LoadRowAsFloat<kType>(df, row, i + 2 * n), hn::LoadU(df, x + i + 2 * n), sum2);
      sum3 =
          hn::MulAdd(LoadRowAsFloat<kType>(df, row, i + 3 * n), hn::LoadU(df, x + i + 3 * n), sum3);
    }
    for (; i + n <= n_cols; i += n) {
      sum0 = hn::MulAdd(LoadRowAsFloat<kType>(df, row, i), hn::LoadU(df, x + i), sum0);
    }
    if (i < n_cols) {
      // The last partial vector, through zero-padded copies (Highway 1.0.3 has no LoadN).
      const auto rest = static_cast<size_t>(n_cols - i);
      uint8_t w_tail[16 * 4] = {};
      float x_tail[16] = {};
      std::memcpy(w_tail, row + i * kFloatElementBytes<kType>, rest * kFloatElementBytes<kType>);
      std::memcpy(x_tail, x + i, rest * sizeof(float));
      sum1 = hn::MulAdd(LoadRowAsFloat<kType>(df, w_tail, 0), hn::LoadU(df, x_tail), sum1);
    }
    y[r] = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(sum0, sum1), hn::Add(sum2, sum3))));
  }
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_MATVEC_FLOAT_INL_H_
