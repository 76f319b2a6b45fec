// What the K-quant formats (Q4_K, Q5_K, Q6_K) share: the rounding ggml uses, the two searches
// that pick a sub-block's scale (and min) the way ggml's reference quantizers do, and the 12-byte
// packing of Q4_K/Q5_K's eight 6-bit scales and mins. Internal to the tensor module.
#pragma once

#include <cmath>
#include <cstdint>

namespace hearth::tensor::internal {

// Round to nearest, ties to even (ggml's nearest_int, a float add of 1.5 * 2^23).
inline int round_to_int(float value) {
  return static_cast<int>(std::nearbyint(value));
}

// Fits x[i] ~ scale * L[i] - min with codes L in [0, n_max] and min >= 0 (the affine fit of
// ggml's make_qkx2_quants): starts from the [min(x, 0), max(x)] grid, then tries n_steps grids of
// (n_max + r_min + r_delta * step) levels over that range, solving weighted least squares for
// scale and min on each code assignment and keeping the one with the least weighted squared
// error (n_steps < 1: the first grid alone). Writes L (n values) and *min; returns the scale
// (0 for a constant block).
float fit_scale_and_min(int n, int n_max, const float* x, const float* weights, uint8_t* codes,
                        float* min, float r_min, float r_delta, int n_steps);

// Fits x[i] ~ scale * (L[i] - n_max) with L in [0, 2 n_max - 1] (ggml's make_qx_quants with
// weights x^2, as Q6_K uses): tries 19 scales around -n_max / m (m the element of largest
// magnitude with its sign), each with its least-squares scale, keeping the best. Returns the
// scale (0 when max |x| < 1e-15).
float fit_symmetric_scale(int n, int n_max, const float* x, uint8_t* codes);

// Q4_K/Q5_K: the 6-bit scale and min of sub-block j (0..7) in the 12 packed bytes.
inline void unpack_k_scale(int j, const uint8_t* packed, int* scale, int* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
    *min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}

// Q4_K/Q5_K: packs eight 6-bit scales and mins: bytes 0..3 hold scales 0..3 (and the top bits of
// scales 4..7), bytes 4..7 mins 0..3 (and the top bits of mins 4..7), bytes 8..11 the low
// nibbles of scales and mins 4..7.
void pack_k_scales(const uint8_t* scales, const uint8_t* mins, uint8_t* packed);

// Q4_K/Q5_K's quantizer up to the codes: fits each of the 8 sub-blocks of 32 (fit_scale_and_min
// with weights av + |x|, av the sub-block's RMS), quantizes their scales and mins to 6 bits
// under fp16 super-scales, writes d, dmin and the packed scales to `header` (16 bytes), and
// re-derives the 256 codes (0..n_max) from the stored scales.
void quantize_k_superblock(const float* x, int n_max, float r_min, float r_delta, int n_steps,
                           uint8_t* header, uint8_t* codes);

}  // namespace hearth::tensor::internal
