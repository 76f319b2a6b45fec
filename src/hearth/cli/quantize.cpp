// `hearth quantize IN OUT TYPE`: model::plan_quantization + model::write_quantized with a
// progress bar, warnings for fallbacks and requantized inputs, and a summary of the types
// written. An unknown TYPE exits 2; an input that cannot be read or converted, or an output
// that cannot be written, exits 1 (an existing OUT is then left as it was).
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>

#include "hearth/base/progress.h"
#include "hearth/cli/commands.h"
#include "hearth/model/quantize_model.h"

namespace hearth::cli {
namespace {

struct QuantizeFlags {
  std::string input;
  std::string output;
  std::string type;
  int threads = 0;
};

int run_quantize(const QuantizeFlags& flags) {
  const auto mix = model::quant_mix(flags.type);
  if (!mix.ok()) {
    report_error(mix.error());
    return kExitUsage;
  }
  const auto input = gguf::File::open(flags.input);
  if (!input.ok()) return report_error(input.error());
  const auto plan = model::plan_quantization(input->metadata(), input->tensors(), *mix);
  if (!plan.ok()) return report_error(plan.error().context(flags.input));
  if (plan->n_requantized > 0) {
    fmt::print(stderr,
               "hearth: warning: {} tensors are already quantized: they are dequantized and "
               "quantized again, which loses more precision than quantizing the original\n",
               plan->n_requantized);
  }
  if (plan->n_fallback > 0) {
    fmt::print(stderr,
               "hearth: {} tensors have rows that do not fit their type's block size: they use "
               "a smaller block type, as llama-quantize does\n",
               plan->n_fallback);
  }

  Progress progress("quantizing to " + flags.output, plan->n_bytes_out);
  const Status written = model::write_quantized(
      *input, *plan, flags.output, [&](uint64_t done, uint64_t) { progress.update(done); },
      flags.threads);
  progress.finish();
  if (!written.ok()) return report_error(written.error());

  std::map<std::string, int> counts;  // output type name -> tensors
  uint64_t n_elements = 0;
  for (size_t i = 0; i < plan->tensors.size(); ++i) {
    ++counts[std::string(ggml_type_traits(static_cast<uint32_t>(plan->tensors[i].to))->name)];
    n_elements += input->tensors()[i].n_elements;
  }
  std::string types;
  for (const auto& [name, count] : counts) {
    types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count, name);
  }
  fmt::print("{}: {}, {:.1f} MiB -> {:.1f} MiB ({:.2f} bits per weight); tensors: {}\n",
             flags.output, plan->mix.name, static_cast<double>(plan->n_bytes_in) / (1 << 20),
             static_cast<double>(plan->n_bytes_out) / (1 << 20),
             8.0 * static_cast<double>(plan->n_bytes_out) /
                 static_cast<double>(std::max<uint64_t>(n_elements, 1)),
             types);
  return 0;
}

}  // namespace

void register_quantize(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<QuantizeFlags>();
  std::string names;
  for (const std::string_view name : model::quant_mix_names()) {
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  CLI::App* command = app.add_subcommand(
      "quantize",
      "Convert a GGUF model's weights to a llama-quantize type mix (q4_k_m, q6_k, q8_0, ...): "
      "the same tensors get the same types as in llama.cpp's files");
  command->add_option("IN", flags->input, "the GGUF model to read")->required();
  command->add_option("OUT", flags->output, "the GGUF file to write")->required();
  command->add_option("TYPE", flags->type, "one of: " + names)->required();
  command->add_option("-t,--threads", flags->threads, "threads (0: one per core)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->callback([flags, exit_code] { *exit_code = run_quantize(*flags); });
}

}  // namespace hearth::cli
