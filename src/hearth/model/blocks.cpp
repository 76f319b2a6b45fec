// The shared blocks of the forward pass. Linear layers go through tensor::matvec_batch (block
// formats, integer products) or tensor::matmul (float weights), both splitting output rows over
// the pool; attention splits (token, head) pairs over the pool, each pair
// reading its sequence's cache with one score matvec, a softmax and a weighted sum of values.
#include "hearth/model/blocks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "hearth/base/check.h"
#include "hearth/tensor/matmul.h"
#include "hearth/tensor/matvec.h"
#include "hearth/tensor/quantize.h"

namespace hearth::model {

Result<AttentionWeights> bind_attention(const WeightBinder& binder, const ModelConfig& config,
                                        int64_t layer, bool qk_norm, bool output_gate) {
  const std::string blk = fmt::format("blk.{}.", layer);
  const LayerAttention& shape = config.layer_attention[static_cast<size_t>(layer)];
  const int64_t q_dim = config.n_heads * shape.head_dim;
  AttentionWeights w;
  w.output_gate = output_gate;
  HEARTH_ASSIGN_OR_RETURN(
      w.q, binder.matrix(blk + "attn_q.weight", config.d_model, output_gate ? 2 * q_dim : q_dim));
  HEARTH_ASSIGN_OR_RETURN(
      w.k, binder.matrix(blk + "attn_k.weight", config.d_model, shape.n_kv_heads * shape.head_dim));
  HEARTH_ASSIGN_OR_RETURN(w.v, binder.matrix(blk + "attn_v.weight", config.d_model,
                                             shape.n_kv_heads * shape.head_dim_v));
  HEARTH_ASSIGN_OR_RETURN(
      w.output,
      binder.matrix(blk + "attn_output.weight", config.n_heads * shape.head_dim_v, config.d_model));
  if (qk_norm) {
    HEARTH_ASSIGN_OR_RETURN(w.q_norm, binder.vector(blk + "attn_q_norm.weight", shape.head_dim));
    HEARTH_ASSIGN_OR_RETURN(w.k_norm, binder.vector(blk + "attn_k_norm.weight", shape.head_dim));
  }
  return w;
}

Result<FfnWeights> bind_ffn(const WeightBinder& binder, const ModelConfig& config, int64_t layer) {
  const std::string blk = fmt::format("blk.{}.", layer);
  const int64_t d_ff = config.layer_d_ff[static_cast<size_t>(layer)];
  FfnWeights w;
  HEARTH_ASSIGN_OR_RETURN(w.gate, binder.matrix(blk + "ffn_gate.weight", config.d_model, d_ff));
  HEARTH_ASSIGN_OR_RETURN(w.up, binder.matrix(blk + "ffn_up.weight", config.d_model, d_ff));
  HEARTH_ASSIGN_OR_RETURN(w.down, binder.matrix(blk + "ffn_down.weight", d_ff, config.d_model));
  return w;
}

Result<MoeWeights> bind_moe(const WeightBinder& binder, const ModelConfig& config, int64_t layer) {
  const std::string blk = fmt::format("blk.{}.", layer);
  const int64_t d = config.d_model;
  const int64_t n_experts = config.n_experts;
  const int64_t d_ff_exp = config.d_ff_exp;
  MoeWeights w;
  HEARTH_ASSIGN_OR_RETURN(w.router, binder.matrix(blk + "ffn_gate_inp.weight", d, n_experts));
  const std::string gate_up_name = blk + "ffn_gate_up_exps.weight";
  if (binder.contains(gate_up_name)) {
    // Each expert's 2 * d_ff_exp rows: gate then up. Two views with the fused stride.
    HEARTH_ASSIGN_OR_RETURN(w.gate, binder.experts(gate_up_name, d, 2 * d_ff_exp, n_experts));
    w.gate.n_rows = d_ff_exp;
    w.up = w.gate;
    w.up.data += w.gate.expert_bytes / 2;
  } else {
    HEARTH_ASSIGN_OR_RETURN(w.gate,
                            binder.experts(blk + "ffn_gate_exps.weight", d, d_ff_exp, n_experts));
    HEARTH_ASSIGN_OR_RETURN(w.up,
                            binder.experts(blk + "ffn_up_exps.weight", d, d_ff_exp, n_experts));
  }
  HEARTH_ASSIGN_OR_RETURN(w.down,
                          binder.experts(blk + "ffn_down_exps.weight", d_ff_exp, d, n_experts));
  HEARTH_ASSIGN_OR_RETURN(w.down_scale,
                          binder.optional_vector(blk + "ffn_down_exps.scale", n_experts));
  return w;
}

namespace {

void resize(std::vector<float>& buffer, int64_t n) {
  if (buffer.size() < static_cast<size_t>(n)) buffer.resize(static_cast<size_t>(n));
}

}  // namespace

Status ForwardPass::begin(std::span<const BatchToken> batch, ThreadPool* pool) {
  batch_ = batch;
  pool_ = pool;
  n_tokens_ = static_cast<int64_t>(batch.size());
  moe_blocks_ = 0;
  n_rope_angles_ = 0;
  positions_.resize(batch.size());
  std::unordered_map<Sequence*, int64_t> next;
  for (size_t t = 0; t < batch.size(); ++t) {
    const BatchToken& entry = batch[t];
    if (entry.sequence == nullptr) return make_error("batch token {} has no sequence", t);
    if (entry.token < 0 || entry.token >= config_.n_vocab) {
      return make_error("token id {} is outside the vocabulary of {} tokens", entry.token,
                        config_.n_vocab);
    }
    auto [it, inserted] = next.try_emplace(entry.sequence, entry.sequence->size());
    if (it->second >= entry.sequence->n_ctx()) {
      return make_error("the context is full: {} tokens do not fit a context of {}", it->second + 1,
                        entry.sequence->n_ctx());
    }
    positions_[t] = it->second++;
  }
  const int64_t n = n_tokens_;
  resize(residual_, n * config_.d_model);
  resize(normed_, n * config_.d_model);
  resize(block_out_, n * config_.d_model);
  query_blocks_.clear();
  for (int64_t t = 0; t < n; ++t) {
    const bool extends =
        !query_blocks_.empty() && query_blocks_.back().n_tokens < kQueryBlockTokens &&
        batch[t].sequence == batch[t - 1].sequence && positions_[t] == positions_[t - 1] + 1;
    if (extends) {
      ++query_blocks_.back().n_tokens;
    } else {
      query_blocks_.push_back({.first_token = t, .n_tokens = 1});
    }
  }
  int64_t max_ctx = 0;
  for (const auto& [sequence, end] : next) max_ctx = std::max(max_ctx, end);
  int64_t max_group = 1, max_head_dim = 1;
  for (const LayerAttention& layer : config_.layer_attention) {
    max_group = std::max(max_group, config_.n_heads / std::max<int64_t>(1, layer.n_kv_heads));
    max_head_dim = std::max({max_head_dim, layer.head_dim, layer.head_dim_v});
  }
  const int64_t max_queries = kQueryBlockTokens * max_group;
  attention_scratch_floats_ = max_queries * (2 * max_head_dim + max_ctx);
  const int threads = pool == nullptr ? 1 : pool->size();
  resize(attention_scratch_, threads * attention_scratch_floats_);
  return Status();
}

float* ForwardPass::embed(const Matrix& embedding, float scale) {
  float* x = residual_.data();
  gather_rows(embedding, scale, x);
  trace(-1, "embd", x, config_.d_model);
  return x;
}

void ForwardPass::gather_rows(const Matrix& table, float scale, float* out) const {
  for (int64_t t = 0; t < n_tokens_; ++t) {
    float* row = out + t * table.n_cols;
    tensor::get_row(table.type, table.data, table.n_cols, batch_[t].token, row);
    if (scale != 1.0f) tensor::scale(row, scale, row, table.n_cols);
  }
}

float* ForwardPass::block_scratch_base(int64_t n) {
  resize(block_scratch_, n + kLineFloats);
  const size_t misalignment = reinterpret_cast<uintptr_t>(block_scratch_.data()) % 64;
  return block_scratch_.data() + (64 - misalignment) % 64 / sizeof(float);
}

float* ForwardPass::scratch(size_t slot, int64_t n) {
  HEARTH_DCHECK(slot < kScratchSlots, "scratch slot {}", slot);
  resize(scratch_[slot], n);
  return scratch_[slot].data();
}

void ForwardPass::rms_norm(const float* x, const Vector& weight, float* y, int64_t width) const {
  for (int64_t t = 0; t < n_tokens_; ++t) {
    tensor::rms_norm(x + t * width, weight.data(), y + t * width, width, config_.rms_eps);
  }
}

void ForwardPass::linear(const Matrix& w, const float* x, float* y) {
  linear_rows(w, x, n_tokens_, y);
}

// Activations are rounded as llama.cpp's CPU backend rounds them for each weight type (its
// vec_dot_type): to F16/BF16 for 16-bit weights, to 8-bit blocks of 32 for block formats.
// Without it hearth's logits drift past the tolerances against llama.cpp's goldens. Block
// formats go to matvec_batch, which rounds each row of x itself and multiplies in integers; each
// token's y is what matvec gives it alone, so batched decode matches single-stream decode.
void ForwardPass::linear_rows(const Matrix& w, const float* x, int64_t n_rows, float* y) {
  const int64_t n = n_rows * w.n_cols;
  if (w.type == GgmlType::kF16 || w.type == GgmlType::kBF16) {
    resize(rounded_, n);
    rounded_bits_.resize(static_cast<size_t>(n));
    tensor::quantize_row(w.type, x, rounded_bits_.data(), n);
    tensor::dequantize_row(w.type, rounded_bits_.data(), rounded_.data(), n);
    x = rounded_.data();
  } else if (tensor::uses_int8_activations(w.type)) {
    tensor::matvec_batch(w.type, w.data, w.n_rows, w.n_cols, x, n_rows, y, pool_);
    return;
  }
  tensor::matmul(w.type, w.data, w.n_rows, w.n_cols, x, n_rows, y, pool_);
}

void ForwardPass::linear_shared(std::initializer_list<LinearOutput> outputs, const float* x) {
  std::array<tensor::MatvecProduct, tensor::kMaxSharedProducts> products;
  size_t n_products = 0;
  int64_t n_cols = 0;
  bool int8 = true;
  for (const LinearOutput& output : outputs) {
    if (!output.w) continue;
    HEARTH_DCHECK(n_products == 0 || output.w.n_cols == n_cols, "inputs of {} and {}", n_cols,
                  output.w.n_cols);
    n_cols = output.w.n_cols;
    int8 = int8 && tensor::uses_int8_activations(output.w.type);
    HEARTH_CHECK(n_products < products.size(), "more than {} products of one input",
                 products.size());
    products[n_products++] = {output.w.type, output.w.data, output.w.n_rows, output.y};
  }
  if (int8) {
    tensor::matvec_batch_shared({products.data(), n_products}, n_cols, x, n_tokens_, pool_);
    return;
  }
  for (const LinearOutput& output : outputs) {
    if (output.w) linear(output.w, x, output.y);
  }
}

void ForwardPass::add_residual(float* x, const float* y) const {
  tensor::add(x, y, x, n_tokens_ * config_.d_model);
}

void ForwardPass::attention(int64_t layer, const AttentionWeights& w, const float* h, float* out) {
  const LayerAttention& shape = config_.layer_attention[static_cast<size_t>(layer)];
  const int64_t n_kv_heads = shape.n_kv_heads;
  const int64_t head_dim = shape.head_dim;
  const int64_t head_dim_v = shape.head_dim_v;
  const int64_t q_width = config_.n_heads * head_dim;
  const int64_t k_width = n_kv_heads * head_dim;
  const int64_t v_width = n_kv_heads * head_dim_v;
  HEARTH_DCHECK(!w.output_gate || head_dim == head_dim_v, "gated attention needs one head size");
  // Without a key projection the layer reads the keys and values that layer shape.kv_layer
  // wrote for these positions (earlier in this same pass).
  const bool own_kv = static_cast<bool>(w.k);
  HEARTH_DCHECK(own_kv == (shape.kv_layer == layer), "layer {} has no keys of its own", layer);
  HEARTH_DCHECK(own_kv || !w.v, "layer {} has values but no keys", layer);
  // queries: [n_tokens][n_heads * head_dim]; keys: [n_tokens][n_kv_heads * head_dim];
  // values: [n_tokens][n_kv_heads * head_dim_v]; heads: the attention's output
  // [n_tokens][n_heads * head_dim_v]. With an output gate, q projects to
  // [n_tokens][n_heads][2][head_dim] in `gates`: each head's query is copied out and its gate
  // moved down in place, leaving gates [n_tokens][n_heads * head_dim].
  const int64_t n = n_tokens_;
  const auto [queries, keys, values, heads, gates] =
      block_scratch<5>({n * q_width, own_kv * n * k_width, own_kv * n * v_width,
                        n * config_.n_heads * head_dim_v, w.output_gate * 2 * n * q_width});
  linear_shared({{w.q, w.output_gate ? gates : queries}, {w.k, keys}, {w.v, values}}, h);
  if (own_kv && !w.v) {
    HEARTH_DCHECK(head_dim_v == head_dim, "values shared with keys need one head size");
    std::copy(keys, keys + n * k_width, values);
  }
  if (w.output_gate) {
    // Row r's gate moves to [r, r + 1) head_dims, below its source at [2r + 1, 2r + 2): going
    // up the rows, a move only overwrites rows already taken apart.
    for (int64_t row = 0; row < n * config_.n_heads; ++row) {
      const float* query_then_gate = gates + 2 * row * head_dim;
      std::copy(query_then_gate, query_then_gate + head_dim, queries + row * head_dim);
      std::copy(query_then_gate + head_dim, query_then_gate + 2 * head_dim, gates + row * head_dim);
    }
  }

  const LayerRope& layer_rope = config_.layer_rope[static_cast<size_t>(layer)];
  const bool freq_factors = shape.rope_freq_factors && !config_.rope_freq_factors.empty();
  const tensor::RopeParams rope{
      .n_dims = shape.rope_dims,
      .freq_base = layer_rope.freq_base,
      .freq_scale = layer_rope.freq_scale,
      .freq_factors = freq_factors ? config_.rope_freq_factors.data() : nullptr,
      .layout = config_.rope_layout};
  const float* angles = rope_angles(rope);
  for (int64_t t = 0; t < n_tokens_; ++t) {
    float* q = queries + t * q_width;
    float* k = keys + t * k_width;
    float* v = values + t * v_width;
    if (!w.q_norm.empty()) {
      for (int64_t head = 0; head < config_.n_heads; ++head) {
        float* row = q + head * head_dim;
        tensor::rms_norm(row, w.q_norm.data(), row, head_dim, config_.rms_eps);
      }
    }
    const float* cos = angles + t * rope.n_dims;
    const float* sin = cos + rope.n_dims / 2;
    tensor::rope_rotate(q, config_.n_heads, head_dim, rope, cos, sin);
    if (!own_kv) continue;
    if (!w.k_norm.empty()) {
      for (int64_t head = 0; head < n_kv_heads; ++head) {
        float* row = k + head * head_dim;
        tensor::rms_norm(row, w.k_norm.data(), row, head_dim, config_.rms_eps);
      }
    }
    if (w.v_norm) {
      for (int64_t head = 0; head < n_kv_heads; ++head) {
        float* row = v + head * head_dim_v;
        tensor::rms_norm(row, nullptr, row, head_dim_v, config_.rms_eps);
      }
    }
    tensor::rope_rotate(k, n_kv_heads, head_dim, rope, cos, sin);
    // Store this token's keys and values at its position in its sequence's cache.
    Sequence& sequence = *batch_[t].sequence;
    const GgmlType cache_type = sequence.element_type();
    for (int64_t g = 0; g < n_kv_heads; ++g) {
      tensor::quantize_row(cache_type, k + g * head_dim, sequence.key(layer, g, positions_[t]),
                           head_dim);
      tensor::quantize_row(cache_type, v + g * head_dim_v, sequence.value(layer, g, positions_[t]),
                           head_dim_v);
    }
  }
  trace(layer, "q", queries, q_width);
  if (own_kv) trace(layer, "k", keys, k_width);

  const int64_t n_blocks = static_cast<int64_t>(query_blocks_.size());
  run_tasks(pool_, n_blocks * n_kv_heads, [&](int64_t task, int thread) {
    attend(layer, query_blocks_[static_cast<size_t>(task / n_kv_heads)], task % n_kv_heads, queries,
           heads, attention_scratch_.data() + thread * attention_scratch_floats_);
  });
  trace(layer, "kqv", heads, config_.n_heads * head_dim_v);
  if (w.output_gate) {
    for (int64_t i = 0; i < n * q_width; ++i) heads[i] *= 1.0f / (1.0f + std::exp(-gates[i]));
  }
  linear(w.output, heads, out);  // [n_tokens][d_model]
}

const float* ForwardPass::rope_angles(const tensor::RopeParams& params) {
  const auto same_angles = [&params](const RopeAngles& table) {
    return table.params.n_dims == params.n_dims && table.params.freq_base == params.freq_base &&
           table.params.freq_scale == params.freq_scale &&
           table.params.freq_factors == params.freq_factors;
  };
  const auto computed = rope_angles_.begin() + static_cast<std::ptrdiff_t>(n_rope_angles_);
  const auto found = std::find_if(rope_angles_.begin(), computed, same_angles);
  if (found != computed) return found->angles.data();
  if (n_rope_angles_ == rope_angles_.size()) rope_angles_.emplace_back();
  RopeAngles& table = rope_angles_[n_rope_angles_++];
  table.params = params;
  resize(table.angles, n_tokens_ * params.n_dims);
  for (int64_t t = 0; t < n_tokens_; ++t) {
    float* cos = table.angles.data() + t * params.n_dims;
    tensor::rope_angles(positions_[t], params, cos, cos + params.n_dims / 2);
  }
  return table.angles.data();
}

// The heads of KV head `kv_head` (its GQA group) for the tokens of `block`: for each,
// softmax(scale * q.K^T over its visible positions) V. The group's queries go through one pass
// over the rows visible to any of them (the block's first token's first to its last token's
// position); each query's weights are zero outside its own rows, which row_dots and
// weighted_row_sums make exactly the attention the token would get alone.
void ForwardPass::attend(int64_t layer, const QueryBlock& block, int64_t kv_head, const float* q,
                         float* heads, float* scratch) {
  const LayerAttention& shape = config_.layer_attention[static_cast<size_t>(layer)];
  const int64_t group = config_.n_heads / shape.n_kv_heads;
  const int64_t head_dim = shape.head_dim;
  const int64_t head_dim_v = shape.head_dim_v;
  const int64_t n_queries = block.n_tokens * group;  // query i: token i / group, head i % group
  float* queries = scratch;
  float* out = queries + n_queries * head_dim;
  float* weights = out + n_queries * head_dim_v;

  const int64_t window = config_.layer_window[static_cast<size_t>(layer)];
  // llama.cpp's sliding window masks key p0 for query p1 when p1 - p0 >= window.
  const auto first_visible = [window](int64_t position) {
    return window > 0 ? std::max<int64_t>(0, position - window + 1) : 0;
  };
  const int64_t t0 = block.first_token;
  const int64_t rows_begin = first_visible(positions_[t0]);
  const int64_t n_rows = positions_[t0 + block.n_tokens - 1] - rows_begin + 1;

  const int64_t q_width = config_.n_heads * head_dim;
  for (int64_t t = 0; t < block.n_tokens; ++t) {
    const float* token_queries = q + (t0 + t) * q_width + kv_head * group * head_dim;
    std::copy(token_queries, token_queries + group * head_dim, queries + t * group * head_dim);
  }
  Sequence& sequence = *batch_[t0].sequence;
  const GgmlType type = sequence.element_type();
  const int64_t cache = shape.kv_layer;
  tensor::row_dots(type, sequence.key(cache, kv_head, rows_begin), n_rows, head_dim, queries,
                   n_queries, head_dim, weights, n_rows);
  for (int64_t i = 0; i < n_queries; ++i) {
    const int64_t position = positions_[t0 + i / group];
    const int64_t begin = first_visible(position) - rows_begin;
    const int64_t end = position - rows_begin + 1;
    float* w = weights + i * n_rows;
    std::fill(w, w + begin, 0.0f);
    std::fill(w + end, w + n_rows, 0.0f);
    tensor::scale(w + begin, config_.attention_scale, w + begin, end - begin);
    tensor::softmax(w + begin, end - begin);
  }
  tensor::weighted_row_sums(type, sequence.value(cache, kv_head, rows_begin), n_rows, head_dim_v,
                            weights, n_queries, n_rows, out, head_dim_v);
  const int64_t out_width = config_.n_heads * head_dim_v;
  for (int64_t t = 0; t < block.n_tokens; ++t) {
    const float* token_out = out + t * group * head_dim_v;
    std::copy(token_out, token_out + group * head_dim_v,
              heads + (t0 + t) * out_width + kv_head * group * head_dim_v);
  }
}

void ForwardPass::feed_forward(const FfnWeights& w, Activation activation, const float* h,
                               float* out) {
  // This layer's width (Gemma 4 E2B widens some layers).
  const int64_t n = n_tokens_ * w.gate.n_rows;
  const auto [gate, up] = block_scratch<2>({n, n});  // [n_tokens][d_ff] each
  linear_shared({{w.gate, gate}, {w.up, up}}, h);
  if (activation == Activation::kSilu) {
    tensor::silu_mul(gate, up, gate, n);
  } else {
    tensor::gelu_tanh_mul(gate, up, gate, n);
  }
  linear(w.down, gate, out);  // [n_tokens][d_model]
}

void ForwardPass::moe(const MoeWeights& w, const MoeRouting& routing, const float* h, float* out,
                      const float* router_logits) {
  const int64_t n_tokens = n_tokens_;
  const int64_t d_model = config_.d_model;
  const int64_t n_experts = w.gate.n_experts;
  const int64_t n_used = routing.n_experts_used;
  const int64_t d_ff_exp = w.gate.n_rows;
  HEARTH_DCHECK(n_used > 0 && n_used <= n_experts, "{} of {} experts", n_used, n_experts);

  // Router: probabilities of every expert.                    probs: [n_tokens][n_experts]
  resize(moe_probs_, n_tokens * n_experts);
  float* probs = moe_probs_.data();
  if (router_logits != nullptr) {
    std::copy(router_logits, router_logits + n_tokens * n_experts, probs);
  } else {
    linear(w.router, h, probs);
  }
  trace(-1, "ffn_moe_logits", probs, n_experts);

  // Top n_used experts per token (most probable first; ties to the lower index) and their
  // weights.                                  selected, weights: [n_tokens][n_used]
  // The route hook sees one more, the first expert left out.
  const bool route_hooked = route_hook_ != nullptr && *route_hook_;
  const int64_t n_ranked = route_hooked ? std::min(n_used + 1, n_experts) : n_used;
  moe_selected_.resize(static_cast<size_t>(n_tokens * n_used));
  moe_weights_.resize(static_cast<size_t>(n_tokens * n_used));
  std::vector<int32_t> ranking(static_cast<size_t>(n_experts));
  for (int64_t t = 0; t < n_tokens; ++t) {
    float* p = probs + t * n_experts;
    tensor::softmax(p, n_experts);
    std::iota(ranking.begin(), ranking.end(), 0);
    std::partial_sort(ranking.begin(), ranking.begin() + n_ranked, ranking.end(),
                      [p](int32_t a, int32_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    if (route_hooked) {
      (*route_hook_)(moe_blocks_, positions_[t], {p, static_cast<size_t>(n_experts)},
                     {ranking.data(), static_cast<size_t>(n_ranked)});
    }
    int32_t* selected = moe_selected_.data() + t * n_used;
    float* weights = moe_weights_.data() + t * n_used;
    float sum = 0.0f;
    for (int64_t k = 0; k < n_used; ++k) {
      selected[k] = ranking[static_cast<size_t>(k)];
      weights[k] = p[selected[k]];
      sum += weights[k];
    }
    // llama.cpp clamps the sum at the smallest normal F16 before dividing.
    const float divisor = routing.normalize ? std::max(sum, 6.103515625e-5f) : 1.0f;
    for (int64_t k = 0; k < n_used; ++k) weights[k] = weights[k] / divisor * routing.scale;
  }

  // Group the (token, slot) pairs by expert: order[offsets[e] .. offsets[e + 1]) are the
  // indices t * n_used + k that chose expert e, in token order.
  moe_offsets_.assign(static_cast<size_t>(n_experts + 1), 0);
  for (const int32_t e : moe_selected_) ++moe_offsets_[static_cast<size_t>(e) + 1];
  for (int64_t e = 0; e < n_experts; ++e) moe_offsets_[e + 1] += moe_offsets_[e];
  moe_order_.resize(moe_selected_.size());
  {
    std::vector<int64_t> next(moe_offsets_.begin(), moe_offsets_.end() - 1);
    for (size_t i = 0; i < moe_selected_.size(); ++i) {
      moe_order_[static_cast<size_t>(next[static_cast<size_t>(moe_selected_[i])]++)] =
          static_cast<int64_t>(i);
    }
  }

  // Each selected expert over its tokens, accumulated into out in expert order (so a token's
  // result does not depend on the other tokens of the batch).
  std::fill(out, out + n_tokens * d_model, 0.0f);
  for (int64_t e = 0; e < n_experts; ++e) {
    const int64_t begin = moe_offsets_[e];
    const int64_t m = moe_offsets_[e + 1] - begin;
    if (m == 0) continue;
    // x: [m][d_model] the inputs of this expert's tokens; gate, up: [m][d_ff_exp];
    // y: [m][d_model].
    const auto [x, gate, up, y] =
        block_scratch<4>({m * d_model, m * d_ff_exp, m * d_ff_exp, m * d_model});
    for (int64_t i = 0; i < m; ++i) {
      const int64_t t = moe_order_[begin + i] / n_used;
      std::copy(h + t * d_model, h + (t + 1) * d_model, x + i * d_model);
    }
    linear_rows(w.gate.expert(e), x, m, gate);
    linear_rows(w.up.expert(e), x, m, up);
    if (routing.activation == Activation::kSilu) {
      tensor::silu_mul(gate, up, gate, m * d_ff_exp);
    } else {
      tensor::gelu_tanh_mul(gate, up, gate, m * d_ff_exp);
    }
    linear_rows(w.down.expert(e), gate, m, y);
    if (!w.down_scale.empty()) {
      tensor::scale(y, w.down_scale[static_cast<size_t>(e)], y, m * d_model);
    }
    for (int64_t i = 0; i < m; ++i) {
      const int64_t pair = moe_order_[begin + i];
      const float weight = moe_weights_[static_cast<size_t>(pair)];
      float* row = out + (pair / n_used) * d_model;
      const float* expert_row = y + i * d_model;
      for (int64_t d = 0; d < d_model; ++d) row[d] += weight * expert_row[d];
    }
  }
  ++moe_blocks_;
}

void ForwardPass::finish(const float* x, const Vector& output_norm, const Matrix& output,
                         std::vector<float>& logits) {
  const int64_t d_model = config_.d_model;
  int64_t n_out = 0;
  resize(out_rows_, d_model * std::count_if(batch_.begin(), batch_.end(),
                                            [](const BatchToken& t) { return t.want_logits; }));
  for (int64_t t = 0; t < n_tokens_; ++t) {
    if (!batch_[t].want_logits) continue;
    tensor::rms_norm(x + t * d_model, output_norm.data(), out_rows_.data() + n_out * d_model,
                     d_model, config_.rms_eps);
    ++n_out;
  }
  logits.assign(static_cast<size_t>(n_out * config_.n_vocab), 0.0f);
  if (n_out > 0) linear_rows(output, out_rows_.data(), n_out, logits.data());
  if (config_.final_logit_softcap > 0) {
    const float cap = config_.final_logit_softcap;
    for (float& logit : logits) logit = cap * std::tanh(logit / cap);
  }
  for (int64_t t = 0; t < n_tokens_; ++t) batch_[t].sequence->set_size(positions_[t] + 1);
}

void ForwardPass::trace(int64_t layer, std::string_view name, const float* values,
                        int64_t width) const {
  if (hook_ == nullptr || !*hook_) return;
  (*hook_)(static_cast<int>(layer), name,
           std::span<const float>(values, static_cast<size_t>(n_tokens_ * width)), n_tokens_);
}

}  // namespace hearth::model
