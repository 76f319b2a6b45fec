// The Llama decoder (pre-norm, SwiGLU, RoPE, GQA), shared by the architectures that are Llama
// with a different configuration: llama itself and qwen3 (which adds RMS norms on each query and
// key head). Each still reads its own hyper-parameters in its own file.
#pragma once

#include <memory>
#include <vector>

#include "hearth/model/arch/registry.h"

namespace hearth::model {

// Binds the Llama-layout tensors for `config` (q/k norms when `qk_norm`) and returns the model.
Result<std::unique_ptr<ArchModel>> bind_llama_family(const gguf::File& file, ModelConfig config,
                                                     bool qk_norm);

}  // namespace hearth::model
