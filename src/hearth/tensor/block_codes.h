// Code selection and bit packing shared by the 32-element formats Q4_0, Q4_1, Q5_0 and Q5_1, as
// ggml's reference quantizers do them (quantize_row_q4_0_ref etc.): symmetric blocks scale by the
// element of largest magnitude, asymmetric ones span [min, max]. Internal to the tensor module.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "hearth/tensor/float16.h"

namespace hearth::tensor::internal {

inline constexpr int kLegacyBlockSize = 32;

inline float load_f16(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof(bits));
  return f32_from_f16(bits);
}

inline void store_f16(uint8_t* p, float value) {
  const uint16_t bits = f16_from_f32(value);
  std::memcpy(p, &bits, sizeof(bits));
}

// Codes 0..kLevels-1 for 32 elements with d = m / -(kLevels/2), m the element of largest
// magnitude (with its sign): m maps exactly to code 0, zero to kLevels/2. Returns d (unrounded:
// ggml divides by it before storing its fp16 rounding). + kLevels/2 + 0.5 then truncation =
// round half up; the far side can round to kLevels, clamped.
template <int kLevels>
float symmetric_codes(const float* x, uint8_t* codes) {
  float max_abs = 0.0f;
  float extreme = 0.0f;
  for (int i = 0; i < kLegacyBlockSize; ++i) {
    if (std::fabs(x[i]) > max_abs) {
      max_abs = std::fabs(x[i]);
      extreme = x[i];
    }
  }
  const float d = extreme / -static_cast<float>(kLevels / 2);
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (int i = 0; i < kLegacyBlockSize; ++i) {
    const int code = static_cast<int>(x[i] * inverse + (kLevels / 2 + 0.5f));
    codes[i] = static_cast<uint8_t>(std::min(kLevels - 1, code));
  }
  return d;
}

// Codes 0..kLevels-1 for 32 elements decoding to code * d + min, d = (max - min) / (kLevels - 1);
// rounds half up (+ 0.5, truncation) and clamps, as ggml's Q4_1/Q5_1 reference.
template <int kLevels>
void asymmetric_codes(const float* x, uint8_t* codes, float* d_out, float* min_out) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int i = 0; i < kLegacyBlockSize; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
  const float d = (max - min) / static_cast<float>(kLevels - 1);
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (int i = 0; i < kLegacyBlockSize; ++i) {
    const int code = static_cast<int>((x[i] - min) * inverse + 0.5f);
    codes[i] = static_cast<uint8_t>(std::min(kLevels - 1, code));
  }
  *d_out = d;
  *min_out = min;
}

// Byte j holds code j in its low nibble and code j + 16 in its high one (bits above 4 dropped).
inline void pack_nibbles(const uint8_t* codes, uint8_t* out) {
  for (int j = 0; j < kLegacyBlockSize / 2; ++j) {
    out[j] = static_cast<uint8_t>((codes[j] & 0x0f) | ((codes[j + 16] & 0x0f) << 4));
  }
}

inline void unpack_nibbles(const uint8_t* in, uint8_t* codes) {
  for (int j = 0; j < kLegacyBlockSize / 2; ++j) {
    codes[j] = in[j] & 0x0f;
    codes[j + 16] = in[j] >> 4;
  }
}

// Q5_0/Q5_1: bit i of a little-endian uint32 is the fifth bit (16) of code i.
inline void store_fifth_bits(const uint8_t* codes, uint8_t* out) {
  uint32_t bits = 0;
  for (int i = 0; i < kLegacyBlockSize; ++i) bits |= static_cast<uint32_t>(codes[i] >> 4) << i;
  std::memcpy(out, &bits, sizeof(bits));
}

inline void add_fifth_bits(const uint8_t* in, uint8_t* codes) {
  uint32_t bits;
  std::memcpy(&bits, in, sizeof(bits));
  for (int i = 0; i < kLegacyBlockSize; ++i)
    codes[i] |= static_cast<uint8_t>(((bits >> i) & 1) << 4);
}

}  // namespace hearth::tensor::internal
