// The block-format matvec kernels and the activation quantizer compiled once per Highway target
// (matvec_quant-inl.h; matvec_amx-inl.h's AMX kernel for prompt-sized batches), and their
// dispatching entry points (matvec_kernels.h), with the check that AMX may be used. Built with
// HWY_WANT_AVX3_DL (tensor/CMakeLists.txt) so that AVX-512 CPUs with VNNI get the dpbusd target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "hearth/tensor/matvec_quant.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hearth/tensor/matvec_amx-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {

void MatvecQuantRows(GgmlType type, const uint8_t* weights, int64_t row_bytes, int64_t row_begin,
                     int64_t row_end, int64_t n_cols, const internal::Int8Activations& x,
                     int64_t n_tokens, float* y, int64_t y_stride) {
  switch (type) {
#define HEARTH_QUANT_ROWS(kType)                                                                 \
  case kType:                                                                                    \
    return QuantRowsBatch<kType>(weights, row_bytes, row_begin, row_end, n_cols, x, n_tokens, y, \
                                 y_stride);
    HEARTH_QUANT_ROWS(GgmlType::kQ8_0)
    HEARTH_QUANT_ROWS(GgmlType::kQ4_0)
    HEARTH_QUANT_ROWS(GgmlType::kQ4_1)
    HEARTH_QUANT_ROWS(GgmlType::kQ5_0)
    HEARTH_QUANT_ROWS(GgmlType::kQ5_1)
    HEARTH_QUANT_ROWS(GgmlType::kQ4_K)
    HEARTH_QUANT_ROWS(GgmlType::kQ5_K)
    HEARTH_QUANT_ROWS(GgmlType::kQ6_K)
    HEARTH_QUANT_ROWS(GgmlType::kQ8_K)
#undef HEARTH_QUANT_ROWS
    default:
      return;  // matvec.cpp only passes the types above
  }
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hearth/tensor/matvec_kernels.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace hearth::tensor {
HWY_EXPORT(MatvecQuantRows);
HWY_EXPORT(QuantizeActivationRow);

namespace internal {

bool amx_available() {
#if defined(__x86_64__) && defined(__linux__)
  static const bool available = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
    constexpr unsigned kAmxTile = 1u << 24, kAmxInt8 = 1u << 25;
    if ((edx & kAmxTile) == 0 || (edx & kAmxInt8) == 0) return false;
    // Linux gives a process the tiles' register state only when it asks (ARCH_REQ_XCOMP_PERM
    // for XFEATURE_XTILEDATA); a kernel before 5.16 refuses.
    constexpr long kRequestPermission = 0x1023;
    constexpr long kTileData = 18;
    return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
  }();
  return available;
#else
  return false;
#endif
}

void quantize_activation_row(const float* x, int64_t n, int8_t* q, float* d, float* sums,
                             int32_t* code_sums, int32_t* low_code_sums) {
  HWY_DYNAMIC_DISPATCH(QuantizeActivationRow)(x, n, q, d, sums, code_sums, low_code_sums);
}

void matvec_quant_rows(GgmlType type, const uint8_t* weights, int64_t row_bytes, int64_t row_begin,
                       int64_t row_end, int64_t n_cols, const Int8Activations& x, int64_t n_tokens,
                       float* y, int64_t y_stride) {
  HWY_DYNAMIC_DISPATCH(MatvecQuantRows)
  (type, weights, row_bytes, row_begin, row_end, n_cols, x, n_tokens, y, y_stride);
}

}  // namespace internal
}  // namespace hearth::tensor
#endif  // HWY_ONCE
