// The state of one sequence: its KV cache (per layer, per KV head, per position: a key row and a
// value row, in F16 or F32) and its length. Positions are written by Model::forward; truncate()
// forgets the tail so a sequence can be rewound and reused (the server's prefix reuse). Layout
// [layer][kv_head][position][head_dim] keeps one head's keys contiguous for the score matvec;
// layers may differ in KV heads and head sizes (Gemma 4's sliding and global layers).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "hearth/base/ggml_types.h"
#include "hearth/base/result.h"

namespace hearth::model {

enum class KvType { kF16, kF32 };

// "f16" / "f32".
Result<KvType> kv_type_from_name(std::string_view name);

struct KvLayerShape {
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t head_dim_v = 0;
};

struct KvShape {
  std::vector<KvLayerShape> layers;  // one per layer
};

class Sequence {
 public:
  Sequence(const KvShape& shape, int64_t n_ctx, KvType kv_type);

  int64_t n_ctx() const { return n_ctx_; }
  // Positions filled so far.
  int64_t size() const { return size_; }
  // Keeps the first n positions (n <= size()).
  void truncate(int64_t n);

  KvType kv_type() const { return kv_type_; }
  GgmlType element_type() const {
    return kv_type_ == KvType::kF16 ? GgmlType::kF16 : GgmlType::kF32;
  }
  size_t element_bytes() const { return kv_type_ == KvType::kF16 ? 2 : 4; }
  size_t bytes() const { return keys_.size() + values_.size(); }

  // The key (head_dim elements) / value (head_dim_v elements) row of `position`; consecutive
  // positions of one head are adjacent.
  uint8_t* key(int64_t layer, int64_t kv_head, int64_t position);
  uint8_t* value(int64_t layer, int64_t kv_head, int64_t position);

  // Used by forward: the length after a batch has been written.
  void set_size(int64_t size) { size_ = size; }

 private:
  KvShape shape_;
  std::vector<size_t> key_offsets_, value_offsets_;  // bytes, per layer
  int64_t n_ctx_;
  KvType kv_type_;
  int64_t size_ = 0;
  std::vector<uint8_t> keys_;
  std::vector<uint8_t> values_;
};

}  // namespace hearth::model
