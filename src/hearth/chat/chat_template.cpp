// ChatTemplate: template selection (default vs tool_use, as transformers' get_chat_template
// chooses), special tokens from tokenizer_config.json, and the render context.
#include "hearth/chat/chat_template.h"

#include <fmt/format.h>

namespace hearth::chat {
namespace {

// A token value in tokenizer_config.json: a string or an AddedToken object.
const Json* token_text(const Json& value) {
  if (value.is_string()) return &value;
  if (value.is_object()) {
    const auto it = value.find("content");
    if (it != value.end() && it->is_string()) return &*it;
  }
  return nullptr;
}

}  // namespace

Json special_tokens_from_config(const Json& config) {
  Json tokens = Json::object();
  if (!config.is_object()) return tokens;
  static constexpr const char* kNames[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                           "pad_token", "cls_token", "mask_token"};
  for (const char* name : kNames) {
    const auto it = config.find(name);
    if (it == config.end()) continue;
    if (const Json* text = token_text(*it)) tokens[name] = *text;
  }
  const auto extra = config.find("extra_special_tokens");
  if (extra != config.end() && extra->is_object()) {
    for (const auto& [name, value] : extra->items()) {
      if (const Json* text = token_text(value)) tokens[name] = *text;
    }
  }
  for (const char* name : {"boi_token", "eoi_token", "image_token"}) {
    const auto it = config.find(name);
    if (it != config.end() && !tokens.contains(name)) {
      if (const Json* text = token_text(*it)) tokens[name] = *text;
    }
  }
  const auto additional = config.find("additional_special_tokens");
  if (additional != config.end() && additional->is_array()) {
    Json list = Json::array();
    for (const Json& item : *additional) {
      if (const Json* text = token_text(item)) list.push_back(*text);
    }
    tokens["additional_special_tokens"] = std::move(list);
  }
  return tokens;
}

Result<ChatTemplate> ChatTemplate::from_source(std::string_view source, Json special_tokens,
                                               std::optional<std::string_view> tool_use) {
  HEARTH_ASSIGN_OR_RETURN(Template main, Template::parse(source));
  std::optional<Template> tools;
  if (tool_use) {
    auto parsed = Template::parse(*tool_use);
    if (!parsed.ok()) return parsed.error().context("tool_use template");
    tools = std::move(parsed).value();
  }
  if (!special_tokens.is_object()) special_tokens = Json::object();
  return ChatTemplate(std::move(main), std::move(tools), std::move(special_tokens));
}

namespace {

// GGUF keys of the special tokens (token ids) and the template variables they become.
constexpr std::pair<const char*, const char*> kGgufTokens[] = {
    {"tokenizer.ggml.bos_token_id", "bos_token"},
    {"tokenizer.ggml.eos_token_id", "eos_token"},
    {"tokenizer.ggml.unknown_token_id", "unk_token"},
    {"tokenizer.ggml.seperator_token_id", "sep_token"},
    {"tokenizer.ggml.padding_token_id", "pad_token"},
};

}  // namespace

Result<ChatTemplate> ChatTemplate::from_gguf(const gguf::Metadata& metadata) {
  HEARTH_ASSIGN_OR_RETURN(const std::string_view source,
                          metadata.get_string("tokenizer.chat_template"));
  Json tokens = Json::object();
  if (auto vocab = metadata.get_array("tokenizer.ggml.tokens"); vocab.ok()) {
    for (const auto& [key, name] : kGgufTokens) {
      auto id = metadata.get_int(key);
      if (!id.ok() || *id < 0 || static_cast<size_t>(*id) >= (*vocab)->items.size()) continue;
      if (const std::string* text = (*vocab)->items[static_cast<size_t>(*id)].string()) {
        tokens[name] = *text;
      }
    }
  }
  std::optional<std::string_view> tool_use;
  if (auto t = metadata.get_string("tokenizer.chat_template.tool_use"); t.ok()) tool_use = *t;
  return from_source(source, std::move(tokens), tool_use);
}

Result<ChatTemplate> ChatTemplate::from_tokenizer_config(const Json& config) {
  if (!config.is_object()) return make_error("tokenizer_config.json: not a JSON object");
  const auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) {
    return make_error("tokenizer_config.json has no chat_template");
  }
  Json tokens = special_tokens_from_config(config);
  if (it->is_string()) return from_source(it->get_ref<const std::string&>(), std::move(tokens));
  if (!it->is_array())
    return make_error("tokenizer_config.json: chat_template is neither a string nor a list");
  std::optional<std::string> main;
  std::optional<std::string> tool_use;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& entry = (*it)[i];
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
        !entry["name"].is_string() || !entry["template"].is_string()) {
      return make_error("tokenizer_config.json: chat_template[{}] is not {{name, template}}", i);
    }
    const std::string& name = entry["name"].get_ref<const std::string&>();
    if (name == "default") main = entry["template"].get<std::string>();
    if (name == "tool_use") tool_use = entry["template"].get<std::string>();
  }
  if (!main && !tool_use) {
    return make_error(
        "tokenizer_config.json: chat_template list has neither 'default' nor 'tool_use'");
  }
  // With only tool_use, it is also what inputs without tools get (there is nothing else).
  if (!main) return from_source(*tool_use, std::move(tokens));
  if (tool_use) return from_source(*main, std::move(tokens), std::string_view(*tool_use));
  return from_source(*main, std::move(tokens));
}

Json ChatTemplate::context(const ChatInput& input) const {
  Json context = Json::object();
  context["messages"] = input.messages;
  context["tools"] = input.tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = input.add_generation_prompt;
  for (const auto& [key, value] : special_tokens_.items()) context[key] = value;
  if (input.extra.is_object()) {
    for (const auto& [key, value] : input.extra.items()) context[key] = value;
  }
  return context;
}

Result<std::string> ChatTemplate::render(const ChatInput& input, const RenderOptions& options,
                                         TemplateError* detail) const {
  const Template& chosen = (tool_use_ && !input.tools.is_null()) ? *tool_use_ : main_;
  return chosen.render(context(input), options, detail);
}

}  // namespace hearth::chat
