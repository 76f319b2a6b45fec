// Tests of the F16/BF16 scalar conversions: every F16 bit pattern round-trips, rounding is to
// nearest even at the halfway points, and (where the compiler has _Float16) random floats
// convert exactly as the compiler's own conversion does.
#include "hearth/tensor/float16.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "hearth/tensor/quantize.h"
#include "hearth/tensor/test_targets.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace hearth::tensor {
namespace {

// dequantize_row's SIMD widening (every target) gives the scalar conversion's value for every
// F16 and BF16 bit pattern, at every offset of a row (vector body and scalar tail).
TEST(Float16, RowWideningMatchesScalarOnEveryTarget) {
  std::vector<uint16_t> bits(0x10000 + 7);
  for (size_t i = 0; i < bits.size(); ++i) bits[i] = static_cast<uint16_t>(i * 40503u);
  std::vector<float> y(bits.size());
  for (const GgmlType type : {GgmlType::kF16, GgmlType::kBF16}) {
    for_each_target([&](const std::string& target) {
      dequantize_row(type, bits.data(), y.data(), static_cast<int64_t>(bits.size()));
      for (size_t i = 0; i < bits.size(); ++i) {
        const float want = type == GgmlType::kF16 ? f32_from_f16(bits[i]) : f32_from_bf16(bits[i]);
        if (std::isnan(want)) {
          ASSERT_TRUE(std::isnan(y[i])) << target << " bits " << bits[i];
        } else {
          ASSERT_EQ(std::memcmp(&want, &y[i], sizeof(float)), 0)
              << target << " bits " << bits[i] << ": " << y[i] << " != " << want;
        }
      }
    });
  }
}

TEST(Float16, EveryBitPatternRoundTrips) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = f32_from_f16(h);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f32_from_f16(f16_from_f32(f)))) << bits;
    } else {
      EXPECT_EQ(f16_from_f32(f), h) << bits;
    }
  }
}

TEST(Float16, KnownValues) {
  EXPECT_EQ(f16_from_f32(0.0f), 0x0000);
  EXPECT_EQ(f16_from_f32(-0.0f), 0x8000);
  EXPECT_EQ(f16_from_f32(1.0f), 0x3c00);
  EXPECT_EQ(f16_from_f32(-2.0f), 0xc000);
  EXPECT_EQ(f16_from_f32(65504.0f), 0x7bff);
  EXPECT_EQ(f16_from_f32(65519.0f), 0x7bff);
  EXPECT_EQ(f16_from_f32(65520.0f), 0x7c00);  // halfway to the next step: ties to even = inf
  EXPECT_EQ(f16_from_f32(1e9f), 0x7c00);
  EXPECT_EQ(f16_from_f32(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(f16_from_f32(0x1p-24f), 0x0001);         // smallest subnormal
  EXPECT_EQ(f16_from_f32(0x1p-25f), 0x0000);         // half of it: ties to even (0)
  EXPECT_EQ(f16_from_f32(0x1.8p-24f), 0x0002);       // 1.5 steps: ties to even (2)
  EXPECT_EQ(f16_from_f32(0x1p-14f), 0x0400);         // smallest normal
  EXPECT_EQ(f16_from_f32(1.0f + 0x1p-11f), 0x3c00);  // halfway, even below
  EXPECT_EQ(f16_from_f32(1.0f + 0x3p-11f), 0x3c02);  // halfway, even above
  EXPECT_TRUE(std::isnan(f32_from_f16(f16_from_f32(std::nanf("")))));
  EXPECT_FLOAT_EQ(f32_from_f16(0x3555), 0.333251953125f);
}

#ifdef __FLT16_MAX__
TEST(Float16, MatchesCompilerConversionOnRandomFloats) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> any_bits;
  for (int i = 0; i < 1000000; ++i) {
    // Exponents concentrated around the F16 range, plus arbitrary bit patterns.
    uint32_t bits = any_bits(rng);
    if (i % 2 == 0) bits = (bits & 0x807fffffu) | ((100u + bits % 50u) << 23);
    const float f = std::bit_cast<float>(bits);
    if (std::isnan(f)) continue;
    const auto expected = std::bit_cast<uint16_t>(static_cast<_Float16>(f));
    ASSERT_EQ(f16_from_f32(f), expected) << std::hexfloat << f;
  }
}
#endif

TEST(BFloat16, KnownValues) {
  EXPECT_EQ(bf16_from_f32(1.0f), 0x3f80);
  EXPECT_EQ(bf16_from_f32(-2.5f), 0xc020);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
  EXPECT_EQ(bf16_from_f32(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(bf16_from_f32(1.0f + 0x3p-8f), 0x3f82);
  EXPECT_EQ(bf16_from_f32(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_EQ(bf16_from_f32(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to inf
  EXPECT_EQ(bf16_from_f32(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(bf16_from_f32(0x1p-130f), 0x0008);  // subnormals are kept, not flushed
  EXPECT_TRUE(std::isnan(f32_from_bf16(bf16_from_f32(std::nanf("")))));
  EXPECT_EQ(f32_from_bf16(0x4049), 3.140625f);
}

TEST(BFloat16, EveryBitPatternRoundTrips) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float f = f32_from_bf16(static_cast<uint16_t>(bits));
    if (!std::isnan(f)) {
      EXPECT_EQ(bf16_from_f32(f), bits);
    }
  }
}

}  // namespace
}  // namespace hearth::tensor
