// LocalBackend: the request becomes an engine chat completion (template, tokens, grammar when a
// tool call is forced), generated on the backend's session, and the text is parsed into
// content, reasoning and tool-call events as it streams.
#include "hearth/llm/local_backend.h"

#include <map>
#include <mutex>
#include <tuple>

#include "hearth/engine/chat_completion.h"
#include "hearth/engine/engine.h"

namespace hearth::llm {
namespace {

// Engines already loaded in this process, by (file, threads, context): debate panels and eval
// trials that name the same model share its weights instead of loading them again.
std::shared_ptr<engine::Engine> shared_engine(const LocalOptions& options,
                                              Result<std::shared_ptr<engine::Engine>>* error) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, int, int64_t>, std::weak_ptr<engine::Engine>> engines;
  const std::lock_guard lock(mutex);
  const auto key = std::make_tuple(options.model_path.string(), options.n_threads, options.n_ctx);
  if (auto engine = engines[key].lock()) return engine;
  engine::EngineOptions engine_options;
  engine_options.model_path = options.model_path;
  engine_options.n_threads = options.n_threads;
  engine_options.n_ctx = options.n_ctx;
  auto loaded = engine::Engine::load(engine_options);
  if (!loaded.ok()) {
    *error = loaded.error();
    return nullptr;
  }
  std::shared_ptr<engine::Engine> engine = std::move(*loaded);
  engines[key] = engine;
  return engine;
}

// The engine's sampling chain with the request's overrides.
sample::SamplingParams sampling_for(const SamplingParams& params) {
  sample::SamplingParams sampling;
  if (params.temperature) sampling.temperature = static_cast<float>(*params.temperature);
  if (params.top_p) sampling.top_p = static_cast<float>(*params.top_p);
  if (params.seed) sampling.seed = static_cast<uint32_t>(*params.seed);
  return sampling;
}

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::open(const LocalOptions& options) {
  Result<std::shared_ptr<engine::Engine>> error = std::shared_ptr<engine::Engine>();
  std::shared_ptr<engine::Engine> engine = shared_engine(options, &error);
  if (engine == nullptr) return error.error();
  if (engine->chat_template() == nullptr) {
    return make_error("{}: the model has no chat template (tokenizer.chat_template)",
                      options.model_path.string());
  }
  HEARTH_ASSIGN_OR_RETURN(auto session, engine::Session::create(*engine));
  return std::unique_ptr<LocalBackend>(new LocalBackend(std::move(engine), std::move(session)));
}

LocalBackend::LocalBackend(std::shared_ptr<engine::Engine> engine,
                           std::unique_ptr<engine::Session> session)
    : engine_(std::move(engine)),
      session_(std::move(session)),
      completions_(std::make_unique<engine::ChatCompletions>(*engine_)) {}

LocalBackend::~LocalBackend() = default;

std::string LocalBackend::describe() const {
  return "local " + engine_->options().model_path.string();
}

int64_t LocalBackend::context_size() const { return engine_->n_ctx(); }

Result<ChatResponse> LocalBackend::chat(const ChatRequest& request, const EventSink& sink) {
  ResponseBuilder builder(sink);
  engine::ChatCompletionRequest completion;
  for (const Message& message : request.messages) {
    completion.messages.push_back(message_to_json(message));
  }
  if (!request.tools.empty()) {
    completion.tools = Json::array();
    for (const ToolSpec& tool : request.tools) completion.tools.push_back(tool_to_json(tool));
  }
  auto prepared = completions_->prepare(completion);
  if (!prepared.ok()) return builder.fail(prepared.error());

  engine::GenerateOptions options;
  options.sampling = sampling_for(request.params);
  options.max_tokens = request.params.max_tokens.value_or(-1);
  options.constraint = prepared->constraint.get();
  options.preserved_tokens = prepared->preserved_tokens;
  chat::OutputParser parser = prepared->parser();
  int tool_calls = 0;
  const auto forward = [&](const chat::OutputDelta& delta) {
    if (!delta.reasoning.empty()) builder.emit(Event::of_text(EventKind::kReasoning, delta.reasoning));
    if (!delta.content.empty()) builder.emit(Event::of_text(EventKind::kText, delta.content));
  };
  auto stats = session_->generate(prepared->prompt, options, [&](std::string_view text) {
    forward(parser.feed(text));
    return true;
  });
  if (!stats.ok()) return builder.fail(stats.error());
  forward(parser.finish());
  for (const chat::ToolCall& call : parser.result().tool_calls) {
    builder.emit(Event::of_call(EventKind::kToolCall, tool_calls++,
                                ToolCall{call.id, call.name, call.arguments}));
  }
  builder.emit(Event::of_usage(Usage{stats->n_prompt, stats->n_generated}));
  return builder.finish(
      std::string(engine::finish_reason(stats->stop_reason, tool_calls > 0)));
}

}  // namespace hearth::llm
