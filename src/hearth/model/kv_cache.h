// The state of one sequence: its KV cache (per layer, per KV head, per position: a key row and a
// value row, in F16 or F32) and its length. Positions are written by Model::forward; truncate()
// forgets the tail so a sequence can be rewound and reused (the server's prefix reuse). Layout
// [layer][kv_head][position][head_dim] keeps one head's keys contiguous for the score matvec;
// layers may differ in KV heads and head sizes (Gemma 4's sliding and global layers). Keys and
// values are in 2 MiB pages where the kernel gives them: a long context reads more of them per
// decoded token than of the weights (base/mapped_file.h).
//
// Hybrid models (qwen35) also keep, per linear-attention layer, a recurrent state in F32: the
// convolution's last inputs and the DeltaNet state matrices. That state summarises every
// position at once and cannot be rewound, so prefix reuse for such a sequence means: keep all
// of it (the new prompt extends what the sequence holds, as in a continued chat) or none of it
// (start again from zeros). reusable_prefix() says which length a truncation can keep.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "hearth/base/ggml_types.h"
#include "hearth/base/mapped_file.h"
#include "hearth/base/result.h"

namespace hearth::model {

enum class KvType { kF16, kF32 };

// "f16" / "f32".
Result<KvType> kv_type_from_name(std::string_view name);

struct KvLayerShape {
  int64_t n_kv_heads = 0;  // 0 for a linear-attention layer or one that reads another's cache
  int64_t head_dim = 0;
  int64_t head_dim_v = 0;
  int64_t conv_state = 0;  // floats of recurrent state (linear-attention layers only)
  int64_t recurrent_state = 0;
};

struct KvShape {
  std::vector<KvLayerShape> layers;  // one per layer
};

class Sequence {
 public:
  // An Error naming the bytes when the cache cannot be allocated.
  static Result<std::unique_ptr<Sequence>> create(const KvShape& shape, int64_t n_ctx,
                                                  KvType kv_type);

  int64_t n_ctx() const { return n_ctx_; }
  // Positions filled so far.
  int64_t size() const { return size_; }
  // The longest prefix of at most n positions that truncate can keep exactly: n itself, but for
  // a sequence with recurrent state only size() (when n >= size()) or 0.
  int64_t reusable_prefix(int64_t n) const;
  // Keeps the first n positions; n must be reusable_prefix(n). Truncating a recurrent sequence to
  // 0 zeroes its state.
  void truncate(int64_t n);

  KvType kv_type() const { return kv_type_; }
  GgmlType element_type() const {
    return kv_type_ == KvType::kF16 ? GgmlType::kF16 : GgmlType::kF32;
  }
  size_t element_bytes() const { return kv_type_ == KvType::kF16 ? 2 : 4; }
  size_t bytes() const { return keys_.size() + values_.size() + recurrent_.size() * sizeof(float); }
  // Of bytes(), those in memory: the caches fill in as positions are first written.
  size_t resident_bytes() const {
    return keys_.residency().resident + values_.residency().resident +
           recurrent_.size() * sizeof(float);
  }
  bool has_recurrent_state() const { return !recurrent_.empty(); }

  // The key (head_dim elements) / value (head_dim_v elements) row of `position`; consecutive
  // positions of one head are adjacent.
  uint8_t* key(int64_t layer, int64_t kv_head, int64_t position);
  uint8_t* value(int64_t layer, int64_t kv_head, int64_t position);

  // A linear-attention layer's state: the convolution's last conv_kernel - 1 input rows
  // ([conv_kernel - 1][conv_dim], oldest first) and the DeltaNet matrices ([n_v_heads][head_dim]
  // [head_dim]). Zero for a new sequence.
  float* conv_state(int64_t layer);
  float* recurrent_state(int64_t layer);

  // Used by forward: the length after a batch has been written.
  void set_size(int64_t size) { size_ = size; }

 private:
  Sequence(const KvShape& shape, int64_t n_ctx, KvType kv_type);

  KvShape shape_;
  std::vector<size_t> key_offsets_, value_offsets_;  // bytes, per layer
  int64_t n_ctx_;
  KvType kv_type_;
  int64_t size_ = 0;
  LargePageBuffer keys_;
  LargePageBuffer values_;
  std::vector<size_t> conv_offsets_, recurrent_offsets_;  // floats, per layer
  std::vector<float> recurrent_;                          // every layer's conv and recurrent state
};

}  // namespace hearth::model
