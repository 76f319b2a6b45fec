// The local ChatBackend: a GGUF model run in-process by the engine. Each backend keeps one
// session (one KV cache), so an agent's growing conversation only processes its new messages;
// backends opened on the same file with the same settings share one loaded model, and their
// generations take turns on it. Prompts are rendered with the model's chat template, tool calls
// parsed with its family's parser (engine::ChatCompletions, shared with the server).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "hearth/base/result.h"
#include "hearth/llm/chat_backend.h"

namespace hearth::engine {
class Engine;
class Session;
class ChatCompletions;
}  // namespace hearth::engine

namespace hearth::llm {

struct LocalOptions {
  std::filesystem::path model_path;
  int n_threads = 0;    // 0: one per core
  int64_t n_ctx = 0;    // 0: min(the model's training context, 4096)
};

class LocalBackend final : public ChatBackend {
 public:
  // Loads the model (or reuses the one another backend loaded with the same options). Errors
  // name the file; a model without a chat template is refused.
  static Result<std::unique_ptr<LocalBackend>> open(const LocalOptions& options);
  ~LocalBackend() override;

  Result<ChatResponse> chat(const ChatRequest& request, const EventSink& sink) override;
  std::string describe() const override;
  int64_t context_size() const override;

 private:
  LocalBackend(std::shared_ptr<engine::Engine> engine, std::unique_ptr<engine::Session> session);
  std::shared_ptr<engine::Engine> engine_;
  std::unique_ptr<engine::Session> session_;
  std::unique_ptr<engine::ChatCompletions> completions_;
};

}  // namespace hearth::llm
