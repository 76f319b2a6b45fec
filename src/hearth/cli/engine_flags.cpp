// The in-process model flags and their translation to engine options.
#include "hearth/cli/engine_flags.h"

#include "hearth/base/log.h"

namespace hearth::cli {

void add_engine_flags(CLI::App* command, EngineFlags& flags) {
  command->add_option("-m,--model", flags.model, "GGUF model file")->required();
  command->add_option("-t,--threads", flags.threads, "threads (0: one per core)")
      ->check(CLI::Range(0, 1024));
  command
      ->add_option("-c,--ctx-size", flags.ctx_size,
                   "context size in tokens (0: min(training context, 4096))")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  command->add_option("--ubatch", flags.ubatch, "prompt tokens per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  command->add_option("--kv-type", flags.kv_type, "KV cache type: f16 or f32")
      ->check(CLI::IsMember({"f16", "f32"}));
}

void add_sampling_flags(CLI::App* command, sample::SamplingParams& params) {
  command->add_option("--temp", params.temperature, "temperature (0: greedy)");
  command->add_option("--top-k", params.top_k, "top-k (0: off)");
  command->add_option("--top-p", params.top_p, "top-p (1: off)");
  command->add_option("--min-p", params.min_p, "min-p (0: off)");
  command->add_option("--repeat-penalty", params.repeat_penalty, "repetition penalty (1: off)");
  command->add_option("--repeat-last-n", params.repeat_last_n,
                      "tokens the penalties look back (0: off, -1: all)");
  command->add_option("--presence-penalty", params.presence_penalty, "presence penalty");
  command->add_option("--frequency-penalty", params.frequency_penalty, "frequency penalty");
  // -1 is llama.cpp's spelling of "random": its LLAMA_DEFAULT_SEED (sample::kRandomSeed) as an
  // int, which the cast wraps back to.
  command
      ->add_option_function<int64_t>(
          "-s,--seed",
          [&params](const int64_t& seed) { params.seed = static_cast<uint32_t>(seed); },
          "random seed (-1 or 4294967295: random)")
      ->check(CLI::Range(int64_t{-1}, int64_t{UINT32_MAX}));
}

Result<engine::EngineOptions> engine_options(const EngineFlags& flags) {
  engine::EngineOptions options;
  options.model_path = flags.model;
  options.n_threads = flags.threads;
  options.n_ctx = flags.ctx_size;
  options.n_ubatch = flags.ubatch;
  HEARTH_ASSIGN_OR_RETURN(options.kv_type, model::kv_type_from_name(flags.kv_type));
  return options;
}

Result<std::unique_ptr<engine::Engine>> load_engine(const EngineFlags& flags) {
  HEARTH_ASSIGN_OR_RETURN(const engine::EngineOptions options, engine_options(flags));
  HEARTH_ASSIGN_OR_RETURN(auto engine, engine::Engine::load(options));
  const model::ModelConfig& config = engine->config();
  log::info("loaded {} ({}, {} layers, d_model {}, vocabulary {}), context {}, {} threads",
            engine->name(), config.arch, config.n_layers, config.d_model, config.n_vocab,
            engine->n_ctx(), engine->pool().size());
  return engine;
}

}  // namespace hearth::cli
