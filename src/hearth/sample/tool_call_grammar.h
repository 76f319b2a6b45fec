// Tool-call grammars: given an OpenAI-style tools list and a model family's output format (the
// chat module's names: "hermes"/"qwen3", "llama3", "gemma3"), a GBNF grammar whose every output is
// a call in that family's syntax, to one of the tools, with arguments valid against its
// parameters schema (json_schema.h). With kRequired the reply is the call(s); with kAuto it may
// instead be text that the family's parser reads as plain content (it never contains, or starts
// with, a tool-call marker). The chat module parses what the model wrote; this only constrains it.
#pragma once

#include <string>
#include <string_view>

#include "hearth/base/json.h"
#include "hearth/base/result.h"

namespace hearth::sample {

enum class ToolChoice { kAuto, kRequired };

struct ToolCallGrammarOptions {
  ToolChoice choice = ToolChoice::kRequired;
  // Several calls in one reply, where the family has a syntax for it (hermes: one
  // <tool_call> block per call).
  bool parallel = false;
};

// Errors: an unknown or unsupported format, a malformed tools list, a tool's schema that
// json_schema.h refuses (naming the tool).
Result<std::string> tool_call_grammar(const Json& tools, std::string_view format,
                                      const ToolCallGrammarOptions& options = {});

}  // namespace hearth::sample
