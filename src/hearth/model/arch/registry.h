// The architecture registry: the one place that maps general.architecture to the file that
// implements it (arch/<arch>.cpp). Each architecture reads its own hyper-parameters, binds its
// tensors and runs its forward pass through the shared blocks (model/blocks.h).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"
#include "hearth/model/blocks.h"
#include "hearth/model/config.h"

namespace hearth::model {

class ArchModel {
 public:
  virtual ~ArchModel() = default;
  const ModelConfig& config() const { return config_; }
  // Runs the batch prepared in `pass` and appends the requested logits.
  virtual void forward(ForwardPass& pass, std::vector<float>& logits) const = 0;

 protected:
  explicit ArchModel(ModelConfig config) : config_(std::move(config)) {}
  ModelConfig config_;
};

using ArchLoader = Result<std::unique_ptr<ArchModel>> (*)(const gguf::File& file);

// The loader for `arch`, or null when hearth does not know it.
ArchLoader find_arch(std::string_view arch);
std::vector<std::string_view> known_arches();

// Loaders, one per architecture file.
Result<std::unique_ptr<ArchModel>> load_llama(const gguf::File& file);
Result<std::unique_ptr<ArchModel>> load_qwen3(const gguf::File& file);
Result<std::unique_ptr<ArchModel>> load_qwen3moe(const gguf::File& file);
Result<std::unique_ptr<ArchModel>> load_gemma3(const gguf::File& file);
Result<std::unique_ptr<ArchModel>> load_gemma4(const gguf::File& file);
Result<std::unique_ptr<ArchModel>> load_qwen35(const gguf::File& file);     // qwen35.cpp
Result<std::unique_ptr<ArchModel>> load_qwen35moe(const gguf::File& file);  // qwen35.cpp

// The token embedding ([d_model] x n_vocab rows; sets config.n_vocab), the final norm and the
// output head (token_embd again when the file ties them: no output.weight).
struct OutputWeights {
  Matrix token_embd;
  Vector output_norm;
  Matrix output;
};
Result<OutputWeights> bind_output(const WeightBinder& binder, ModelConfig& config);

}  // namespace hearth::model
