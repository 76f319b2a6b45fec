// Qwen3 (general.architecture "qwen3"): the Llama decoder with an RMS norm on every query and key
// head before RoPE, RoPE on halves (NeoX layout), head size from attention.key_length (so the
// query width may differ from d_model), and usually an output head tied to the embedding.
#include "hearth/model/arch/llama.h"

namespace hearth::model {

Result<std::unique_ptr<ArchModel>> load_qwen3(const gguf::File& file) {
  HEARTH_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(file.metadata(), "qwen3"));
  config.rope_layout = tensor::RopeLayout::kNeox;
  return bind_llama_family(file, std::move(config), /*qk_norm=*/true);
}

}  // namespace hearth::model
