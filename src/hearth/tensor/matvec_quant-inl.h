// Highway kernel for matvec over every block format (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K,
// Q6_K, Q8_K) with 8-bit activations: each chunk of up to 256 weights is decoded to byte codes
// and per-32 scales (a format's only code: QuantFormat and Decode), then each group of 32 codes
// is multiplied with the int8 activations in integers (Dot32: AVX2 maddubs, AVX-512 VNNI dpbusd,
// portable Highway elsewhere) and scaled into float accumulators. Included by matvec_quant.cpp
// once per target.
#if defined(HEARTH_TENSOR_MATVEC_QUANT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_TENSOR_MATVEC_QUANT_INL_H_
#undef HEARTH_TENSOR_MATVEC_QUANT_INL_H_
#else
#define HEARTH_TENSOR_MATVEC_QUANT_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "hearth/base/ggml_types.h"
#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/k_quants.h"
#include "hearth/tensor/matvec_kernels.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Group partial sums live in up to 8 int32 lanes (one 256-bit vector on x86: Zen 4 splits
// 512-bit ops in two anyway, and 32 codes fill exactly one).
using GroupTag = hn::CappedTag<int32_t, 8>;
using CodeTag = hn::CappedTag<uint8_t, 32>;

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define HEARTH_MATVEC_X86 1
#else
#define HEARTH_MATVEC_X86 0
#endif

// One decoded chunk: up to 8 groups of 32 codes, group g at codes + g * code_stride; the weights
// are a[g] * code (+ b[g] per element when the format has an offset), times the int8
// sub_scales[2g] / [2g + 1] of the group's halves for kSubScaled formats (Q6_K). Codes are
// unsigned (at most 63) or, for kSigned formats, int8 bit patterns.
struct Chunk {
  const uint8_t* codes;
  int64_t code_stride;
  const int8_t* sub_scales;
  HWY_ALIGN float a[8];
  HWY_ALIGN float b[8];
};

// A block format as this kernel sees it.
template <GgmlType kType>
struct QuantFormat {
  static constexpr bool kSuper = kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K ||
                                 kType == GgmlType::kQ6_K || kType == GgmlType::kQ8_K;
  static constexpr int64_t kBlockElements = kSuper ? internal::kQkK : 32;
  static constexpr int64_t kBlockBytes = kType == GgmlType::kQ8_0   ? internal::kQ8_0BlockBytes
                                         : kType == GgmlType::kQ4_0 ? internal::kQ4_0BlockBytes
                                         : kType == GgmlType::kQ4_1 ? internal::kQ4_1BlockBytes
                                         : kType == GgmlType::kQ5_0 ? internal::kQ5_0BlockBytes
                                         : kType == GgmlType::kQ5_1 ? internal::kQ5_1BlockBytes
                                         : kType == GgmlType::kQ4_K ? internal::kQ4_KBlockBytes
                                         : kType == GgmlType::kQ5_K ? internal::kQ5_KBlockBytes
                                         : kType == GgmlType::kQ6_K ? internal::kQ6_KBlockBytes
                                                                    : internal::kQ8_KBlockBytes;
  static constexpr bool kSigned =
      kType == GgmlType::kQ8_0 || kType == GgmlType::kQ6_K || kType == GgmlType::kQ8_K;
  static constexpr bool kSubScaled = kType == GgmlType::kQ6_K;
  static constexpr bool kHasOffset = !kSigned;
};

// An fp16 value, exactly and inline (f32_from_f16 is out of line): F16C on x86; elsewhere the 15
// magnitude bits moved into float32's exponent/mantissa position and scaled by 2^112 re-bias the
// exponent, normals and subnormals alike; Inf/NaN get the full exponent.
HWY_INLINE float LoadHalf(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof(bits));
#if HEARTH_MATVEC_X86
  return _cvtsh_ss(bits);
#else
  const uint32_t magnitude = bits & 0x7fffu;
  float value;
  if (magnitude >= 0x7c00u) {
    const uint32_t special = 0x7f800000u | ((magnitude & 0x3ffu) << 13);
    std::memcpy(&value, &special, sizeof(value));
  } else {
    const uint32_t shifted = magnitude << 13;
    std::memcpy(&value, &shifted, sizeof(value));
    value *= 0x1p112f;
  }
  return (bits & 0x8000u) != 0 ? -value : value;
#endif
}

// The 32-element formats: 16 bytes of nibbles to 32 codes, low nibbles first, plus 16 for each
// set bit of the little-endian uint32 at `fifth` (Q5_0/Q5_1; null for Q4_0/Q4_1).
#if HEARTH_MATVEC_X86
HWY_INLINE void DecodeNibbles16(const uint8_t* in, const uint8_t* fifth, uint8_t* codes) {
  // One 32-byte store, so that Dot32's 32-byte load of it is forwarded from the store buffer.
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
  __m256i v =
      _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes), _mm256_set1_epi8(0x0f));
  if (fifth != nullptr) {
    // Byte i of the broadcast word's byte i / 8, tested against bit i % 8.
    uint32_t word;
    std::memcpy(&word, fifth, sizeof(word));
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(word)),
        _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    v = _mm256_or_si256(v, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes), v);
}
#else
HWY_INLINE void DecodeNibbles16(const uint8_t* in, const uint8_t* fifth, uint8_t* codes) {
  const hn::CappedTag<uint8_t, 16> d;
  const auto mask = hn::Set(d, 0x0f);
  for (size_t j = 0; j < 16; j += hn::Lanes(d)) {
    const auto bytes = hn::LoadU(d, in + j);
    hn::StoreU(hn::And(bytes, mask), d, codes + j);
    hn::StoreU(hn::ShiftRight<4>(bytes), d, codes + 16 + j);
  }
  if (fifth != nullptr) {
    uint32_t word;
    std::memcpy(&word, fifth, sizeof(word));
    for (int i = 0; i < 32; ++i) codes[i] |= static_cast<uint8_t>(((word >> i) & 1) << 4);
  }
}
#endif

// The K-quants: 32 bytes of nibbles to 64 codes, low nibbles first.
HWY_INLINE void SplitNibbles32(const uint8_t* in, uint8_t* codes) {
  const CodeTag d;
  const auto mask = hn::Set(d, 0x0f);
  for (size_t j = 0; j < 32; j += hn::Lanes(d)) {
    const auto bytes = hn::LoadU(d, in + j);
    hn::StoreU(hn::And(bytes, mask), d, codes + j);
    hn::StoreU(hn::ShiftRight<4>(bytes), d, codes + 32 + j);
  }
}

// Q4_K/Q5_K: a[j] = d * scale_j and b[j] = -dmin * min_j from the 16-byte header (d * scale_j is
// exact in float32: 11 by 6 significant bits).
HWY_INLINE void DecodeKScales(const uint8_t* block, Chunk& chunk) {
  const float d = LoadHalf(block);
  const float dmin = LoadHalf(block + 2);
#if HEARTH_MATVEC_X86
  // With w0..w2 the packed scale bytes as little-endian words (k_quants.h): scales 0-3 are
  // w0 & 0x3f per byte, mins 0-3 w1 & 0x3f; scales 4-7 are w2's low nibbles plus w0's top two
  // bits as bits 4-5, mins 4-7 w2's high nibbles plus w1's top two bits.
  const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 4));  // w0 w1 w2 -
  const __m128i low_source = _mm_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0));        // w0 w2 w1 w2
  const __m128i high_source = _mm_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0));       // w0 w0 w1 w1
  const __m128i low = _mm_and_si128(_mm_srlv_epi32(low_source, _mm_setr_epi32(0, 0, 0, 4)),
                                    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i high = _mm_slli_epi32(
      _mm_and_si128(_mm_srli_epi32(high_source, 6), _mm_setr_epi32(0, 0x03030303, 0, 0x03030303)),
      4);
  const __m128i scales_mins = _mm_or_si128(low, high);  // scales 0-7, then mins 0-7
  const __m256 scales = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scales_mins));
  const __m256 mins = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(scales_mins, 8)));
  _mm256_store_ps(chunk.a, _mm256_mul_ps(_mm256_set1_ps(d), scales));
  _mm256_store_ps(chunk.b, _mm256_mul_ps(_mm256_set1_ps(-dmin), mins));
#else
  for (int j = 0; j < 8; ++j) {
    int scale, min;
    internal::unpack_k_scale(j, block + 4, &scale, &min);
    chunk.a[j] = d * static_cast<float>(scale);
    chunk.b[j] = -dmin * static_cast<float>(min);
  }
#endif
}

// The 32-element formats' per-block scale and offset, read where they are used (never through
// Chunk's arrays: a vector load of floats stored one by one would stall on store forwarding).
template <GgmlType kType>
HWY_INLINE void LegacyScales(const uint8_t* block, float* a, float* b) {
  *a = LoadHalf(block);
  if constexpr (kType == GgmlType::kQ4_1 || kType == GgmlType::kQ5_1) {
    *b = LoadHalf(block + 2);
  } else {
    *b = *a * (kType == GgmlType::kQ5_0 ? -16.0f : -8.0f);
  }
}

// Decodes n_groups groups (32-element formats: n_groups blocks; K-quants: always one
// super-block of 8 groups) starting at `block` into `chunk`, using `buffer` (256 bytes) for
// codes that are not stored as bytes. The 32-element formats leave a and b to LegacyScales.
template <GgmlType kType>
HWY_INLINE void Decode(const uint8_t* block, int64_t n_groups, uint8_t* buffer, Chunk& chunk) {
  using F = QuantFormat<kType>;
  chunk.codes = buffer;
  chunk.code_stride = 32;
  chunk.sub_scales = nullptr;
  if constexpr (kType == GgmlType::kQ8_0) {
    chunk.codes = block + 2;  // the int8 codes as stored
    chunk.code_stride = F::kBlockBytes;
  } else if constexpr (!F::kSuper) {
    // Q4_0, Q4_1, Q5_0, Q5_1: d, [m], [fifth bits], 16 nibble bytes.
    constexpr bool kMin = kType == GgmlType::kQ4_1 || kType == GgmlType::kQ5_1;
    constexpr bool kFive = kType == GgmlType::kQ5_0 || kType == GgmlType::kQ5_1;
    constexpr int64_t kNibbles = 2 + (kMin ? 2 : 0) + (kFive ? 4 : 0);
    for (int64_t g = 0; g < n_groups; ++g) {
      const uint8_t* b = block + g * F::kBlockBytes;
      DecodeNibbles16(b + kNibbles, kFive ? b + kNibbles - 4 : nullptr, buffer + 32 * g);
    }
  } else if constexpr (kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K) {
    constexpr int64_t kQs = kType == GgmlType::kQ4_K ? 16 : 48;
    for (int pair = 0; pair < 4; ++pair)
      SplitNibbles32(block + kQs + 32 * pair, buffer + 64 * pair);
    if constexpr (kType == GgmlType::kQ5_K) {
      // Bit j of qh[l] adds 16 to code l of group j.
      const CodeTag du8;
      const auto sixteen = hn::Set(du8, 16);
      for (size_t l = 0; l < 32; l += hn::Lanes(du8)) {
        const auto qh = hn::LoadU(du8, block + 16 + l);
        for (int j = 0; j < 8; ++j) {
          uint8_t* codes = buffer + 32 * j + l;
          const auto bit = hn::TestBit(qh, hn::Set(du8, static_cast<uint8_t>(1u << j)));
          hn::StoreU(hn::Or(hn::LoadU(du8, codes), hn::IfThenElseZero(bit, sixteen)), du8, codes);
        }
      }
    }
    DecodeKScales(block, chunk);
  } else if constexpr (kType == GgmlType::kQ6_K) {
    // Quarter k of half h: nibble k / 2 of ql[64h + 32 (k % 2) + l], bits 2k, 2k+1 of
    // qh[32h + l]; stored as the signed code q - 32.
    const CodeTag du8;
    const auto mask = hn::Set(du8, 0x0f);
    const auto three = hn::Set(du8, 3);
    const auto bias = hn::Set(du8, 32);
    const auto high = [&](auto shifted) { return hn::ShiftLeft<4>(hn::And(shifted, three)); };
    for (int half = 0; half < 2; ++half) {
      for (size_t l = 0; l < 32; l += hn::Lanes(du8)) {
        const auto ql0 = hn::LoadU(du8, block + 64 * half + l);
        const auto ql1 = hn::LoadU(du8, block + 64 * half + 32 + l);
        const auto qh = hn::LoadU(du8, block + 128 + 32 * half + l);
        uint8_t* codes = buffer + 128 * half + l;
        hn::StoreU(hn::Sub(hn::Or(hn::And(ql0, mask), high(qh)), bias), du8, codes);
        hn::StoreU(hn::Sub(hn::Or(hn::And(ql1, mask), high(hn::ShiftRight<2>(qh))), bias), du8,
                   codes + 32);
        hn::StoreU(hn::Sub(hn::Or(hn::ShiftRight<4>(ql0), high(hn::ShiftRight<4>(qh))), bias), du8,
                   codes + 64);
        hn::StoreU(
            hn::Sub(hn::Or(hn::ShiftRight<4>(ql1), hn::ShiftLeft<4>(hn::ShiftRight<6>(qh))), bias),
            du8, codes + 96);
      }
    }
    chunk.sub_scales = reinterpret_cast<const int8_t*>(block + 192);
    const float d = LoadHalf(block + 208);
    for (int g = 0; g < 8; ++g) chunk.a[g] = d;
  } else {
    static_assert(kType == GgmlType::kQ8_K);
    chunk.codes = block + 4;
    float d;
    std::memcpy(&d, block, sizeof(d));
    for (int g = 0; g < 8; ++g) chunk.a[g] = d;
  }
}

#if HEARTH_MATVEC_X86
// x86: codes (unsigned, or signed moved to |c| with c's sign put on x) times int8 x in pairs to
// int16 (maddubs; no saturation: |c| <= 128 and |x| <= 127, or c <= 63), then pairs to int32
// times the sub-scales (madd). With VNNI and no sub-scales, one dpbusd does both steps.
template <bool kSigned, bool kSubScaled>
HWY_INLINE hn::Vec<GroupTag> Dot32(GroupTag, const uint8_t* codes, const int8_t* x,
                                   const int8_t* sub_scales) {
  __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes));
  __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  if constexpr (kSigned) {
    q = _mm256_sign_epi8(q, c);
    c = _mm256_abs_epi8(c);
  }
  if constexpr (kSubScaled) {
    // Lanes 0-7 (codes 0-15) by sub_scales[0], lanes 8-15 by sub_scales[1], as int16.
    int16_t pair;
    std::memcpy(&pair, sub_scales, sizeof(pair));
    const __m128i spread = _mm_shuffle_epi8(
        _mm_cvtsi32_si128(pair), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    return hn::Vec<GroupTag>{
        _mm256_madd_epi16(_mm256_maddubs_epi16(c, q), _mm256_cvtepi8_epi16(spread))};
  } else {
    (void)sub_scales;
#if HWY_TARGET == HWY_AVX3_DL
    // The EVEX (AVX512-VNNI) encoding spelled out: Highway 1.0.3's AVX3_DL target also enables
    // AVX-VNNI, so GCC would pick the VEX form of _mm256_dpbusd_epi32, which AVX-512 CPUs
    // without AVX-VNNI (Zen 4, Ice Lake) reject as an illegal instruction.
    __m256i sum = _mm256_setzero_si256();
    asm("%{evex%} vpdpbusd %[q], %[c], %[sum]" : [sum] "+v"(sum) : [c] "v"(c), [q] "v"(q));
    return hn::Vec<GroupTag>{sum};
#else
    return hn::Vec<GroupTag>{_mm256_madd_epi16(_mm256_maddubs_epi16(c, q), _mm256_set1_epi16(1))};
#endif
  }
}
#else
// Portable: widen both to int32 and multiply, Lanes(di) <= 8 codes at a time (so a step never
// straddles the two halves of sub-scales).
template <bool kSigned, bool kSubScaled>
HWY_INLINE hn::Vec<GroupTag> Dot32(GroupTag di, const uint8_t* codes, const int8_t* x,
                                   const int8_t* sub_scales) {
  const hn::Rebind<int8_t, GroupTag> di8;
  const hn::Rebind<uint8_t, GroupTag> du8;
  auto sum = hn::Zero(di);
  for (size_t j = 0; j < 32; j += hn::Lanes(di)) {
    const auto c =
        kSigned ? hn::PromoteTo(di, hn::LoadU(di8, reinterpret_cast<const int8_t*>(codes) + j))
                : hn::PromoteTo(di, hn::LoadU(du8, codes + j));
    auto product = hn::Mul(c, hn::PromoteTo(di, hn::LoadU(di8, x + j)));
    if constexpr (kSubScaled) product = hn::Mul(product, hn::Set(di, sub_scales[j / 16]));
    sum = hn::Add(sum, product);
  }
  return sum;
}
#endif

template <GgmlType kType>
void QuantRows(const uint8_t* weights, int64_t row_bytes, int64_t row_begin, int64_t row_end,
               int64_t n_cols, const internal::Int8Activations& x, float* y) {
  using F = QuantFormat<kType>;
  const GroupTag di;
  const hn::Rebind<float, GroupTag> df;
  const int64_t n_groups = n_cols / 32;
  HWY_ALIGN uint8_t buffer[internal::kQkK];
  const hn::CappedTag<float, 8> d8;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = weights + r * row_bytes;
    auto total = hn::Zero(df);
    auto k_offsets = hn::Zero(d8);
    float offset = 0.0f;
    for (int64_t g0 = 0; g0 < n_groups; g0 += 8) {
      const int64_t count = std::min<int64_t>(8, n_groups - g0);
      const uint8_t* first = row + g0 * 32 / F::kBlockElements * F::kBlockBytes;
      Chunk chunk;
      Decode<kType>(first, count, buffer, chunk);
      const int8_t* xq = x.q + g0 * 32;
      const float* xd = x.d + g0;
      const float* xsums = x.sums + g0;
      // Chunk-local sums (two of each, for even and odd groups) keep every dependency chain
      // short: a float add per group in one chain would cost more than the group's work.
      auto sum0 = hn::Zero(df);
      auto sum1 = hn::Zero(df);
      float offset0 = 0.0f;
      float offset1 = 0.0f;
      // sum + the group's integer dot product, scaled by the weights' and x's scales; the
      // 32-element formats' offset term (b times the sum of x over the group) goes to `off`.
      const auto add_group = [&](int64_t g, hn::Vec<decltype(df)> sum, float& off) {
        float a = 0.0f;
        if constexpr (kType == GgmlType::kQ8_0) {
          a = LoadHalf(first + g * F::kBlockBytes);
        } else if constexpr (F::kSuper) {
          a = chunk.a[g];
        } else {
          float b;
          LegacyScales<kType>(first + g * F::kBlockBytes, &a, &b);
          off += b * xsums[g];
        }
        const auto dot =
            Dot32<F::kSigned, F::kSubScaled>(di, chunk.codes + g * chunk.code_stride, xq + 32 * g,
                                             F::kSubScaled ? chunk.sub_scales + 2 * g : nullptr);
        return hn::MulAdd(hn::ConvertTo(df, dot), hn::Set(df, a * xd[g]), sum);
      };
      int64_t g = 0;
      for (; g + 2 <= count; g += 2) {
        sum0 = add_group(g, sum0, offset0);
        sum1 = add_group(g + 1, sum1, offset1);
      }
      if (g < count) sum0 = add_group(g, sum0, offset0);
      total = hn::Add(total, hn::Add(sum0, sum1));
      offset += offset0 + offset1;
      if constexpr (F::kSuper && F::kHasOffset) {
        // Q4_K/Q5_K: b was stored as a vector, so it is read back as one.
        for (size_t k = 0; k < 8; k += hn::Lanes(d8)) {
          k_offsets = hn::MulAdd(hn::Load(d8, chunk.b + k), hn::LoadU(d8, xsums + k), k_offsets);
        }
      }
    }
    y[r] = hn::GetLane(hn::SumOfLanes(df, total)) + hn::GetLane(hn::SumOfLanes(d8, k_offsets)) +
           offset;
  }
}

#undef HEARTH_MATVEC_X86

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_MATVEC_QUANT_INL_H_
