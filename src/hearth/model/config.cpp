// Reads the generic hyper-parameters with llama.cpp's keys and defaults (llama-model.cpp's
// load_hparams): required dimensions are errors when missing; optional ones take the same
// fallback llama.cpp takes.
#include "hearth/model/config.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace hearth::model {

Result<int64_t> arch_int(const gguf::Metadata& metadata, const std::string& arch,
                         std::string_view suffix, int64_t fallback) {
  const std::string key = fmt::format("{}.{}", arch, suffix);
  if (!metadata.contains(key)) return fallback;
  HEARTH_ASSIGN_OR_RETURN(const int64_t value, metadata.get_int(key));
  if (value < 0 || value > (int64_t{1} << 32)) {
    return make_error("metadata {} = {} is out of range", key, value);
  }
  return value;
}

Status require_dense_widths(const ModelConfig& config, const std::string& arch) {
  for (const int64_t d_ff : config.layer_d_ff) {
    if (d_ff <= 0) {
      return make_error("metadata {}.feed_forward_length is missing or not positive", arch);
    }
  }
  return Status();
}

Result<int64_t> expert_width(const gguf::Metadata& metadata, const std::string& arch,
                             std::string_view suffix, int64_t fallback) {
  HEARTH_ASSIGN_OR_RETURN(int64_t width, arch_int(metadata, arch, suffix, 0));
  if (width == 0) width = fallback;
  if (width <= 0) {
    return make_error("metadata {}.{} is missing, and no {}.feed_forward_length gives it", arch,
                      suffix, arch);
  }
  return width;
}

Result<std::vector<int64_t>> arch_int_per_layer(const gguf::Metadata& metadata,
                                                const std::string& arch, std::string_view suffix,
                                                int64_t n_layers, int64_t fallback) {
  const std::string key = fmt::format("{}.{}", arch, suffix);
  const gguf::Value* value = metadata.find(key);
  if (value == nullptr || value->array() == nullptr) {
    HEARTH_ASSIGN_OR_RETURN(const int64_t scalar, arch_int(metadata, arch, suffix, fallback));
    return std::vector<int64_t>(static_cast<size_t>(n_layers), scalar);
  }
  const gguf::Array& array = *value->array();
  if (static_cast<int64_t>(array.items.size()) != n_layers) {
    return make_error("metadata {} has {} entries for {} layers", key, array.items.size(),
                      n_layers);
  }
  std::vector<int64_t> values;
  for (const gguf::Value& item : array.items) {
    const auto v = item.to_int();
    if (!v || *v < 0 || *v > (int64_t{1} << 32)) {
      return make_error("metadata {} holds an entry that is not a valid integer", key);
    }
    values.push_back(*v);
  }
  return values;
}

Result<float> arch_float(const gguf::Metadata& metadata, const std::string& arch,
                         std::string_view suffix, float fallback) {
  const std::string key = fmt::format("{}.{}", arch, suffix);
  if (!metadata.contains(key)) return fallback;
  HEARTH_ASSIGN_OR_RETURN(const double value, metadata.get_float(key));
  if (!std::isfinite(value)) return make_error("metadata {} is not a finite number", key);
  return static_cast<float>(value);
}

namespace {

Result<int64_t> required_int(const gguf::Metadata& metadata, const std::string& arch,
                             std::string_view suffix) {
  HEARTH_ASSIGN_OR_RETURN(const int64_t value, arch_int(metadata, arch, suffix, -1));
  if (value <= 0) {
    return make_error("metadata {}.{} is missing or not positive", arch, suffix);
  }
  return value;
}

}  // namespace

Result<ModelConfig> read_common_config(const gguf::Metadata& metadata, std::string arch) {
  ModelConfig config;
  config.arch = std::move(arch);
  const std::string& a = config.arch;
  if (auto name = metadata.get_string("general.name"); name.ok()) config.name = std::string(*name);
  HEARTH_ASSIGN_OR_RETURN(config.d_model, required_int(metadata, a, "embedding_length"));
  HEARTH_ASSIGN_OR_RETURN(config.n_layers, required_int(metadata, a, "block_count"));
  HEARTH_ASSIGN_OR_RETURN(config.n_heads, required_int(metadata, a, "attention.head_count"));
  HEARTH_ASSIGN_OR_RETURN(
      const std::vector<int64_t> layer_kv_heads,
      arch_int_per_layer(metadata, a, "attention.head_count_kv", config.n_layers, config.n_heads));
  config.n_kv_heads = layer_kv_heads.front();
  HEARTH_ASSIGN_OR_RETURN(config.n_ctx_train, arch_int(metadata, a, "context_length", 2048));
  HEARTH_ASSIGN_OR_RETURN(config.n_experts, arch_int(metadata, a, "expert_count", 0));
  // llama.cpp: get_key_or_arr, one width for every layer or one per layer. llama.cpp reads it as
  // optional (0 when absent) and fails only at a tensor of that width, so a file with experts may
  // leave it out when it gives the experts' widths; a dense model cannot, and hearth says so here.
  const bool has_d_ff = metadata.contains(a + ".feed_forward_length");
  HEARTH_ASSIGN_OR_RETURN(config.layer_d_ff, arch_int_per_layer(metadata, a, "feed_forward_length",
                                                                config.n_layers, 0));
  for (const int64_t d_ff : config.layer_d_ff) config.d_ff = std::max(config.d_ff, d_ff);
  if (has_d_ff || config.n_experts == 0) HEARTH_RETURN_IF_ERROR(require_dense_widths(config, a));
  HEARTH_ASSIGN_OR_RETURN(config.n_experts_used, arch_int(metadata, a, "expert_used_count", 0));
  if (config.n_experts_used > config.n_experts ||
      (config.n_experts > 0 && config.n_experts_used == 0)) {
    return make_error("metadata {}.expert_used_count = {} does not fit {} experts", a,
                      config.n_experts_used, config.n_experts);
  }
  for (const int64_t n_kv_heads : layer_kv_heads) {
    if (n_kv_heads <= 0 || config.n_heads % n_kv_heads != 0) {
      return make_error("{} attention heads are not a multiple of {} KV heads", config.n_heads,
                        n_kv_heads);
    }
  }
  HEARTH_ASSIGN_OR_RETURN(config.head_dim, arch_int(metadata, a, "attention.key_length",
                                                    config.d_model / config.n_heads));
  HEARTH_ASSIGN_OR_RETURN(config.head_dim_v,
                          arch_int(metadata, a, "attention.value_length", config.head_dim));
  if (config.head_dim <= 0 || config.head_dim_v <= 0) {
    return make_error("attention head size must be positive");
  }
  HEARTH_ASSIGN_OR_RETURN(config.rms_eps,
                          arch_float(metadata, a, "attention.layer_norm_rms_epsilon", 1e-5f));
  HEARTH_ASSIGN_OR_RETURN(const int64_t rope_dims,
                          arch_int(metadata, a, "rope.dimension_count", config.head_dim));
  if (rope_dims <= 0 || rope_dims > config.head_dim || rope_dims % 2 != 0) {
    return make_error("metadata {}.rope.dimension_count = {} does not fit head size {}", a,
                      rope_dims, config.head_dim);
  }
  config.rope_dims = static_cast<int>(rope_dims);
  HEARTH_ASSIGN_OR_RETURN(config.rope.freq_base, arch_float(metadata, a, "rope.freq_base", 10000));
  // llama.cpp: rope.scaling.factor (or the older rope.scale_linear) divides positions.
  HEARTH_ASSIGN_OR_RETURN(const float scale_linear,
                          arch_float(metadata, a, "rope.scale_linear", 0));
  HEARTH_ASSIGN_OR_RETURN(const float scaling_factor,
                          arch_float(metadata, a, "rope.scaling.factor", scale_linear));
  config.rope.freq_scale = scaling_factor > 0 ? 1.0f / scaling_factor : 1.0f;
  config.attention_scale = 1.0f / std::sqrt(static_cast<float>(config.head_dim));
  HEARTH_ASSIGN_OR_RETURN(config.final_logit_softcap,
                          arch_float(metadata, a, "final_logit_softcapping", 0));
  config.layer_window.assign(static_cast<size_t>(config.n_layers), 0);
  config.layer_rope.assign(static_cast<size_t>(config.n_layers), config.rope);
  for (size_t il = 0; il < layer_kv_heads.size(); ++il) {
    config.layer_attention.push_back(LayerAttention{.n_kv_heads = layer_kv_heads[il],
                                                    .head_dim = config.head_dim,
                                                    .head_dim_v = config.head_dim_v,
                                                    .rope_dims = config.rope_dims,
                                                    .kv_layer = static_cast<int64_t>(il)});
  }
  return config;
}

}  // namespace hearth::model
