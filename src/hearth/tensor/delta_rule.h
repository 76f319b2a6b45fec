// One token of the gated delta rule, the recurrence of Gated DeltaNet linear attention (llama.cpp's
// ggml_gated_delta_net): the decay, rank-1 write and read-out of one head's state matrix, fused
// into one pass over the state. A Highway-dispatched kernel and a scalar reference (namespace
// `reference`) that the tests compare on every compiled target. Runs on the calling thread; the
// caller parallelises over heads. Not here: the projections, convolution and norms around it
// (model/delta_net).
#pragma once

#include <cstdint>

namespace hearth::tensor {

// In place on the state S, n_rows x n_cols floats row-major (row j: value dim j; column i: key
// dim i), with k and q of n_cols floats and v, o of n_rows:
//   S *= decay;  S_j += (v_j - S_j . k) * beta * k;  o_j = (S_j . q) * o_scale
// where S_j . k reads the decayed row and S_j . q the updated one (the delta rule writes before
// it reads). Each row is decayed, dotted with k, updated and dotted with q while it sits in L1,
// so the state streams through the cache once per token instead of four times. The dot products
// sum in float32 (several accumulators, in vector order).
void delta_rule_step(float* state, int64_t n_rows, int64_t n_cols, const float* k, const float* v,
                     const float* q, float decay, float beta, float o_scale, float* o);

namespace reference {
// The same in plain loops, the dot products summed in float64.
void delta_rule_step(float* state, int64_t n_rows, int64_t n_cols, const float* k, const float* v,
                     const float* q, float decay, float beta, float o_scale, float* o);
}  // namespace reference

}  // namespace hearth::tensor
