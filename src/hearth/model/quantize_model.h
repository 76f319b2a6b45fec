// `hearth quantize`: converting a whole GGUF model to one of llama-quantize's file types
// (q4_k_m, q6_k, q8_0, f16, ...). Owns the mix policy — which tensor gets which type, following
// llama.cpp's llama-quant.cpp so files look like the ones users download — and the streaming,
// multi-threaded rewrite. The block formats themselves are tensor/quantize.h's; the container
// is gguf's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/ggml_types.h"
#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"

namespace hearth::model {

// A file type as llama-quantize names it.
struct QuantMix {
  std::string_view name;  // "q4_k_m"
  uint32_t file_type;     // general.file_type: llama.cpp's LLAMA_FTYPE_* number
  GgmlType default_type;  // type of the weight matrices the policy does not single out
};

// Mix names hearth accepts, lower case, with llama-quantize's aliases (q4_k = q4_k_m).
std::vector<std::string_view> quant_mix_names();
// The mix named `name` (case-insensitive); an Error listing the known names otherwise.
Result<QuantMix> quant_mix(std::string_view name);

struct TensorChoice {
  GgmlType from;          // the input's type
  GgmlType to;            // the output's type (== from: the bytes are copied)
  bool fallback = false;  // rows are not a multiple of the preferred type's block size
};

struct QuantPlan {
  QuantMix mix;
  std::vector<TensorChoice> tensors;  // one per input tensor, in file order
  int n_fallback = 0;
  int n_requantized = 0;  // already-quantized inputs that are dequantized and quantized again
  uint64_t n_bytes_in = 0;
  uint64_t n_bytes_out = 0;
};

// The policy: each tensor's output type under `mix`, from the tensors' names, shapes and types
// and the metadata's {arch}.block_count and {arch}.expert_count. Errors name the tensor whose
// type is unknown or cannot be converted.
Result<QuantPlan> plan_quantization(const gguf::Metadata& metadata,
                                    std::span<const gguf::TensorInfo> tensors, const QuantMix& mix);

// Writes `out`: `in`'s metadata with general.file_type and general.quantization_version (2)
// set, and every tensor converted as `plan` (made from `in`) says. One tensor is in memory at a
// time; its rows are split over `n_threads` threads (0: one per hardware thread) and the bytes
// do not depend on that number. Atomic: a failure leaves an existing `out` untouched.
// `progress` gets (tensor bytes converted so far, total tensor bytes: plan.n_bytes_out).
Status write_quantized(const gguf::File& in, const QuantPlan& plan,
                       const std::filesystem::path& out,
                       const std::function<void(uint64_t, uint64_t)>& progress = {},
                       int n_threads = 0);

}  // namespace hearth::model
