// Flags shared by the commands that load a model in-process (run, chat, logits, bench, serve):
// the model, threads, context and KV cache, and the sampling chain under llama.cpp's names.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "hearth/base/result.h"
#include "hearth/engine/engine.h"
#include "hearth/sample/sampler.h"

namespace hearth::cli {

struct EngineFlags {
  std::string model;
  int threads = 0;
  int64_t ctx_size = 0;
  int64_t ubatch = 512;
  std::string kv_type = "f16";
};

// -m/--model (required), -t/--threads, -c/--ctx-size, --ubatch, --kv-type.
void add_engine_flags(CLI::App* command, EngineFlags& flags);
// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n, --presence-penalty,
// --frequency-penalty, --seed.
void add_sampling_flags(CLI::App* command, sample::SamplingParams& params);

Result<engine::EngineOptions> engine_options(const EngineFlags& flags);
// Loads the engine, printing what was loaded to stderr at info level.
Result<std::unique_ptr<engine::Engine>> load_engine(const EngineFlags& flags);

}  // namespace hearth::cli
