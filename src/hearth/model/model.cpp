// Model loading (architecture lookup in the registry) and the forward entry point.
#include "hearth/model/model.h"

#include "hearth/model/arch/registry.h"
#include "hearth/model/blocks.h"

namespace hearth::model {

struct ModelState {
  TensorHook hook;
  MoeRouteHook moe_route_hook;
  std::unique_ptr<ForwardPass> pass;
};

Result<std::unique_ptr<Model>> Model::load(const std::filesystem::path& path) {
  HEARTH_ASSIGN_OR_RETURN(gguf::File file, gguf::File::open(path));
  HEARTH_ASSIGN_OR_RETURN(const std::string_view arch,
                          file.metadata().get_string("general.architecture"));
  const ArchLoader loader = find_arch(arch);
  if (loader == nullptr) {
    std::string known;
    for (const auto name : known_arches()) known += (known.empty() ? "" : ", ") + std::string(name);
    return make_error("{}: architecture '{}' is not supported (hearth runs {})", path.string(),
                      arch, known);
  }
  // Decoding reads every weight once per token: worth one re-read of the file at load to have
  // it in 2 MiB pages (docs/PERFORMANCE.md, "Huge pages").
  if (file.mapping() != nullptr) file.mapping()->recache_in_large_pages();
  auto loaded = loader(file);
  if (!loaded.ok()) return make_error("{}: {}", path.string(), loaded.error().message());
  std::unique_ptr<ArchModel> arch_model = std::move(*loaded);
  return std::unique_ptr<Model>(new Model(std::move(file), std::move(arch_model)));
}

Model::Model(gguf::File file, std::unique_ptr<ArchModel> arch)
    : file_(std::move(file)), arch_(std::move(arch)), state_(std::make_unique<ModelState>()) {
  state_->pass =
      std::make_unique<ForwardPass>(arch_->config(), &state_->hook, &state_->moe_route_hook);
}

Model::~Model() = default;

const ModelConfig& Model::config() const {
  return arch_->config();
}

Result<std::unique_ptr<Sequence>> Model::new_sequence(int64_t n_ctx, KvType kv_type) const {
  if (n_ctx <= 0) return make_error("context size must be positive, got {}", n_ctx);
  const ModelConfig& c = config();
  KvShape shape;
  for (size_t il = 0; il < c.layer_attention.size(); ++il) {
    const LayerAttention& layer = c.layer_attention[il];
    if (il < c.layer_recurrent.size() && c.layer_recurrent[il]) {
      // A linear-attention layer: no keys and values, a recurrent state instead.
      shape.layers.push_back({.conv_state = c.delta_net.conv_state(),
                              .recurrent_state = c.delta_net.recurrent_state()});
    } else if (layer.kv_layer != static_cast<int64_t>(il)) {
      shape.layers.push_back({});  // reads an earlier layer's cache: none of its own
    } else {
      shape.layers.push_back({layer.n_kv_heads, layer.head_dim, layer.head_dim_v});
    }
  }
  return Sequence::create(shape, n_ctx, kv_type);
}

Status Model::forward(std::span<const BatchToken> batch, std::vector<float>& logits,
                      ThreadPool* pool) {
  logits.clear();
  if (batch.empty()) return Status();
  HEARTH_RETURN_IF_ERROR(state_->pass->begin(batch, pool));
  arch_->forward(*state_->pass, logits);
  return Status();
}

void Model::set_tensor_hook(TensorHook hook) {
  state_->hook = std::move(hook);
}

void Model::set_moe_route_hook(MoeRouteHook hook) {
  state_->moe_route_hook = std::move(hook);
}

}  // namespace hearth::model
