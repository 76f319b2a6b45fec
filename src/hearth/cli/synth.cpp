// `hearth synth`: flags in, model::plan_synth + model::write_synth out, with a progress bar.
// Bad flags (unknown architecture, preset or type, inconsistent dims) exit 2; a vocabulary or
// output file that cannot be read or written exits 1.
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/base/progress.h"
#include "hearth/cli/commands.h"
#include "hearth/model/synth.h"

namespace hearth::cli {
namespace {

struct SynthFlags {
  std::string arch;
  std::string preset;
  std::string dims;
  int64_t layers = 0;
  std::string type = "f16";
  std::string vocab;
  std::string name;
  uint64_t seed = 1;
  std::string output;
};

int usage_error(const Error& error) {
  report_error(error);
  return kExitUsage;
}

int run_synth(const SynthFlags& flags) {
  if (flags.preset.empty() == flags.dims.empty()) {
    return usage_error(Error("synth: give exactly one of --preset and --dims"));
  }
  if (!flags.dims.empty() && flags.arch.empty()) {
    return usage_error(Error("synth: --dims needs --arch"));
  }
  auto config = flags.preset.empty() ? model::synth_config_from_dims(flags.arch, flags.dims)
                                     : model::synth_preset(flags.arch, flags.preset);
  if (!config.ok()) return usage_error(config.error());
  if (flags.layers > 0) {  // the preset's shape with fewer layers: a file that fits
    config->n_layers = flags.layers;
    config->name += fmt::format("-{}-layers", flags.layers);
  }
  if (!flags.name.empty()) config->name = flags.name;
  const auto type = model::synth_weight_type(flags.type);
  if (!type.ok()) return usage_error(type.error());

  const auto vocab = model::load_synth_vocab(flags.vocab);
  if (!vocab.ok()) return report_error(vocab.error());
  const auto plan = model::plan_synth(*config, *type, *vocab, flags.seed);
  if (!plan.ok()) return report_error(plan.error());
  if (plan->n_fallback > 0) {
    std::fprintf(stderr,
                 "hearth: %d tensors have rows that are not a multiple of %s's block "
                 "size: stored as f16\n",
                 plan->n_fallback, flags.type.c_str());
  }

  std::optional<Progress> progress;
  const Status written =
      model::write_synth(*plan, flags.output, [&](uint64_t done, uint64_t total) {
        if (!progress) progress.emplace("writing " + flags.output, total);
        progress->update(done);
      });
  if (progress) progress->finish();
  if (!written.ok()) return report_error(written.error());
  std::printf("%s: %s, %s parameters (vocabulary %lld), %s weights, seed %llu\n",
              flags.output.c_str(), config->arch.c_str(),
              std::string(plan->metadata.get_string("general.size_label").value_or("?")).c_str(),
              static_cast<long long>(plan->n_vocab), flags.type.c_str(),
              static_cast<unsigned long long>(flags.seed));
  return 0;
}

}  // namespace

void register_synth(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SynthFlags>();
  std::vector<std::string_view> names;  // "tiny" exists once per architecture
  for (const auto& [name, arch] : model::synth_presets()) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  const std::string presets = fmt::format("{}", fmt::join(names, ", "));
  CLI::App* command = app.add_subcommand(
      "synth",
      "Write a GGUF model of a given architecture and shape with random weights and a "
      "real vocabulary (for tests, benchmarks and demos)");
  command->add_option("--arch", flags->arch,
                      fmt::format("{} (implied by most presets)",
                                  fmt::join(model::synth_arches(), ", ")));
  command->add_option("--preset", flags->preset,
                      "a named shape: " + presets + " (tiny: with --arch)");
  command->add_option("--dims", flags->dims,
                      "d_model,n_layers,n_heads,n_kv_heads,head_dim,d_ff[,n_ctx]");
  command
      ->add_option("--layers", flags->layers,
                   "keep only the first N layers of the shape (a smaller file, e.g. for a "
                   "speed test of a model that does not fit)")
      ->check(CLI::Range(1, 1024));
  command
      ->add_option("--type", flags->type,
                   "weight type of the matrices: f32, f16, bf16, "
                   "q8_0, q4_0 (norms stay f32)")
      ->capture_default_str();
  command
      ->add_option("--vocab", flags->vocab,
                   "vocabulary: an HF tokenizer.json, or a GGUF file to copy tokenizer.* from")
      ->required();
  command->add_option("--seed", flags->seed, "random seed of the weights")->capture_default_str();
  command->add_option("--name", flags->name, "general.name (default hearth-synth-ARCH-PRESET)");
  command->add_option("-o,--output", flags->output, "the GGUF file to write")->required();
  command->callback([flags, exit_code] { *exit_code = run_synth(*flags); });
}

}  // namespace hearth::cli
