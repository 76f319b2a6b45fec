// Dispatch of quantize_row/dequantize_row on the tensor type; the float formats are converted
// here element by element, the block formats in their own files (block_formats.h), found in one
// table by type.
#include "hearth/tensor/quantize.h"

#include <cstring>

#include "hearth/base/check.h"
#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/float16.h"
#include "hearth/tensor/ops.h"

namespace hearth::tensor {
namespace {

struct BlockRowFunctions {
  GgmlType type;
  void (*quantize)(const float* x, uint8_t* out, int64_t n);
  void (*dequantize)(const uint8_t* in, float* y, int64_t n);
};

constexpr BlockRowFunctions kBlockFormats[] = {
    {GgmlType::kQ8_0, internal::quantize_row_q8_0, internal::dequantize_row_q8_0},
    {GgmlType::kQ4_0, internal::quantize_row_q4_0, internal::dequantize_row_q4_0},
    {GgmlType::kQ4_1, internal::quantize_row_q4_1, internal::dequantize_row_q4_1},
    {GgmlType::kQ5_0, internal::quantize_row_q5_0, internal::dequantize_row_q5_0},
    {GgmlType::kQ5_1, internal::quantize_row_q5_1, internal::dequantize_row_q5_1},
    {GgmlType::kQ4_K, internal::quantize_row_q4_k, internal::dequantize_row_q4_k},
    {GgmlType::kQ5_K, internal::quantize_row_q5_k, internal::dequantize_row_q5_k},
    {GgmlType::kQ6_K, internal::quantize_row_q6_k, internal::dequantize_row_q6_k},
    {GgmlType::kQ8_K, internal::quantize_row_q8_k, internal::dequantize_row_q8_k},
};

// The block format's functions, checking that n fills whole blocks.
const BlockRowFunctions& block_format(GgmlType type, int64_t n) {
  for (const BlockRowFunctions& format : kBlockFormats) {
    if (format.type != type) continue;
    const auto block_size = ggml_type_traits(static_cast<uint32_t>(type))->block_size;
    HEARTH_CHECK(n >= 0 && n % block_size == 0, "{} elements do not fill whole blocks of {}", n,
                 block_size);
    return format;
  }
  HEARTH_CHECK(false, "no row conversion for ggml type {}", static_cast<uint32_t>(type));
  return kBlockFormats[0];
}

}  // namespace

bool is_convertible(GgmlType type) {
  if (type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) return true;
  for (const BlockRowFunctions& format : kBlockFormats) {
    if (format.type == type) return true;
  }
  return false;
}

void quantize_row(GgmlType type, const float* x, void* out, int64_t n) {
  auto* bytes = static_cast<uint8_t*>(out);
  switch (type) {
    case GgmlType::kF32:
      // memcpy forbids null pointers even for 0 bytes (an empty vector's data() may be null).
      if (n > 0) std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::kF16:
      if (reinterpret_cast<uintptr_t>(out) % alignof(uint16_t) == 0) {
        round_to_f16(x, static_cast<uint16_t*>(out), n);
        return;
      }
      [[fallthrough]];
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t bits = type == GgmlType::kF16 ? f16_from_f32(x[i]) : bf16_from_f32(x[i]);
        std::memcpy(bytes + 2 * i, &bits, sizeof(bits));
      }
      return;
    default:
      block_format(type, n).quantize(x, bytes, n);
  }
}

void dequantize_row(GgmlType type, const void* in, float* y, int64_t n) {
  const auto* bytes = static_cast<const uint8_t*>(in);
  switch (type) {
    case GgmlType::kF32:
      if (n > 0) std::memcpy(y, in, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      internal::widen_16bit_row(type == GgmlType::kBF16, bytes, y, n);
      return;
    default:
      block_format(type, n).dequantize(bytes, y, n);
  }
}

}  // namespace hearth::tensor
