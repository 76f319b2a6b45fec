// `hearth run`: generate from a prompt, streaming the text to stdout and the timings to stderr.
// `hearth logits`: the raw float32 logits of a prompt (last position or all), for comparisons
// with other implementations. Both load the model in-process through the engine.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/base/files.h"
#include "hearth/base/json.h"
#include "hearth/cli/commands.h"
#include "hearth/cli/engine_flags.h"
#include "hearth/sample/json_schema.h"

namespace hearth::cli {
namespace {

struct RunFlags {
  EngineFlags engine;
  sample::SamplingParams sampling;
  std::optional<std::string> prompt;  // "" is a prompt too (a BOS token alone, for some models)
  std::string prompt_file;
  int64_t n_predict = -1;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  std::string grammar_file;
  std::string json_schema_file;
};

// The GBNF text of --grammar FILE, or the grammar of --json-schema FILE; empty when neither.
Result<std::string> read_grammar(const RunFlags& flags) {
  if (!flags.grammar_file.empty()) return read_file(flags.grammar_file);
  if (flags.json_schema_file.empty()) return std::string();
  HEARTH_ASSIGN_OR_RETURN(const std::string text, read_file(flags.json_schema_file));
  HEARTH_ASSIGN_OR_RETURN(const Json schema, parse_json(text, flags.json_schema_file));
  auto grammar = sample::grammar_from_json_schema(schema);
  if (!grammar.ok()) return grammar.error().context(flags.json_schema_file);
  return grammar;
}

int run_run(const RunFlags& flags) {
  if (flags.prompt.has_value() == !flags.prompt_file.empty()) {
    report_error(Error("run: give exactly one of -p TEXT and -f FILE"));
    return kExitUsage;
  }
  if (const Status valid = sample::validate(flags.sampling); !valid.ok()) {
    report_error(valid.error());
    return kExitUsage;
  }
  if (!flags.grammar_file.empty() && !flags.json_schema_file.empty()) {
    report_error(Error("run: give at most one of --grammar and --json-schema"));
    return kExitUsage;
  }
  const auto grammar = read_grammar(flags);
  if (!grammar.ok()) return report_error(grammar.error());
  std::string prompt = flags.prompt.value_or("");
  if (!flags.prompt_file.empty()) {
    auto text = read_file(flags.prompt_file);
    if (!text.ok()) return report_error(text.error());
    prompt = std::move(*text);
  }
  auto engine = load_engine(flags.engine);
  if (!engine.ok()) return report_error(engine.error());
  auto tokens = (*engine)->tokenize_prompt(prompt, /*parse_special=*/false);
  if (!tokens.ok()) return report_error(tokens.error());
  auto session = engine::Session::create(**engine);
  if (!session.ok()) return report_error(session.error());

  std::unique_ptr<sample::GrammarMatcher> matcher;
  if (!grammar->empty()) {
    auto created = (*engine)->grammar_matcher(*grammar);
    if (!created.ok()) {
      return report_error(created.error().context(
          flags.grammar_file.empty() ? flags.json_schema_file : flags.grammar_file));
    }
    matcher = std::move(*created);
  }

  engine::GenerateOptions options;
  options.constraint = matcher.get();
  options.max_tokens = flags.n_predict;
  options.sampling = flags.sampling;
  options.ignore_eos = flags.ignore_eos;
  options.stop = flags.stop;
  auto stats = (*session)->generate(*tokens, options, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::fputc('\n', stdout);
  if (!stats.ok()) return report_error(stats.error());
  const auto rate = [](int64_t n, double seconds) { return seconds > 0 ? n / seconds : 0.0; };
  std::fprintf(stderr,
               "prompt: %lld tokens, %.2f tokens/s | generation: %lld tokens, %.2f tokens/s | "
               "stop: %s | seed %u\n",
               static_cast<long long>(stats->n_prompt),
               rate(stats->n_prompt, stats->prompt_seconds),
               static_cast<long long>(stats->n_generated),
               rate(stats->n_generated, stats->generation_seconds),
               std::string(engine::stop_reason_name(stats->stop_reason)).c_str(), stats->seed);
  return 0;
}

struct LogitsFlags {
  EngineFlags engine;
  std::optional<std::string> prompt;
  std::optional<std::string> tokens;
  bool all_positions = false;
  std::string output;
};

Result<std::vector<int32_t>> parse_token_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    try {
      size_t used = 0;
      const long value = std::stol(item, &used);
      if (used != item.size() || value < 0 || value > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(value));
    } catch (const std::exception&) {
      return make_error("--tokens: '{}' is not a token id", item);
    }
    begin = end + 1;
  }
  return ids;
}

int run_logits(const LogitsFlags& flags) {
  if (flags.prompt.has_value() == flags.tokens.has_value()) {
    report_error(Error("logits: give exactly one of --prompt TEXT and --tokens ID,ID,..."));
    return kExitUsage;
  }
  std::vector<int32_t> tokens;
  if (flags.tokens.has_value()) {
    auto parsed = parse_token_list(*flags.tokens);
    if (!parsed.ok()) {
      report_error(parsed.error());
      return kExitUsage;
    }
    tokens = std::move(*parsed);
  }
  auto engine = load_engine(flags.engine);
  if (!engine.ok()) return report_error(engine.error());
  if (flags.prompt.has_value()) {
    auto encoded = (*engine)->tokenize_prompt(*flags.prompt, /*parse_special=*/false);
    if (!encoded.ok()) return report_error(encoded.error());
    tokens = std::move(*encoded);
  }
  if (tokens.empty()) return report_error(Error("the prompt is empty: no tokens to score"));
  if (static_cast<int64_t>(tokens.size()) > (*engine)->n_ctx()) {
    return report_error(Error(fmt::format("the prompt is {} tokens, longer than the context of {}",
                                          tokens.size(), (*engine)->n_ctx())));
  }
  auto sequence = (*engine)->model().new_sequence((*engine)->n_ctx(), (*engine)->options().kv_type);
  if (!sequence.ok()) return report_error(sequence.error());
  // One forward call per ubatch; logits of every position or only of the last.
  std::vector<float> all;
  std::vector<float> logits;
  std::vector<model::BatchToken> batch;
  const auto n_ubatch = static_cast<size_t>(flags.engine.ubatch);
  for (size_t begin = 0; begin < tokens.size(); begin += n_ubatch) {
    batch.clear();
    for (size_t i = begin; i < std::min(tokens.size(), begin + n_ubatch); ++i) {
      batch.push_back({sequence->get(), tokens[i], flags.all_positions || i + 1 == tokens.size()});
    }
    const Status status = (*engine)->model().forward(batch, logits, &(*engine)->pool());
    if (!status.ok()) return report_error(status.error());
    all.insert(all.end(), logits.begin(), logits.end());
  }
  const std::string_view bytes(reinterpret_cast<const char*>(all.data()),
                               all.size() * sizeof(float));
  if (const Status written = write_file_atomic(flags.output, bytes); !written.ok()) {
    return report_error(written.error());
  }
  std::fprintf(stderr, "%s: %zu positions x %lld logits (float32, little-endian)\n",
               flags.output.c_str(), all.size() / static_cast<size_t>((*engine)->config().n_vocab),
               static_cast<long long>((*engine)->config().n_vocab));
  return 0;
}

}  // namespace

void register_run(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<RunFlags>();
  auto* command = app.add_subcommand("run", "Generate text from a prompt, streaming to stdout");
  add_engine_flags(command, flags->engine);
  add_sampling_flags(command, flags->sampling);
  command->add_option("-p,--prompt", flags->prompt, "prompt text");
  command->add_option("-f,--file", flags->prompt_file, "read the prompt from a file");
  command->add_option("-n,--n-predict", flags->n_predict, "tokens to generate (-1: until the end)");
  command->add_flag("--ignore-eos", flags->ignore_eos, "keep generating past end-of-text tokens");
  command->add_option("--stop", flags->stop, "stop before this text (repeatable)");
  command->add_option("--grammar", flags->grammar_file, "constrain the output to a GBNF grammar");
  command->add_option("--json-schema", flags->json_schema_file,
                      "constrain the output to JSON valid against this JSON Schema file");
  command->callback([flags, exit_code] { *exit_code = run_run(*flags); });
}

void register_logits(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LogitsFlags>();
  auto* command = app.add_subcommand("logits", "Write a prompt's raw float32 logits to a file");
  add_engine_flags(command, flags->engine);
  command->add_option("--prompt", flags->prompt, "prompt text (tokenized as `hearth run` does)");
  command->add_option("--tokens", flags->tokens, "comma-separated token ids");
  command->add_flag("--all-positions", flags->all_positions, "logits of every position");
  command->add_option("-o,--output", flags->output, "output file")->required();
  command->callback([flags, exit_code] { *exit_code = run_logits(*flags); });
}

}  // namespace hearth::cli
