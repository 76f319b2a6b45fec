// AMX int8 tiles for a prompt-sized batch of block-format matvec (QuantRowsAmx), on the AVX3_DL
// target where the CPU has AMX: each call's rows decoded once (matvec_quant-inl.h's Decode) and
// transposed into B tiles, each group's integer totals for 32 tokens by 32 rows (16 for Q6_K)
// in four tile products, then scaled with the same float operations as the other kernels, so y
// is bit-identical to theirs. QuantRowsBatch picks it or QuantRowsAllTokens.
// Included by matvec_quant.cpp once per target.
#if defined(HEARTH_TENSOR_MATVEC_AMX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef HEARTH_TENSOR_MATVEC_AMX_INL_H_
#undef HEARTH_TENSOR_MATVEC_AMX_INL_H_
#else
#define HEARTH_TENSOR_MATVEC_AMX_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "hearth/tensor/matvec_kernels.h"
#include "hearth/tensor/matvec_quant-inl.h"
#include "hearth/tensor/stream.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hearth::tensor::HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3_DL
// The AMX kernel's step: 32 tokens by one group of a block of rows, as four tile products. Tiles
// 0-1 hold the two 16 tokens' 32 codes of x (A: 16 rows of 32 bytes), tiles 2-3 the block's pair
// of B tiles (8 rows of 64 bytes, lane n of row k holding weight row n's codes 4k..4k+3), tiles
// 4-7 the four 16 x 16 products (C: int32, token by weight row). A block is 32 rows, 16 in each
// B tile, except where a group's halves have sub-scales of their own (Q6_K, kSplitWeights): its
// block is 16 rows whose weights w (sub-scale times code, |w| <= 4096) are split as 128 hi + lo,
// lo (0..127) in the first B tile and hi (-32..32) in the second; each group's integer total, as
// the other kernels' sub-scale times each half's total, is then exactly 128 times the second
// product plus the first.
template <GgmlType kType>
inline constexpr bool kSplitWeights = QuantFormat<kType>::kSubScaled;
template <GgmlType kType>
inline constexpr int64_t kAmxBlockRows = kSplitWeights<kType> ? 16 : 32;
// Groups whose steps run before their totals are scaled: their totals (16 KiB) and the lanes
// (32 KiB) stay in L1. 2 ran as fast, 8 at 0.65x (2048 x 2048 Q4_0, 512 tokens, one thread).
constexpr int64_t kAmxGroupsAtOnce = 4;
static_assert(8 % kAmxGroupsAtOnce == 0);  // a lane's groups come a whole step apart
struct alignas(64) AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {32, 32, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 8, 8, 16, 16, 16, 16};
};

// One group's step: c[token block][row block] (each 16 x 16 int32, 64 bytes a row) = the tokens'
// codes (a: 32 rows a_stride apart) times the rows' (b: two B tiles of 512 bytes), every code
// taken as signed (tdpbssd): x's, and the weights' less their zero point.
HWY_INLINE void AmxGroupStep(const int8_t* a, int64_t a_stride, const int8_t* b, int32_t* c) {
  constexpr int64_t kStride = 64;
  asm volatile(
      "tileloadd (%[a],%[a_stride],1), %%tmm0\n\t"
      "tileloadd (%[a1],%[a_stride],1), %%tmm1\n\t"
      "tileloadd (%[b],%[stride],1), %%tmm2\n\t"
      "tileloadd 512(%[b],%[stride],1), %%tmm3\n\t"
      "tilezero %%tmm4\n\t"
      "tilezero %%tmm5\n\t"
      "tilezero %%tmm6\n\t"
      "tilezero %%tmm7\n\t"
      "tdpbssd %%tmm2, %%tmm0, %%tmm4\n\t"
      "tdpbssd %%tmm3, %%tmm0, %%tmm5\n\t"
      "tdpbssd %%tmm2, %%tmm1, %%tmm6\n\t"
      "tdpbssd %%tmm3, %%tmm1, %%tmm7\n\t"
      "tilestored %%tmm4, (%[c],%[stride],1)\n\t"
      "tilestored %%tmm5, 1024(%[c],%[stride],1)\n\t"
      "tilestored %%tmm6, 2048(%[c],%[stride],1)\n\t"
      "tilestored %%tmm7, 3072(%[c],%[stride],1)"
      :
      : [a] "r"(a), [a1] "r"(a + 16 * a_stride), [a_stride] "r"(a_stride), [b] "r"(b), [c] "r"(c),
        [stride] "r"(kStride)
      : "memory");
}

// One group's B tile for 16 rows: tile row k (64 bytes) holds codes 4k..4k+3 of row n in lane
// n; row n's 32 codes at codes[n] (null: zero). Rows n and n + 8 share a vector, and an 8 x 8
// transpose of 32-bit words in each half (as PrepareCodes') gives the tile.
HWY_INLINE void BTileRows(const uint8_t* const (&codes)[16], __m512i (&tile_rows)[8]) {
  const auto load = [](const uint8_t* p) {
    return p != nullptr ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
                        : _mm256_setzero_si256();
  };
  __m512i r[8];
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_inserti64x4(_mm512_castsi256_si512(load(codes[i])), load(codes[i + 8]), 1);
  }
  __m512i u[8];
  TransposeWordQuads(r, u);
  // Tile row k < 4: the low 128 bits of each half of u[k] and u[k + 4]; row k + 4 their high.
  for (int k = 0; k < 4; ++k) {
    tile_rows[k] =
        _mm512_permutex2var_epi64(u[k], _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), u[k + 4]);
    tile_rows[k + 4] =
        _mm512_permutex2var_epi64(u[k], _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15), u[k + 4]);
  }
}

// One group's B tile for 16 rows (BTileRows' codes), less the zero point.
HWY_INLINE void StoreBTile(const uint8_t* const (&codes)[16], int8_t zero_point, int8_t* tile) {
  __m512i tile_rows[8];
  BTileRows(codes, tile_rows);
  for (int k = 0; k < 8; ++k) {
    _mm512_store_si512(tile + 64 * k, _mm512_sub_epi8(tile_rows[k], _mm512_set1_epi8(zero_point)));
  }
}

// One group's pair of B tiles for 16 rows of a kSplitWeights format: row n's codes (q - 32) at
// codes[n] (BTileRows), its halves' sub-scales in sub_scales[0][n] and [1][n]; each weight, code
// times sub-scale, split into lo (the first tile) and hi (the second).
HWY_INLINE void StoreSplitBTiles(const uint8_t* const (&codes)[16],
                                 const int8_t (&sub_scales)[2][16], int8_t* tiles) {
  __m512i tile_rows[8];
  BTileRows(codes, tile_rows);
  // Tile row k's bytes are all of half k / 4, and byte 4n + i takes row n's sub-scale: byte p of
  // the 16 sub-scales broadcast to each 128-bit lane picks row p / 4. As int16, in two parts.
  const __m512i pick =
      _mm512_setr_epi32(0x00000000, 0x01010101, 0x02020202, 0x03030303, 0x04040404, 0x05050505,
                        0x06060606, 0x07070707, 0x08080808, 0x09090909, 0x0a0a0a0a, 0x0b0b0b0b,
                        0x0c0c0c0c, 0x0d0d0d0d, 0x0e0e0e0e, 0x0f0f0f0f);
  __m512i scales[2][2];
  for (int half = 0; half < 2; ++half) {
    const __m512i bytes = _mm512_shuffle_epi8(
        _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sub_scales[half]))),
        pick);
    scales[half][0] = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(bytes));
    scales[half][1] = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(bytes, 1));
  }
  for (int k = 0; k < 8; ++k) {
    __m256i lo[2], hi[2];
    for (int part = 0; part < 2; ++part) {
      const __m256i codes_part = part == 0 ? _mm512_castsi512_si256(tile_rows[k])
                                           : _mm512_extracti64x4_epi64(tile_rows[k], 1);
      const __m512i weights =
          _mm512_mullo_epi16(_mm512_cvtepi8_epi16(codes_part), scales[k / 4][part]);
      lo[part] = _mm512_cvtepi16_epi8(_mm512_and_si512(weights, _mm512_set1_epi16(127)));
      hi[part] = _mm512_cvtepi16_epi8(_mm512_srai_epi16(weights, 7));
    }
    _mm512_store_si512(tiles + 64 * k, _mm512_inserti64x4(_mm512_castsi256_si512(lo[0]), lo[1], 1));
    _mm512_store_si512(tiles + 512 + 64 * k,
                       _mm512_inserti64x4(_mm512_castsi256_si512(hi[0]), hi[1], 1));
  }
}

// A batch with AMX tiles (x.plain, which matvec.cpp gives only where this CPU and OS have AMX):
// y for rows [row_begin, row_end) and every token. The rows' codes go once into B tiles (a pair
// per group for each block of rows) with their scales side by side; then for each 32 tokens
// (their x read from memory once) and each block, every group's integer totals are one step, and
// the totals are scaled into 8 lanes of float sums per token and row exactly as AddChunks does
// (lane j takes groups j, j + 8, ...: the integer total of the codes less the zero point,
// converted, times a * x's d, plus b * x's sum where the format has a minimum) and the lanes summed
// as SumRowsOf8 sums them: y bit-identical to the other kernels'.
template <GgmlType kType>
void QuantRowsAmx(const uint8_t* weights, int64_t row_bytes, int64_t row_begin, int64_t row_end,
                  int64_t n_cols, const internal::Int8Activations& x, int64_t n_tokens, float* y,
                  int64_t y_stride) {
  using F = QuantFormat<kType>;
  constexpr bool kSplit = kSplitWeights<kType>;
  constexpr int64_t kBlockRows = kAmxBlockRows<kType>;
  constexpr int64_t kSixteens = kBlockRows / 16;  // 16 rows to a B tile
  // Codes as decoded: stored signed (Q8_0, Q8_K), or unsigned, at most 63, less the zero point.
  // (Q6_K's, decoded as q - 32, go through StoreSplitBTiles instead.)
  constexpr int8_t kZeroPoint = F::kStoredSigned ? 0 : static_cast<int8_t>(F::kZeroPoint);
  const int64_t n_groups = n_cols / 32;
  const int64_t padded_groups = (n_groups + 7) / 8 * 8;  // whole chunks, as x's plain codes
  const int64_t n_blocks = (row_end - row_begin + kBlockRows - 1) / kBlockRows;
  // Per block of rows: codes [group][B tile pair][8 tile rows][16 rows x 4], scales [group][a of
  // 32 rows, b of 32 rows]; the totals of one step [group][token half][B tile][16 x 16]. The
  // buffers only grow: calls with fewer rows between larger ones would have them zeroed anew.
  thread_local std::vector<int8_t> codes;
  thread_local std::vector<float> scales;
  thread_local std::vector<int32_t> totals;
  const auto grow = [](auto& buffer, int64_t size) {
    buffer.resize(std::max(buffer.size(), static_cast<size_t>(size)));
  };
  grow(codes, n_blocks * padded_groups * 1024 + 64);
  grow(scales, n_blocks * padded_groups * 64 + 16);
  grow(totals, kAmxGroupsAtOnce * 1024 + 16);
  // (The vectors' data aligned to 64 bytes for the tile loads and stores.)
  const auto aligned = [](auto* p) {
    return reinterpret_cast<decltype(p)>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63});
  };
  int8_t* const b_tiles = aligned(codes.data());
  float* const all_scales = aligned(scales.data());
  int32_t* const c_tiles = aligned(totals.data());
  // Each 16 rows' chunks decoded side by side, then each group's codes transposed into its B
  // tile (or pair); rows past row_end and groups past the last have zero codes and scales.
  HWY_ALIGN uint8_t buffers[16][internal::kQkK];
  StreamPrefetch prefetch(weights + row_begin * row_bytes);
  for (int64_t sixteen = 0; sixteen < kSixteens * n_blocks; ++sixteen) {
    const int64_t r0 = row_begin + 16 * sixteen;
    const int64_t n_rows = std::clamp<int64_t>(row_end - r0, 0, 16);
    const int64_t block = sixteen / kSixteens;
    const int64_t tile = sixteen % kSixteens;
    int8_t* sixteen_codes = b_tiles + block * padded_groups * 1024 + tile * 512;
    float* sixteen_scales = all_scales + block * padded_groups * 64 + tile * 16;
    for (int64_t g0 = 0; g0 < padded_groups; g0 += 8) {
      const int64_t count = std::clamp<int64_t>(n_groups - g0, 0, 8);
      Chunk chunks[16];
      for (int64_t n = 0; n < n_rows && count > 0; ++n) {
        const uint8_t* row = weights + (r0 + n) * row_bytes;
        if (g0 == 0) prefetch.reached(row + row_bytes);
        Decode<kType, true>(row + GroupOffset<F>(g0), count, buffers[n], chunks[n]);
      }
      for (int64_t j = 0; j < 8; ++j) {
        const int64_t g = g0 + j;
        const uint8_t* group_codes[16];
        int8_t sub_scales[2][16];
        for (int64_t n = 0; n < 16; ++n) {
          const bool present = n < n_rows && j < count;
          group_codes[n] = present ? chunks[n].codes + j * chunks[n].code_stride : nullptr;
          sixteen_scales[g * 64 + n] = present ? chunks[n].a[j] : 0.0f;
          if constexpr (F::kMin) sixteen_scales[g * 64 + 32 + n] = present ? chunks[n].b[j] : 0.0f;
          for (int half = 0; half < 2 && kSplit; ++half) {
            sub_scales[half][n] = present ? chunks[n].sub_scales[2 * j + half] : int8_t{0};
          }
        }
        if constexpr (kSplit) {
          StoreSplitBTiles(group_codes, sub_scales, sixteen_codes + g * 1024);
        } else {
          StoreBTile(group_codes, kZeroPoint, sixteen_codes + g * 1024);
        }
      }
    }
  }
  HWY_ALIGN __m512 lanes[2 * internal::kAmxTokens * 8];
  static const AmxTileConfig config;
  asm volatile("ldtilecfg %0" ::"m"(config));
  for (int64_t t0 = 0; t0 < n_tokens; t0 += internal::kAmxTokens) {
    const int8_t* a = x.plain + t0 * x.plain_stride;
    const int64_t n_here = std::min(internal::kAmxTokens, n_tokens - t0);
    for (int64_t block = 0; block < n_blocks; ++block) {
      const int64_t r0 = row_begin + block * kBlockRows;
      const int64_t n_rows = std::min(kBlockRows, row_end - r0);
      const int8_t* block_codes = b_tiles + block * padded_groups * 1024;
      const float* block_scales = all_scales + block * padded_groups * 64;
      // kAmxGroupsAtOnce groups' steps at a time, then their totals scaled: lane j of pass p
      // (token p / kSixteens, its 16 rows p % kSixteens) in lanes[8 p + j]. (Scaling one step's
      // totals while the next step ran, interleaved, was slower: 0.84x.) The lanes start at zero as
      // their first groups are added (zeroing all 32 KiB of them first, in memset, took 2% of a
      // Llama prefill).
      for (int64_t g0 = 0; g0 < padded_groups; g0 += kAmxGroupsAtOnce) {
        const bool first = g0 < 8;
        for (int64_t i = 0; i < kAmxGroupsAtOnce; ++i) {
          AmxGroupStep(a + 32 * (g0 + i), x.plain_stride, block_codes + (g0 + i) * 1024,
                       c_tiles + i * 1024);
        }
        // Token by token, both B tiles' rows beside each other (sharing x's d and sum), the
        // pointers stepped rather than recomputed for each pass: Q4_K 1.10-1.14x as fast, Q4_0
        // 1.02-1.05x (scalar address arithmetic had been half the loop's instructions).
        const float* x_d = x.d + t0 * x.scale_stride + g0;
        const float* x_sums = x.sums + t0 * x.scale_stride + g0;
        const float* row_a = block_scales + g0 * 64;
        for (int64_t m = 0; m < n_here; ++m) {
          const int32_t* c = c_tiles + m / 16 * 512 + m % 16 * 16;
          __m512* token_lanes = lanes + 8 * kSixteens * m + g0 % 8;
#pragma GCC unroll 4
          for (int64_t i = 0; i < kAmxGroupsAtOnce; ++i) {
            const __m512 d = _mm512_set1_ps(x_d[i]);
            for (int64_t tile = 0; tile < kSixteens; ++tile) {
              const int32_t* tile_c = c + i * 1024 + tile * 256;
              __m512& lane = token_lanes[8 * tile + i];
              const __m512 scale = _mm512_mul_ps(_mm512_load_ps(row_a + i * 64 + 16 * tile), d);
              __m512i total = _mm512_load_si512(tile_c);
              if constexpr (kSplit) {
                total =
                    _mm512_add_epi32(total, _mm512_slli_epi32(_mm512_load_si512(tile_c + 256), 7));
              }
              lane = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), scale,
                                     first ? _mm512_setzero_ps() : lane);
              if constexpr (F::kMin) {
                lane = _mm512_fmadd_ps(_mm512_load_ps(row_a + i * 64 + 32 + 16 * tile),
                                       _mm512_set1_ps(x_sums[i]), lane);
              }
            }
          }
          x_d += x.scale_stride;
          x_sums += x.scale_stride;
        }
      }
      for (int64_t pass = 0; pass < kSixteens * n_here; ++pass) {
        const int64_t tile = pass % kSixteens;
        if (16 * tile >= n_rows) continue;
        const __m512* l = lanes + 8 * pass;
        const __m512 sums =
            _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(l[0], l[1]), _mm512_add_ps(l[2], l[3])),
                          _mm512_add_ps(_mm512_add_ps(l[4], l[5]), _mm512_add_ps(l[6], l[7])));
        const int64_t rows_here = std::min<int64_t>(16, n_rows - 16 * tile);
        _mm512_mask_storeu_ps(y + (t0 + pass / kSixteens) * y_stride + r0 + 16 * tile,
                              static_cast<__mmask16>((1u << rows_here) - 1), sums);
      }
    }
  }
  asm volatile("tilerelease" ::: "memory");
}
#endif

// y[t * y_stride + r] for rows [row_begin, row_end) and every token t < n_tokens of x: AMX tiles
// where x has their plain copy (matvec.cpp makes it for a batch of at least kAmxMinTokens where
// amx_available()), else QuantRowsAllTokens.
template <GgmlType kType>
void QuantRowsBatch(const uint8_t* weights, int64_t row_bytes, int64_t row_begin, int64_t row_end,
                    int64_t n_cols, const internal::Int8Activations& x, int64_t n_tokens, float* y,
                    int64_t y_stride) {
#if HWY_TARGET == HWY_AVX3_DL
  if (x.plain != nullptr) {
    return QuantRowsAmx<kType>(weights, row_bytes, row_begin, row_end, n_cols, x, n_tokens, y,
                               y_stride);
  }
#endif
  QuantRowsAllTokens<kType>(weights, row_bytes, row_begin, row_end, n_cols, x, n_tokens, y,
                            y_stride);
}

}  // namespace hearth::tensor::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HEARTH_TENSOR_MATVEC_AMX_INL_H_
