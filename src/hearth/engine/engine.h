// A loaded model ready to generate: the Model (weights, forward), its tokenizer and chat
// template from the same GGUF file, a thread pool, and sessions — one sequence each, whose
// cached tokens are reused when the next prompt starts with them — that stream generated text
// through the sampler chain. The server's continuous-batching scheduler builds on this; not here:
// HTTP, the agent loop, output parsing (chat::OutputParser).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/base/thread_pool.h"
#include "hearth/chat/chat_template.h"
#include "hearth/chat/output_parser.h"
#include "hearth/model/model.h"
#include "hearth/sample/constraint.h"
#include "hearth/sample/grammar_matcher.h"
#include "hearth/sample/sampler.h"
#include "hearth/tokenizer/tokenizer.h"

namespace hearth::engine {

struct EngineOptions {
  std::filesystem::path model_path;
  int n_threads = 0;     // 0: one per hardware thread
  int64_t n_ctx = 0;     // 0: min(the model's training context, 4096)
  model::KvType kv_type = model::KvType::kF16;
  int64_t n_ubatch = 512;  // prompt tokens per forward call
};

class Engine {
 public:
  // Loads the model, tokenizer and (when the file has one) chat template. Errors name the file.
  static Result<std::unique_ptr<Engine>> load(const EngineOptions& options);

  model::Model& model() { return *model_; }
  const model::ModelConfig& config() const { return model_->config(); }
  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
  // Null when the file has no tokenizer.chat_template.
  const chat::ChatTemplate* chat_template() const {
    return chat_template_ ? &*chat_template_ : nullptr;
  }
  chat::OutputFormat output_format() const { return output_format_; }
  ThreadPool& pool() { return *pool_; }
  const EngineOptions& options() const { return options_; }
  int64_t n_ctx() const { return n_ctx_; }
  // The model's name: general.name, else the file name.
  const std::string& name() const { return name_; }

  // A prompt's tokens: BOS when the vocabulary adds one (once, even if the text starts with
  // it, as rendered chat templates do); control-token spellings become those tokens when
  // `parse_special` (chat prompts), stay text otherwise (raw user text).
  Result<std::vector<int32_t>> tokenize_prompt(std::string_view text, bool parse_special) const;

  // The vocabulary as the grammar engine sees it (token bytes and a trie), built on first use
  // and shared by every grammar of this engine. Thread-safe.
  std::shared_ptr<const sample::GrammarVocabulary> grammar_vocabulary() const;
  // A matcher that constrains generation to the GBNF grammar `gbnf`. Errors: the grammar's own,
  // with line and column.
  Result<std::unique_ptr<sample::GrammarMatcher>> grammar_matcher(std::string_view gbnf) const;

  // Model::forward is not reentrant: sessions hold this around each forward call, so sessions
  // on different threads (eval trials, debate participants sharing a model) take turns.
  std::mutex& forward_mutex() const { return forward_mutex_; }

  // End-of-generation tokens: EOS and the end-of-turn controls (<|im_end|>, <|eot_id|>, ...).
  bool is_end_of_generation(int32_t token) const;

  // The control tokens that generation renders although it hides control tokens otherwise: those
  // spelled inside the markers the output parser reads (chat::parser_markers: reasoning markers,
  // and with `tool_calls` the tool-call markers, e.g. Gemma 4's <|tool_call>, <|"|>).
  const std::vector<int32_t>& preserved_tokens(bool tool_calls) const {
    return preserved_tokens_[tool_calls ? 1 : 0];
  }

 private:
  Engine() = default;
  EngineOptions options_;
  std::unique_ptr<model::Model> model_;
  std::optional<tokenizer::Tokenizer> tokenizer_;
  std::optional<chat::ChatTemplate> chat_template_;
  chat::OutputFormat output_format_ = chat::OutputFormat::kGeneric;
  std::unique_ptr<ThreadPool> pool_;
  int64_t n_ctx_ = 0;
  std::string name_;
  std::vector<int32_t> end_of_generation_;
  std::vector<int32_t> preserved_tokens_[2];  // without, with tool calls
  mutable std::mutex forward_mutex_;
  mutable std::once_flag grammar_vocabulary_once_;
  mutable std::shared_ptr<const sample::GrammarVocabulary> grammar_vocabulary_;
};

struct GenerateOptions {
  int64_t max_tokens = -1;  // < 0: until end of generation or the context is full
  sample::SamplingParams sampling;
  std::vector<std::string> stop;  // the text ends before the first of these
  sample::TokenConstraint* constraint = nullptr;  // not owned
  // Control tokens rendered in the text while the others are hidden (Engine::preserved_tokens;
  // see generation_decode_options).
  std::vector<int32_t> preserved_tokens;
  bool ignore_eos = false;
};

// How generated text is decoded (Session::generate and the scheduler): under a constraint every
// control token is shown (its grammar allows one only where it references it, e.g. a tool-call
// marker), else only the preserved ones; the pieces continue a prompt (no dummy-prefix strip).
tokenizer::DecodeOptions generation_decode_options(bool constrained,
                                                   const std::vector<int32_t>& preserved);

enum class StopReason { kEndOfGeneration, kMaxTokens, kStopString, kContextFull, kCancelled };
std::string_view stop_reason_name(StopReason reason);  // "stop", "length", ...

struct GenerationStats {
  int64_t n_prompt = 0;     // prompt tokens
  int64_t n_reused = 0;     // of which found in the session's cache
  int64_t n_generated = 0;  // sampled tokens
  double prompt_seconds = 0;
  double generation_seconds = 0;
  StopReason stop_reason = StopReason::kEndOfGeneration;
  uint32_t seed = 0;
};

// Receives each piece of generated text as soon as it is certain (no partial UTF-8, no text that
// may still turn out to be a stop string); returning false cancels the generation.
using TextSink = std::function<bool(std::string_view text)>;

// One sequence of one engine.
class Session {
 public:
  static Result<std::unique_ptr<Session>> create(Engine& engine);

  // Runs `prompt` through the model, reusing the longest cached prefix; `logits` receives the
  // last position's logits. Errors: a prompt longer than the context (saying both lengths).
  Status prefill(std::span<const int32_t> prompt, std::vector<float>& logits);
  // Appends one token and returns its logits.
  Status step(int32_t token, std::vector<float>& logits);

  // prefill + sampling until a stop condition, streaming text to `sink`.
  Result<GenerationStats> generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                                   const TextSink& sink);

  // Tokens currently in the cache.
  const std::vector<int32_t>& tokens() const { return tokens_; }
  int64_t last_reused() const { return last_reused_; }

 private:
  Session(Engine& engine, std::unique_ptr<model::Sequence> sequence)
      : engine_(engine), sequence_(std::move(sequence)) {}
  Engine& engine_;
  std::unique_ptr<model::Sequence> sequence_;
  std::vector<int32_t> tokens_;
  int64_t last_reused_ = 0;
};

}  // namespace hearth::engine
