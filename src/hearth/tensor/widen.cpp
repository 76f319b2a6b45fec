// Widening F16 and BF16 rows to float32 with SIMD (dequantize_row's 16-bit cases): the KV cache,
// matmul's weight tiles and embedding rows of 16-bit models go through it. Every 16-bit value is
// a float32 value, so the result is exact on every target (the float16.h scalar conversions do
// the tail and are the tests' reference).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "hearth/tensor/widen.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstdint>
#include <cstring>

#include "hearth/tensor/float16.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void WidenRow(bool bf16, const uint8_t* in, float* y, int64_t n) {
  const hn::ScalableTag<float> df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  if (bf16) {
    // BF16 is the upper half of a float32.
    const hn::Rebind<uint16_t, decltype(df)> du16;
    const hn::Rebind<uint32_t, decltype(df)> du32;
    for (; i + lanes <= n; i += lanes) {
      const auto bits = hn::PromoteTo(du32, hn::LoadU(du16, reinterpret_cast<const uint16_t*>(in) + i));
      hn::StoreU(hn::BitCast(df, hn::ShiftLeft<16>(bits)), df, y + i);
    }
  } else if (HWY_TARGET != HWY_SCALAR) {
    // (Highway 1.0.3's scalar emulation of this conversion turns NaNs into infinities: the
    // scalar target uses the exact loop below.)
    const hn::Rebind<hwy::float16_t, decltype(df)> dh;
    for (; i + lanes <= n; i += lanes) {
      hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(in) + i)),
                 df, y + i);
    }
  }
  for (; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, in + 2 * i, sizeof(bits));
    y[i] = bf16 ? f32_from_bf16(bits) : f32_from_f16(bits);
  }
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hearth/tensor/block_formats.h"

namespace hearth::tensor {
HWY_EXPORT(WidenRow);

void internal::widen_16bit_row(bool bf16, const uint8_t* in, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(WidenRow)(bf16, in, y, n);
}

}  // namespace hearth::tensor
#endif  // HWY_ONCE
