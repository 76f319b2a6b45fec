// A loaded model: hyper-parameters from GGUF metadata, weights bound by name in the mmap (no
// copy), and the batched forward pass to logits over per-sequence KV caches. Which architecture
// does what lives in model/arch/<arch>.cpp behind one registry (arch/registry.h); this header is
// what the engine sees. Not here: tokenization, sampling, chat templates (engine glues those).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/base/thread_pool.h"
#include "hearth/gguf/gguf.h"
#include "hearth/model/config.h"
#include "hearth/model/kv_cache.h"

namespace hearth::model {

// One token of a forward batch: appended to `sequence` at its next free position (tokens of the
// same sequence take consecutive positions in batch order).
struct BatchToken {
  Sequence* sequence = nullptr;
  int32_t token = 0;
  bool want_logits = false;
};

// Called after each layer with the layer index, a name ("attn_out", "ffn_out", "embd", ...) and
// the [n_tokens][width] activations; for comparing intermediates with a reference. Off (empty)
// by default and then free.
using TensorHook =
    std::function<void(int layer, std::string_view name, std::span<const float> values,
                       int64_t n_tokens)>;

// Called in each mixture-of-experts block for each token, between the router and the experts;
// for studying routing (the golden test's near-ties). `moe_block` counts the forward call's MoE
// blocks from 0 (the layer index where every layer has one), `position` is the token's position
// in its sequence, `probs` the router's probabilities over every expert, and `ranking` the
// n_experts_used + 1 most probable experts (fewer when there are no more), most probable first,
// ties to the lower index. The hook may reorder `ranking`: its first n_experts_used experts run,
// weighted by their probabilities. Off (empty) by default and then free.
using MoeRouteHook = std::function<void(int64_t moe_block, int64_t position,
                                        std::span<const float> probs, std::span<int32_t> ranking)>;

class ArchModel;
struct ModelState;

class Model {
 public:
  // Maps and validates the file, reads the hyper-parameters and binds every tensor (errors name
  // the missing or misshapen tensor, or the metadata key).
  static Result<std::unique_ptr<Model>> load(const std::filesystem::path& path);
  ~Model();

  const ModelConfig& config() const;
  const gguf::File& file() const { return file_; }
  // Forgets metadata entries the caller has consumed (see gguf::File::drop_metadata).
  void drop_metadata(std::span<const std::string_view> keys) {
    for (const std::string_view key : keys) file_.drop_metadata(key);
  }

  // A sequence with room for n_ctx positions in a KV cache of `kv_type` (F16 or F32), and for
  // hybrid models the zeroed recurrent state of each linear-attention layer.
  Result<std::unique_ptr<Sequence>> new_sequence(int64_t n_ctx, KvType kv_type) const;

  // Runs `batch` through the model. For each entry with want_logits, n_vocab logits are appended
  // to `logits` (cleared first), in batch order. Errors: a sequence out of room (naming its
  // size), a token id outside the vocabulary. Each sequence's length grows by its tokens.
  // Not reentrant (one scratch space per model): callers serialise forward calls.
  Status forward(std::span<const BatchToken> batch, std::vector<float>& logits,
                 ThreadPool* pool);

  void set_tensor_hook(TensorHook hook);
  void set_moe_route_hook(MoeRouteHook hook);

 private:
  Model(gguf::File file, std::unique_ptr<ArchModel> arch);
  gguf::File file_;
  std::unique_ptr<ArchModel> arch_;
  std::unique_ptr<ModelState> state_;  // forward scratch and the hooks
};

}  // namespace hearth::model
