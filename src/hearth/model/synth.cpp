// Synthetic models: the architecture table, the presets (real shapes of published models), the
// metadata and tensor layout llama.cpp expects per architecture (as its convert_hf_to_gguf.py
// writes them), and the deterministic, multi-threaded weight generator behind the writer's
// fillers.
#include "hearth/model/synth.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>

#include "hearth/base/thread_pool.h"
#include "hearth/tensor/quantize.h"
#include "hearth/tokenizer/hf_import.h"

namespace hearth::model {
namespace {

// What differs between the architectures, as data: nothing else in this file names one.
struct ArchSpec {
  std::string_view name;
  SynthConfig defaults;           // n_ctx, rope and eps for --dims
  bool tied_output = false;       // no output.weight: logits use token_embd
  bool qk_norm = false;           // attn_q_norm / attn_k_norm over each head
  bool sandwich_norms = false;    // post_attention_norm / post_ffw_norm
  bool llama_keys = false;        // {arch}.vocab_size and {arch}.rope.dimension_count
  bool sliding_window = false;    // {arch}.attention.sliding_window, rope.freq_base_swa
  bool scaled_embedding = false;  // llama.cpp multiplies input embeddings by sqrt(d_model)
  bool moe = false;               // ffn_gate_inp + ffn_{gate,up,down}_exps instead of the FFN
  // Sliding layers with a per-layer flag array, and every sliding_period-th layer global with
  // its own head size and KV heads, values = keys (no attn_v) and "proportional" RoPE over a
  // quarter of its dims (rope_freqs.weight), as Gemma 4's converter writes them.
  bool global_layers = false;
  bool unit_attention_scale = false;  // llama.cpp scales q.k by 1: the q norm carries 1/sqrt
  bool layer_output_scale = false;    // blk.N.layer_output_scale, one scalar per layer
  // Gemma 4's optional parts, present as SynthConfig asks: experts beside the dense feed-forward
  // (n_experts), per-layer inputs, shared KV layers, a double-wide feed-forward in those.
  bool gemma4_variants = false;
  float final_logit_softcap = 0;      // {arch}.final_logit_softcapping when > 0
  // Qwen3.5's hybrid: Gated DeltaNet layers between gated attention layers (q and a gate per
  // head), post_attention_norm as the only pre-FFN norm, M-RoPE sections over rope_dims.
  bool delta_net = false;
  bool shared_expert = false;  // a gated shared expert beside the routed ones (qwen35moe)
};

const std::vector<ArchSpec>& arch_specs() {
  static const std::vector<ArchSpec> specs = {
      {.name = "llama",
       .defaults =
           {.arch = "llama", .name = "", .n_ctx = 4096, .rope_theta = 10000.0f, .rms_eps = 1e-5f},
       .llama_keys = true},
      {.name = "qwen3",
       .defaults =
           {.arch = "qwen3", .name = "", .n_ctx = 40960, .rope_theta = 1e6f, .rms_eps = 1e-6f},
       .tied_output = true,
       .qk_norm = true},
      // Qwen3-MoE: Qwen3's attention, every feed-forward a mixture of experts, untied output
      // (Qwen3-30B-A3B's tie_word_embeddings is false).
      {.name = "qwen3moe",
       .defaults = {.arch = "qwen3moe",
                    .name = "",
                    .n_ctx = 40960,
                    .rope_theta = 1e6f,
                    .rms_eps = 1e-6f,
                    .n_experts = 16,
                    .n_experts_used = 4},
       .qk_norm = true,
       .moe = true},
      // Gemma 3: local layers use RoPE base 10000; the 512-token window is Gemma 3 1B's.
      {.name = "gemma3",
       .defaults = {.arch = "gemma3",
                    .name = "",
                    .n_ctx = 32768,
                    .rope_theta = 1e6f,
                    .rms_eps = 1e-6f,
                    .rope_theta_swa = 10000.0f,
                    .sliding_window = 512},
       .tied_output = true,
       .qk_norm = true,
       .sandwich_norms = true,
       .sliding_window = true,
       .scaled_embedding = true},
      // Gemma 4 (dense): Gemma 3's layout plus the global layers' own attention shape; RoPE
      // bases and the 1024-token window of Gemma 4 31B's config.json.
      {.name = "gemma4",
       .defaults = {.arch = "gemma4",
                    .name = "",
                    .n_ctx = 262144,
                    .rope_theta = 1e6f,
                    .rms_eps = 1e-6f,
                    .rope_theta_swa = 10000.0f,
                    .sliding_window = 1024,
                    .sliding_period = 6},
       .tied_output = true,
       .qk_norm = true,
       .sandwich_norms = true,
       .sliding_window = true,
       .scaled_embedding = true,
       .global_layers = true,
       .unit_attention_scale = true,
       .layer_output_scale = true,
       .gemma4_variants = true,
       .final_logit_softcap = 30.0f},
      // Qwen 3.5 / 3.6: RoPE base and eps of Qwen3.6's config.json; untied output as the
      // 27B and 35B-A3B.
      {.name = "qwen35",
       .defaults = {.arch = "qwen35",
                    .name = "",
                    .n_ctx = 262144,
                    .rope_theta = 1e7f,
                    .rms_eps = 1e-6f,
                    .full_attention_interval = 4,
                    .conv_kernel = 4},
       .qk_norm = true,
       .delta_net = true},
      {.name = "qwen35moe",
       .defaults = {.arch = "qwen35moe",
                    .name = "",
                    .n_ctx = 262144,
                    .rope_theta = 1e7f,
                    .rms_eps = 1e-6f,
                    .n_experts = 16,
                    .n_experts_used = 4,
                    .full_attention_interval = 4,
                    .conv_kernel = 4},
       .qk_norm = true,
       .moe = true,
       .delta_net = true,
       .shared_expert = true},
  };
  return specs;
}

const ArchSpec* find_arch(std::string_view name) {
  for (const ArchSpec& spec : arch_specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string known_arches() {
  std::string list;
  for (const ArchSpec& spec : arch_specs()) {
    list += (list.empty() ? "" : ", ") + std::string(spec.name);
  }
  return list;
}

SynthConfig with_dims(const ArchSpec& spec, int64_t d_model, int64_t n_layers, int64_t n_heads,
                      int64_t n_kv_heads, int64_t head_dim, int64_t d_ff) {
  SynthConfig config = spec.defaults;
  config.d_model = d_model;
  config.n_layers = n_layers;
  config.n_heads = n_heads;
  config.n_kv_heads = n_kv_heads;
  config.head_dim = head_dim;
  config.d_ff = d_ff;
  if (spec.global_layers) {  // --dims: global heads twice as wide, as Gemma 4's
    config.head_dim_global = 2 * head_dim;
    config.n_kv_heads_global = n_kv_heads;
  }
  if (spec.delta_net) {  // --dims: Qwen3.6's proportions (RoPE over a quarter of each head,
                         // DeltaNet heads of half the attention head with 2 value heads per key)
    config.rope_dims = head_dim / 4;
    config.delta_head_dim = head_dim / 2;
    config.delta_n_k_heads = n_heads;
    config.delta_n_v_heads = 2 * n_heads;
  }
  return config;
}

struct Preset {
  std::string_view name;
  std::string_view arch;
  SynthConfig config;
};

// One small function per model, gemma.cpp style. "tiny" keeps the non-embedding weights under
// 2 MB so the file is dominated by the vocabulary and writes in a second; the others carry the
// shapes of the published models' config.json.
std::vector<Preset> presets() {
  const ArchSpec& llama = *find_arch("llama");
  const ArchSpec& qwen3 = *find_arch("qwen3");
  const ArchSpec& qwen3moe = *find_arch("qwen3moe");
  const ArchSpec& gemma3 = *find_arch("gemma3");
  const ArchSpec& gemma4 = *find_arch("gemma4");
  std::vector<Preset> list;
  list.push_back({"tiny", "llama", with_dims(llama, 128, 4, 4, 2, 32, 384)});
  list.push_back({"tiny", "qwen3", with_dims(qwen3, 128, 4, 4, 2, 32, 384)});
  // 16 experts of width 64, 4 per token: prompts of a few tokens already route to most experts,
  // several tokens share one (the grouped prefill path), and the top-4 cut has clear margins.
  SynthConfig tiny_qwen3moe = with_dims(qwen3moe, 128, 4, 4, 2, 32, 384);
  tiny_qwen3moe.d_ff_exp = 64;
  list.push_back({"tiny", "qwen3moe", tiny_qwen3moe});
  // Six layers: five sliding-window layers then a global one, llama.cpp's Gemma 3 pattern. A
  // 16-token window makes short prompts already exercise the sliding-window mask.
  SynthConfig tiny_gemma3 = with_dims(gemma3, 128, 6, 4, 1, 32, 384);
  tiny_gemma3.sliding_window = 16;
  list.push_back({"tiny", "gemma3", tiny_gemma3});
  // Gemma 4: every third layer global (two of six) with heads of 64 and one KV head, sliding
  // layers with heads of 32 and two KV heads, a 16-token window.
  SynthConfig tiny_gemma4 = with_dims(gemma4, 128, 6, 4, 2, 32, 384);
  tiny_gemma4.sliding_window = 16;
  tiny_gemma4.sliding_period = 3;
  tiny_gemma4.head_dim_global = 64;
  tiny_gemma4.n_kv_heads_global = 1;
  list.push_back({"tiny", "gemma4", tiny_gemma4});
  // Gemma 4 with experts (the 26B-A4B layout): the tiny shape, a narrower dense feed-forward
  // beside 16 experts of width 64, 4 per token.
  SynthConfig tiny_gemma4_moe = tiny_gemma4;
  tiny_gemma4_moe.d_ff = 128;
  tiny_gemma4_moe.n_experts = 16;
  tiny_gemma4_moe.n_experts_used = 4;
  tiny_gemma4_moe.d_ff_exp = 64;
  list.push_back({"tiny-moe", "gemma4", tiny_gemma4_moe});
  // Gemma 4 on-device (the E2B layout): per-layer inputs of 16 per layer, layers 3-5 read the
  // caches of layers 1 (sliding) and 2 (global) with a feed-forward twice as wide, global layers
  // with their own attn_v.
  SynthConfig tiny_gemma4_e2b = tiny_gemma4;
  tiny_gemma4_e2b.d_per_layer_input = 16;
  tiny_gemma4_e2b.n_kv_shared_layers = 3;
  tiny_gemma4_e2b.double_wide_ffn = true;
  tiny_gemma4_e2b.global_value_proj = true;
  list.push_back({"tiny-e2b", "gemma4", tiny_gemma4_e2b});

  // Qwen 3.5: six layers, every third a gated attention layer (4 query / 2 KV heads of 64,
  // RoPE over 16 dims); DeltaNet layers with 2 key and 4 value heads of 32 (two value heads per
  // key head, as the published models).
  const ArchSpec& qwen35 = *find_arch("qwen35");
  const ArchSpec& qwen35moe = *find_arch("qwen35moe");
  SynthConfig tiny_qwen35 = with_dims(qwen35, 128, 6, 4, 2, 64, 384);
  tiny_qwen35.full_attention_interval = 3;
  tiny_qwen35.delta_n_k_heads = 2;
  tiny_qwen35.delta_n_v_heads = 4;
  tiny_qwen35.delta_head_dim = 32;
  list.push_back({"tiny", "qwen35", tiny_qwen35});
  SynthConfig tiny_qwen35moe = tiny_qwen35;
  tiny_qwen35moe.arch = "qwen35moe";
  tiny_qwen35moe.n_experts = 16;
  tiny_qwen35moe.n_experts_used = 4;
  tiny_qwen35moe.d_ff_exp = 64;
  tiny_qwen35moe.d_ff_shared = 64;
  list.push_back({"tiny", "qwen35moe", tiny_qwen35moe});

  SynthConfig llama_1b = with_dims(llama, 2048, 16, 32, 8, 64, 8192);  // Llama 3.2 1B
  llama_1b.n_ctx = 131072;
  llama_1b.rope_theta = 500000.0f;
  list.push_back({"llama-3.2-1b", "llama", llama_1b});
  SynthConfig llama_3b = with_dims(llama, 3072, 28, 24, 8, 128, 8192);  // Llama 3.2 3B
  llama_3b.n_ctx = 131072;
  llama_3b.rope_theta = 500000.0f;
  list.push_back({"llama-3.2-3b", "llama", llama_3b});
  list.push_back({"qwen3-0.6b", "qwen3", with_dims(qwen3, 1024, 28, 16, 8, 128, 3072)});
  list.push_back({"qwen3-1.7b", "qwen3", with_dims(qwen3, 2048, 28, 16, 8, 128, 6144)});
  list.push_back({"qwen3-4b", "qwen3", with_dims(qwen3, 2560, 36, 32, 8, 128, 9728)});
  // Qwen3-30B-A3B: 48 layers, 128 experts of width 768, 8 per token (~3.3B active parameters).
  SynthConfig qwen3_30b_a3b = with_dims(qwen3moe, 2048, 48, 32, 4, 128, 6144);
  qwen3_30b_a3b.n_experts = 128;
  qwen3_30b_a3b.n_experts_used = 8;
  qwen3_30b_a3b.d_ff_exp = 768;
  list.push_back({"qwen3-30b-a3b", "qwen3moe", qwen3_30b_a3b});
  list.push_back({"gemma3-1b", "gemma3", with_dims(gemma3, 1152, 26, 4, 1, 256, 6912)});
  // Gemma 4 31B: 60 layers (5 sliding, 1 global), 32 query heads; sliding layers 16 KV heads
  // of 256, global layers 4 KV heads of 512 (global_head_dim, num_global_key_value_heads).
  SynthConfig gemma4_31b = with_dims(gemma4, 5376, 60, 32, 16, 256, 21504);
  gemma4_31b.head_dim_global = 512;
  gemma4_31b.n_kv_heads_global = 4;
  list.push_back({"gemma4-31b", "gemma4", gemma4_31b});
  // The other Gemma 4 shapes, from the text_config of their Hugging Face config.json
  // (google/gemma-4-26B-A4B, google/gemma-4-E2B, google/gemma-4-E4B). 26B-A4B: 30 layers (5
  // sliding, 1 global), 16 query heads; sliding 8 KV heads of 256, global 2 KV heads of 512
  // with values = keys; dense feed-forward 2112 beside 128 experts of 704, 8 per token.
  SynthConfig gemma4_26b_a4b = with_dims(gemma4, 2816, 30, 16, 8, 256, 2112);
  gemma4_26b_a4b.head_dim_global = 512;
  gemma4_26b_a4b.n_kv_heads_global = 2;
  gemma4_26b_a4b.n_experts = 128;
  gemma4_26b_a4b.n_experts_used = 8;
  gemma4_26b_a4b.d_ff_exp = 704;
  list.push_back({"gemma4-26b-a4b", "gemma4", gemma4_26b_a4b});
  // E2B: 35 layers (4 sliding, 1 global), 8 query heads, 1 KV head (256 sliding, 512 global,
  // own values), 512-token window, feed-forward 6144 doubled in the last 20 layers, which share
  // the KV of layers 13 and 14; per-layer inputs of 256; 128k context.
  SynthConfig gemma4_e2b = with_dims(gemma4, 1536, 35, 8, 1, 256, 6144);
  gemma4_e2b.n_ctx = 131072;
  gemma4_e2b.sliding_window = 512;
  gemma4_e2b.sliding_period = 5;
  gemma4_e2b.head_dim_global = 512;
  gemma4_e2b.n_kv_heads_global = 1;
  gemma4_e2b.d_per_layer_input = 256;
  gemma4_e2b.n_kv_shared_layers = 20;
  gemma4_e2b.double_wide_ffn = true;
  gemma4_e2b.global_value_proj = true;
  list.push_back({"gemma4-e2b", "gemma4", gemma4_e2b});
  // E4B: 42 layers (5 sliding, 1 global), 8 query heads, 2 KV heads (256 / 512, own values),
  // 512-token window, feed-forward 10240, the last 18 layers sharing the KV of layers 22 and 23;
  // per-layer inputs of 256; 128k context.
  SynthConfig gemma4_e4b = with_dims(gemma4, 2560, 42, 8, 2, 256, 10240);
  gemma4_e4b.n_ctx = 131072;
  gemma4_e4b.sliding_window = 512;
  gemma4_e4b.head_dim_global = 512;
  gemma4_e4b.n_kv_heads_global = 2;
  gemma4_e4b.d_per_layer_input = 256;
  gemma4_e4b.n_kv_shared_layers = 18;
  gemma4_e4b.global_value_proj = true;
  list.push_back({"gemma4-e4b", "gemma4", gemma4_e4b});
  // Qwen3.6-35B-A3B (Hugging Face model card and config.json of Qwen/Qwen3.6-35B-A3B): 40
  // layers, 10 x (3 DeltaNet + 1 gated attention); attention 16 query / 2 KV heads of 256 with
  // RoPE over 64 dims; DeltaNet 16 key / 32 value heads of 128; 256 experts of width 512, 8
  // routed + 1 shared of width 512 per token.
  SynthConfig qwen36_35b_a3b = with_dims(qwen35moe, 2048, 40, 16, 2, 256, 512);
  qwen36_35b_a3b.rope_dims = 64;
  qwen36_35b_a3b.delta_n_k_heads = 16;
  qwen36_35b_a3b.delta_n_v_heads = 32;
  qwen36_35b_a3b.delta_head_dim = 128;
  qwen36_35b_a3b.n_experts = 256;
  qwen36_35b_a3b.n_experts_used = 8;
  qwen36_35b_a3b.d_ff_exp = 512;
  qwen36_35b_a3b.d_ff_shared = 512;
  list.push_back({"qwen3.6-35b-a3b", "qwen35moe", qwen36_35b_a3b});
  // Qwen3.6-27B (its model card and config.json), the dense Qwen 3.5 / 3.6 shape: 64 layers,
  // 16 x (3 DeltaNet + 1 gated attention); attention 24 query / 4 KV heads of 256, RoPE over 64
  // dims; DeltaNet 16 key / 48 value heads of 128; feed-forward 17408.
  SynthConfig qwen36_27b = with_dims(qwen35, 5120, 64, 24, 4, 256, 17408);
  qwen36_27b.rope_dims = 64;
  qwen36_27b.delta_n_k_heads = 16;
  qwen36_27b.delta_n_v_heads = 48;
  qwen36_27b.delta_head_dim = 128;
  list.push_back({"qwen3.6-27b", "qwen35", qwen36_27b});
  for (Preset& preset : list) {
    preset.config.name = fmt::format("hearth-synth-{}-{}", preset.arch, preset.name);
  }
  return list;
}

void set_value(gguf::Metadata& metadata, std::string key, gguf::Value::Storage storage) {
  gguf::Value value;
  value.storage = std::move(storage);
  metadata.set(std::move(key), std::move(value));
}

void set_u32(gguf::Metadata& metadata, std::string key, int64_t value) {
  set_value(metadata, std::move(key), static_cast<uint32_t>(value));
}

void set_f32(gguf::Metadata& metadata, std::string key, float value) {
  set_value(metadata, std::move(key), value);
}

// llama.cpp's LLAMA_FTYPE numbers, written as general.file_type.
uint32_t file_type(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 1;
    case GgmlType::kQ4_0:
      return 2;
    case GgmlType::kQ8_0:
      return 7;
    default:
      return 32;  // bf16, the only other type synth_weight_type accepts
  }
}

// general.size_label as the converter prints a parameter count: "596M", "1.0B", "4.0B".
std::string size_label(uint64_t n_params) {
  constexpr std::pair<double, std::string_view> kUnits[] = {
      {1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
  for (const auto& [unit, suffix] : kUnits) {
    const double scaled = static_cast<double>(n_params) / unit;
    if (scaled >= 0.9995 || unit == 1e3) {  // 999.9M prints as 1.0B, not 1000M
      return scaled < 9.95 ? fmt::format("{:.1f}{}", scaled, suffix)
                           : fmt::format("{:.0f}{}", scaled, suffix);
    }
  }
  return {};
}

// Weight generation. Each tensor's rows are cut into chunks of about kChunkElements; chunk c
// of tensor `name` draws from its own stream seeded by (seed, name, c), so the values do not
// depend on how many threads fill the tensor nor in which order.
constexpr int64_t kChunkElements = 1 << 16;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t tensor_key(uint64_t seed, std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (const char c : name) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  uint64_t state = seed ^ hash;
  return splitmix64(state);
}

// mean + std * N(0, 1) by the Box-Muller transform, two values per 64 random bits.
void fill_normal(uint64_t state, float mean, float std, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 2) {
    const uint64_t bits = splitmix64(state);
    const float u1 = (static_cast<float>(bits >> 41) + 0.5f) * 0x1p-23f;  // (0, 1)
    const float u2 = static_cast<float>(bits & 0xffffff) * 0x1p-24f;      // [0, 1)
    const float radius = std::sqrt(-2.0f * std::log(u1));
    const float angle = 2.0f * std::numbers::pi_v<float> * u2;
    out[i] = mean + std * radius * std::cos(angle);
    if (i + 1 < n) out[i + 1] = mean + std * radius * std::sin(angle);
  }
}

// `scratch` holds one buffer per pool thread.
Status fill_tensor(const SynthTensor& tensor, uint64_t key, ThreadPool& pool,
                   std::vector<std::vector<float>>& scratch, std::span<uint8_t> out) {
  const auto row_length = static_cast<int64_t>(tensor.shape[0]);
  int64_t n_rows = 1;
  for (size_t i = 1; i < tensor.shape.size(); ++i) n_rows *= static_cast<int64_t>(tensor.shape[i]);
  const auto row_bytes = ggml_row_bytes(static_cast<uint32_t>(tensor.type), row_length);
  if (!row_bytes || *row_bytes * n_rows != out.size()) {
    return make_error("tensor '{}': {} bytes do not hold {} rows of {} {}", tensor.name, out.size(),
                      n_rows, row_length,
                      ggml_type_traits(static_cast<uint32_t>(tensor.type))->name);
  }
  const int64_t rows_per_chunk = std::max<int64_t>(1, kChunkElements / row_length);
  const int64_t n_chunks = (n_rows + rows_per_chunk - 1) / rows_per_chunk;
  pool.run(n_chunks, [&](int64_t chunk, int thread) {
    std::vector<float>& values = scratch[static_cast<size_t>(thread)];
    values.resize(static_cast<size_t>(rows_per_chunk * row_length));
    const int64_t first_row = chunk * rows_per_chunk;
    const int64_t rows = std::min(rows_per_chunk, n_rows - first_row);
    uint64_t chunk_state = key + static_cast<uint64_t>(chunk) * 0xd1b54a32d192ed03ull;
    if (tensor.values.empty()) {
      fill_normal(splitmix64(chunk_state), tensor.mean, tensor.std, values.data(),
                  rows * row_length);
    } else {
      const auto begin = tensor.values.begin() + first_row * row_length;
      std::copy(begin, begin + rows * row_length, values.begin());
    }
    for (int64_t row = 0; row < rows; ++row) {
      tensor::quantize_row(tensor.type, values.data() + row * row_length,
                           out.data() + (first_row + row) * *row_bytes, row_length);
    }
  });
  return {};
}

Result<int64_t> parse_dim(std::string_view text, std::string_view what) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return make_error("{} '{}' is not an integer", what, text);
  }
  return value;
}

}  // namespace

std::vector<std::string_view> synth_arches() {
  std::vector<std::string_view> names;
  for (const ArchSpec& spec : arch_specs()) names.push_back(spec.name);
  return names;
}

std::vector<std::pair<std::string_view, std::string_view>> synth_presets() {
  std::vector<std::pair<std::string_view, std::string_view>> list;
  for (const Preset& preset : presets()) list.emplace_back(preset.name, preset.arch);
  return list;
}

Result<SynthConfig> synth_preset(std::string_view arch, std::string_view preset) {
  if (!arch.empty() && find_arch(arch) == nullptr) {
    return make_error("unknown architecture '{}' (known: {})", arch, known_arches());
  }
  std::string names;
  for (const Preset& candidate : presets()) {
    if (candidate.name == preset && (arch.empty() || candidate.arch == arch)) {
      if (arch.empty() && candidate.name == "tiny") {
        return make_error("preset 'tiny' exists for every architecture: name one ({})",
                          known_arches());
      }
      return candidate.config;
    }
    if (arch.empty() || candidate.arch == arch) {
      names += (names.empty() ? "" : ", ") + std::string(candidate.name);
    }
  }
  if (arch.empty()) return make_error("unknown preset '{}' (known: {})", preset, names);
  return make_error("no preset '{}' for architecture {} (known: {})", preset, arch, names);
}

Result<SynthConfig> synth_config_from_dims(std::string_view arch, std::string_view dims) {
  const ArchSpec* spec = find_arch(arch);
  if (spec == nullptr) {
    return make_error("unknown architecture '{}' (known: {})", arch, known_arches());
  }
  static constexpr std::string_view kNames[] = {"d_model",  "n_layers", "n_heads", "n_kv_heads",
                                                "head_dim", "d_ff",     "n_ctx"};
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t comma = dims.find(',', start);
    parts.push_back(dims.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (parts.size() < 6 || parts.size() > std::size(kNames)) {
    return make_error(
        "dims '{}': expected 6 or 7 comma-separated integers "
        "d_model,n_layers,n_heads,n_kv_heads,head_dim,d_ff[,n_ctx]",
        dims);
  }
  std::vector<int64_t> values;
  for (size_t i = 0; i < parts.size(); ++i) {
    HEARTH_ASSIGN_OR_RETURN(const int64_t value, parse_dim(parts[i], kNames[i]));
    values.push_back(value);
  }
  SynthConfig config =
      with_dims(*spec, values[0], values[1], values[2], values[3], values[4], values[5]);
  if (values.size() == 7) config.n_ctx = values[6];
  config.name = fmt::format("hearth-synth-{}-custom", arch);
  HEARTH_RETURN_IF_ERROR(validate_synth_config(config));
  return config;
}

Status validate_synth_config(const SynthConfig& config) {
  const ArchSpec* spec = find_arch(config.arch);
  if (spec == nullptr) {
    return make_error("unknown architecture '{}' (known: {})", config.arch, known_arches());
  }
  struct Bound {
    std::string_view name;
    int64_t value;
    int64_t max;
  };
  // Upper bounds far above any published model, low enough that no size can overflow.
  for (const Bound& bound :
       {Bound{"d_model", config.d_model, 1 << 16}, Bound{"n_layers", config.n_layers, 1024},
        Bound{"n_heads", config.n_heads, 1024}, Bound{"n_kv_heads", config.n_kv_heads, 1024},
        Bound{"head_dim", config.head_dim, 4096}, Bound{"d_ff", config.d_ff, 1 << 20},
        Bound{"n_ctx", config.n_ctx, 1 << 24}}) {
    if (bound.value < 1 || bound.value > bound.max) {
      return make_error("{} is {}: it must be between 1 and {}", bound.name, bound.value,
                        bound.max);
    }
  }
  if (config.n_heads % config.n_kv_heads != 0) {
    return make_error("n_heads ({}) must be a multiple of n_kv_heads ({})", config.n_heads,
                      config.n_kv_heads);
  }
  if (config.head_dim % 2 != 0) {
    return make_error("head_dim ({}) must be even: RoPE rotates pairs", config.head_dim);
  }
  if (!(config.rope_theta > 0) || !(config.rms_eps > 0)) {
    return make_error("rope_theta and rms_eps must be positive");
  }
  if ((spec->moe || (spec->gemma4_variants && config.n_experts > 0)) &&
      (config.n_experts < 1 || config.n_experts > 4096 || config.n_experts_used < 1 ||
       config.n_experts_used > config.n_experts || config.d_ff_exp < 0 ||
       config.d_ff_exp > (1 << 20))) {
    return make_error("{} needs 1 <= n_experts_used ({}) <= n_experts ({}) <= 4096", config.arch,
                      config.n_experts_used, config.n_experts);
  }
  if (spec->delta_net &&
      (config.full_attention_interval < 1 || config.full_attention_interval > 1024 ||
       config.rope_dims < 0 || config.rope_dims > config.head_dim || config.rope_dims % 2 != 0 ||
       config.delta_n_k_heads < 1 || config.delta_n_k_heads > 1024 ||
       config.delta_n_v_heads % config.delta_n_k_heads != 0 || config.delta_n_v_heads > 4096 ||
       config.delta_head_dim < 1 || config.delta_head_dim > 4096 || config.conv_kernel < 1 ||
       config.conv_kernel > 64 || config.d_ff_shared < 0 || config.d_ff_shared > (1 << 20))) {
    return make_error(
        "{} needs a full_attention_interval >= 1, an even rope_dims <= head_dim, DeltaNet value "
        "heads a multiple of its key heads, a positive DeltaNet head size and conv_kernel",
        config.arch);
  }
  if (spec->sliding_window && (config.sliding_window < 1 || !(config.rope_theta_swa > 0))) {
    return make_error("{} needs a positive sliding_window and rope_theta_swa", config.arch);
  }
  if (spec->global_layers &&
      (config.sliding_period < 1 || config.sliding_period > 1024 || config.n_kv_heads_global < 1 ||
       config.n_heads % config.n_kv_heads_global != 0 || config.head_dim_global < 8 ||
       config.head_dim_global > 4096 || config.head_dim_global % 8 != 0)) {
    return make_error(
        "{} needs a sliding_period >= 1, n_kv_heads_global dividing n_heads and a "
        "head_dim_global that is a multiple of 8 (RoPE over a quarter of it)",
        config.arch);
  }
  if (!spec->gemma4_variants && (config.d_per_layer_input != 0 || config.n_kv_shared_layers != 0 ||
                                 config.double_wide_ffn || config.global_value_proj)) {
    return make_error("{} has no per-layer inputs or shared KV layers", config.arch);
  }
  if (spec->gemma4_variants) {
    if (config.d_per_layer_input < 0 || config.d_per_layer_input > 4096) {
      return make_error("d_per_layer_input is {}: it must be between 0 and 4096",
                        config.d_per_layer_input);
    }
    // llama.cpp maps a shared sliding layer to the cache of layer n_kv - 2 and a shared global
    // one to n_kv - 1 (n_kv: the layers with a cache of their own).
    const int64_t n_kv = config.n_layers - config.n_kv_shared_layers;
    const auto global = [&](int64_t layer) {
      return layer % config.sliding_period == config.sliding_period - 1;
    };
    if (config.n_kv_shared_layers < 0 ||
        (config.n_kv_shared_layers > 0 && (n_kv < 2 || !global(n_kv - 1) || global(n_kv - 2)))) {
      return make_error(
          "n_kv_shared_layers ({}) must leave at least two layers with their own KV cache, the "
          "last of them global and the one before sliding",
          config.n_kv_shared_layers);
    }
  }
  return {};
}

Result<GgmlType> synth_weight_type(std::string_view name) {
  for (const GgmlType type :
       {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    if (ggml_type_traits(static_cast<uint32_t>(type))->name == name) return type;
  }
  return make_error("unknown weight type '{}' (known: f32, f16, bf16, q8_0, q4_0)", name);
}

Result<gguf::Metadata> load_synth_vocab(const std::filesystem::path& path) {
  gguf::Metadata vocab;
  if (path.extension() == ".json") {
    auto imported = tokenizer::import_hf_tokenizer(path);
    if (!imported.ok()) return imported.error().context("vocabulary");
    vocab = std::move(imported).value();
  } else {
    auto file = gguf::File::open(path);
    if (!file.ok()) return file.error().context("vocabulary");
    for (const auto& [key, value] : file->metadata().entries()) {
      if (key.starts_with("tokenizer.")) vocab.set(key, value);
    }
  }
  const auto tokens = vocab.get_array("tokenizer.ggml.tokens");
  if (!tokens.ok() || (*tokens)->items.empty() ||
      (*tokens)->element_type != gguf::ValueType::kString) {
    return make_error("vocabulary '{}' has no tokenizer.ggml.tokens string array", path.string());
  }
  return vocab;
}

Result<SynthPlan> plan_synth(const SynthConfig& config, GgmlType type, const gguf::Metadata& vocab,
                             uint64_t seed) {
  HEARTH_RETURN_IF_ERROR(validate_synth_config(config));
  if (!tensor::is_convertible(type)) {
    return make_error("cannot write weights of type {}", static_cast<uint32_t>(type));
  }
  const ArchSpec& spec = *find_arch(config.arch);
  const auto tokens = vocab.get_array("tokenizer.ggml.tokens");
  if (!tokens.ok() || (*tokens)->items.empty()) {
    return make_error("the vocabulary has no tokenizer.ggml.tokens");
  }
  SynthPlan plan;
  plan.seed = seed;
  plan.n_vocab = static_cast<int64_t>((*tokens)->items.size());
  if (plan.n_vocab > (1 << 24)) {
    return make_error("the vocabulary has {} tokens, more than 2^24", plan.n_vocab);
  }

  const auto block_size = ggml_type_traits(static_cast<uint32_t>(type))->block_size;
  const auto d = static_cast<uint64_t>(config.d_model);
  const auto d_ff = static_cast<uint64_t>(config.d_ff);
  const auto n_vocab = static_cast<uint64_t>(plan.n_vocab);
  // Matrices [n_in, n_out] are N(0, gain^2 / n_in): a unit-RMS input gives an output of RMS
  // `gain`, so the residual stream stays in range at any depth. Norm weights are N(1, 0.1) (for
  // Gemma that is the stored 1 + w: its converter adds the 1).
  auto matrix = [&](std::string name, uint64_t n_in, uint64_t n_out, float gain = 1.0f) {
    GgmlType stored = type;
    if (n_in % block_size != 0) {
      stored = GgmlType::kF16;
      ++plan.n_fallback;
    }
    plan.tensors.push_back({std::move(name),
                            {n_in, n_out},
                            stored,
                            0.0f,
                            gain / std::sqrt(static_cast<float>(n_in)),
                            {}});
  };
  const auto n_experts = static_cast<uint64_t>(config.n_experts);
  const auto d_ff_exp = static_cast<uint64_t>(
      config.d_ff_exp > 0 ? config.d_ff_exp
                          : (config.n_experts_used > 0 ? config.d_ff / config.n_experts_used : 0));
  auto experts = [&](std::string name, uint64_t n_in, uint64_t n_out) {
    GgmlType stored = type;
    if (n_in % block_size != 0) {
      stored = GgmlType::kF16;
      ++plan.n_fallback;
    }
    const float std = 1.0f / std::sqrt(static_cast<float>(n_in));
    plan.tensors.push_back({std::move(name), {n_in, n_out, n_experts}, stored, 0.0f, std, {}});
  };
  // Router logits ~N(0, kRouterGain^2): the selected experts' weights differ clearly, and the
  // gap at the top-k cut is large against the rounding differences between implementations.
  constexpr float kRouterGain = 2.0f;
  auto norm = [&](std::string name, uint64_t n, float mean = 1.0f) {
    plan.tensors.push_back({std::move(name), {n}, GgmlType::kF32, mean, 0.1f, {}});
  };
  // Tuned by generating with llama.cpp (greedy, 32 tokens): with q and k of RMS 1 the attention
  // is nearly uniform, the hidden state follows a slowly changing average and greedy output
  // repeats one token; at RMS 2 (attention logits ~N(0, 16)) nearly every token differs.
  constexpr float kAttentionGain = 2.0f;
  // The logits come out ~N(0, kLogitScale^2): peaked enough that sampling is not uniform over
  // the vocabulary, flat enough that greedy does not lock onto one token.
  constexpr float kLogitScale = 4.0f;
  // Embedding rows of norm 1 after llama.cpp's input scaling. Larger rows would make a tied
  // output favour the input token itself (greedy then repeats it).
  const float embedding_scale = spec.scaled_embedding ? std::sqrt(static_cast<float>(d)) : 1.0f;

  matrix("token_embd.weight", d, n_vocab, 1.0f / embedding_scale);
  auto is_global = [&](int64_t layer) {
    return spec.global_layers && layer % config.sliding_period == config.sliding_period - 1;
  };
  // Qwen 3.5: all but every full_attention_interval-th layer are Gated DeltaNet layers.
  const auto n_k_heads = static_cast<uint64_t>(config.delta_n_k_heads);
  const auto n_v_heads = static_cast<uint64_t>(config.delta_n_v_heads);
  const auto delta_head_dim = static_cast<uint64_t>(config.delta_head_dim);
  const uint64_t delta_value_dim = n_v_heads * delta_head_dim;
  const uint64_t conv_dim = 2 * n_k_heads * delta_head_dim + delta_value_dim;
  const uint64_t d_ff_shared =
      static_cast<uint64_t>(config.d_ff_shared > 0 ? config.d_ff_shared : config.d_ff);
  auto is_delta_net = [&](int64_t layer) {
    return spec.delta_net && (layer + 1) % config.full_attention_interval != 0;
  };
  auto add_delta_net = [&](const std::string& blk) {
    matrix(blk + "attn_qkv.weight", d, conv_dim);  // queries, keys, values
    matrix(blk + "attn_gate.weight", d, delta_value_dim);
    // The convolution kernel stays F32 (llama.cpp's converter keeps ssm_conv1d so and
    // ggml_ssm_conv needs it); taps of std 0.5 keep a unit-RMS input at unit RMS.
    plan.tensors.push_back({blk + "ssm_conv1d.weight",
                            {static_cast<uint64_t>(config.conv_kernel), conv_dim},
                            GgmlType::kF32,
                            0.0f,
                            0.5f,
                            {}});
    // The decay exp(softplus(alpha + dt_bias) * a) comes out around 0.4 to 0.9 per token: a
    // state that remembers a few tokens back (a must stay negative: a decay, not growth).
    plan.tensors.push_back({blk + "ssm_dt.bias", {n_v_heads}, GgmlType::kF32, -2.0f, 0.5f, {}});
    plan.tensors.push_back({blk + "ssm_a", {n_v_heads}, GgmlType::kF32, -2.0f, 0.3f, {}});
    matrix(blk + "ssm_beta.weight", d, n_v_heads);
    matrix(blk + "ssm_alpha.weight", d, n_v_heads);
    norm(blk + "ssm_norm.weight", delta_head_dim);
    matrix(blk + "ssm_out.weight", delta_value_dim, d);
  };
  if (spec.global_layers) {
    // Gemma 4's converter: global layers rotate a quarter of their dims (partial_rotary_factor
    // 0.25); the other pairs get frequency divisor 1e30, i.e. they do not turn.
    const auto n_pairs = static_cast<uint64_t>(config.head_dim_global / 2);
    std::vector<float> factors(n_pairs, 1e30f);
    std::fill(factors.begin(), factors.begin() + static_cast<int64_t>(n_pairs / 4), 1.0f);
    plan.tensors.push_back(
        {"rope_freqs.weight", {n_pairs}, GgmlType::kF32, 0.0f, 0.0f, std::move(factors)});
  }
  // Gemma 4 E2B/E4B: a second embedding of width d_per_layer_input per layer, whose rows reach
  // RMS 1 after llama.cpp's sqrt(width) scaling, and the projection of the input embedding
  // that is mixed with it.
  const auto per_layer_width = static_cast<uint64_t>(config.d_per_layer_input);
  const uint64_t per_layer_all = per_layer_width * static_cast<uint64_t>(config.n_layers);
  if (per_layer_width > 0) {
    matrix("per_layer_token_embd.weight", per_layer_all, n_vocab,
           std::sqrt(static_cast<float>(config.n_layers)));
    matrix("per_layer_model_proj.weight", d, per_layer_all);
    norm("per_layer_proj_norm.weight", per_layer_width);
  }
  // The last n_kv_shared_layers layers read an earlier layer's keys and values.
  const int64_t first_kv_shared = config.n_layers - config.n_kv_shared_layers;
  for (int64_t layer = 0; layer < config.n_layers; ++layer) {
    const std::string blk = fmt::format("blk.{}.", layer);
    const bool global = is_global(layer);
    const auto head_dim = static_cast<uint64_t>(global ? config.head_dim_global : config.head_dim);
    const auto n_kv_heads =
        static_cast<uint64_t>(global ? config.n_kv_heads_global : config.n_kv_heads);
    const auto layer_q_dim = static_cast<uint64_t>(config.n_heads) * head_dim;
    const auto layer_kv_dim = n_kv_heads * head_dim;
    const bool kv_shared = layer >= first_kv_shared;
    const uint64_t layer_d_ff = kv_shared && config.double_wide_ffn ? 2 * d_ff : d_ff;
    norm(blk + "attn_norm.weight", d);
    if (is_delta_net(layer)) {
      add_delta_net(blk);
    } else {
      const bool q_k_gain_in_matrix = !spec.qk_norm;
      // Qwen 3.5's gated attention: each head's query, then its gate.
      const uint64_t q_rows = spec.delta_net ? 2 * layer_q_dim : layer_q_dim;
      matrix(blk + "attn_q.weight", d, q_rows, q_k_gain_in_matrix ? kAttentionGain : 1.0f);
      if (!kv_shared) {
        matrix(blk + "attn_k.weight", d, layer_kv_dim, q_k_gain_in_matrix ? kAttentionGain : 1.0f);
        if (!global || config.global_value_proj) {
          matrix(blk + "attn_v.weight", d, layer_kv_dim);  // global: V = K unless its own
        }
      }
      matrix(blk + "attn_output.weight", layer_q_dim, d);
      if (spec.qk_norm) {
        // Without llama.cpp's 1/sqrt(head_dim) the q norm carries it.
        const float q_gain = spec.unit_attention_scale
                                 ? kAttentionGain / std::sqrt(static_cast<float>(head_dim))
                                 : kAttentionGain;
        norm(blk + "attn_q_norm.weight", head_dim, q_gain);
        if (!kv_shared) norm(blk + "attn_k_norm.weight", head_dim, kAttentionGain);
      }
    }
    // Qwen 3.5 names its pre-FFN norm post_attention_norm (and has no ffn_norm).
    if (spec.sandwich_norms || spec.delta_net) norm(blk + "post_attention_norm.weight", d);
    if (!spec.delta_net) norm(blk + "ffn_norm.weight", d);
    if (spec.moe) {
      // The router stays F32 in every file type, as llama.cpp's converter and llama-quantize
      // keep ffn_gate_inp. Expert tensors are [n_in, n_out, n_experts].
      const float router_std = kRouterGain / std::sqrt(static_cast<float>(d));
      plan.tensors.push_back(
          {blk + "ffn_gate_inp.weight", {d, n_experts}, GgmlType::kF32, 0.0f, router_std, {}});
      experts(blk + "ffn_gate_exps.weight", d, d_ff_exp);
      experts(blk + "ffn_up_exps.weight", d, d_ff_exp);
      experts(blk + "ffn_down_exps.weight", d_ff_exp, d);
      if (spec.shared_expert) {
        // The shared expert's gate is one row (a 1-D tensor, F32 as the converter keeps it).
        plan.tensors.push_back({blk + "ffn_gate_inp_shexp.weight",
                                {d},
                                GgmlType::kF32,
                                0.0f,
                                1.0f / std::sqrt(static_cast<float>(d)),
                                {}});
        matrix(blk + "ffn_gate_shexp.weight", d, d_ff_shared);
        matrix(blk + "ffn_up_shexp.weight", d, d_ff_shared);
        matrix(blk + "ffn_down_shexp.weight", d_ff_shared, d);
      }
    } else {
      matrix(blk + "ffn_gate.weight", d, layer_d_ff);
      matrix(blk + "ffn_up.weight", d, layer_d_ff);
      matrix(blk + "ffn_down.weight", layer_d_ff, d);
    }
    if (spec.sandwich_norms) norm(blk + "post_ffw_norm.weight", d);
    if (spec.gemma4_variants && n_experts > 0) {
      // Gemma 4 26B-A4B as its converter writes it: the router (F32, as qwen3moe's) reads
      // rms_norm(x) / sqrt(d_model) * ffn_gate_inp.scale, so a std of kRouterGain gives logits
      // of RMS kRouterGain; gate and up in one tensor; a per-expert output scale; the norms
      // around the two branches.
      plan.tensors.push_back(
          {blk + "ffn_gate_inp.weight", {d, n_experts}, GgmlType::kF32, 0.0f, kRouterGain, {}});
      norm(blk + "ffn_gate_inp.scale", d);
      experts(blk + "ffn_gate_up_exps.weight", d, 2 * d_ff_exp);
      experts(blk + "ffn_down_exps.weight", d_ff_exp, d);
      norm(blk + "ffn_down_exps.scale", n_experts);
      norm(blk + "pre_ffw_norm_2.weight", d);
      norm(blk + "post_ffw_norm_1.weight", d);
      norm(blk + "post_ffw_norm_2.weight", d);
    }
    if (per_layer_width > 0) {
      matrix(blk + "inp_gate.weight", d, per_layer_width);
      matrix(blk + "proj.weight", per_layer_width, d);
      norm(blk + "post_norm.weight", d);
    }
    if (spec.layer_output_scale) norm(blk + "layer_output_scale.weight", 1);
  }
  // The final norm sets the logit scale (for a tied output it also undoes the small rows).
  norm("output_norm.weight", d, kLogitScale * embedding_scale);
  if (!spec.tied_output) matrix("output.weight", d, n_vocab);
  // The writer holds one tensor in memory at a time; bound that (the largest published
  // embeddings are a few GiB).
  constexpr uint64_t kMaxTensorBytes = uint64_t{16} << 30;
  for (const SynthTensor& tensor : plan.tensors) {
    uint64_t n = 1;
    for (const uint64_t dim : tensor.shape) n *= dim;
    plan.n_params += n;
    const uint64_t bytes = ggml_row_bytes(static_cast<uint32_t>(tensor.type), n).value_or(0);
    if (bytes > kMaxTensorBytes) {
      return make_error("tensor '{}' would take {:.1f} GiB, more than the 16 GiB allowed",
                        tensor.name, static_cast<double>(bytes) / (1 << 30));
    }
  }

  gguf::Metadata& m = plan.metadata;
  const std::string arch = config.arch;
  set_value(m, "general.architecture", arch);
  set_value(m, "general.type", std::string("model"));
  set_value(m, "general.name", config.name.empty() ? "hearth-synth-" + arch : config.name);
  set_value(m, "general.size_label", size_label(plan.n_params));
  set_u32(m, arch + ".block_count", config.n_layers);
  set_u32(m, arch + ".context_length", config.n_ctx);
  set_u32(m, arch + ".embedding_length", config.d_model);
  set_u32(m, arch + ".feed_forward_length", config.d_ff);
  set_u32(m, arch + ".attention.head_count", config.n_heads);
  set_u32(m, arch + ".attention.head_count_kv", config.n_kv_heads);
  set_f32(m, arch + ".rope.freq_base", config.rope_theta);
  set_f32(m, arch + ".attention.layer_norm_rms_epsilon", config.rms_eps);
  set_u32(m, arch + ".attention.key_length", config.head_dim);
  set_u32(m, arch + ".attention.value_length", config.head_dim);
  if (spec.llama_keys) {
    set_u32(m, arch + ".vocab_size", plan.n_vocab);
    set_u32(m, arch + ".rope.dimension_count", config.head_dim);
  }
  if (spec.moe) {
    set_u32(m, arch + ".expert_count", config.n_experts);
    set_u32(m, arch + ".expert_used_count", config.n_experts_used);
    set_u32(m, arch + ".expert_feed_forward_length", static_cast<int64_t>(d_ff_exp));
  }
  if (spec.delta_net) {
    // As the Qwen 3.5 converter: M-RoPE sections of the rotated pairs (Qwen's [11, 11, 10] for
    // 32 pairs), the hybrid pattern and the DeltaNet shape under llama.cpp's ssm.* keys.
    const int64_t rope_dims = config.rope_dims > 0 ? config.rope_dims : config.head_dim;
    const int64_t n_pairs = rope_dims / 2;
    const int64_t first = (n_pairs + 2) / 3;
    const int64_t second = (n_pairs - first + 1) / 2;
    gguf::Array sections{.element_type = gguf::ValueType::kInt32, .items = {}};
    for (const int64_t section : {first, second, n_pairs - first - second, int64_t{0}}) {
      sections.items.push_back(gguf::Value{static_cast<int32_t>(section)});
    }
    set_u32(m, arch + ".rope.dimension_count", rope_dims);
    set_value(m, arch + ".rope.dimension_sections", std::move(sections));
    set_u32(m, arch + ".full_attention_interval", config.full_attention_interval);
    set_u32(m, arch + ".ssm.conv_kernel", config.conv_kernel);
    set_u32(m, arch + ".ssm.state_size", config.delta_head_dim);
    set_u32(m, arch + ".ssm.group_count", config.delta_n_k_heads);
    set_u32(m, arch + ".ssm.time_step_rank", config.delta_n_v_heads);
    set_u32(m, arch + ".ssm.inner_size", static_cast<int64_t>(delta_value_dim));
  }
  if (spec.shared_expert) {
    set_u32(m, arch + ".expert_shared_feed_forward_length", static_cast<int64_t>(d_ff_shared));
  }
  if (spec.sliding_window) {
    set_u32(m, arch + ".attention.sliding_window", config.sliding_window);
    set_f32(m, arch + ".rope.freq_base_swa", config.rope_theta_swa);
  }
  if (spec.global_layers) {
    // As Gemma 4's converter: key_length is the global layers', *_swa the sliding ones'; KV
    // heads and the sliding flags per layer.
    set_u32(m, arch + ".attention.key_length", config.head_dim_global);
    set_u32(m, arch + ".attention.value_length", config.head_dim_global);
    set_u32(m, arch + ".attention.key_length_swa", config.head_dim);
    set_u32(m, arch + ".attention.value_length_swa", config.head_dim);
    set_u32(m, arch + ".rope.dimension_count", config.head_dim_global);
    set_u32(m, arch + ".rope.dimension_count_swa", config.head_dim);
    set_u32(m, arch + ".attention.shared_kv_layers", config.n_kv_shared_layers);
    set_u32(m, arch + ".embedding_length_per_layer_input", config.d_per_layer_input);
    if (config.double_wide_ffn) {
      gguf::Array widths{.element_type = gguf::ValueType::kUint32, .items = {}};
      for (int64_t layer = 0; layer < config.n_layers; ++layer) {
        widths.items.push_back(gguf::Value{
            static_cast<uint32_t>(layer >= first_kv_shared ? 2 * config.d_ff : config.d_ff)});
      }
      set_value(m, arch + ".feed_forward_length", std::move(widths));
    }
    if (n_experts > 0) {
      set_u32(m, arch + ".expert_count", config.n_experts);
      set_u32(m, arch + ".expert_used_count", config.n_experts_used);
      set_u32(m, arch + ".expert_feed_forward_length", static_cast<int64_t>(d_ff_exp));
    }
    gguf::Array kv_heads{.element_type = gguf::ValueType::kUint32, .items = {}};
    gguf::Array sliding{.element_type = gguf::ValueType::kBool, .items = {}};
    for (int64_t layer = 0; layer < config.n_layers; ++layer) {
      const bool global = is_global(layer);
      kv_heads.items.push_back(gguf::Value{
          static_cast<uint32_t>(global ? config.n_kv_heads_global : config.n_kv_heads)});
      sliding.items.push_back(gguf::Value{!global});
    }
    set_value(m, arch + ".attention.head_count_kv", std::move(kv_heads));
    set_value(m, arch + ".attention.sliding_window_pattern", std::move(sliding));
  }
  if (spec.final_logit_softcap > 0) {
    set_f32(m, arch + ".final_logit_softcapping", spec.final_logit_softcap);
  }
  set_u32(m, "general.file_type", file_type(type));
  set_u32(m, "general.quantization_version", 2);
  for (const auto& [key, value] : vocab.entries()) {
    if (key.starts_with("tokenizer.")) m.set(key, value);
  }
  return plan;
}

Status write_synth(const SynthPlan& plan, const std::filesystem::path& path,
                   const std::function<void(uint64_t, uint64_t)>& progress, int n_threads) {
  ThreadPool pool(n_threads);
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()));
  gguf::Writer writer;
  writer.metadata() = plan.metadata;
  for (const SynthTensor& tensor : plan.tensors) {
    const uint64_t key = tensor_key(plan.seed, tensor.name);
    HEARTH_RETURN_IF_ERROR(
        writer.add_tensor(tensor.name, tensor.shape, static_cast<uint32_t>(tensor.type),
                          [&tensor, key, &pool, &scratch](std::span<uint8_t> out) {
                            return fill_tensor(tensor, key, pool, scratch, out);
                          }));
  }
  return writer.write(path, progress);
}

}  // namespace hearth::model
