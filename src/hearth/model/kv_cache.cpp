// Sequence storage: two flat buffers sized once at creation (n_ctx positions of every layer),
// each layer at its own offset, and one for the linear-attention layers' recurrent state.
#include "hearth/model/kv_cache.h"

#include <algorithm>

#include <fmt/format.h>

#include "hearth/base/check.h"

namespace hearth::model {

Result<KvType> kv_type_from_name(std::string_view name) {
  if (name == "f16") return KvType::kF16;
  if (name == "f32") return KvType::kF32;
  return make_error("unknown KV cache type '{}' (expected f16 or f32)", name);
}

Result<std::unique_ptr<Sequence>> Sequence::create(const KvShape& shape, int64_t n_ctx,
                                                   KvType kv_type) {
  std::unique_ptr<Sequence> sequence(new Sequence(shape, n_ctx, kv_type));
  size_t key_bytes = 0, value_bytes = 0;
  for (const KvLayerShape& layer : shape.layers) {
    sequence->key_offsets_.push_back(key_bytes);
    sequence->value_offsets_.push_back(value_bytes);
    const auto rows = static_cast<size_t>(layer.n_kv_heads * n_ctx);
    key_bytes += rows * static_cast<size_t>(layer.head_dim) * sequence->element_bytes();
    value_bytes += rows * static_cast<size_t>(layer.head_dim_v) * sequence->element_bytes();
  }
  const auto allocate = [&](size_t bytes) -> Result<LargePageBuffer> {
    Result<LargePageBuffer> buffer = LargePageBuffer::allocate(bytes);
    if (buffer.ok()) return buffer;
    return buffer.error().context(
        fmt::format("KV cache of {} positions ({} bytes)", n_ctx, key_bytes + value_bytes));
  };
  HEARTH_ASSIGN_OR_RETURN(sequence->keys_, allocate(key_bytes));
  HEARTH_ASSIGN_OR_RETURN(sequence->values_, allocate(value_bytes));
  return sequence;
}

Sequence::Sequence(const KvShape& shape, int64_t n_ctx, KvType kv_type)
    : shape_(shape), n_ctx_(n_ctx), kv_type_(kv_type) {
  size_t state_floats = 0;
  for (const KvLayerShape& layer : shape.layers) {
    conv_offsets_.push_back(state_floats);
    state_floats += static_cast<size_t>(layer.conv_state);
    recurrent_offsets_.push_back(state_floats);
    state_floats += static_cast<size_t>(layer.recurrent_state);
  }
  recurrent_.assign(state_floats, 0.0f);
}

int64_t Sequence::reusable_prefix(int64_t n) const {
  if (!has_recurrent_state()) return std::min(n, size_);
  return n >= size_ ? size_ : 0;
}

void Sequence::truncate(int64_t n) {
  HEARTH_CHECK(n >= 0 && n <= size_, "truncate to {} of a sequence of {}", n, size_);
  HEARTH_CHECK(n == reusable_prefix(n),
               "a sequence with recurrent state cannot be cut from {} to {} positions", size_, n);
  if (n == 0) std::fill(recurrent_.begin(), recurrent_.end(), 0.0f);
  size_ = n;
}

float* Sequence::conv_state(int64_t layer) {
  return recurrent_.data() + conv_offsets_[static_cast<size_t>(layer)];
}

float* Sequence::recurrent_state(int64_t layer) {
  return recurrent_.data() + recurrent_offsets_[static_cast<size_t>(layer)];
}

uint8_t* Sequence::key(int64_t layer, int64_t kv_head, int64_t position) {
  HEARTH_DCHECK(position < n_ctx_, "position {} past n_ctx {}", position, n_ctx_);
  const KvLayerShape& shape = shape_.layers[static_cast<size_t>(layer)];
  const int64_t row = kv_head * n_ctx_ + position;
  return keys_.data() + key_offsets_[static_cast<size_t>(layer)] +
         static_cast<size_t>(row * shape.head_dim) * element_bytes();
}

uint8_t* Sequence::value(int64_t layer, int64_t kv_head, int64_t position) {
  HEARTH_DCHECK(position < n_ctx_, "position {} past n_ctx {}", position, n_ctx_);
  const KvLayerShape& shape = shape_.layers[static_cast<size_t>(layer)];
  const int64_t row = kv_head * n_ctx_ + position;
  return values_.data() + value_offsets_[static_cast<size_t>(layer)] +
         static_cast<size_t>(row * shape.head_dim_v) * element_bytes();
}

}  // namespace hearth::model
