// Tests of the row conversions: hand-built blocks of every format decode to known values and known
// values encode to the exact bytes; a fixed row encodes and decodes to the bytes and floats that
// ggml itself produces (hashes); random rows round-trip within the formats' step size; RMSE per
// type on Gaussian data matches ggml's reference quantizers and the K-quants' scale search beats a
// plain min/max grid; the F16 and quantized tiny-llama test models decode close to their F32
// original and re-quantize to identical bytes.
#include "hearth/tensor/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "hearth/gguf/gguf.h"
#include "hearth/tensor/float16.h"
#include "hearth/tensor/k_quants.h"
#include "testing.h"

namespace hearth::tensor {
namespace {

std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& x) {
  const auto bytes = ggml_row_bytes(static_cast<uint32_t>(type), x.size());
  std::vector<uint8_t> out(bytes.value_or(0));
  quantize_row(type, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> dequantize(GgmlType type, const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<float> y(n);
  dequantize_row(type, bytes.data(), y.data(), static_cast<int64_t>(n));
  return y;
}

float load_f16_for_test(const uint8_t* p) {
  return f32_from_f16(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}

uint16_t scale_bits(const std::vector<uint8_t>& block) {
  return static_cast<uint16_t>(block[0] | (block[1] << 8));
}

TEST(Q8_0, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(34);
  block[0] = 0x00;  // d = 0.5 (fp16 0x3800), little-endian
  block[1] = 0x38;
  for (int i = 0; i < 32; ++i)
    block[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(i * 8 - 128));
  const auto y = dequantize(GgmlType::kQ8_0, block, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], (i * 8 - 128) * 0.5f) << i;
}

TEST(Q8_0, EncodesKnownValues) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16);  // max |x| = 16
  const auto block = quantize(GgmlType::kQ8_0, x);
  ASSERT_EQ(block.size(), 34u);
  EXPECT_EQ(scale_bits(block), f16_from_f32(16.0f / 127.0f));
  EXPECT_EQ(scale_bits(block), 0x3008);
  const auto q = [&](int i) { return static_cast<int8_t>(block[2 + i]); };
  EXPECT_EQ(q(0), -127);  // -16 * 127/16
  EXPECT_EQ(q(16), 0);
  EXPECT_EQ(q(17), 8);    // 7.9375 rounds to 8
  EXPECT_EQ(q(31), 119);  // 119.0625
  EXPECT_EQ(q(8), -64);   // -63.5 rounds away from zero
}

TEST(Q8_0, ZeroBlockHasZeroScale) {
  const auto block = quantize(GgmlType::kQ8_0, std::vector<float>(32, 0.0f));
  EXPECT_TRUE(std::all_of(block.begin(), block.end(), [](uint8_t b) { return b == 0; }));
}

TEST(Q4_0, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(18);
  block[0] = 0x00;  // d = 0.5
  block[1] = 0x38;
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize(GgmlType::kQ4_0, block, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;            // low nibbles: elements 0..15
    EXPECT_EQ(y[j + 16], (15 - j - 8) * 0.5f) << j;  // high nibbles: elements 16..31
  }
}

TEST(Q4_0, EncodesNegativeExtreme) {
  std::vector<float> x(32);
  for (int i = 0; i < 16; ++i) {
    x[i] = static_cast<float>(i - 8);       // -8 .. 7
    x[i + 16] = static_cast<float>(7 - i);  // 7 .. -8
  }
  const auto block = quantize(GgmlType::kQ4_0, x);
  ASSERT_EQ(block.size(), 18u);
  EXPECT_EQ(scale_bits(block), 0x3c00);  // d = -8 / -8 = 1
  for (int j = 0; j < 16; ++j) EXPECT_EQ(block[2 + j], j | ((15 - j) << 4)) << j;
  EXPECT_EQ(dequantize(GgmlType::kQ4_0, block, 32), x);
}

TEST(Q4_0, PositiveExtremeGetsNegativeScaleAndFarSideClamps) {
  std::vector<float> x(32, 0.0f);
  x[3] = 4.0f;    // the extreme: d = 4 / -8 = -0.5, code 0
  x[20] = -4.0f;  // would need code 16: clamped to 15 = -3.5
  const auto block = quantize(GgmlType::kQ4_0, x);
  EXPECT_EQ(scale_bits(block), 0xb800);  // -0.5
  EXPECT_EQ(block[2 + 3] & 0x0f, 0);
  EXPECT_EQ(block[2 + 4] >> 4, 15);
  EXPECT_EQ(block[2 + 0] & 0x0f, 8);  // zero is code 8
  const auto y = dequantize(GgmlType::kQ4_0, block, 32);
  EXPECT_EQ(y[3], 4.0f);
  EXPECT_EQ(y[20], -3.5f);
  EXPECT_EQ(y[0], 0.0f);
}

// fp16 bit patterns used below.
constexpr uint8_t kHalf0_25[2] = {0x00, 0x34};
constexpr uint8_t kHalf0_5[2] = {0x00, 0x38};
constexpr uint8_t kHalf1[2] = {0x00, 0x3c};
constexpr uint8_t kHalfMinus1[2] = {0x00, 0xbc};

void put(std::vector<uint8_t>& block, size_t at, const uint8_t (&half)[2]) {
  block[at] = half[0];
  block[at + 1] = half[1];
}

TEST(Q4_1, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(20);
  put(block, 0, kHalf0_5);     // d
  put(block, 2, kHalfMinus1);  // m
  for (int j = 0; j < 16; ++j) block[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize(GgmlType::kQ4_1, block, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 0.5f - 1.0f) << j;
    EXPECT_EQ(y[j + 16], (15 - j) * 0.5f - 1.0f) << j;
  }
}

TEST(Q5_0, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(22);
  put(block, 0, kHalf0_5);
  const uint8_t fifth[4] = {0xaa, 0xaa, 0x0f, 0xf0};  // little-endian uint32, bit i -> code i
  std::memcpy(block.data() + 2, fifth, 4);
  for (int j = 0; j < 16; ++j) block[6 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize(GgmlType::kQ5_0, block, 32);
  for (int i = 0; i < 32; ++i) {
    const int low = i < 16 ? i : 15 - (i - 16);
    const int high = (fifth[i / 8] >> (i % 8)) & 1;
    EXPECT_EQ(y[i], (low + 16 * high - 16) * 0.5f) << i;
  }
}

TEST(Q5_1, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(24);
  put(block, 0, kHalf0_25);
  put(block, 2, kHalf1);
  const uint8_t fifth[4] = {0x01, 0x80, 0xff, 0x00};
  std::memcpy(block.data() + 4, fifth, 4);
  for (int j = 0; j < 16; ++j) block[8 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize(GgmlType::kQ5_1, block, 32);
  for (int i = 0; i < 32; ++i) {
    const int low = i < 16 ? i : 15 - (i - 16);
    const int high = (fifth[i / 8] >> (i % 8)) & 1;
    EXPECT_EQ(y[i], (low + 16 * high) * 0.25f + 1.0f) << i;
  }
}

// Q4_K/Q5_K header: d = 1, dmin = 0.5, and these 6-bit scales and mins packed by hand (bytes 0-3:
// scales 0-3 + top bits of scales 4-7; 4-7: mins 0-3 + top bits of mins 4-7; 8-11: low nibbles of
// scale | min << 4 for 4-7).
constexpr int kKScales[8] = {1, 2, 3, 4, 17, 34, 51, 63};
constexpr int kKMins[8] = {0, 5, 10, 15, 20, 40, 60, 33};
constexpr uint8_t kKPacked[12] = {0x41, 0x82, 0xc3, 0xc4, 0x40, 0x85,
                                  0xca, 0x8f, 0x41, 0x82, 0xc3, 0x1f};

TEST(Q4_K, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(144);
  put(block, 0, kHalf1);
  put(block, 2, kHalf0_5);
  std::memcpy(block.data() + 4, kKPacked, 12);
  for (int i = 0; i < 128; ++i)
    block[16 + i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
  const auto y = dequantize(GgmlType::kQ4_K, block, 256);
  // Sub-block j's codes: the low (j even) or high (j odd) nibbles of bytes 32 * (j / 2) ...
  for (int j = 0; j < 8; ++j) {
    for (int l = 0; l < 32; ++l) {
      const int code = j % 2 == 0 ? l % 16 : 15 - l % 16;
      EXPECT_EQ(y[32 * j + l], 1.0f * kKScales[j] * code - 0.5f * kKMins[j]) << j << " " << l;
    }
  }
  int scale, min;
  for (int j = 0; j < 8; ++j) {
    internal::unpack_k_scale(j, kKPacked, &scale, &min);
    EXPECT_EQ(scale, kKScales[j]);
    EXPECT_EQ(min, kKMins[j]);
  }
  uint8_t scales[8], mins[8], packed[12];
  for (int j = 0; j < 8; ++j) {
    scales[j] = static_cast<uint8_t>(kKScales[j]);
    mins[j] = static_cast<uint8_t>(kKMins[j]);
  }
  internal::pack_k_scales(scales, mins, packed);
  EXPECT_EQ(std::memcmp(packed, kKPacked, 12), 0);
}

TEST(Q5_K, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(176);
  put(block, 0, kHalf1);
  put(block, 2, kHalf0_5);
  std::memcpy(block.data() + 4, kKPacked, 12);
  for (int l = 0; l < 32; ++l) block[16 + l] = static_cast<uint8_t>(l * 37);  // qh
  for (int i = 0; i < 128; ++i)
    block[48 + i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
  const auto y = dequantize(GgmlType::kQ5_K, block, 256);
  for (int j = 0; j < 8; ++j) {
    for (int l = 0; l < 32; ++l) {
      const int code = (j % 2 == 0 ? l % 16 : 15 - l % 16) + 16 * ((block[16 + l] >> j) & 1);
      EXPECT_EQ(y[32 * j + l], 1.0f * kKScales[j] * code - 0.5f * kKMins[j]) << j << " " << l;
    }
  }
}

TEST(Q6_K, DecodesHandBuiltBlock) {
  std::vector<uint8_t> block(210);
  for (int i = 0; i < 128; ++i) block[i] = static_cast<uint8_t>(i * 29 + 3);       // ql
  for (int i = 0; i < 64; ++i) block[128 + i] = static_cast<uint8_t>(i * 53 + 7);  // qh
  for (int j = 0; j < 16; ++j)
    block[192 + j] = static_cast<uint8_t>(static_cast<int8_t>(j * 9 - 70));
  put(block, 208, kHalf0_5);
  const auto y = dequantize(GgmlType::kQ6_K, block, 256);
  // ggml's definition: per half of 128, l in 0..31 gives elements l, l+32, l+64, l+96 from
  // ql[l], ql[l+32] (low nibbles, then high) and the 2-bit fields of qh[l].
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = block.data() + 64 * half;
    const uint8_t* qh = block.data() + 128 + 32 * half;
    const auto* sc = reinterpret_cast<const int8_t*>(block.data() + 192 + 8 * half);
    for (int l = 0; l < 32; ++l) {
      const int q[4] = {
          (ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4), (ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4),
          (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4), (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)};
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(y[128 * half + l + 32 * k], 0.5f * sc[l / 16 + 2 * k] * (q[k] - 32))
            << half << " " << l << " " << k;
      }
    }
  }
}

TEST(Q8_K, DecodesHandBuiltBlockAndEncodesSums) {
  std::vector<uint8_t> block(292);
  const float d = 0.25f;
  std::memcpy(block.data(), &d, 4);
  for (int i = 0; i < 256; ++i) block[4 + i] = static_cast<uint8_t>(static_cast<int8_t>(i - 128));
  const auto y = dequantize(GgmlType::kQ8_K, block, 256);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], (i - 128) * 0.25f) << i;
  // Encoding y back: the extreme -32 gives d = -32 / -127, codes i - 128 clamped to 127 for the
  // (-)128 step, and bsums of each 16 codes.
  const auto encoded = quantize(GgmlType::kQ8_K, y);
  float d2;
  std::memcpy(&d2, encoded.data(), 4);
  EXPECT_EQ(d2, 1.0f / (-127.0f / -32.0f));
  for (int j = 0; j < 16; ++j) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += static_cast<int8_t>(encoded[4 + 16 * j + i]);
    int16_t stored;
    std::memcpy(&stored, encoded.data() + 260 + 2 * j, 2);
    EXPECT_EQ(stored, sum) << j;
  }
}

// A deterministic row that no standard library changes: approximately Gaussian (Irwin-Hall: 12
// uniforms from splitmix64, in exact float arithmetic), every 97th element an 8x outlier, and the
// fourth 256-element super-block all zeros.
std::vector<float> fixed_row(int64_t n) {
  uint64_t state = 42;
  const auto next = [&] {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float sum = 0.0f;
    for (int k = 0; k < 12; ++k) sum += static_cast<float>(next() >> 40) * 0x1p-24f;
    x[i] = sum - 6.0f;
    if (i % 97 == 0) x[i] *= 8.0f;
    if (i / 256 == 3) x[i] = 0.0f;
  }
  return x;
}

uint64_t fnv1a(const void* data, size_t n) {
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    hash ^= static_cast<const uint8_t*>(data)[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

TEST(Quantize, MatchesGgmlBytesAndFloatsOnAFixedRow) {
  // FNV-1a hashes of ggml's quantize_row_<type>_ref(fixed_row(4096)) and of dequantize_row_<type>
  // of those bytes, recorded from libggml-base.so of node-llama-cpp 3.22.1 (the llama.cpp build
  // the e2e tests use). Equal hashes = byte-identical encoding and bit-identical decoding.
  struct Golden {
    GgmlType type;
    uint64_t bytes_hash;
    uint64_t floats_hash;
  };
  const Golden goldens[] = {
      {GgmlType::kQ8_0, 0x397f7ac2efb7bd99ull, 0xd73bde89c71488f8ull},
      {GgmlType::kQ4_0, 0xda5800e74007b887ull, 0x8d5f168331974fafull},
      {GgmlType::kQ4_1, 0x080f9f6901c8a2d6ull, 0xc10feeb1d6d4e697ull},
      {GgmlType::kQ5_0, 0x65f9e30b22bbd0f6ull, 0x489a3f4886107976ull},
      {GgmlType::kQ5_1, 0x9cb4fadc63fc16c3ull, 0xd7ad03bda2988a75ull},
      {GgmlType::kQ4_K, 0xc49d29aa7fd3acd9ull, 0x46f5c5b8de2088ceull},
      {GgmlType::kQ5_K, 0x6d39a9d0b6a3325dull, 0x6c34873b1c88f1edull},
      {GgmlType::kQ6_K, 0x452d99c50d4ba400ull, 0xa84dd8eb3c0db619ull},
      {GgmlType::kQ8_K, 0xde47f559624d062cull, 0x4e9acaa519996979ull},
  };
  const auto x = fixed_row(4096);
  for (const Golden& golden : goldens) {
    const auto name = ggml_type_traits(static_cast<uint32_t>(golden.type))->name;
    const auto bytes = quantize(golden.type, x);
    EXPECT_EQ(fnv1a(bytes.data(), bytes.size()), golden.bytes_hash) << name;
    const auto y = dequantize(golden.type, bytes, x.size());
    EXPECT_EQ(fnv1a(y.data(), y.size() * sizeof(float)), golden.floats_hash) << name;
  }
}

double rmse_of(GgmlType type, const std::vector<float>& x) {
  const auto y = dequantize(type, quantize(type, x), x.size());
  double squared = 0.0;
  for (size_t i = 0; i < x.size(); ++i) squared += (y[i] - x[i]) * double(y[i] - x[i]);
  return std::sqrt(squared / static_cast<double>(x.size()));
}

TEST(Quantize, GaussianRmseMatchesReferenceScheme) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(256 * 2048);
  for (float& v : x) v = normal(rng);
  // RMSE on unit Gaussian data. The figures are ggml's own reference quantizers (libggml-base,
  // node-llama-cpp 3.22.1) on 2^20 unit-Gaussian values of another seed; ours are byte-identical
  // to them (MatchesGgmlBytesAndFloatsOnAFixedRow), so only the sample differs (2% allowed). A
  // uniform-rounding estimate (step / sqrt(12)) agrees: the max of |x| over 32 normal values is
  // ~2.1, so Q8_0's step 2.1/127 gives ~0.0048 (0.0053 with the spread of the max), Q4_0's
  // 2.1/8 ~0.076 (0.086: one side of the range is lost to the sign of the extreme). The
  // K-quants' searched scales beat their 32-element peers: Q4_K 0.071 < Q4_1 0.078, Q5_K 0.036
  // < Q5_1 0.038, and Q6_K (16-element groups, 6 bits) ~0.018.
  struct Expected {
    GgmlType type;
    double rmse;
  };
  const Expected expected[] = {
      {GgmlType::kQ8_0, 0.00535}, {GgmlType::kQ4_0, 0.0860}, {GgmlType::kQ4_1, 0.0782},
      {GgmlType::kQ5_0, 0.0427},  {GgmlType::kQ5_1, 0.0378}, {GgmlType::kQ4_K, 0.0713},
      {GgmlType::kQ5_K, 0.0361},  {GgmlType::kQ6_K, 0.0178}, {GgmlType::kQ8_K, 0.00699},
  };
  for (const Expected& e : expected) {
    const double rmse = rmse_of(e.type, x);
    const auto name = ggml_type_traits(static_cast<uint32_t>(e.type))->name;
    std::printf("%-5s RMSE on unit Gaussian data: %.5f (ggml reference scheme %.5f)\n",
                std::string(name).c_str(), rmse, e.rmse);
    EXPECT_NEAR(rmse, e.rmse, e.rmse * 0.02) << name;
  }
}

TEST(Quantize, KQuantScaleSearchBeatsPlainGrid) {
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(256 * 512);
  for (float& v : x) v = normal(rng);
  // The plain scheme: each sub-block's [min(x, 0), max(x)] in 15 or 31 equal steps (no search),
  // through the same 6-bit scale quantization and re-derivation of the codes.
  const auto plain_rmse = [&](int n_max) {
    double squared = 0.0;
    for (size_t b = 0; b < x.size() / 256; ++b) {
      uint8_t header[16];
      uint8_t codes[256];
      internal::quantize_k_superblock(x.data() + 256 * b, n_max, 0.0f, 0.0f, 0, header, codes);
      const float d = load_f16_for_test(header);
      const float dmin = load_f16_for_test(header + 2);
      for (int j = 0; j < 8; ++j) {
        int scale, min;
        internal::unpack_k_scale(j, header + 4, &scale, &min);
        for (int i = 0; i < 32; ++i) {
          const float y = d * scale * codes[32 * j + i] - dmin * min;
          squared += (y - x[256 * b + 32 * j + i]) * double(y - x[256 * b + 32 * j + i]);
        }
      }
    }
    return std::sqrt(squared / static_cast<double>(x.size()));
  };
  const double plain4 = plain_rmse(15);
  const double plain5 = plain_rmse(31);
  const double searched4 = rmse_of(GgmlType::kQ4_K, x);
  const double searched5 = rmse_of(GgmlType::kQ5_K, x);
  std::printf("Q4_K RMSE %.5f vs plain grid %.5f; Q5_K %.5f vs %.5f\n", searched4, plain4,
              searched5, plain5);
  EXPECT_LT(searched4, plain4 * 0.95);
  EXPECT_LT(searched5, plain5 * 0.95);
}

TEST(Quantize, RandomRowsRoundTripWithinOneStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = normal(rng) * 3.0f;
  for (const GgmlType type :
       {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1}) {
    const auto y = dequantize(type, quantize(type, x), x.size());
    for (size_t block = 0; block < x.size() / 32; ++block) {
      const float* xs = x.data() + block * 32;
      const float max_abs = std::fabs(*std::max_element(
          xs, xs + 32, [](float a, float b) { return std::fabs(a) < std::fabs(b); }));
      const float min = *std::min_element(xs, xs + 32);
      const float range = *std::max_element(xs, xs + 32) - min;
      // Q8_0 rounds to half a step of max/127 (plus the fp16 rounding of d over 127 steps);
      // Q4_0's step is max/8, Q5_0's max/16, and the clamped far side can lose a whole step;
      // Q4_1/Q5_1 round to half a step of range/15 or range/31, plus the fp16 rounding of d
      // (over 31 steps at most) and of the min (2^-11 relative).
      float bound = 0.0f;
      switch (type) {
        case GgmlType::kQ8_0:
          bound = max_abs / 127.0f * 0.57f;
          break;
        case GgmlType::kQ4_0:
          bound = max_abs / 8.0f;
          break;
        case GgmlType::kQ5_0:
          bound = max_abs / 16.0f;
          break;
        case GgmlType::kQ4_1:
          bound = range / 15.0f * 0.5f + range / 64.0f + std::fabs(min) / 1024.0f;
          break;
        default:
          bound = range / 31.0f * 0.5f + range / 64.0f + std::fabs(min) / 1024.0f;
          break;
      }
      for (int i = 0; i < 32; ++i) {
        EXPECT_LE(std::fabs(y[block * 32 + i] - xs[i]), bound * 1.001f)
            << ggml_type_traits(static_cast<uint32_t>(type))->name << " element " << i;
      }
    }
  }
}

TEST(Quantize, FloatTypesRoundTrip) {
  const std::vector<float> x = {0.0f, 1.0f, -2.5f, 0.333333f, 65504.0f, 1e-3f};
  EXPECT_EQ(dequantize(GgmlType::kF32, quantize(GgmlType::kF32, x), x.size()), x);
  const auto f16 = dequantize(GgmlType::kF16, quantize(GgmlType::kF16, x), x.size());
  const auto bf16 = dequantize(GgmlType::kBF16, quantize(GgmlType::kBF16, x), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(f16[i], x[i], std::fabs(x[i]) * 0x1p-11f) << i;
    EXPECT_NEAR(bf16[i], x[i], std::fabs(x[i]) * 0x1p-8f) << i;
  }
}

struct Errors {
  double rmse = 0;
  double reference_rms = 0;
  uint64_t n = 0;
  uint64_t bytes_equal = 0;  // tensors whose requantized bytes equal the file's
  uint64_t tensors = 0;
};

// Dequantizes every 2-D tensor of `quantized` and compares it with the same tensor of `f32`;
// also re-quantizes the F32 values and counts tensors whose bytes come out identical.
Errors compare_with_f32(const gguf::File& f32, const gguf::File& quantized, GgmlType type) {
  Errors errors;
  double squared_error = 0;
  double squared_reference = 0;
  for (const gguf::TensorInfo& tensor : quantized.tensors()) {
    if (tensor.shape.size() != 2) continue;
    const gguf::TensorInfo* reference = f32.find_tensor(tensor.name);
    EXPECT_NE(reference, nullptr) << tensor.name;
    if (reference == nullptr) continue;
    EXPECT_EQ(tensor.type, static_cast<uint32_t>(type)) << tensor.name;
    EXPECT_EQ(reference->n_elements, tensor.n_elements) << tensor.name;
    const auto n = static_cast<int64_t>(tensor.n_elements);
    std::vector<float> expected(n);
    std::memcpy(expected.data(), reference->data.data(), n * sizeof(float));
    std::vector<float> decoded(n);
    dequantize_row(type, tensor.data.data(), decoded.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      squared_error += (decoded[i] - expected[i]) * double(decoded[i] - expected[i]);
      squared_reference += expected[i] * double(expected[i]);
    }
    std::vector<uint8_t> requantized(tensor.n_bytes);
    quantize_row(type, expected.data(), requantized.data(), n);
    errors.bytes_equal +=
        std::equal(requantized.begin(), requantized.end(), tensor.data.begin()) ? 1 : 0;
    errors.n += n;
    ++errors.tensors;
  }
  errors.rmse = std::sqrt(squared_error / std::max<uint64_t>(errors.n, 1));
  errors.reference_rms = std::sqrt(squared_reference / std::max<uint64_t>(errors.n, 1));
  return errors;
}

TEST(Quantize, TinyLlamaQuantizedModelsDecodeCloseToF32) {
  HEARTH_REQUIRE_TESTDATA(f32_path, "models/tiny-llama-f32.gguf");
  const auto f32 = gguf::File::open(f32_path);
  ASSERT_TRUE(f32.ok()) << f32.error().message();
  struct Case {
    const char* file;
    GgmlType type;
    double max_relative_rmse;  // RMSE / RMS of the F32 weights
  };
  // Expected for normal weights in blocks of 32 (max ~2.1 sigma): Q8_0 step max/127 gives
  // RMSE ~0.5% of the RMS, Q4_0 step max/8 ~8%; F16 keeps 11 significant bits.
  for (const Case& c : {Case{"models/tiny-llama-f16.gguf", GgmlType::kF16, 0.001},
                        Case{"models/tiny-llama-q8_0.gguf", GgmlType::kQ8_0, 0.01},
                        Case{"models/tiny-llama-q4_0.gguf", GgmlType::kQ4_0, 0.12}}) {
    HEARTH_REQUIRE_TESTDATA(path, c.file);
    const auto quantized = gguf::File::open(path);
    ASSERT_TRUE(quantized.ok()) << quantized.error().message();
    const Errors errors = compare_with_f32(*f32, *quantized, c.type);
    EXPECT_EQ(errors.tensors, 16u);  // token_embd, output, 7 matrices x 2 layers
    EXPECT_LT(errors.rmse / errors.reference_rms, c.max_relative_rmse) << c.file;
    // The files were written by an independent converter that follows ggml's reference.
    EXPECT_EQ(errors.bytes_equal, errors.tensors) << c.file;
    std::printf(
        "%s: %llu weights, RMSE %.6f (F32 RMS %.4f, relative %.4f), %llu/%llu tensors "
        "re-quantize to identical bytes\n",
        c.file, static_cast<unsigned long long>(errors.n), errors.rmse, errors.reference_rms,
        errors.rmse / errors.reference_rms, static_cast<unsigned long long>(errors.bytes_equal),
        static_cast<unsigned long long>(errors.tensors));
  }
}

}  // namespace
}  // namespace hearth::tensor
