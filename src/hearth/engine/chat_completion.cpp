// Rendering, tokenizing and constraining chat requests; the grammar vocabulary and compiled
// grammars are built once and shared by every request.
#include "hearth/engine/chat_completion.h"

#include <algorithm>

#include "hearth/sample/json_schema.h"
#include "hearth/sample/tool_call_grammar.h"

namespace hearth::engine {
namespace {

// Grammars kept compiled at once; beyond this the cache starts over (schemas rarely vary much).
constexpr size_t kMaxCachedGrammars = 32;

// Templates test content with `in` and index arguments as objects (`tool_call.arguments |
// tojson`, `.items()`): null content becomes "" and argument text that parses becomes an object,
// as llama.cpp's server and transformers' callers do.
Json template_messages(const Json& messages) {
  Json out = messages;
  for (Json& message : out) {
    if (!message.is_object()) continue;
    if (const auto content = message.find("content");
        content != message.end() && content->is_null()) {
      *content = "";
    }
    const auto calls = message.find("tool_calls");
    if (calls == message.end() || !calls->is_array()) continue;
    for (Json& call : *calls) {
      if (!call.is_object() || !call.contains("function") || !call["function"].is_object())
        continue;
      Json& function = call["function"];
      const auto arguments = function.find("arguments");
      if (arguments == function.end() || !arguments->is_string()) continue;
      auto parsed = parse_json(arguments->get<std::string>(), "tool call arguments");
      if (parsed.ok() && parsed->is_object()) *arguments = std::move(*parsed);
    }
  }
  return out;
}

}  // namespace

std::string_view finish_reason(StopReason reason, bool has_tool_calls) {
  switch (reason) {
    case StopReason::kMaxTokens:
    case StopReason::kContextFull:
      return "length";
    default:
      return has_tool_calls ? "tool_calls" : "stop";
  }
}

Result<PreparedChat> ChatCompletions::prepare(const ChatCompletionRequest& request) {
  const chat::ChatTemplate* chat_template = engine_.chat_template();
  if (chat_template == nullptr) {
    return make_error("model '{}' has no chat template (use /v1/completions with a raw prompt)",
                      engine_.name());
  }
  // tool_choice none: the model is not told about the tools, so it does not call them.
  const bool offer_tools = request.tools.is_array() && !request.tools.empty() &&
                           request.tool_choice != ToolChoice::kNone;
  Json tools = offer_tools ? request.tools : Json();
  if (request.tool_choice == ToolChoice::kNamed &&
      std::none_of(tools.begin(), tools.end(), [&](const Json& tool) {
        return tool.value("/function/name"_json_pointer, std::string()) == request.tool_name;
      })) {
    return make_error("tool_choice names '{}', which is not in tools", request.tool_name);
  }

  chat::ChatInput input;
  input.messages = template_messages(request.messages);
  input.tools = tools;
  input.extra = request.template_variables;
  auto text = chat_template->render(input);
  if (!text.ok()) return text.error().context("rendering the chat template");

  PreparedChat prepared;
  prepared.prompt_text = std::move(*text);
  HEARTH_ASSIGN_OR_RETURN(prepared.prompt, engine_.tokenize_prompt(prepared.prompt_text, true));
  prepared.format = engine_.output_format();
  prepared.parser_options.starts_in_reasoning =
      chat::prompt_opens_reasoning(prepared.format, prepared.prompt_text);
  prepared.parser_options.parse_tool_calls = offer_tools;
  prepared.parser_options.tools = tools;
  prepared.preserved_tokens = engine_.preserved_tokens(offer_tools);
  HEARTH_ASSIGN_OR_RETURN(prepared.constraint, constraint_for(request, tools));
  return prepared;
}

Result<std::unique_ptr<sample::TokenConstraint>> ChatCompletions::constraint_for(
    const ChatCompletionRequest& request, const Json& tools) {
  const bool force_call =
      request.tool_choice == ToolChoice::kRequired || request.tool_choice == ToolChoice::kNamed;
  if (force_call && tools.is_array() && !tools.empty()) {
    if (request.response_format != ResponseFormat::kText) {
      return make_error("response_format cannot be combined with tool_choice '{}'",
                        request.tool_choice == ToolChoice::kRequired ? "required" : "function");
    }
    Json offered = tools;
    if (request.tool_choice == ToolChoice::kNamed) {
      offered = Json::array();
      for (const Json& tool : tools) {
        if (tool.value("/function/name"_json_pointer, std::string()) == request.tool_name) {
          offered.push_back(tool);
        }
      }
    }
    const std::string_view family = chat::output_format_name(engine_.output_format());
    auto gbnf = sample::tool_call_grammar(
        offered, family,
        {.choice = sample::ToolChoice::kRequired, .parallel = request.parallel_tool_calls});
    if (!gbnf.ok()) {
      return gbnf.error().context(
          fmt::format("tool_choice for this model's tool-call format ({})", family));
    }
    return grammar_constraint(*gbnf);
  }
  // tool_choice auto: the reply may be text or calls, but a call the model starts is forced to
  // be well formed, with valid arguments (the family's auto grammar keeps call markers out of
  // the text, as llama.cpp's lazy tool grammars do). Families without a grammar stay free.
  if (request.tool_choice == ToolChoice::kAuto && tools.is_array() && !tools.empty() &&
      request.response_format == ResponseFormat::kText) {
    auto gbnf = sample::tool_call_grammar(
        tools, chat::output_format_name(engine_.output_format()),
        {.choice = sample::ToolChoice::kAuto, .parallel = true});
    if (gbnf.ok()) return grammar_constraint(*gbnf);
  }
  switch (request.response_format) {
    case ResponseFormat::kText:
      return std::unique_ptr<sample::TokenConstraint>();
    case ResponseFormat::kJsonObject: {
      HEARTH_ASSIGN_OR_RETURN(const std::string gbnf,
                              sample::grammar_from_json_schema(Json{{"type", "object"}}));
      return grammar_constraint(gbnf);
    }
    case ResponseFormat::kJsonSchema: {
      auto gbnf = sample::grammar_from_json_schema(request.json_schema);
      if (!gbnf.ok()) return gbnf.error().context("response_format.json_schema.schema");
      return grammar_constraint(*gbnf);
    }
  }
  return std::unique_ptr<sample::TokenConstraint>();
}

Result<std::unique_ptr<sample::TokenConstraint>> ChatCompletions::grammar_constraint(
    const std::string& gbnf) {
  std::shared_ptr<sample::CompiledGrammar> compiled;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = grammars_.find(gbnf); it != grammars_.end()) compiled = it->second;
    if (!vocabulary_) {
      vocabulary_ = sample::GrammarVocabulary::from_tokenizer(
          engine_.tokenizer(), sample::end_of_generation_tokens(engine_.tokenizer()));
    }
  }
  if (!compiled) {
    HEARTH_ASSIGN_OR_RETURN(sample::Grammar grammar, sample::Grammar::parse(gbnf));
    compiled = sample::CompiledGrammar::create(std::move(grammar), vocabulary_);
    std::lock_guard lock(mutex_);
    if (grammars_.size() >= kMaxCachedGrammars) grammars_.clear();
    grammars_.emplace(gbnf, compiled);
  }
  return std::unique_ptr<sample::TokenConstraint>(
      std::make_unique<sample::GrammarMatcher>(std::move(compiled)));
}

}  // namespace hearth::engine
