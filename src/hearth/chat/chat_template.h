// A model's prompt format: its chat template(s) plus the special-token variables, and the
// context transformers' apply_chat_template builds from messages, tools and flags. Loading
// from tokenizer_config.json or GGUF metadata lives here.
#pragma once

#include <optional>
#include <string_view>

#include "hearth/base/json.h"
#include "hearth/base/result.h"
#include "hearth/chat/template.h"
#include "hearth/gguf/gguf.h"

namespace hearth::chat {

// The inputs of one rendering.
struct ChatInput {
  Json messages = Json::array();
  Json tools;  // null when the request has none
  bool add_generation_prompt = true;
  Json extra = Json::object();  // further variables (enable_thinking, documents, ...), in order
};

class ChatTemplate {
 public:
  // `tool_use`, when present, is chosen over `source` for inputs that carry tools (HF's rule
  // for named templates). `special_tokens` is an object of variables such as bos_token.
  static Result<ChatTemplate> from_source(std::string_view source, Json special_tokens,
                                          std::optional<std::string_view> tool_use = {});
  // From tokenizer_config.json: `chat_template` as a string or a list of {name, template}
  // (`default` and `tool_use` used), and the special tokens the config defines.
  static Result<ChatTemplate> from_tokenizer_config(const Json& config);
  // From GGUF metadata: tokenizer.chat_template (and .tool_use), with bos/eos/unk/sep/pad token
  // texts looked up from the token ids. An Error when the file has no template.
  static Result<ChatTemplate> from_gguf(const gguf::Metadata& metadata);

  // messages, tools, documents (null), add_generation_prompt, the special tokens, then extra
  // (which may override any of them): what transformers passes to the template.
  Json context(const ChatInput& input) const;

  Result<std::string> render(const ChatInput& input, const RenderOptions& options = {},
                             TemplateError* detail = nullptr) const;

  const Json& special_tokens() const { return special_tokens_; }

 private:
  ChatTemplate(Template main, std::optional<Template> tool_use, Json special_tokens)
      : main_(std::move(main)),
        tool_use_(std::move(tool_use)),
        special_tokens_(std::move(special_tokens)) {}

  Template main_;
  std::optional<Template> tool_use_;
  Json special_tokens_;
};

// The special-token variables of a tokenizer_config.json: bos/eos/unk/sep/pad/cls/mask tokens
// (strings, or AddedToken objects with "content"), additional_special_tokens, and the named
// extra_special_tokens (Gemma 3's boi_token, ...). Tokens set to null are left out.
Json special_tokens_from_config(const Json& config);

}  // namespace hearth::chat
