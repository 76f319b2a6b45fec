// The quantization mixes and their per-tensor policy, after llama.cpp's llama-quant.cpp
// (llama_tensor_get_type_impl and tensor_type_fallback): the output matrix (or the token
// embedding when it doubles as the output) gets Q6_K, the K mixes give some attn_v / ffn_down
// layers more bits, and rows that do not fit a 256-element block fall back to a 32-element
// type. Rules for architectures hearth does not run (Falcon, 70B-only, the IQ mixes) are left
// out. The rewrite dequantizes each row to float32 and quantizes it again, rows split over a
// thread pool.
#include "hearth/model/quantize_model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <numeric>

#include "hearth/base/check.h"
#include "hearth/base/thread_pool.h"
#include "hearth/tensor/quantize.h"

namespace hearth::model {
namespace {

// llama.cpp's LLAMA_FTYPE numbers of the mixes that have rules of their own.
constexpr uint32_t kFtypeQ4_K_S = 14;
constexpr uint32_t kFtypeQ4_K_M = 15;
constexpr uint32_t kFtypeQ5_K_M = 17;

struct MixEntry {
  std::string_view accepted;  // what the user may type
  QuantMix mix;
};

// llama-quantize's table (tools/quantize/quantize.cpp), restricted to the types hearth writes.
constexpr MixEntry kMixes[] = {
    {"q4_0", {"q4_0", 2, GgmlType::kQ4_0}},      {"q4_1", {"q4_1", 3, GgmlType::kQ4_1}},
    {"q5_0", {"q5_0", 8, GgmlType::kQ5_0}},      {"q5_1", {"q5_1", 9, GgmlType::kQ5_1}},
    {"q4_k", {"q4_k_m", 15, GgmlType::kQ4_K}},   {"q4_k_s", {"q4_k_s", 14, GgmlType::kQ4_K}},
    {"q4_k_m", {"q4_k_m", 15, GgmlType::kQ4_K}}, {"q5_k", {"q5_k_m", 17, GgmlType::kQ5_K}},
    {"q5_k_s", {"q5_k_s", 16, GgmlType::kQ5_K}}, {"q5_k_m", {"q5_k_m", 17, GgmlType::kQ5_K}},
    {"q6_k", {"q6_k", 18, GgmlType::kQ6_K}},     {"q8_0", {"q8_0", 7, GgmlType::kQ8_0}},
    {"f16", {"f16", 1, GgmlType::kF16}},         {"bf16", {"bf16", 32, GgmlType::kBF16}},
    {"f32", {"f32", 0, GgmlType::kF32}},
};

// Names (substrings) of weights llama.cpp never quantizes besides 1-D tensors: norms, MoE
// routers, and small or position-like tables of other families, some of which its loader
// requires unquantized (Mamba's conv1d, RWKV's time_mix_* vectors).
constexpr std::string_view kNeverQuantized[] = {
    "_norm.weight",
    "ffn_gate_inp.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    ".patch_embd",
    ".rel_pos",
};

// llama.cpp's tensor categories that the mixes here treat apart (its others: kOther), matched
// in its order (the first match wins).
enum class Category { kOutput, kTokenEmbd, kAttnV, kAttnK, kAttnOutput, kFfnDown, kOther };

Category category_of(std::string_view name) {
  if (name == "output.weight") return Category::kOutput;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") {
    return Category::kTokenEmbd;
  }
  // A fused QKV and DeepSeek's kv_b carry the values too: they count as attn_v.
  for (const std::string_view v : {"attn_qkv.weight", "attn_kv_b.weight", "attn_v.weight"}) {
    if (name.find(v) != std::string_view::npos) return Category::kAttnV;
  }
  if (name.find("attn_k.weight") != std::string_view::npos) return Category::kAttnK;
  if (name.find("attn_output.weight") != std::string_view::npos) return Category::kAttnOutput;
  if (name.find("ffn_down") != std::string_view::npos) return Category::kFfnDown;
  return Category::kOther;
}

// ggml_n_dims: trailing dimensions of size 1 do not count.
size_t n_dims(const gguf::TensorInfo& tensor) {
  size_t n = tensor.shape.size();
  while (n > 1 && tensor.shape[n - 1] == 1) --n;
  return n;
}

bool allows_quantization(const gguf::TensorInfo& tensor) {
  const std::string_view name = tensor.name;
  if (n_dims(tensor) < 2 || !name.ends_with("weight")) return false;
  if (name == "position_embd.weight" || name == "token_types.weight") return false;
  return std::none_of(std::begin(kNeverQuantized), std::end(kNeverQuantized),
                      [&](std::string_view part) { return name.find(part) != name.npos; });
}

// The N of "blk.N.", or -1.
int layer_of(std::string_view name) {
  if (!name.starts_with("blk.")) return -1;
  int layer = -1;
  const char* first = name.data() + 4;
  const auto [end, error] = std::from_chars(first, name.data() + name.size(), layer);
  if (error != std::errc() || end == first || end == name.data() + name.size() || *end != '.') {
    return -1;
  }
  return layer;
}

// llama.cpp's choice of the layers that get more bits: the first and last eighth, and every
// third layer in between.
bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

uint32_t block_size(GgmlType type) {
  return ggml_type_traits(static_cast<uint32_t>(type))->block_size;
}

bool is_block_type(GgmlType type) {
  return type != GgmlType::kF32 && type != GgmlType::kF16 && type != GgmlType::kBF16;
}

// What the policy knows about the model beyond one tensor.
struct ModelFacts {
  int n_layers = 0;
  int n_experts = 0;
  int n_attn_v = 0;
  bool tied_output = true;  // no output.weight: token_embd is the output matrix too
};

// llama_tensor_get_type_impl for the mixes of kMixes; `i_attn_v` and `i_ffn_down` count the
// attn_v / ffn_down tensors seen so far in llama.cpp's order (by layer, then name).
GgmlType preferred_type(const QuantMix& mix, const ModelFacts& model, Category category,
                        const gguf::TensorInfo& tensor, int& i_attn_v, int& i_ffn_down) {
  const uint32_t ftype = mix.file_type;
  GgmlType type = mix.default_type;
  if (category == Category::kOutput || (model.tied_output && category == Category::kTokenEmbd)) {
    if (tensor.shape[0] % block_size(type) != 0) return GgmlType::kQ8_0;
    return type == GgmlType::kQ8_0 ? type : GgmlType::kQ6_K;
  }
  switch (category) {
    case Category::kAttnV:
      if ((ftype == kFtypeQ4_K_M || ftype == kFtypeQ5_K_M) &&
          use_more_bits(i_attn_v, model.n_attn_v)) {
        type = GgmlType::kQ6_K;
      } else if (ftype == kFtypeQ4_K_S && i_attn_v < 4) {
        type = GgmlType::kQ5_K;
      }
      // Mixtral: eight experts share one attn_v, so more bits cost little.
      if (model.n_experts == 8) type = GgmlType::kQ8_0;
      ++i_attn_v;
      break;
    case Category::kAttnK:
      if (model.n_experts == 8) type = GgmlType::kQ8_0;
      break;
    case Category::kAttnOutput:
      if (model.n_experts == 8 && (ftype == kFtypeQ4_K_S || ftype == kFtypeQ4_K_M)) {
        type = GgmlType::kQ5_K;
      }
      break;
    case Category::kFfnDown: {
      // With experts llama.cpp reads the layer from the name (expert tensors need not be in
      // layer order); otherwise it counts.
      const int layer = model.n_experts > 1 ? layer_of(tensor.name) : i_ffn_down;
      if ((ftype == kFtypeQ4_K_M || ftype == kFtypeQ5_K_M) &&
          use_more_bits(layer, model.n_layers)) {
        type = GgmlType::kQ6_K;
      } else if (ftype == kFtypeQ4_K_S && layer < model.n_layers / 8) {
        type = GgmlType::kQ5_K;
      }
      ++i_ffn_down;
      break;
    }
    default:
      break;
  }
  return type;
}

// tensor_type_fallback: a row length that is not a multiple of the block size takes the
// nearest 32-element type, and F16 when even 32 does not divide it.
GgmlType fit_rows(GgmlType type, uint64_t row_length) {
  if (row_length % block_size(type) == 0) return type;
  switch (type) {
    case GgmlType::kQ4_K:
      type = GgmlType::kQ5_0;
      break;
    case GgmlType::kQ5_K:
      type = GgmlType::kQ5_1;
      break;
    case GgmlType::kQ6_K:
      type = GgmlType::kQ8_0;
      break;
    default:
      break;
  }
  return row_length % block_size(type) == 0 ? type : GgmlType::kF16;
}

std::string type_name(GgmlType type) {
  return std::string(ggml_type_traits(static_cast<uint32_t>(type))->name);
}

ModelFacts model_facts(const gguf::Metadata& metadata, std::span<const gguf::TensorInfo> tensors) {
  ModelFacts facts;
  for (const gguf::TensorInfo& tensor : tensors) {
    facts.n_layers = std::max(facts.n_layers, layer_of(tensor.name) + 1);
    if (tensor.name == "output.weight") facts.tied_output = false;
    if (category_of(tensor.name) == Category::kAttnV) ++facts.n_attn_v;
  }
  if (const auto arch = metadata.get_string("general.architecture"); arch.ok()) {
    const std::string prefix(*arch);
    if (const auto n = metadata.get_int(prefix + ".block_count"); n.ok()) {
      facts.n_layers = static_cast<int>(*n);
    }
    if (const auto n = metadata.get_int(prefix + ".expert_count"); n.ok()) {
      facts.n_experts = static_cast<int>(*n);
    }
  }
  return facts;
}

// Rows [first, first + count) of a tensor converted from `from` to `to`; `scratch` holds one row.
void convert_rows(GgmlType from, GgmlType to, const uint8_t* in, uint8_t* out, int64_t row_length,
                  int64_t first, int64_t count, std::vector<float>& scratch) {
  const uint64_t in_bytes = *ggml_row_bytes(static_cast<uint32_t>(from), row_length);
  const uint64_t out_bytes = *ggml_row_bytes(static_cast<uint32_t>(to), row_length);
  scratch.resize(static_cast<size_t>(row_length));
  for (int64_t row = first; row < first + count; ++row) {
    tensor::dequantize_row(from, in + row * in_bytes, scratch.data(), row_length);
    tensor::quantize_row(to, scratch.data(), out + row * out_bytes, row_length);
  }
}

// Hands input pages back once they are converted, as llama-quantize unmaps each weight, so the
// resident size stays near one output tensor instead of growing to the whole input. PAGEOUT
// never discards data (the file is re-read if touched again; caller-owned memory stays), and a
// kernel without it just ignores the hint.
void release_pages(std::span<const uint8_t> bytes) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(bytes.data()) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(bytes.data()) + bytes.size()) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
}

// Elements per thread-pool task: big enough to amortize dispatch, small enough to balance.
constexpr int64_t kTaskElements = 1 << 16;
// Elements per slab: the unit of progress reports and of input pages handed back.
constexpr int64_t kSlabElements = 1 << 22;

// Fills `output` with `input` converted row by row, slab after slab, each slab's rows split
// over the pool; `progress` gets the output bytes done so far within this tensor.
void convert_tensor(TensorChoice choice, std::span<const uint8_t> input, std::span<uint8_t> output,
                    int64_t row_length, ThreadPool& pool, std::vector<std::vector<float>>& scratch,
                    const std::function<void(uint64_t)>& progress) {
  const uint64_t out_row =
      *ggml_row_bytes(static_cast<uint32_t>(choice.to), static_cast<uint64_t>(row_length));
  const uint64_t n_rows = output.size() / out_row;
  const uint64_t in_row = input.size() / n_rows;
  const int64_t rows_per_task = std::max<int64_t>(1, kTaskElements / row_length);
  const int64_t rows_per_slab = rows_per_task * std::max<int64_t>(1, kSlabElements / kTaskElements);
  for (int64_t slab = 0; slab < static_cast<int64_t>(n_rows); slab += rows_per_slab) {
    const int64_t slab_rows = std::min(rows_per_slab, static_cast<int64_t>(n_rows) - slab);
    pool.run((slab_rows + rows_per_task - 1) / rows_per_task, [&](int64_t task, int thread) {
      const int64_t first = slab + task * rows_per_task;
      convert_rows(choice.from, choice.to, input.data(), output.data(), row_length, first,
                   std::min(rows_per_task, slab + slab_rows - first),
                   scratch[static_cast<size_t>(thread)]);
    });
    release_pages(input.subspan(static_cast<uint64_t>(slab) * in_row,
                                static_cast<uint64_t>(slab_rows) * in_row));
    progress(static_cast<uint64_t>(slab + slab_rows) * out_row);
  }
}

}  // namespace

std::vector<std::string_view> quant_mix_names() {
  std::vector<std::string_view> names;
  for (const MixEntry& entry : kMixes) names.push_back(entry.accepted);
  return names;
}

Result<QuantMix> quant_mix(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string known;
  for (const MixEntry& entry : kMixes) {
    if (entry.accepted == lower) return entry.mix;
    known += (known.empty() ? "" : ", ") + std::string(entry.accepted);
  }
  return make_error("unknown quantization type '{}' (known: {})", name, known);
}

Result<QuantPlan> plan_quantization(const gguf::Metadata& metadata,
                                    std::span<const gguf::TensorInfo> tensors,
                                    const QuantMix& mix) {
  const ModelFacts facts = model_facts(metadata, tensors);
  QuantPlan plan;
  plan.mix = mix;
  plan.tensors.resize(tensors.size());
  // llama.cpp visits tensors sorted by layer (non-layer tensors first), then name; its attn_v
  // and ffn_down counters follow that order.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int layer_a = layer_of(tensors[a].name);
    const int layer_b = layer_of(tensors[b].name);
    return layer_a != layer_b ? layer_a < layer_b : tensors[a].name < tensors[b].name;
  });
  int i_attn_v = 0;
  int i_ffn_down = 0;
  for (const size_t index : order) {
    const gguf::TensorInfo& tensor = tensors[index];
    if (!tensor.known_type) {
      return make_error("tensor '{}' has unknown type {}", tensor.name, tensor.type);
    }
    TensorChoice& choice = plan.tensors[index];
    choice.from = static_cast<GgmlType>(tensor.type);
    choice.to = choice.from;
    if (allows_quantization(tensor)) {
      const Category category = category_of(tensor.name);
      if (facts.n_experts > 1 && category == Category::kFfnDown && layer_of(tensor.name) < 0) {
        return make_error("tensor '{}': cannot tell its layer (expected blk.N.)", tensor.name);
      }
      choice.to = mix.default_type;
      if (is_block_type(mix.default_type)) {
        const GgmlType preferred =
            preferred_type(mix, facts, category, tensor, i_attn_v, i_ffn_down);
        choice.to = fit_rows(preferred, tensor.shape[0]);
        choice.fallback = choice.to != preferred;
      }
    }
    if (choice.to != choice.from) {
      if (!tensor::is_convertible(choice.from)) {
        return make_error("tensor '{}' has type {}, which hearth cannot convert to {}", tensor.name,
                          type_name(choice.from), type_name(choice.to));
      }
      if (is_block_type(choice.from)) ++plan.n_requantized;
    }
    plan.n_fallback += choice.fallback ? 1 : 0;
    plan.n_bytes_in += tensor.n_bytes;
    plan.n_bytes_out += *ggml_row_bytes(static_cast<uint32_t>(choice.to), tensor.n_elements);
  }
  return plan;
}

Status write_quantized(const gguf::File& in, const QuantPlan& plan,
                       const std::filesystem::path& out,
                       const std::function<void(uint64_t, uint64_t)>& progress, int n_threads) {
  HEARTH_CHECK(plan.tensors.size() == in.tensors().size(), "the plan was made for another file");
  ThreadPool pool(n_threads);
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()));
  gguf::Writer writer;
  writer.metadata() = in.metadata();
  gguf::Value file_type;
  file_type.storage = plan.mix.file_type;
  writer.metadata().set("general.file_type", file_type);
  gguf::Value version;
  version.storage = uint32_t{2};  // GGML_QNT_VERSION
  writer.metadata().set("general.quantization_version", version);

  // Fillers run one after another on this thread, in tensor order.
  uint64_t done = 0;
  auto report = [&progress, &plan, &done](uint64_t in_tensor) {
    if (progress) progress(done + in_tensor, plan.n_bytes_out);
  };
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const gguf::TensorInfo& tensor = in.tensors()[i];
    const TensorChoice choice = plan.tensors[i];
    const std::span<const uint8_t> input = tensor.data;
    const auto row_length = static_cast<int64_t>(tensor.shape[0]);
    HEARTH_RETURN_IF_ERROR(writer.add_tensor(
        tensor.name, tensor.shape, static_cast<uint32_t>(choice.to),
        [&, choice, input, row_length](std::span<uint8_t> output) -> Status {
          if (choice.to == choice.from) {
            std::copy(input.begin(), input.end(), output.begin());
            release_pages(input);
          } else {
            convert_tensor(choice, input, output, row_length, pool, scratch, report);
          }
          done += output.size();
          report(0);
          return {};
        }));
  }
  return writer.write(out);
}

}  // namespace hearth::model
