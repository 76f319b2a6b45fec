// The table of architectures, and the embedding/output binding they all share.
#include "hearth/model/arch/registry.h"

#include <array>
#include <utility>

namespace hearth::model {
namespace {

constexpr std::array<std::pair<std::string_view, ArchLoader>, 7> kArches = {{
    {"llama", &load_llama},
    {"qwen3", &load_qwen3},
    {"qwen3moe", &load_qwen3moe},
    {"gemma3", &load_gemma3},
    {"gemma4", &load_gemma4},
    {"qwen35", &load_qwen35},
    {"qwen35moe", &load_qwen35moe},
}};

}  // namespace

ArchLoader find_arch(std::string_view arch) {
  for (const auto& [name, loader] : kArches) {
    if (name == arch) return loader;
  }
  return nullptr;
}

std::vector<std::string_view> known_arches() {
  std::vector<std::string_view> names;
  for (const auto& entry : kArches) names.push_back(entry.first);
  return names;
}

Result<OutputWeights> bind_output(const WeightBinder& binder, ModelConfig& config) {
  OutputWeights w;
  HEARTH_ASSIGN_OR_RETURN(w.token_embd, binder.matrix("token_embd.weight", config.d_model, -1));
  config.n_vocab = w.token_embd.n_rows;
  HEARTH_ASSIGN_OR_RETURN(w.output_norm, binder.vector("output_norm.weight", config.d_model));
  HEARTH_ASSIGN_OR_RETURN(w.output,
                          binder.optional_matrix("output.weight", config.d_model, config.n_vocab));
  if (!w.output) w.output = w.token_embd;
  return w;
}

}  // namespace hearth::model
