// The building blocks every architecture's forward pass is made of, over a whole batch of
// n_tokens: embedding lookup, RMS norm, linear layers, self-attention with RoPE over the KV
// cache, gated feed-forward, and the output head. An architecture file (arch/<arch>.cpp) reads
// top to bottom as calls to these. Owns the per-call scratch space; knows no architecture.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "hearth/base/thread_pool.h"
#include "hearth/model/config.h"
#include "hearth/model/model.h"
#include "hearth/model/weights.h"
#include "hearth/tensor/ops.h"

namespace hearth::model {

// Shapes are the layer's (config.layer_attention).
struct AttentionWeights {
  Matrix q;             // [d_model] -> [n_heads * head_dim]
  Matrix k;             // [d_model] -> [n_kv_heads * head_dim]; empty in a layer that reads
                        // another layer's cache (LayerAttention::kv_layer, Gemma 4)
  Matrix v;             // [d_model] -> [n_kv_heads * head_dim_v]; empty: values are the key
                        // projection before its norm and RoPE (Gemma 4's attention_k_eq_v)
  Matrix output;        // [n_heads * head_dim_v] -> [d_model]
  Vector q_norm;        // [head_dim] RMS norm weight of each query head, or empty
  Vector k_norm;        // [head_dim] the same for keys
  bool v_norm = false;  // RMS-normalise each value head, without a weight (Gemma 4)
  // q projects to [n_heads][2][head_dim]: each head's query, then its gate; the attention
  // output is multiplied by sigmoid(gate) before the output projection (Qwen3.5's gated
  // attention, llama.cpp's qwen35).
  bool output_gate = false;
};

enum class Activation { kSilu, kGeluTanh };

struct FfnWeights {
  Matrix gate;  // [d_model] -> [d_ff]
  Matrix up;    // [d_model] -> [d_ff]
  Matrix down;  // [d_ff] -> [d_model]
};

// A mixture of experts in place of the feed-forward block (llama.cpp's build_moe_ffn): a router
// scores every expert per token, the top n_experts_used run as gated feed-forwards, and their
// outputs are summed with the router's weights.
struct MoeWeights {
  Matrix router;        // [d_model] -> [n_experts] (ffn_gate_inp); empty when the
                        // architecture computes its own router logits
  ExpertMatrices gate;  // n_experts x ([d_model] -> [d_ff_exp])
  ExpertMatrices up;    // n_experts x ([d_model] -> [d_ff_exp])
  ExpertMatrices down;  // n_experts x ([d_ff_exp] -> [d_model])
  Vector down_scale;    // [n_experts] factor on each expert's output (ffn_down_exps.scale,
                        // Gemma 4's per_expert_scale), or empty
};

// How the router's logits become expert weights: probabilities = softmax over all experts; the
// n_experts_used most probable experts are selected; their probabilities are renormalised to
// sum 1 when `normalize` (llama.cpp clamps the sum at 2^-14), then multiplied by `scale`.
struct MoeRouting {
  int64_t n_experts_used = 0;
  bool normalize = true;
  float scale = 1.0f;
  Activation activation = Activation::kSilu;
};

// Binds the attention / feed-forward weights of layer `layer` under llama.cpp's names
// (blk.N.attn_q.weight, ...); q/k norms only when `qk_norm`; a q projection twice as wide
// when `output_gate`.
Result<AttentionWeights> bind_attention(const WeightBinder& binder, const ModelConfig& config,
                                        int64_t layer, bool qk_norm, bool output_gate = false);
Result<FfnWeights> bind_ffn(const WeightBinder& binder, const ModelConfig& config, int64_t layer);
// blk.N.ffn_gate_inp (the router, any type) and blk.N.ffn_{gate,up,down}_exps with
// config.n_experts experts of width config.d_ff_exp; gate and up may be one tensor
// (ffn_gate_up_exps: each expert's gate rows, then its up rows), and ffn_down_exps.scale is
// bound when present (as llama.cpp's loader does for every architecture).
Result<MoeWeights> bind_moe(const WeightBinder& binder, const ModelConfig& config, int64_t layer);

// One forward call. Positions come from each token's sequence; activations are row-major
// [n_tokens][width] float32 buffers owned here and reused across calls.
class ForwardPass {
 public:
  ForwardPass(const ModelConfig& config, const TensorHook* hook, const MoeRouteHook* route_hook)
      : config_(config), hook_(hook), route_hook_(route_hook) {}

  // Prepares for `batch` (checks room and token ids). Positions: each sequence's size, then
  // consecutive within the batch.
  Status begin(std::span<const BatchToken> batch, ThreadPool* pool);
  int64_t n_tokens() const { return n_tokens_; }
  std::span<const BatchToken> batch() const { return batch_; }
  ThreadPool* pool() const { return pool_; }

  // x[t] = row token_t of `embedding` * scale.                      x: [n_tokens][d_model]
  float* embed(const Matrix& embedding, float scale);
  // out[t] = row token_t of `table` * scale.                 out: [n_tokens][table.n_cols]
  void gather_rows(const Matrix& table, float scale, float* out) const;
  // y[t] = rms_norm(x[t]) * weight over rows of `width`.
  void rms_norm(const float* x, const Vector& weight, float* y, int64_t width) const;
  // y[t] = W x[t].                                                  y: [n_tokens][W.n_rows]
  void linear(const Matrix& w, const float* x, float* y);
  // Self-attention of layer `layer` on normed input h; result (after the output projection)
  // into out. Writes this batch's keys and values into the sequences' caches.
  void attention(int64_t layer, const AttentionWeights& w, const float* h, float* out);
  // out[t] = down(act(gate h[t]) * up h[t]).
  void feed_forward(const FfnWeights& w, Activation activation, const float* h, float* out);
  // Mixture of experts: out[t] = sum over the selected experts e of
  // weight[t][e] * down_e(act(gate_e h[t]) * up_e h[t]). `router_logits` ([n_tokens][n_experts])
  // replaces router h when given. Tokens are grouped by expert, so each selected expert's
  // weights are read once per batch and unselected experts not at all.
  void moe(const MoeWeights& w, const MoeRouting& routing, const float* h, float* out,
           const float* router_logits = nullptr);
  // linear for several matrices of one input (q, k, v; gate, up), skipping absent ones: block
  // formats round x to 8 bits once and share one pool run (tensor::matvec_batch_shared).
  struct LinearOutput {
    const Matrix& w;
    float* y;
  };
  void linear_shared(std::initializer_list<LinearOutput> outputs, const float* x);
  // y[i] = W x[i] for n rows of x (linear over a subset of the batch).
  void linear_rows(const Matrix& w, const float* x, int64_t n, float* y);
  // x[t] += y[t] over d_model.
  void add_residual(float* x, const float* y) const;
  // For the tokens that want logits: output_norm, the output head, softcapping; appended to
  // `logits`. Then every sequence's length advances.
  void finish(const float* x, const Vector& output_norm, const Matrix& output,
              std::vector<float>& logits);

  // Scratch rows of d_model for the architecture's own use: the residual stream x, a normed
  // copy h and a block output.
  float* residual() { return residual_.data(); }
  float* normed() { return normed_.data(); }
  float* block_out() { return block_out_.data(); }
  // Scratch buffer `slot` (0..kScratchSlots-1) of at least n floats, for what an architecture
  // keeps besides those (Gemma 4's per-layer inputs, router logits); kept across calls.
  static constexpr size_t kScratchSlots = 4;
  float* scratch(size_t slot, int64_t n);

  // Hands [n_tokens][width] activations to the tensor hook, when one is set.
  void trace(int64_t layer, std::string_view name, const float* values, int64_t width) const;

  // Pieces of sizes[i] floats, each starting on a cache line of its own, for activations that
  // live within one block only (attention's queries, keys, values and outputs; a feed-forward's
  // gate and up; one expert's rows; a DeltaNet layer's projections). Blocks run one after
  // another, so they all share one buffer: taking pieces ends the previous block's.
  template <size_t N>
  std::array<float*, N> block_scratch(const std::array<int64_t, N>& sizes) {
    std::array<int64_t, N> offsets;
    int64_t total = 0;
    for (size_t i = 0; i < N; ++i) {
      offsets[i] = total;
      total += (sizes[i] + kLineFloats - 1) / kLineFloats * kLineFloats;
    }
    float* base = block_scratch_base(total);
    std::array<float*, N> pieces;
    for (size_t i = 0; i < N; ++i) pieces[i] = base + offsets[i];
    return pieces;
  }

 private:
  // A run of consecutive batch tokens of one sequence at consecutive positions, at most
  // kQueryBlockTokens long: attention takes its queries together (attend).
  struct QueryBlock {
    int64_t first_token = 0;
    int64_t n_tokens = 0;
  };
  static constexpr int64_t kQueryBlockTokens = 4;
  // Reads the block's queries from q ([n_tokens][n_heads * head_dim]) and writes its heads'
  // outputs into heads ([n_tokens][n_heads * head_dim_v]).
  void attend(int64_t layer, const QueryBlock& block, int64_t kv_head, const float* q, float* heads,
              float* scratch);
  // Each token's RoPE angles under `params` ([n_tokens][n_dims]: the n_dims / 2 pairs' cos, then
  // their sin), computed at the first layer that asks for them in this call and shared with every
  // later layer of the same parameters.
  const float* rope_angles(const tensor::RopeParams& params);
  static constexpr int64_t kLineFloats = 64 / sizeof(float);
  // n floats of the block scratch buffer, starting on a cache line.
  float* block_scratch_base(int64_t n);

  const ModelConfig& config_;
  const TensorHook* hook_;
  const MoeRouteHook* route_hook_;
  std::span<const BatchToken> batch_;
  ThreadPool* pool_ = nullptr;
  int64_t n_tokens_ = 0;
  std::vector<int64_t> positions_;
  std::vector<float> residual_, normed_, block_out_;
  std::vector<float> scratch_[kScratchSlots];
  std::vector<float> block_scratch_;
  std::vector<QueryBlock> query_blocks_;
  // Per thread: a query block's queries, attention weights and outputs (attend).
  std::vector<float> attention_scratch_;
  int64_t attention_scratch_floats_ = 0;  // per thread
  // rope_angles' tables, kept across calls: the first n_rope_angles_ are this call's.
  struct RopeAngles {
    tensor::RopeParams params;
    std::vector<float> angles;
  };
  std::vector<RopeAngles> rope_angles_;
  size_t n_rope_angles_ = 0;
  std::vector<float> out_rows_;  // [n_out][d_model] rows that want logits
  std::vector<float> rounded_;   // activations rounded to a 16-bit weight type
  std::vector<uint16_t> rounded_bits_;
  // Mixture of experts: router probabilities [n_tokens][n_experts], each token's selected
  // experts and weights [n_tokens][n_experts_used], the (token, slot) pairs grouped by expert,
  // and the MoE blocks run in this call so far (for the route hook).
  std::vector<float> moe_probs_;
  std::vector<int32_t> moe_selected_;
  std::vector<float> moe_weights_;
  std::vector<int64_t> moe_order_, moe_offsets_;
  int64_t moe_blocks_ = 0;
};

}  // namespace hearth::model
