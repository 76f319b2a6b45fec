// Helpers shared by the tensor module's Highway kernels, per target (included in each kernel
// file's foreach_target pass, so that they inline into the target's code): ForEachIndex, a loop
// unrolled at compile time, and LoadRowAsFloat, a vector of F32, F16 or BF16 row elements.
#if defined(HEARTH_TENSOR_KERNEL_COMMON_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_TENSOR_KERNEL_COMMON_INL_H_
#undef HEARTH_TENSOR_KERNEL_COMMON_INL_H_
#else
#define HEARTH_TENSOR_KERNEL_COMMON_INL_H_
#endif

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "hearth/base/ggml_types.h"
#include "hearth/tensor/float16.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// f(std::integral_constant<int64_t, i>{}) for i = 0 .. kCount - 1, unrolled at compile time: with
// constant indices the compiler keeps an array of vectors in registers (a loop, even one it
// unrolls later, can leave them on the stack and store them every iteration).
template <int64_t kCount, class Func>
HWY_INLINE void ForEachIndex(Func&& f) {
  [&]<int64_t... kI>(std::integer_sequence<int64_t, kI...>) {
    (f(std::integral_constant<int64_t, kI>{}), ...);
  }
  (std::make_integer_sequence<int64_t, kCount>{});
}

// Element c .. c + lanes of a row stored in kType (F32, F16 or BF16), as float32. Highway 1.0.3's
// scalar emulation of the F16 conversion mishandles NaN, so the scalar target converts F16 with
// float16.h.
template <GgmlType kType, class DF>
HWY_INLINE hn::Vec<DF> LoadRowAsFloat(DF df, const uint8_t* row, int64_t c) {
  if constexpr (kType == GgmlType::kF32) {
    return hn::LoadU(df, reinterpret_cast<const float*>(row) + c);
  } else if constexpr (kType == GgmlType::kBF16) {
    const hn::Rebind<uint16_t, DF> du16;
    const hn::Rebind<uint32_t, DF> du32;
    const auto bits =
        hn::PromoteTo(du32, hn::LoadU(du16, reinterpret_cast<const uint16_t*>(row) + c));
    return hn::BitCast(df, hn::ShiftLeft<16>(bits));
  } else {
    static_assert(kType == GgmlType::kF16);
#if HWY_TARGET == HWY_SCALAR
    uint16_t bits;
    std::memcpy(&bits, row + 2 * c, sizeof(bits));
    return hn::Set(df, f32_from_f16(bits));
#else
    const hn::Rebind<hwy::float16_t, DF> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(row) + c));
#endif
  }
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_KERNEL_COMMON_INL_H_
