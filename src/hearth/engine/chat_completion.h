// The chat-completion layer shared by the server and the local ChatBackend: an OpenAI-shaped
// request (messages, tools, tool_choice, response_format) becomes a rendered, tokenized prompt,
// an optional grammar constraint (JSON Schema, JSON object, or a forced tool call in the model
// family's syntax), the control tokens generation must render for the parser (the family's
// markers), and the settings of the chat::OutputParser that reads the reply. Not here:
// HTTP and JSON validation of request bodies (server), scheduling (scheduler.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/json.h"
#include "hearth/base/result.h"
#include "hearth/chat/output_parser.h"
#include "hearth/engine/engine.h"
#include "hearth/sample/grammar_matcher.h"

namespace hearth::engine {

enum class ToolChoice { kAuto, kNone, kRequired, kNamed };
enum class ResponseFormat { kText, kJsonObject, kJsonSchema };

struct ChatCompletionRequest {
  // OpenAI messages: {role, content (a string or null), tool_calls, tool_call_id, name}; tool
  // call arguments may be JSON text or objects (templates get objects where the text parses).
  Json messages = Json::array();
  Json tools;  // null, or OpenAI tools:
               // [{"type":"function","function":{name,description,parameters}}]
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_name;  // kNamed: the function the reply must call
  bool parallel_tool_calls = false;
  ResponseFormat response_format = ResponseFormat::kText;
  Json json_schema;                          // kJsonSchema: the schema the reply must satisfy
  Json template_variables = Json::object();  // extra template variables (enable_thinking, ...)
};

struct PreparedChat {
  std::string prompt_text;
  std::vector<int32_t> prompt;
  std::unique_ptr<sample::TokenConstraint> constraint;  // null when the reply is free
  // The control tokens the parser reads (reasoning markers, and the tool-call markers when the
  // request offers tools), for GenerateOptions / GenerationRequest::preserved_tokens.
  std::vector<int32_t> preserved_tokens;
  chat::OutputFormat format = chat::OutputFormat::kGeneric;
  chat::ParserOptions parser_options;

  chat::OutputParser parser() const { return chat::OutputParser(format, parser_options); }
};

class ChatCompletions {
 public:
  explicit ChatCompletions(const Engine& engine) : engine_(engine) {}

  // Thread-safe. Errors (all the caller's to fix): a model without a chat template, a template
  // that fails to render these messages, tool_choice required/named for a family without a
  // tool-call grammar, an unknown named tool, a schema the grammar module refuses.
  Result<PreparedChat> prepare(const ChatCompletionRequest& request);

 private:
  Result<std::unique_ptr<sample::TokenConstraint>> constraint_for(
      const ChatCompletionRequest& request, const Json& tools);
  Result<std::unique_ptr<sample::TokenConstraint>> grammar_constraint(const std::string& gbnf);

  const Engine& engine_;
  std::mutex mutex_;
  std::shared_ptr<const sample::GrammarVocabulary> vocabulary_;  // built on first use
  // Compiled grammars by source: requests repeating a schema share the cached masks.
  std::map<std::string, std::shared_ptr<sample::CompiledGrammar>> grammars_;
};

// OpenAI's finish_reason: "tool_calls" when the reply is calls and ended normally, "length" at
// the token or context limit, else "stop".
std::string_view finish_reason(StopReason reason, bool has_tool_calls);

}  // namespace hearth::engine
