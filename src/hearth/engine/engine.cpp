// Engine loading and a session's generation loop: prefix reuse, chunked prefill, sampling,
// streaming decode with stop strings held back until they can no longer match. Prefix reuse for
// a hybrid model's recurrent state: the whole sequence when the prompt extends it, else nothing.
#include "hearth/engine/engine.h"

#include <algorithm>
#include <chrono>

#include "hearth/base/log.h"
#include "hearth/engine/stop_filter.h"

namespace hearth::engine {
namespace {

constexpr int64_t kDefaultContext = 4096;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The control tokens spelled inside `markers` ("<|channel>thought" holds <|channel>); markers
// that are text in this vocabulary add nothing.
Result<std::vector<int32_t>> control_tokens_in(const tokenizer::Tokenizer& tokenizer,
                                               const std::vector<std::string_view>& markers) {
  std::vector<int32_t> tokens;
  for (const std::string_view marker : markers) {
    HEARTH_ASSIGN_OR_RETURN(
        const std::vector<int32_t> ids,
        tokenizer.encode(marker, {.add_special = false, .parse_special = true}));
    for (const int32_t id : ids) {
      if (tokenizer.vocab().types[id] == tokenizer::TokenType::kControl &&
          std::find(tokens.begin(), tokens.end(), id) == tokens.end()) {
        tokens.push_back(id);
      }
    }
  }
  return tokens;
}

}  // namespace

tokenizer::DecodeOptions generation_decode_options(bool constrained,
                                                   const std::vector<int32_t>& preserved) {
  return {.special = constrained, .preserved = preserved, .strip_leading_space = false};
}

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfGeneration:
    case StopReason::kStopString:
      return "stop";
    case StopReason::kMaxTokens:
    case StopReason::kContextFull:
      return "length";
    case StopReason::kCancelled:
      return "cancelled";
  }
  return "stop";
}

Result<std::unique_ptr<Engine>> Engine::load(const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->options_ = options;
  HEARTH_ASSIGN_OR_RETURN(engine->model_, model::Model::load(options.model_path));
  const gguf::Metadata& metadata = engine->model_->file().metadata();
  auto tokenizer = tokenizer::Tokenizer::from_metadata(metadata);
  if (!tokenizer.ok()) return tokenizer.error().context(options.model_path.string());
  engine->tokenizer_ = std::move(*tokenizer);
  if (metadata.contains("tokenizer.chat_template")) {
    auto chat_template = chat::ChatTemplate::from_gguf(metadata);
    if (!chat_template.ok()) return chat_template.error().context(options.model_path.string());
    engine->chat_template_ = std::move(*chat_template);
    engine->output_format_ =
        chat::detect_output_format(*metadata.get_string("tokenizer.chat_template"));
  }
  // The tokenizer and template hold what they need: the vocabulary arrays (151k-262k strings
  // each) would otherwise stay in memory twice for the life of the engine.
  constexpr std::string_view kVocabularyArrays[] = {
      "tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type",
      "tokenizer.ggml.scores"};
  engine->model_->drop_metadata(kVocabularyArrays);
  const model::ModelConfig& config = engine->model_->config();
  if (static_cast<int64_t>(engine->tokenizer_->n_vocab()) > config.n_vocab) {
    return make_error("{}: the tokenizer has {} tokens but the model only {} embeddings",
                      options.model_path.string(), engine->tokenizer_->n_vocab(), config.n_vocab);
  }
  engine->n_ctx_ = options.n_ctx > 0 ? options.n_ctx : std::min(config.n_ctx_train, kDefaultContext);
  if (options.n_ubatch <= 0) return make_error("--ubatch must be positive");
  engine->name_ = config.name.empty() ? options.model_path.stem().string() : config.name;
  engine->pool_ = std::make_unique<ThreadPool>(options.n_threads);

  engine->end_of_generation_ = sample::end_of_generation_tokens(*engine->tokenizer_);
  for (const bool tool_calls : {false, true}) {
    auto preserved = control_tokens_in(*engine->tokenizer_,
                                       chat::parser_markers(engine->output_format_, tool_calls));
    if (!preserved.ok()) return preserved.error().context("the output parser's markers");
    engine->preserved_tokens_[tool_calls ? 1 : 0] = std::move(*preserved);
  }
  return engine;
}

Result<std::vector<int32_t>> Engine::tokenize_prompt(std::string_view text,
                                                    bool parse_special) const {
  HEARTH_ASSIGN_OR_RETURN(
      std::vector<int32_t> tokens,
      tokenizer_->encode(text, {.add_special = false, .parse_special = parse_special}));
  const tokenizer::Vocab& vocab = tokenizer_->vocab();
  if (vocab.add_bos && vocab.bos && (tokens.empty() || tokens.front() != *vocab.bos)) {
    tokens.insert(tokens.begin(), *vocab.bos);
  }
  return tokens;
}

std::shared_ptr<const sample::GrammarVocabulary> Engine::grammar_vocabulary() const {
  std::call_once(grammar_vocabulary_once_, [this] {
    grammar_vocabulary_ =
        sample::GrammarVocabulary::from_tokenizer(*tokenizer_, end_of_generation_);
  });
  return grammar_vocabulary_;
}

Result<std::unique_ptr<sample::GrammarMatcher>> Engine::grammar_matcher(
    std::string_view gbnf) const {
  return sample::GrammarMatcher::create(gbnf, grammar_vocabulary());
}

bool Engine::is_end_of_generation(int32_t token) const {
  return std::find(end_of_generation_.begin(), end_of_generation_.end(), token) !=
         end_of_generation_.end();
}

Result<std::unique_ptr<Session>> Session::create(Engine& engine) {
  HEARTH_ASSIGN_OR_RETURN(auto sequence,
                          engine.model().new_sequence(engine.n_ctx(), engine.options().kv_type));
  return std::unique_ptr<Session>(new Session(engine, std::move(sequence)));
}

Status Session::prefill(std::span<const int32_t> prompt, std::vector<float>& logits) {
  if (prompt.empty()) return make_error("the prompt is empty");
  if (static_cast<int64_t>(prompt.size()) > sequence_->n_ctx()) {
    return make_error("the prompt is {} tokens, longer than the context of {} tokens",
                      prompt.size(), sequence_->n_ctx());
  }
  // Reuse the cached prefix, but recompute at least the last token for its logits.
  size_t reused = 0;
  while (reused < tokens_.size() && reused < prompt.size() && tokens_[reused] == prompt[reused]) {
    ++reused;
  }
  reused = std::min(reused, prompt.size() - 1);
  // A recurrent state (hybrid models) is kept whole or not at all (Sequence::reusable_prefix).
  reused = static_cast<size_t>(sequence_->reusable_prefix(static_cast<int64_t>(reused)));
  sequence_->truncate(static_cast<int64_t>(reused));
  tokens_.resize(reused);
  last_reused_ = static_cast<int64_t>(reused);

  const auto n_ubatch = static_cast<size_t>(engine_.options().n_ubatch);
  std::vector<model::BatchToken> batch;
  for (size_t begin = reused; begin < prompt.size(); begin += n_ubatch) {
    const size_t end = std::min(prompt.size(), begin + n_ubatch);
    batch.clear();
    for (size_t i = begin; i < end; ++i) {
      batch.push_back({sequence_.get(), prompt[i], i + 1 == prompt.size()});
    }
    Status status;
    {
      const std::lock_guard lock(engine_.forward_mutex());
      status = engine_.model().forward(batch, logits, &engine_.pool());
    }
    if (!status.ok()) {
      tokens_.resize(static_cast<size_t>(sequence_->size()));
      return status;
    }
    tokens_.insert(tokens_.end(), prompt.begin() + static_cast<ptrdiff_t>(begin),
                   prompt.begin() + static_cast<ptrdiff_t>(end));
  }
  return Status();
}

Status Session::step(int32_t token, std::vector<float>& logits) {
  const model::BatchToken entry{sequence_.get(), token, true};
  {
    const std::lock_guard lock(engine_.forward_mutex());
    HEARTH_RETURN_IF_ERROR(engine_.model().forward({&entry, 1}, logits, &engine_.pool()));
  }
  tokens_.push_back(token);
  return Status();
}

Result<GenerationStats> Session::generate(std::span<const int32_t> prompt,
                                          const GenerateOptions& options, const TextSink& sink) {
  HEARTH_RETURN_IF_ERROR(sample::validate(options.sampling));
  GenerationStats stats;
  stats.n_prompt = static_cast<int64_t>(prompt.size());
  std::vector<float> logits;
  const auto prompt_start = std::chrono::steady_clock::now();
  HEARTH_RETURN_IF_ERROR(prefill(prompt, logits));
  stats.prompt_seconds = seconds_since(prompt_start);
  stats.n_reused = last_reused_;

  const int64_t n_vocab = engine_.config().n_vocab;
  sample::Sampler sampler(options.sampling, static_cast<int32_t>(n_vocab));
  stats.seed = sampler.seed();
  sampler.add_history(prompt);
  sampler.set_constraint(options.constraint);
  tokenizer::StreamDecoder decoder(
      engine_.tokenizer(),
      generation_decode_options(options.constraint != nullptr, options.preserved_tokens));
  StopFilter stops(options.stop);

  const auto generation_start = std::chrono::steady_clock::now();
  stats.stop_reason = StopReason::kMaxTokens;
  while (options.max_tokens < 0 || stats.n_generated < options.max_tokens) {
    const int32_t token = sampler.sample(logits);
    if (token == sample::kNoToken ||
        (!options.ignore_eos && engine_.is_end_of_generation(token))) {
      stats.stop_reason = StopReason::kEndOfGeneration;
      break;
    }
    sampler.accept(token);
    ++stats.n_generated;
    HEARTH_ASSIGN_OR_RETURN(const std::string piece, decoder.push(token));
    bool matched = false;
    const std::string ready = stops.push(piece, matched);
    if (!ready.empty() && !sink(ready)) {
      stats.stop_reason = StopReason::kCancelled;
      break;
    }
    if (matched) {
      stats.stop_reason = StopReason::kStopString;
      break;
    }
    if (options.max_tokens >= 0 && stats.n_generated >= options.max_tokens) break;
    if (sequence_->size() >= sequence_->n_ctx()) {
      stats.stop_reason = StopReason::kContextFull;
      break;
    }
    HEARTH_RETURN_IF_ERROR(step(token, logits));
  }
  if (stats.stop_reason != StopReason::kStopString && stats.stop_reason != StopReason::kCancelled) {
    bool matched = false;
    std::string rest = stops.push(decoder.finish(), matched);
    if (!matched) rest += stops.flush();
    if (!rest.empty()) sink(rest);
  }
  stats.generation_seconds = seconds_since(generation_start);
  return stats;
}

}  // namespace hearth::engine
