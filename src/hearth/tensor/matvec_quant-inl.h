// Highway kernels for matvec over every block format (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K,
// Q6_K, Q8_K) with 8-bit activations, for one token or a batch, and the activation quantizer.
// Each chunk of up to 8 groups of 32 weights is decoded to byte codes and per-group scales (a
// format's only code: QuantFormat and Decode) and, on x86, put in the activations' interleaved
// layout (PrepareCodes: a transpose, or with AVX-512 VBMI byte permutes straight from the blocks
// for Q4_0, Q4_1, Q4_K and Q6_K), so that for every token one multiply-add instruction per 4 codes
// of 8 groups (AVX-512 VNNI dpbusd, two such vectors per instruction; AVX2 maddubs + madd) leaves
// each group's exact integer total in its own lane (GroupDots; portable scalar code elsewhere);
// one convert and multiply-add per chunk then scale the 8 totals into the token's float sums
// (AddChunks; on AVX-512 in a batch, and for Q4_K in decode, those of two rows at once,
// AddPairedTotals), and each 8 rows' sums are reduced across lanes together (SumRowsOf8). One
// token (decode) decodes each chunk as it goes; a batch decodes a block of rows once into scratch
// and runs its tokens over it in groups held in registers (QuantRowsAllTokens). Both prefetch the
// rows ahead (StreamPrefetch). Each token gets the same operations in the same order whatever the
// other tokens, so its y does not depend on them. (Where the CPU has AMX, a prompt-sized batch
// takes int8 tiles instead: matvec_amx-inl.h, built from the pieces here.)
// Included by matvec_quant.cpp once per target.
#if defined(HEARTH_TENSOR_MATVEC_QUANT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_TENSOR_MATVEC_QUANT_INL_H_
#undef HEARTH_TENSOR_MATVEC_QUANT_INL_H_
#else
#define HEARTH_TENSOR_MATVEC_QUANT_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "hearth/base/ggml_types.h"
#include "hearth/tensor/block_formats.h"
#include "hearth/tensor/float16.h"
#include "hearth/tensor/k_quants.h"
#include "hearth/tensor/kernel_common-inl.h"
#include "hearth/tensor/matvec_kernels.h"
#include "hearth/tensor/stream.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// A chunk's 8 group totals, one per int32 lane (one 256-bit vector on x86: Zen 4 splits 512-bit
// ops in two anyway, and 4 codes of 8 groups fill exactly one).
using GroupTag = hn::CappedTag<int32_t, 8>;
using CodeTag = hn::CappedTag<uint8_t, 32>;
// Per-chunk vectors of 8 group values (a, b, x's scales): one vector on x86.
using FloatTag = hn::CappedTag<float, 8>;

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define HEARTH_MATVEC_X86 1
#else
#define HEARTH_MATVEC_X86 0
#endif

// Rows per step of the one-token kernel and of a pass over the prepared rows (a tile), their
// codes held in registers. With 32 vector registers (AVX-512) two rows share each token's x,
// loaded once (GroupDots): L1's loads, not the multiply-adds, bound one row at a time; in a batch
// their totals also share each 512-bit convert, multiply and multiply-add (AddPairedChunks).
// 2 rows x 4 tokens beat 1 x 8 by 3-31% on Zen 4, and 2 x 6 or 2 x 8 spill. AVX2's 16 registers
// hold one row's codes.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define HEARTH_MATVEC_PAIRED_ROWS 1
constexpr int kTileRows = 2;
#else
#define HEARTH_MATVEC_PAIRED_ROWS 0
constexpr int kTileRows = 1;
#endif

// One decoded chunk: up to 8 groups of 32 codes, group g at codes + g * code_stride; the weights
// are a[g] * (code - the format's zero point) (+ b[g] per element for the formats with a
// minimum), times the int8 sub_scales[2g] / [2g + 1] of the group's halves for kSubScaled
// formats (Q6_K). Codes are unsigned (at most 63) or, for kStoredSigned formats, int8
// bit patterns. a and b are 0 past the chunk's last group.
struct Chunk {
  const uint8_t* blocks;  // the chunk's first block
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
  static constexpr bool kSubScaled = kType == GgmlType::kQ6_K;
  // With AVX-512 VBMI and VNNI, Q6_K's codes are read straight from the super-block as unsigned
  // 0..63 (PrepareSixBits), with zero point 32; elsewhere they are decoded as q - 32.
  static constexpr bool kPickedSixBits = kType == GgmlType::kQ6_K && HWY_TARGET == HWY_AVX3_DL;
  // Codes stored as int8 (Q8_0, Q8_K; Q6_K's as decoded). With VNNI (dpbusd takes unsigned
  // codes) those without sub-scales are flipped to code + 128 instead (kFlipped), so no sign
  // has to be moved onto x per token; elsewhere maddubs could saturate on them (2 * 255 * 127).
  static constexpr bool kStoredSigned = kType == GgmlType::kQ8_0 || kType == GgmlType::kQ8_K ||
                                        (kType == GgmlType::kQ6_K && !kPickedSixBits);
#if HWY_TARGET == HWY_AVX3_DL
  static constexpr bool kFlipped = kStoredSigned && !kSubScaled;
#else
  static constexpr bool kFlipped = false;
#endif
  static constexpr bool kSigned = kStoredSigned && !kFlipped;
  // The weights are a * (code - kZeroPoint) (+ b): Q4_0 and Q5_0's codes are stored unsigned.
  // GroupDots subtracts kZeroPoint times x's code sums from the integer totals, so the zero point
  // costs nothing per code and is exact.
  // For Q6_K the zero point applies to each half of a group (x's low_code_sums).
  static constexpr int32_t kZeroPoint = kType == GgmlType::kQ4_0   ? 8
                                        : kType == GgmlType::kQ5_0 ? 16
                                        : kPickedSixBits           ? 32
                                        : kFlipped                 ? 128
                                                                   : 0;
  static constexpr bool kMin = kType == GgmlType::kQ4_1 || kType == GgmlType::kQ5_1 ||
                               kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K;
  // x86 reads Q4_0/Q4_1 nibbles straight into the interleaved layout (PrepareNibbles), and
  // with AVX-512 VBMI Q4_K's too.
  static constexpr bool kDirectNibbles = kType == GgmlType::kQ4_0 || kType == GgmlType::kQ4_1 ||
                                         (kType == GgmlType::kQ4_K && HWY_TARGET == HWY_AVX3_DL);
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

// f32_from_f16(f16_from_f32(value)), inline on x86 (F16C rounds to nearest even as
// f16_from_f32 does; only its NaN differs).
HWY_INLINE float RoundedToHalf(float value) {
#if HEARTH_MATVEC_X86
  if (!std::isnan(value)) return _cvtsh_ss(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT));
#endif
  return f32_from_f16(f16_from_f32(value));
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

#if HEARTH_MATVEC_X86
// Q4_K/Q5_K: the 6-bit scales and mins of the 16-byte headers in each 128-bit half of `headers`
// (one super-block or two): scales 0-7 in bytes 0-7 of the half, mins 0-7 in bytes 8-15. The
// header's words: fp16 d and dmin in word 0, then the packed scale bytes w0..w2 as
// little-endian words (k_quants.h): scales 0-3 are w0 & 0x3f per byte, mins 0-3 w1 & 0x3f;
// scales 4-7 are w2's low nibbles plus w0's top two bits as bits 4-5, mins 4-7 w2's high
// nibbles plus w1's top two bits. Two shuffles and five logic ops for all 16 of both halves.
HWY_INLINE __m256i KScaleBytes(__m256i headers) {
  const __m256i low_source = _mm256_shuffle_epi32(headers, _MM_SHUFFLE(3, 2, 3, 1));  // w0 w2 w1 w2
  const __m256i high_source =
      _mm256_shuffle_epi32(headers, _MM_SHUFFLE(2, 2, 1, 1));  // w0 w0 w1 w1
  const __m256i low =
      _mm256_and_si256(_mm256_srlv_epi32(low_source, _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4)),
                       _mm256_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f,
                                         0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  // Each byte's top two bits moved down to its bits 4-5.
  const __m256i high = _mm256_and_si256(
      _mm256_srli_epi32(high_source, 2),
      _mm256_setr_epi32(0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030));
  return _mm256_or_si256(low, high);
}
#endif

// Q4_K/Q5_K: a[j] = d * scale_j and b[j] = -dmin * min_j from the 16-byte header (d * scale_j is
// exact in float32: 11 by 6 significant bits).
HWY_INLINE void DecodeKScales(const uint8_t* block, Chunk& chunk) {
#if HEARTH_MATVEC_X86
  const __m128i header = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
  const __m128i scales_mins = _mm256_castsi256_si128(KScaleBytes(_mm256_castsi128_si256(header)));
  // d, -dmin (and two values of no use) from the header's first four halves.
  const __m128 d_dmin = _mm_xor_ps(_mm_cvtph_ps(header), _mm_setr_ps(0.0f, -0.0f, 0.0f, 0.0f));
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // All 16 products in one vector: d in lanes 0-7, -dmin in lanes 8-15.
  const __m512 factors =
      _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                            _mm512_castps128_ps512(d_dmin));
  const __m512 products =
      _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(scales_mins)), factors);
  _mm256_store_ps(chunk.a, _mm512_castps512_ps256(products));
  _mm256_store_ps(chunk.b, _mm512_extractf32x8_ps(products, 1));
#else
  const __m256 d = _mm256_broadcastss_ps(d_dmin);
  const __m256 minus_dmin =
      _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d_dmin), _mm256_set1_epi32(1));
  const __m256 scales = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scales_mins));
  const __m256 mins = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(scales_mins, 8)));
  _mm256_store_ps(chunk.a, _mm256_mul_ps(d, scales));
  _mm256_store_ps(chunk.b, _mm256_mul_ps(minus_dmin, mins));
#endif
#else
  const float d = LoadHalf(block);
  const float dmin = LoadHalf(block + 2);
  for (int j = 0; j < 8; ++j) {
    int scale, min;
    internal::unpack_k_scale(j, block + 4, &scale, &min);
    chunk.a[j] = d * static_cast<float>(scale);
    chunk.b[j] = -dmin * static_cast<float>(min);
  }
#endif
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// DecodeKScales for two rows' super-blocks at once, as vectors in AddPairedTotals' layout: row
// 0's a (or b) in lanes 0-7, row 1's in lanes 8-15; the same values, for about half the
// instructions of two calls (the one-token kernel, where each chunk's scales are used once).
HWY_INLINE void DecodeKScalesOfPair(const uint8_t* block0, const uint8_t* block1, __m512& a,
                                    __m512& b) {
  const __m256i headers = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block0))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(block1)), 1);
  // Row 0's scales, row 1's scales, row 0's mins, row 1's mins.
  const __m256i grouped = _mm256_permute4x64_epi64(KScaleBytes(headers), _MM_SHUFFLE(3, 1, 2, 0));
  // d0, -dmin0 in lanes 0 and 1; d1, -dmin1 in lanes 8 and 9.
  const __m512 d_dmin =
      _mm512_xor_ps(_mm512_cvtph_ps(headers),
                    _mm512_castsi512_ps(_mm512_setr_epi32(0, INT32_MIN, 0, 0, 0, 0, 0, 0, 0,
                                                          INT32_MIN, 0, 0, 0, 0, 0, 0)));
  const __m512i d_index = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8, 8, 8);
  const auto widened = [](__m128i bytes) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
  };
  a = _mm512_mul_ps(widened(_mm256_castsi256_si128(grouped)),
                    _mm512_permutexvar_ps(d_index, d_dmin));
  b = _mm512_mul_ps(widened(_mm256_extracti128_si256(grouped, 1)),
                    _mm512_permutexvar_ps(_mm512_add_epi32(d_index, _mm512_set1_epi32(1)), d_dmin));
}
#endif

// scales[0..8) = value, with vector stores (see LegacyScales).
HWY_INLINE void FillScales(float value, float* scales) {
  const FloatTag df;
  for (size_t k = 0; k < 8; k += hn::Lanes(df)) hn::Store(hn::Set(df, value), df, scales + k);
}

#if HWY_TARGET == HWY_AVX3_DL
// AVX-512 VBMI: 64 bytes picked out of kChunkBytes (8 blocks, or part of a K-quant super-block:
// 128 to 192 bytes) by a byte map fixed at compile time: three 64-byte loads inside the chunk
// (bytes 0-63, 64-127 and the last 64) and two byte permutes (one when every byte picked is
// among the first 128), in place of a load and insert per block. A map that moves whole aligned
// 4-byte words (the K-quants') uses the word permutes.
template <int64_t kChunkBytes>
struct ChunkBytePicker {
  static_assert(kChunkBytes >= 128 && kChunkBytes <= 192);
  alignas(64) uint8_t low_index[64] = {};   // into bytes 0-127
  alignas(64) uint8_t tail_index[64] = {};  // into the last 64 bytes
  uint64_t tail_mask = 0;                   // the result bytes that come from the tail
  bool whole_words = true;
  alignas(64) uint32_t low_words[16] = {};  // the same maps in words, when whole_words
  alignas(64) uint32_t tail_words[16] = {};
  uint16_t tail_word_mask = 0;

  // source(i): the chunk byte that result byte i is.
  template <class Source>
  constexpr explicit ChunkBytePicker(Source source) {
    for (int i = 0; i < 64; ++i) {
      const int64_t byte = source(i);
      if (byte < 128) {
        low_index[i] = static_cast<uint8_t>(byte);
      } else {
        tail_index[i] = static_cast<uint8_t>(byte - (kChunkBytes - 64));
        tail_mask |= uint64_t{1} << i;
      }
      whole_words = whole_words && byte % 4 == i % 4 && byte - i % 4 == source(i - i % 4) &&
                    ((tail_mask >> i) & 1) == ((tail_mask >> (i - i % 4)) & 1);
    }
    for (int w = 0; w < 16; ++w) {
      low_words[w] = low_index[4 * w] / 4u;
      tail_words[w] = tail_index[4 * w] / 4u;
      if ((tail_mask >> (4 * w)) & 1) tail_word_mask |= static_cast<uint16_t>(1u << w);
    }
  }

  HWY_INLINE __m512i Pick(const uint8_t* chunk) const {
    const __m512i tail = _mm512_loadu_si512(chunk + kChunkBytes - 64);
    if (whole_words) {
      if (tail_mask == ~uint64_t{0})
        return _mm512_permutexvar_epi32(_mm512_load_si512(tail_words), tail);
      const __m512i low = _mm512_permutex2var_epi32(
          _mm512_loadu_si512(chunk), _mm512_load_si512(low_words), _mm512_loadu_si512(chunk + 64));
      if (tail_mask == 0) return low;
      return _mm512_mask_permutexvar_epi32(low, tail_word_mask, _mm512_load_si512(tail_words),
                                           tail);
    }
    if (tail_mask == ~uint64_t{0})
      return _mm512_permutexvar_epi8(_mm512_load_si512(tail_index), tail);
    const __m512i low = _mm512_permutex2var_epi8(
        _mm512_loadu_si512(chunk), _mm512_load_si512(low_index), _mm512_loadu_si512(chunk + 64));
    if (tail_mask == 0) return low;
    return _mm512_mask_permutexvar_epi8(low, tail_mask, _mm512_load_si512(tail_index), tail);
  }
};

// The 8 fp16 d of a chunk's blocks in bytes 0-15, and with kMin their fp16 minima (at byte 2 of
// a block) in bytes 16-31. Without minima every byte picks a d: Q4_0's then all lie in the first
// 128 bytes, one byte permute (its minima's last byte is byte 129).
template <int64_t kBlockBytes, bool kMin>
inline constexpr ChunkBytePicker<8 * kBlockBytes> kScalePicker([](int i) -> int64_t {
  return i / 2 % 8 * kBlockBytes + i % 2 + (kMin && i >= 16 ? 2 : 0);
});

// Vectors 2 * pair and 2 * pair + 1 of the interleaved nibble bytes (PrepareNibbles): byte
// 32 v + 4 j + b is byte 4 v + b of block j's 16 nibble bytes, which end its block.
template <int64_t kBlockBytes, int kPair>
inline constexpr ChunkBytePicker<8 * kBlockBytes> kNibblePicker([](int i) -> int64_t {
  return i % 32 / 4 * kBlockBytes + (kBlockBytes - 16) + 4 * (2 * kPair + i / 32) + i % 4;
});

// Q6_K's super-block (its first 192 bytes): the low 4 bits (ql) and the high 2 bits (qh) of
// interleaved vectors 2 * pair and 2 * pair + 1. Group j = 4 h + k (half h, quarter k) takes code
// l from nibble k / 2 of ql[64 h + 32 (k % 2) + l] and bits 2k, 2k + 1 of qh[32 h + l].
template <int kPair>
inline constexpr ChunkBytePicker<192> kSixLowPicker([](int i) -> int64_t {
  const int v = 2 * kPair + i / 32;
  const int j = i % 32 / 4;
  return 64 * (j / 4) + 32 * (j % 2) + 4 * v + i % 4;
});
template <int kPair>
inline constexpr ChunkBytePicker<192> kSixHighPicker([](int i) -> int64_t {
  const int v = 2 * kPair + i / 32;
  const int j = i % 32 / 4;
  return 128 + 32 * (j / 4) + 4 * v + i % 4;
});

// The same for a Q4_K super-block's 128 code bytes (from its byte 16), whose groups 2p and
// 2p + 1 are the low and high nibbles of bytes 32 p to 32 p + 31: byte 32 v + 4 j + b is the
// byte holding code 4 v + b of group j.
template <int kPair>
inline constexpr ChunkBytePicker<128> kKNibblePicker([](int i) -> int64_t {
  return 32 * (i % 32 / 8) + 4 * (2 * kPair + i / 32) + i % 4;
});
#endif

// The 32-element formats' a[g] (fp16 d) and b[g] (the fp16 minimum, when kMin) of n_groups
// blocks of kBlockBytes; zero past them. x86 converts a whole chunk's scales at once, so that the
// vector loads of a and b are forwarded from vector stores.
template <int64_t kBlockBytes, bool kMin>
HWY_INLINE void LegacyScales(const uint8_t* block, int64_t n_groups, Chunk& chunk) {
#if HWY_TARGET == HWY_AVX3_DL
  if constexpr (8 * kBlockBytes <= 192) {
    if (n_groups == 8) {
      const __m512i scales = kScalePicker<kBlockBytes, kMin>.Pick(block);
      _mm256_store_ps(chunk.a, _mm256_cvtph_ps(_mm512_castsi512_si128(scales)));
      if constexpr (kMin) {
        _mm256_store_ps(chunk.b, _mm256_cvtph_ps(_mm512_extracti32x4_epi32(scales, 1)));
      }
      return;
    }
  } else if constexpr (kBlockBytes == internal::kQ8_0BlockBytes && !kMin) {
    // Q8_0's 272-byte chunk: block g's d at bytes 34 g and 34 g + 1, those of blocks 0-3 among
    // bytes 0-127 and of 4-7 among 128-255 (at the same places less 128), so one byte permute
    // over each half and a blend, in place of eight loads and inserts of 16 bits: the one-token
    // kernel 1.27x as fast in cache, qwen3-0.6b Q8_0 decode 1.06-1.11x.
    if (n_groups == 8) {
      alignas(64) static constexpr uint8_t kIndex[64] = {0, 1, 34, 35, 68, 69, 102, 103,
                                                         8, 9, 42, 43, 76, 77, 110, 111};
      const __m512i index = _mm512_load_si512(kIndex);
      const auto pick = [&](const uint8_t* bytes) {
        return _mm512_castsi512_si128(_mm512_permutex2var_epi8(_mm512_loadu_si512(bytes), index,
                                                               _mm512_loadu_si512(bytes + 64)));
      };
      const __m128i halves = _mm_mask_blend_epi8(0xff00, pick(block), pick(block + 128));
      _mm256_store_ps(chunk.a, _mm256_cvtph_ps(halves));
      return;
    }
  }
#endif
#if HEARTH_MATVEC_X86
  if (n_groups == 8) {
    const auto halves = [block](int64_t offset) {
      uint16_t h[8];
      for (int g = 0; g < 8; ++g) std::memcpy(&h[g], block + g * kBlockBytes + offset, 2);
      return _mm_setr_epi16(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    };
    _mm256_store_ps(chunk.a, _mm256_cvtph_ps(halves(0)));
    if constexpr (kMin) _mm256_store_ps(chunk.b, _mm256_cvtph_ps(halves(2)));
    return;
  }
#endif
  for (int64_t g = 0; g < 8; ++g) {
    chunk.a[g] = g < n_groups ? LoadHalf(block + g * kBlockBytes) : 0.0f;
    if constexpr (kMin) chunk.b[g] = g < n_groups ? LoadHalf(block + g * kBlockBytes + 2) : 0.0f;
  }
}

// Decodes n_groups groups (32-element formats: n_groups blocks; K-quants: always one
// super-block of 8 groups) starting at `block` into `chunk`, using `buffer` (256 bytes) for
// codes that are not stored as bytes. kPlainCodes decodes every format's codes into bytes (Q6_K's
// as q - 32), for the kernels that do not read them straight from the blocks (AMX).
template <GgmlType kType, bool kPlainCodes = false>
HWY_INLINE void Decode(const uint8_t* block, int64_t n_groups, uint8_t* buffer, Chunk& chunk) {
  using F = QuantFormat<kType>;
  chunk.blocks = block;
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
    // (x86 decodes whole chunks of Q4_0/Q4_1 in PrepareCodes instead.)
    const bool direct = HEARTH_MATVEC_X86 && F::kDirectNibbles && !kPlainCodes && n_groups == 8;
    for (int64_t g = 0; g < n_groups && !direct; ++g) {
      const uint8_t* b = block + g * F::kBlockBytes;
      DecodeNibbles16(b + kNibbles, kFive ? b + kNibbles - 4 : nullptr, buffer + 32 * g);
    }
  }
  if constexpr (!F::kSuper) {
    LegacyScales<F::kBlockBytes, F::kMin>(block, n_groups, chunk);
  } else if constexpr (kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K) {
    constexpr int64_t kQs = kType == GgmlType::kQ4_K ? 16 : 48;
    for (int pair = 0; pair < 4 && !(F::kDirectNibbles && !kPlainCodes); ++pair)
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
    for (int half = 0; half < 2 && (!F::kPickedSixBits || kPlainCodes); ++half) {
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
    FillScales(LoadHalf(block + 208), chunk.a);
  } else {
    static_assert(kType == GgmlType::kQ8_K);
    chunk.codes = block + 4;
    float d;
    std::memcpy(&d, block, sizeof(d));
    FillScales(d, chunk.a);
  }
}

#if HEARTH_MATVEC_X86
// x86: a chunk's codes transposed to x's interleaved layout (matvec_kernels.h): interleaved
// vector k (32 bytes) holds codes 4k..4k+3 of group j in 32-bit lane j, so that each
// multiply-add instruction sums into its group's lane. With AVX-512 VNNI two of them share one
// 512-bit register (CodeVector c holds vectors 2c and 2c + 1, as x's 64 bytes at 64 c do), which
// halves the instructions per chunk. Unsigned codes (as decoded, or flipped to code + 128) are
// used as they are; signed ones as |c| with c's sign put on x (maddubs takes unsigned times
// signed bytes; with VNNI every format's codes are unsigned).
#if HWY_TARGET == HWY_AVX3_DL
using CodeVector = __m512i;
#else
using CodeVector = __m256i;
#endif
constexpr int kCodeVectors = 256 / sizeof(CodeVector);

struct PreparedCodes {
  CodeVector magnitudes[kCodeVectors];
#if HWY_TARGET != HWY_AVX3_DL
  CodeVector signs[kCodeVectors];  // kSigned (never with VNNI): the codes themselves
#endif
  // kSubScaled: group j's sub-scales for its codes 0-15 and 16-31, in lanes j and j + 8 as int32
  // (VNNI: as GroupDots' sums hold them) or in both int16 halves of lane j (madd).
  CodeVector sub_scales[2];
};

// Q4_0/Q4_1, straight from 8 whole blocks: word w of block j's 16 nibble bytes holds codes
// 4w..4w+3 (low nibbles) and 16+4w.. (high nibbles), i.e. interleaved vectors w and w + 4.
// AVX-512 VBMI picks the words of two vectors at once (kNibblePicker); elsewhere a 4x4 word
// transpose within 128-bit halves (blocks 0-3 low, 4-7 high) gives them.
template <class F>
HWY_INLINE void PrepareNibbles(const uint8_t* blocks, PreparedCodes& out) {
#if HWY_TARGET == HWY_AVX3_DL
  const __m512i mask = _mm512_set1_epi8(0x0f);
  if constexpr (F::kSuper) {
    // Q4_K: the high nibble in the odd groups' lanes (bytes 4-7 of every 8), shifted down by
    // one variable shift of the words.
    const __m512i odd_high = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    const auto split = [&](__m512i bytes, int pair) {
      out.magnitudes[pair] = _mm512_and_si512(_mm512_srlv_epi32(bytes, odd_high), mask);
    };
    const uint8_t* codes = blocks + 16;
    split(kKNibblePicker<0>.Pick(codes), 0);
    split(kKNibblePicker<1>.Pick(codes), 1);
    split(kKNibblePicker<2>.Pick(codes), 2);
    split(kKNibblePicker<3>.Pick(codes), 3);
  } else {
    const auto split = [&](__m512i words, int pair) {
      out.magnitudes[pair] = _mm512_and_si512(words, mask);
      out.magnitudes[pair + 2] = _mm512_and_si512(_mm512_srli_epi16(words, 4), mask);
    };
    split(kNibblePicker<F::kBlockBytes, 0>.Pick(blocks), 0);
    split(kNibblePicker<F::kBlockBytes, 1>.Pick(blocks), 1);
  }
#else
  constexpr int64_t kNibbles = F::kBlockBytes - 16;
  __m256i r[4];
  for (int j = 0; j < 4; ++j) {
    const auto load = [&](int block) {
      return _mm_loadu_si128(
          reinterpret_cast<const __m128i*>(blocks + block * F::kBlockBytes + kNibbles));
    };
    r[j] = _mm256_set_m128i(load(j + 4), load(j));
  }
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i words[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                            _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
  const __m256i mask = _mm256_set1_epi8(0x0f);
  for (int w = 0; w < 4; ++w) {
    out.magnitudes[w] = _mm256_and_si256(words[w], mask);
    out.magnitudes[w + 4] = _mm256_and_si256(_mm256_srli_epi16(words[w], 4), mask);
  }
#endif
}

// Q6_K: group j's sub-scales for its codes 0-15 and 16-31 (PreparedCodes::sub_scales).
HWY_INLINE void PrepareSubScales(const Chunk& chunk, PreparedCodes& out) {
  // Byte 2j + half of the 16 sub-scales for each group j (twice for madd), widened.
  const __m128i scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(chunk.sub_scales));
  for (int half = 0; half < 2; ++half) {
    const char h = static_cast<char>(half);
#if HWY_TARGET == HWY_AVX3_DL
    const __m128i pick = _mm_setr_epi8(h, 2 + h, 4 + h, 6 + h, 8 + h, 10 + h, 12 + h, 14 + h, h,
                                       2 + h, 4 + h, 6 + h, 8 + h, 10 + h, 12 + h, 14 + h);
    out.sub_scales[half] = _mm512_cvtepi8_epi32(_mm_shuffle_epi8(scales, pick));
#else
    const __m128i pick = _mm_setr_epi8(h, h, 2 + h, 2 + h, 4 + h, 4 + h, 6 + h, 6 + h, 8 + h, 8 + h,
                                       10 + h, 10 + h, 12 + h, 12 + h, 14 + h, 14 + h);
    out.sub_scales[half] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
#endif
  }
}

#if HWY_TARGET == HWY_AVX3_DL
// Q6_K with VBMI, straight from the super-block as unsigned codes: per pair of interleaved
// vectors, the low 4 bits from ql (the high nibble, shifted down, in the lanes of quarters 2 and
// 3) and the high 2 bits from qh (bits 2k and 2k + 1 in the lanes of quarter k, rotated to bits
// 4-5 of the same byte).
HWY_INLINE void PrepareSixBits(const uint8_t* block, PreparedCodes& out) {
  const __m512i nibble_shifts = _mm512_setr_epi32(0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4);
  const __m512i top_rotations =
      _mm512_setr_epi32(4, 2, 0, 30, 4, 2, 0, 30, 4, 2, 0, 30, 4, 2, 0, 30);
  const auto codes = [&](__m512i low, __m512i high) {
    const __m512i top =
        _mm512_and_si512(_mm512_rolv_epi32(high, top_rotations), _mm512_set1_epi8(0x30));
    return _mm512_ternarylogic_epi32(_mm512_srlv_epi32(low, nibble_shifts), _mm512_set1_epi8(0x0f),
                                     top, 0xea);  // a & b | c
  };
  out.magnitudes[0] = codes(kSixLowPicker<0>.Pick(block), kSixHighPicker<0>.Pick(block));
  out.magnitudes[1] = codes(kSixLowPicker<1>.Pick(block), kSixHighPicker<1>.Pick(block));
  out.magnitudes[2] = codes(kSixLowPicker<2>.Pick(block), kSixHighPicker<2>.Pick(block));
  out.magnitudes[3] = codes(kSixLowPicker<3>.Pick(block), kSixHighPicker<3>.Pick(block));
}
#endif

// The first two rounds of an 8 x 8 transpose of 32-bit words, done within each 128-bit lane of
// 256-bit (or 512-bit: two transposes side by side) vectors: rows in pairs, then in quads. Each
// caller finishes with its own permute of 128-bit lanes.
template <class V>
HWY_INLINE void TransposeWordQuads(const V (&r)[8], V (&u)[8]) {
  const auto unpack = [](V a, V b, auto low, auto words64) {
    if constexpr (sizeof(V) == 64) {
      if constexpr (words64) {
        return low ? _mm512_unpacklo_epi64(a, b) : _mm512_unpackhi_epi64(a, b);
      } else {
        return low ? _mm512_unpacklo_epi32(a, b) : _mm512_unpackhi_epi32(a, b);
      }
    } else if constexpr (words64) {
      return low ? _mm256_unpacklo_epi64(a, b) : _mm256_unpackhi_epi64(a, b);
    } else {
      return low ? _mm256_unpacklo_epi32(a, b) : _mm256_unpackhi_epi32(a, b);
    }
  };
  const std::false_type dwords;
  const std::true_type qwords;
  V t[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = unpack(r[2 * i], r[2 * i + 1], true, dwords);
    t[2 * i + 1] = unpack(r[2 * i], r[2 * i + 1], false, dwords);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i] = unpack(t[4 * i], t[4 * i + 2], true, qwords);
    u[4 * i + 1] = unpack(t[4 * i], t[4 * i + 2], false, qwords);
    u[4 * i + 2] = unpack(t[4 * i + 1], t[4 * i + 3], true, qwords);
    u[4 * i + 3] = unpack(t[4 * i + 1], t[4 * i + 3], false, qwords);
  }
}

template <class F>
HWY_INLINE void PrepareCodes(const Chunk& chunk, int64_t n_groups, PreparedCodes& out) {
  if constexpr (F::kSubScaled) PrepareSubScales(chunk, out);
#if HWY_TARGET == HWY_AVX3_DL
  if constexpr (F::kPickedSixBits) return PrepareSixBits(chunk.blocks, out);
#endif
  if constexpr (F::kDirectNibbles) {
    if (n_groups == 8) return PrepareNibbles<F>(chunk.blocks, out);
  }
  __m256i r[8];
  for (int g = 0; g < 8; ++g) {
    r[g] = g < n_groups ? _mm256_loadu_si256(
                              reinterpret_cast<const __m256i*>(chunk.codes + g * chunk.code_stride))
                        : _mm256_setzero_si256();
  }
  // 8x8 transpose of 32-bit words: pairs, then quads within 128-bit halves, then halves.
  __m256i u[8];
  TransposeWordQuads(r, u);
  // Interleaved vector k < 4 is the low 128-bit halves of u[k] and u[k + 4], vector k + 4 their
  // high halves.
#if HWY_TARGET == HWY_AVX3_DL
  static_assert(!F::kSigned);  // VNNI takes every format's codes unsigned
  for (int k = 0; k < 4; k += 2) {
    const __m512i a = _mm512_inserti64x4(_mm512_castsi256_si512(u[k]), u[k + 1], 1);
    const __m512i b = _mm512_inserti64x4(_mm512_castsi256_si512(u[k + 4]), u[k + 5], 1);
    out.magnitudes[k / 2] =
        _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), b);
    out.magnitudes[k / 2 + 2] =
        _mm512_permutex2var_epi64(a, _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15), b);
  }
  if constexpr (F::kFlipped) {
    for (__m512i& c : out.magnitudes) c = _mm512_xor_si512(c, _mm512_set1_epi8(-128));
  }
#else
  for (int k = 0; k < 4; ++k) {
    out.magnitudes[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
    out.magnitudes[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
  }
  if constexpr (F::kSigned) {
    for (int k = 0; k < 8; ++k) {
      out.signs[k] = out.magnitudes[k];
      out.magnitudes[k] = _mm256_abs_epi8(out.magnitudes[k]);
    }
  }
#endif
}

// The integer totals' starting value: minus the zero point times x's code sums of the chunk's
// 8 blocks (of their first 16 codes for half 0 of a kSubScaled format, of the last 16 for half
// 1), which makes the totals those of code - zero point.
template <class F>
HWY_INLINE __m256i ZeroPointStart(const int32_t* x_code_sums, const int32_t* x_low_code_sums,
                                  int half) {
  if constexpr (F::kZeroPoint == 0) return _mm256_setzero_si256();
  static_assert((F::kZeroPoint & (F::kZeroPoint - 1)) == 0);  // a shift
  constexpr int kShift = __builtin_ctz(static_cast<unsigned>(F::kZeroPoint));
  __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_code_sums));
  if constexpr (F::kSubScaled) {
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_low_code_sums));
    sums = half == 0 ? low : _mm256_sub_epi32(sums, low);
  }
  return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, kShift));
}

// totals[j] = group j's integer dot product with x (this token's interleaved chunk), of the codes
// minus the zero point, times the sub-scales for Q6_K. With VNNI one dpbusd multiplies and sums
// 4 codes of 8 groups twice; elsewhere maddubs multiplies bytes in pairs to int16 (no
// saturation: |c| <= 128 and |x| <= 127, or c <= 63) and madd sums pairs to int32. kPaired (two
// rows, AVX-512) stores both rows' totals as one 512-bit vector, which AddPairedChunks loads
// whole.
template <class F, int kRows, bool kPaired = false>
HWY_INLINE void GroupDots(const PreparedCodes* const (&codes)[kRows], const int8_t* x,
                          const int32_t* x_code_sums, const int32_t* x_low_code_sums,
                          int32_t (&totals)[kRows][8]) {
  static_assert(!kPaired || (HEARTH_MATVEC_PAIRED_ROWS && kRows == 2));
#if HWY_TARGET == HWY_AVX3_DL
  // Two dependency chains: vectors 0 and 2 in `first`, 1 and 3 in `second`; with sub-scales
  // codes 0-15 (vectors 0, 1) in `first` and 16-31 in `second`. Lane j and lane j + 8 both
  // belong to group j. (Named values, not arrays: GCC keeps an array of vectors that inline
  // assembly updates in memory.) One row reads x straight from memory; two load it once (L1
  // serves one 64-byte load per cycle, as many as dpbusd's rate, so x is what bounds a batch),
  // in assembly too: GCC otherwise loaded it again for the second row in most formats' batch
  // kernel (Q4_0's 1.35x slower in cache).
  const __m512i first_start =
      _mm512_zextsi256_si512(ZeroPointStart<F>(x_code_sums, x_low_code_sums, 0));
  const __m512i second_start =
      F::kSubScaled ? _mm512_zextsi256_si512(ZeroPointStart<F>(x_code_sums, x_low_code_sums, 1))
                    : _mm512_setzero_si512();
  const auto x_vector = [x](int c) {
    __m512i q;
    asm("vmovdqu64 %[x], %[q]"
        : [q] "=v"(q)
        : [x] "m"(*reinterpret_cast<const __m512i*>(x + 64 * c)));
    return q;
  };
  const __m512i q0 = x_vector(0), q1 = x_vector(1), q2 = x_vector(2), q3 = x_vector(3);
  static_assert(kCodeVectors == 4);
  // Row r's totals before the fold: group j's in lanes j and j + 8.
  const auto row_sums = [&](auto r) {
    const PreparedCodes& row = *codes[r];
    const auto add = [&](__m512i sum, int c) {
      // In assembly: Highway 1.0.3's AVX3_DL target attributes do not let GCC inline the VNNI
      // intrinsics. The codes are unsigned for every format here.
      if constexpr (kRows == 1) {
        asm("vpdpbusd %[q], %[c], %[sum]"
            : [sum] "+v"(sum)
            : [c] "v"(row.magnitudes[c]), [q] "m"(*reinterpret_cast<const __m512i*>(x + 64 * c)));
      } else {
        const __m512i q = c == 0 ? q0 : c == 1 ? q1 : c == 2 ? q2 : q3;
        asm("vpdpbusd %[q], %[c], %[sum]"
            : [sum] "+v"(sum)
            : [c] "v"(row.magnitudes[c]), [q] "v"(q));
      }
      return sum;
    };
    __m512i first = add(first_start, 0);
    __m512i second = add(second_start, F::kSubScaled ? 2 : 1);
    first = add(first, F::kSubScaled ? 1 : 2);
    second = add(second, 3);
    if constexpr (F::kSubScaled) {
      return _mm512_add_epi32(_mm512_mullo_epi32(first, row.sub_scales[0]),
                              _mm512_mullo_epi32(second, row.sub_scales[1]));
    } else {
      return _mm512_add_epi32(first, second);
    }
  };
  if constexpr (kPaired) {
    // Both rows folded at once: their low halves side by side plus their high halves.
    const __m512i sums0 = row_sums(0), sums1 = row_sums(1);
    _mm512_storeu_si512(totals, _mm512_add_epi32(_mm512_shuffle_i64x2(sums0, sums1, 0x44),
                                                 _mm512_shuffle_i64x2(sums0, sums1, 0xee)));
  } else {
    ForEachIndex<kRows>([&](auto r) {
      const __m512i sums = row_sums(r);
      _mm256_store_si256(
          reinterpret_cast<__m256i*>(totals[r]),
          _mm256_add_epi32(_mm512_castsi512_si256(sums), _mm512_extracti64x4_epi64(sums, 1)));
    });
  }
#else
  static_assert(!F::kSubScaled || F::kZeroPoint == 0);
  const auto row_totals = [&](auto r) {
    const PreparedCodes& row = *codes[r];
    // sum[k % 4]: four short dependency chains.
    __m256i sum[4] = {ZeroPointStart<F>(x_code_sums, x_low_code_sums, 0), _mm256_setzero_si256(),
                      _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int k = 0; k < 8; ++k) {
      __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * k));
      if constexpr (F::kSigned) q = _mm256_sign_epi8(q, row.signs[k]);
      const __m256i pair_scales = F::kSubScaled ? row.sub_scales[k / 4] : _mm256_set1_epi16(1);
      sum[k % 4] = _mm256_add_epi32(
          sum[k % 4], _mm256_madd_epi16(_mm256_maddubs_epi16(row.magnitudes[k], q), pair_scales));
    }
    return _mm256_add_epi32(_mm256_add_epi32(sum[0], sum[1]), _mm256_add_epi32(sum[2], sum[3]));
  };
#if HEARTH_MATVEC_PAIRED_ROWS
  if constexpr (kPaired) {  // one store, which AddPairedChunks' load of both rows reads whole
    _mm512_storeu_si512(
        totals, _mm512_inserti64x4(_mm512_castsi256_si512(row_totals(0)), row_totals(1), 1));
    return;
  }
#endif
  ForEachIndex<kRows>(
      [&](auto r) { _mm256_store_si256(reinterpret_cast<__m256i*>(totals[r]), row_totals(r)); });
#endif
}
#else
// Portable: the codes as Decode left them (group j's 32 at codes + 32 j), read through x's
// interleaving.
struct PreparedCodes {
  uint8_t codes[256];
  int8_t sub_scales[16];  // kSubScaled
  int64_t n_groups;
};

template <class F>
HWY_INLINE void PrepareCodes(const Chunk& chunk, int64_t n_groups, PreparedCodes& out) {
  for (int64_t j = 0; j < n_groups; ++j) {
    std::memcpy(out.codes + 32 * j, chunk.codes + j * chunk.code_stride, 32);
  }
  if constexpr (F::kSubScaled) std::memcpy(out.sub_scales, chunk.sub_scales, 16);
  out.n_groups = n_groups;
}

template <class F, int kRows, bool kPaired = false>
HWY_INLINE void GroupDots(const PreparedCodes* const (&codes)[kRows], const int8_t* x,
                          const int32_t* x_code_sums, const int32_t* /*x_low_code_sums*/,
                          int32_t (&totals)[kRows][8]) {
  static_assert(!kPaired);
  static_assert(!F::kSubScaled || F::kZeroPoint == 0);
  for (int r = 0; r < kRows; ++r) {
    const PreparedCodes& row = *codes[r];
    for (int64_t j = 0; j < 8; ++j) {
      int32_t total = -F::kZeroPoint * x_code_sums[j];
      for (int64_t e = 0; j < row.n_groups && e < 32; ++e) {
        const uint8_t byte = row.codes[32 * j + e];
        const int32_t c = F::kSigned ? static_cast<int8_t>(byte) : static_cast<int32_t>(byte);
        const int32_t product = c * x[32 * (e / 4) + 4 * j + e % 4];
        total += F::kSubScaled ? product * row.sub_scales[2 * j + e / 16] : product;
      }
      totals[r][j] = total;
    }
  }
}
#endif

#if HEARTH_MATVEC_X86
// Lane i: the maximum of v[i]'s 8 lanes (the pairing of SumRowsOf8, with max for the adds).
HWY_INLINE __m256 MaxOfEach8(const __m256 (&v)[8]) {
  const auto pair_max = [](__m256 a, __m256 b) {
    return _mm256_max_ps(_mm256_shuffle_ps(a, b, 0x88), _mm256_shuffle_ps(a, b, 0xdd));
  };
  const __m256 q0 = pair_max(pair_max(v[0], v[1]), pair_max(v[2], v[3]));
  const __m256 q1 = pair_max(pair_max(v[4], v[5]), pair_max(v[6], v[7]));
  return _mm256_max_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
}

// Lane i: the sum of v[i]'s 8 int32 lanes.
HWY_INLINE __m256i SumOfEach8(const __m256i (&v)[8]) {
  const __m256i q0 =
      _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i q1 =
      _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20),
                          _mm256_permute2x128_si256(q0, q1, 0x31));
}

// QuantizeActivationRow for 8 whole blocks, one interleaved chunk, with their scales and sums as
// vectors of 8: the same float operations per element, and each block's codes transposed into
// the chunk with vector stores (as PrepareCodes does the weights') rather than 4 bytes at a time.
HWY_INLINE void QuantizeActivationChunk(const float* x, int8_t* chunk, float* d, float* sums,
                                        int32_t* code_sums, int32_t* low_code_sums) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 max_abs[8];
  for (int b = 0; b < 8; ++b) {
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 32 * b));
    for (int i = 1; i < 4; ++i) {
      m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 32 * b + 8 * i)));
    }
    max_abs[b] = m;
  }
  const __m256 scale = _mm256_div_ps(MaxOfEach8(max_abs), _mm256_set1_ps(127.0f));
  const __m256 nonzero = _mm256_cmp_ps(scale, _mm256_setzero_ps(), _CMP_NEQ_UQ);
  const __m256 inverses = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), scale), nonzero);
  // round(v) half away from zero: trunc(v), plus trunc(2 (v - trunc(v))), which is the sign of v
  // when |v - trunc(v)| >= 0.5 and 0 otherwise (both steps exact).
  const auto code = [](__m256 v) {
    constexpr int kTrunc = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;
    const __m256 truncated = _mm256_round_ps(v, kTrunc);
    const __m256 rest = _mm256_sub_ps(v, truncated);
    return _mm256_cvttps_epi32(
        _mm256_add_ps(truncated, _mm256_round_ps(_mm256_add_ps(rest, rest), kTrunc)));
  };
  __m256i words[8], low[8], high[8];
  for (int b = 0; b < 8; ++b) {
    const __m256 inverse = _mm256_permutevar8x32_ps(inverses, _mm256_set1_epi32(b));
    __m256i c[4];
    for (int i = 0; i < 4; ++i)
      c[i] = code(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * b + 8 * i), inverse));
    low[b] = _mm256_add_epi32(c[0], c[1]);
    high[b] = _mm256_add_epi32(c[2], c[3]);
    // The block's 32 codes as bytes; 32-bit word p holds codes 4 k..4 k + 3 for k = kWordOf[p].
    words[b] = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
  }
  constexpr int kWordOf[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  // 8x8 transpose of 32-bit words (PrepareCodes): row p, lane b = block b's word p.
  __m256i u[8];
  TransposeWordQuads(words, u);
  for (int p = 0; p < 4; ++p) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(chunk + 32 * kWordOf[p]),
                        _mm256_permute2x128_si256(u[p], u[p + 4], 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(chunk + 32 * kWordOf[p + 4]),
                        _mm256_permute2x128_si256(u[p], u[p + 4], 0x31));
  }
  const __m256 rounded = _mm256_cvtph_ps(_mm256_cvtps_ph(scale, _MM_FROUND_TO_NEAREST_INT));
  const __m256i low_totals = SumOfEach8(low);
  const __m256i totals = _mm256_add_epi32(low_totals, SumOfEach8(high));
  _mm256_storeu_ps(d, rounded);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(low_code_sums), low_totals);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(code_sums), totals);
  _mm256_storeu_ps(sums, _mm256_mul_ps(rounded, _mm256_cvtepi32_ps(totals)));
}
#endif

// One token's row of x (n elements, a multiple of 32) to 8-bit blocks exactly as matvec.h's
// round_activations (the same float operations): d = max |x| / 127 per block, codes round(x / d)
// half away from zero into q in the interleaved layout (matvec_kernels.h), d kept as fp16,
// code_sums = the sum of the block's codes, low_code_sums that of its first 16, and
// sums = d * code_sums.
void QuantizeActivationRow(const float* x, int64_t n, int8_t* q, float* d, float* sums,
                           int32_t* code_sums, int32_t* low_code_sums) {
  const FloatTag df;
  const hn::RebindToSigned<FloatTag> di;
  const hn::Rebind<int8_t, FloatTag> d8;
  const size_t lanes = hn::Lanes(df);
  HWY_ALIGN int8_t codes[32];
  int64_t b = 0;
#if HEARTH_MATVEC_X86
  for (; b + 8 <= n / 32; b += 8) {
    QuantizeActivationChunk(x + 32 * b, q + b / 8 * internal::kInterleavedChunk, d + b, sums + b,
                            code_sums + b, low_code_sums + b);
  }
#endif
  for (; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    auto max_abs = hn::Zero(df);
    for (size_t i = 0; i < 32; i += lanes) {
      max_abs = hn::Max(max_abs, hn::Abs(hn::LoadU(df, xb + i)));
    }
    const float scale = hn::GetLane(hn::MaxOfLanes(df, max_abs)) / 127.0f;
    const auto inverse = hn::Set(df, scale != 0.0f ? 1.0f / scale : 0.0f);
    auto sum = hn::Zero(di);
    auto low_sum = hn::Zero(di);
    for (size_t i = 0; i < 32; i += lanes) {
      const auto v = hn::Mul(hn::LoadU(df, xb + i), inverse);
      // std::round's half away from zero (Round goes to even); v - Trunc(v) is exact.
      const auto truncated = hn::Trunc(v);
      const auto away = hn::Ge(hn::Abs(hn::Sub(v, truncated)), hn::Set(df, 0.5f));
      const auto code = hn::ConvertTo(
          di,
          hn::IfThenElse(away, hn::Add(truncated, hn::CopySign(hn::Set(df, 1.0f), v)), truncated));
      sum = hn::Add(sum, code);
      if (i < 16) low_sum = hn::Add(low_sum, code);
      hn::StoreU(hn::DemoteTo(d8, code), d8, codes + i);
    }
    d[b] = RoundedToHalf(scale);
    code_sums[b] = hn::GetLane(hn::SumOfLanes(di, sum));
    low_code_sums[b] = hn::GetLane(hn::SumOfLanes(di, low_sum));
    sums[b] = d[b] * static_cast<float>(code_sums[b]);
    int8_t* chunk = q + b / 8 * internal::kInterleavedChunk + b % 8 * 4;
    for (int k = 0; k < 8; ++k) std::memcpy(chunk + 32 * k, codes + 4 * k, 4);
  }
}

// A chunk decoded and laid out for GroupDots, with its scales: all that a token needs of it.
struct PreparedChunk {
  PreparedCodes codes;
  HWY_ALIGN float a[8];
  HWY_ALIGN float b[8];  // kMin
};

// The offset in a row of group g's block (g a multiple of 8 for the K-quants), and the bytes of a
// whole chunk of 8 groups.
template <class F>
HWY_INLINE int64_t GroupOffset(int64_t g) {
  return g * 32 / F::kBlockElements * F::kBlockBytes;
}
template <class F>
inline constexpr int64_t kChunkBytes = (8 * 32 / F::kBlockElements) * F::kBlockBytes;

// Groups [g0, g0 + 8) of `row` (n_groups in all), decoded through `buffer` (kQkK bytes).
template <GgmlType kType>
HWY_INLINE void PrepareChunk(const uint8_t* row, int64_t g0, int64_t n_groups, uint8_t* buffer,
                             PreparedChunk& out) {
  using F = QuantFormat<kType>;
  const int64_t count = std::min<int64_t>(8, n_groups - g0);
  Chunk chunk;
  Decode<kType>(row + GroupOffset<F>(g0), count, buffer, chunk);
  PrepareCodes<F>(chunk, count, out.codes);
  std::memcpy(out.a, chunk.a, sizeof(out.a));
  if constexpr (F::kMin) std::memcpy(out.b, chunk.b, sizeof(out.b));
}

// For each of kRows rows, token t's 8 float lanes sums[r] += the row's chunk at groups
// [g0, g0 + 8): each group's integer total times a * (x's scale), and for the formats with a
// minimum b * (x's block sum). The rows share x (GroupDots).
template <class F, int kRows>
HWY_INLINE void AddChunks(const PreparedChunk* const (&chunks)[kRows],
                          const internal::Int8Activations& x, int64_t t, int64_t g0,
                          hn::Vec<FloatTag>* const (&sums)[kRows]) {
  const GroupTag di;
  const FloatTag df;
  // x's scales and block sums have 8 zero entries past the last block.
  const int64_t block = t * x.scale_stride + g0;
  HWY_ALIGN int32_t totals[kRows][8];
  const PreparedCodes* codes[kRows];
  for (int r = 0; r < kRows; ++r) codes[r] = &chunks[r]->codes;
  GroupDots<F, kRows>(codes, x.q + t * x.q_stride + 32 * g0, x.code_sums + block,
                      x.low_code_sums + block, totals);
  ForEachIndex<kRows>([&](auto r) {
    const PreparedChunk& chunk = *chunks[r];
    for (size_t k = 0; k < 8; k += hn::Lanes(df)) {
      const auto scale = hn::Mul(hn::Load(df, chunk.a + k), hn::LoadU(df, x.d + block + k));
      *sums[r] = hn::MulAdd(hn::ConvertTo(df, hn::Load(di, totals[r] + k)), scale, *sums[r]);
      if constexpr (F::kMin) {
        *sums[r] =
            hn::MulAdd(hn::Load(df, chunk.b + k), hn::LoadU(df, x.sums + block + k), *sums[r]);
      }
    }
  });
}

// The 8 lanes of `sums` in one vector: lane 0 of the vectors that hold 8 floats each elsewhere.
HWY_INLINE void StoreLanes(hn::Vec<FloatTag> sums, float* out) {
  const FloatTag df;
  for (size_t k = 0; k < 8; k += hn::Lanes(df)) {
    hn::Store(k == 0 ? sums : hn::Zero(df), df, out + k);
  }
}

#if HEARTH_MATVEC_PAIRED_ROWS
// AddChunks for two rows whose 8 lanes each share one 512-bit vector (row 0 in lanes 0-7), given
// their a and b in that layout: their totals folded together (GroupDots), then one convert, one
// multiply and one multiply-add for both, each lane getting the same operations as in AddChunks.
template <class F>
HWY_INLINE void AddPairedTotals(const PreparedCodes* const (&codes)[2], __m512 a, __m512 b,
                                const internal::Int8Activations& x, int64_t t, int64_t g0,
                                __m512& sums) {
  const int64_t block = t * x.scale_stride + g0;
  HWY_ALIGN int32_t totals[2][8];
  GroupDots<F, 2, true>(codes, x.q + t * x.q_stride + 32 * g0, x.code_sums + block,
                        x.low_code_sums + block, totals);
  const auto for_both = [](const float* values) {
    return _mm512_broadcast_f32x8(_mm256_loadu_ps(values));
  };
  const __m512 scale = _mm512_mul_ps(a, for_both(x.d + block));
  sums = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(totals)), scale, sums);
  if constexpr (F::kMin) sums = _mm512_fmadd_ps(b, for_both(x.sums + block), sums);
}

// AddPairedTotals for a batch's tile of two prepared rows. Decode keeps AddChunks for most
// formats: in the one-token kernel the paired steps left GCC short of registers for Q4_0's
// permutation tables, which it then reloaded every chunk (Q4_0 in cache 0.84x as fast).
template <class F>
HWY_INLINE void AddPairedChunks(const PreparedChunk* const (&chunks)[2],
                                const internal::Int8Activations& x, int64_t t, int64_t g0,
                                __m512& sums) {
  const auto of_rows = [](const float* row0, const float* row1) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_load_ps(row0)), _mm256_load_ps(row1),
                              1);
  };
  AddPairedTotals<F>({&chunks[0]->codes, &chunks[1]->codes}, of_rows(chunks[0]->a, chunks[1]->a),
                     F::kMin ? of_rows(chunks[0]->b, chunks[1]->b) : _mm512_setzero_ps(), x, t, g0,
                     sums);
}
#endif

// The sums of 8 rows of 8 floats (8 rows' partial sums): sums[i] is the sum of row i. x86 adds them
// pairwise across vectors (3 rounds of horizontal adds and one add of halves for all 8), elsewhere
// each is reduced on its own. The order of the additions is fixed, so a row's sum does not depend
// on the other rows.
HWY_INLINE void SumRowsOf8(const float* rows, float* sums) {
#if HEARTH_MATVEC_X86
  __m256 v[8];
  for (int i = 0; i < 8; ++i) v[i] = _mm256_load_ps(rows + 8 * i);
  const __m256 h01 = _mm256_hadd_ps(v[0], v[1]);
  const __m256 h23 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 h45 = _mm256_hadd_ps(v[4], v[5]);
  const __m256 h67 = _mm256_hadd_ps(v[6], v[7]);
  // Lane i of q0 (i < 4): half (i >= 4) of row i % 4; q1 the same for rows 4-7.
  const __m256 q0 = _mm256_hadd_ps(h01, h23);
  const __m256 q1 = _mm256_hadd_ps(h45, h67);
  _mm256_storeu_ps(sums, _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20),
                                       _mm256_permute2f128_ps(q0, q1, 0x31)));
#else
  const FloatTag df;
  for (int i = 0; i < 8; ++i) {
    auto row = hn::Zero(df);
    for (size_t k = 0; k < 8; k += hn::Lanes(df))
      row = hn::Add(row, hn::Load(df, rows + 8 * i + k));
    sums[i] = hn::GetLane(hn::SumOfLanes(df, row));
  }
#endif
}

// y[0, n_rows) = the sums of the first n_rows of 8 rows of 8 floats (SumRowsOf8): straight into y
// when it takes all 8 (a copy through a buffer had 5-9% of a batch kernel's samples).
HWY_INLINE void StoreRowSums(const float* rows, int64_t n_rows, float* y) {
  if (n_rows >= 8) return SumRowsOf8(rows, y);
  HWY_ALIGN float y8[8];
  SumRowsOf8(rows, y8);
  std::memcpy(y, y8, static_cast<size_t>(n_rows) * sizeof(float));
}

// One row's 8 float lanes of one token's sums, aligned for vector loads and stores.
struct alignas(32) LaneSums {
  float lanes[8];
};

// Tokens per step of a pass over the prepared rows (kTileRows rows each), their sums held in
// registers.
constexpr int64_t kTokenGroup = 4;

// One token, kRows rows from `row` on (row_bytes apart): sums[k] += row k's every chunk, the
// rows' chunks taken side by side so that they share x's loads (AddChunks). Each row asks for
// the lines prefetch_distance bytes ahead of its reads.
template <GgmlType kType, int kRows>
HWY_INLINE void OneTokenRows(const uint8_t* row, int64_t row_bytes, int64_t prefetch_distance,
                             int64_t n_groups, const internal::Int8Activations& x,
                             hn::Vec<FloatTag>* sums) {
  using F = QuantFormat<kType>;
  HWY_ALIGN uint8_t buffer[internal::kQkK];
#if HEARTH_MATVEC_PAIRED_ROWS
  if constexpr (kRows == 2 && kType == GgmlType::kQ4_K) {
    // Q4_K: both rows' scales decoded at once (DecodeKScalesOfPair) and their sums in one vector.
    // Each chunk's scales are used once here, so their decoding weighs: 1.2x as fast in cache
    // and streamed. (Q5_K, 1.1x in cache, streamed at 0.9x this way.)
    __m512 paired = _mm512_insertf32x8(_mm512_castps256_ps512(sums[0].raw), sums[1].raw, 1);
    for (int64_t g0 = 0; g0 < n_groups; g0 += 8) {
      const uint8_t* blocks[2] = {row + GroupOffset<F>(g0), row + row_bytes + GroupOffset<F>(g0)};
      PreparedCodes codes[2];
      for (int k = 0; k < 2; ++k) {
        StreamPrefetch::ahead<kChunkBytes<F>>(blocks[k], prefetch_distance);
        Chunk chunk;
        Decode<kType>(blocks[k], 8, buffer, chunk);  // (its a and b unused: left to the compiler)
        PrepareCodes<F>(chunk, 8, codes[k]);
      }
      __m512 a, b;
      DecodeKScalesOfPair(blocks[0], blocks[1], a, b);
      AddPairedTotals<F>({&codes[0], &codes[1]}, a, b, x, 0, g0, paired);
    }
    sums[0] = hn::Vec<FloatTag>{_mm512_castps512_ps256(paired)};
    sums[1] = hn::Vec<FloatTag>{_mm512_extractf32x8_ps(paired, 1)};
    return;
  }
#endif
  for (int64_t g0 = 0; g0 < n_groups; g0 += 8) {
    PreparedChunk chunks[kRows];
    const PreparedChunk* chunk_of[kRows];
    hn::Vec<FloatTag>* sum_of[kRows];
    ForEachIndex<kRows>([&](auto k) {
      const uint8_t* row_k = row + k * row_bytes;
      StreamPrefetch::ahead<kChunkBytes<F>>(row_k + GroupOffset<F>(g0), prefetch_distance);
      PrepareChunk<kType>(row_k, g0, n_groups, buffer, chunks[k]);
      chunk_of[k] = &chunks[k];
      sum_of[k] = &sums[k];
    });
    AddChunks<F, kRows>(chunk_of, x, 0, g0, sum_of);
  }
}

// One token (decode, bound by memory): y[r] for rows [row_begin, row_end), kTileRows rows at a
// time, each chunk decoded, used once and dropped; each 8 rows' sums reduced across lanes
// together (SumRowsOf8). The rows of a tile are read side by side, so each prefetches the same
// row of a later tile: a distance of whole tiles, at least StreamPrefetch::kDistance. With a flat
// 4 KiB, a tile's second row was never prefetched once rows were longer than 4 KiB (prefetches
// from its first row trailed its reads), and only a few hundred bytes ahead for rows of 3-4 KiB:
// llama-3.2-1b's FFN down matrix (Q4_0 rows of 8192 columns) decoded 1.10-1.13x faster with
// whole tiles, and a token 1.04-1.16x (docs/PERFORMANCE.md).
template <GgmlType kType>
void QuantRowsOneToken(const uint8_t* weights, int64_t row_bytes, int64_t row_begin,
                       int64_t row_end, int64_t n_cols, const internal::Int8Activations& x,
                       float* y) {
  const FloatTag df;
  const int64_t n_groups = n_cols / 32;
  HWY_ALIGN float row_sums[8 * 8];
  const int64_t tile_bytes = std::max<int64_t>(kTileRows * row_bytes, 1);  // (0 columns: 0)
  const int64_t prefetch_distance =
      (StreamPrefetch::kDistance + tile_bytes - 1) / tile_bytes * tile_bytes;
  for (int64_t r0 = row_begin; r0 < row_end; r0 += 8) {
    const int64_t n_rows = std::min<int64_t>(8, row_end - r0);
    for (int64_t i = 0; i < 8; i += kTileRows) {
      hn::Vec<FloatTag> sums[kTileRows];
      for (auto& sum : sums) sum = hn::Zero(df);  // (rows past row_end add zeros)
      const uint8_t* row = weights + (r0 + i) * row_bytes;
      const int64_t tile_rows = std::min<int64_t>(kTileRows, n_rows - i);
      if (tile_rows == kTileRows) {
        OneTokenRows<kType, kTileRows>(row, row_bytes, prefetch_distance, n_groups, x, sums);
      } else if (tile_rows == 1) {
        OneTokenRows<kType, 1>(row, row_bytes, prefetch_distance, n_groups, x, sums);
      }
      for (int k = 0; k < kTileRows; ++k) StoreLanes(sums[k], row_sums + 8 * (i + k));
    }
    HWY_ALIGN float y8[8];
    SumRowsOf8(row_sums, y8);
    std::memcpy(y + r0, y8, static_cast<size_t>(n_rows) * sizeof(float));
  }
}

// Chunks per pass over the columns: the tokens' x for 2048 columns (8 KiB) stays in L1 while the
// pass goes down the rows.
constexpr int64_t kColumnChunks = 8;
// Prepared chunks per block of rows (384 bytes per 256 weights on AVX-512, 640 on AVX2), as many
// as stay in L2 beside the tokens' x: up to 64 rows of 2048 columns on AVX-512.
constexpr int64_t kPreparedBytes = 256 * 1024;

// n_tokens (kTokens, or at most kTokenGroup when kTokens is 0) tokens of x against n_rows
// prepared rows of n_chunks chunks each: y[t * y_stride + r]. The columns are taken kColumnChunks
// chunks at a time, down all the rows, so that the tokens' x stays in L1; each row's per-token
// sums wait in `partial` ([token][row rounded up to 8][8 lanes], rows past n_rows not kept) between
// passes, in the same order of operations as one pass, so a token's y does not depend on the
// other tokens or on how rows and columns are split.
template <GgmlType kType, int64_t kTokens>
void PreparedRowsTokens(const PreparedChunk* chunks, int64_t n_rows, int64_t n_chunks,
                        const internal::Int8Activations& x, int64_t n_tokens, LaneSums* partial,
                        float* y, int64_t y_stride) {
  using F = QuantFormat<kType>;
  constexpr int64_t kMaxTokens = kTokens != 0 ? kTokens : kTokenGroup;
  const int64_t tokens = kTokens != 0 ? kTokens : n_tokens;
  const int64_t padded_rows = (n_rows + 7) / 8 * 8;
  const auto partial_of = [&](int64_t t, int64_t r) { return partial[t * padded_rows + r].lanes; };
  for (int64_t c0 = 0; c0 < n_chunks; c0 += kColumnChunks) {
    const int64_t c_end = std::min(c0 + kColumnChunks, n_chunks);
    for (int64_t r = 0; r < n_rows; r += kTileRows) {
#if HEARTH_MATVEC_PAIRED_ROWS
      // Rows r and r1 = r + 1 in one vector per token, their slots side by side (row r again
      // when n_rows is odd: its sums land in padding).
      const int64_t r1 = std::min<int64_t>(r + 1, n_rows - 1);
      __m512 sums[kMaxTokens];
      ForEachIndex<kMaxTokens>([&](auto t) {
        if (t >= tokens) return;
        sums[t] = c0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(partial_of(t, r));
      });
      for (int64_t c = c0; c < c_end; ++c) {
        const PreparedChunk* tile[2] = {&chunks[r * n_chunks + c], &chunks[r1 * n_chunks + c]};
        ForEachIndex<kMaxTokens>([&](auto t) {
          if (t >= tokens) return;
          AddPairedChunks<F>(tile, x, t, 8 * c, sums[t]);
        });
      }
      ForEachIndex<kMaxTokens>([&](auto t) {
        if (t >= tokens) return;
        _mm512_storeu_ps(partial_of(t, r), sums[t]);
      });
#else
      const FloatTag df;
      hn::Vec<FloatTag> sums[kMaxTokens];
      ForEachIndex<kMaxTokens>([&](auto t) {
        if (t >= tokens) return;
        sums[t] = c0 == 0 ? hn::Zero(df) : hn::Load(df, partial_of(t, r));
      });
      for (int64_t c = c0; c < c_end; ++c) {
        const PreparedChunk* row_chunk = &chunks[r * n_chunks + c];
        ForEachIndex<kMaxTokens>([&](auto t) {
          if (t >= tokens) return;
          AddChunks<F, 1>({row_chunk}, x, t, 8 * c, {&sums[t]});
        });
      }
      ForEachIndex<kMaxTokens>([&](auto t) {
        if (t >= tokens) return;
        StoreLanes(sums[t], partial_of(t, r));
      });
#endif
    }
  }
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r0 = 0; r0 < n_rows; r0 += 8) {
      StoreRowSums(partial_of(t, r0), n_rows - r0, y + t * y_stride + r0);
    }
  }
}

// y[t * y_stride + r] for rows [row_begin, row_end) and every token t < n_tokens of x. One token
// goes straight through (QuantRowsOneToken). A batch takes a block of rows at a time: their
// chunks are decoded once (PrepareChunk) into this thread's scratch, then every group of
// kTokenGroup tokens runs over them, so decoding is paid once per batch rather than once per
// group of tokens. Each token gets the same operations in the same order whatever the batch.
template <GgmlType kType>
void QuantRowsAllTokens(const uint8_t* weights, int64_t row_bytes, int64_t row_begin,
                        int64_t row_end, int64_t n_cols, const internal::Int8Activations& x,
                        int64_t n_tokens, float* y, int64_t y_stride) {
  if (n_tokens == 1) {
    return QuantRowsOneToken<kType>(weights, row_bytes, row_begin, row_end, n_cols, x, y);
  }
  const int64_t n_groups = n_cols / 32;
  const int64_t n_chunks = (n_groups + 7) / 8;
  const int64_t block_rows = std::max<int64_t>(
      8, kPreparedBytes / (n_chunks * static_cast<int64_t>(sizeof(PreparedChunk))) / 8 * 8);
  thread_local std::vector<PreparedChunk> prepared;
  thread_local std::vector<LaneSums> partial;
  prepared.resize(static_cast<size_t>(block_rows * n_chunks));
  HWY_ALIGN uint8_t buffer[internal::kQkK];
  StreamPrefetch prefetch(weights + row_begin * row_bytes);
  for (int64_t r0 = row_begin; r0 < row_end; r0 += block_rows) {
    const int64_t n_rows = std::min(block_rows, row_end - r0);
    for (int64_t r = 0; r < n_rows; ++r) {
      prefetch.reached(weights + (r0 + r + 1) * row_bytes);
      for (int64_t c = 0; c < n_chunks; ++c) {
        PrepareChunk<kType>(weights + (r0 + r) * row_bytes, 8 * c, n_groups, buffer,
                            prepared[static_cast<size_t>(r * n_chunks + c)]);
      }
    }
    const int64_t padded_rows = (n_rows + 7) / 8 * 8;
    partial.assign(static_cast<size_t>(kTokenGroup * padded_rows), LaneSums{});
    int64_t t = 0;
    for (; t + kTokenGroup <= n_tokens; t += kTokenGroup) {
      PreparedRowsTokens<kType, kTokenGroup>(prepared.data(), n_rows, n_chunks, x.token(t),
                                             kTokenGroup, partial.data(), y + t * y_stride + r0,
                                             y_stride);
    }
    if (t < n_tokens) {
      PreparedRowsTokens<kType, 0>(prepared.data(), n_rows, n_chunks, x.token(t), n_tokens - t,
                                   partial.data(), y + t * y_stride + r0, y_stride);
    }
  }
}

#undef HEARTH_MATVEC_X86
#undef HEARTH_MATVEC_PAIRED_ROWS

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_MATVEC_QUANT_INL_H_
