// Tool-call grammars: given an OpenAI-style tools list and a model family's output format (the
// chat module's names: "hermes"/"qwen3", "qwen3_coder"/"qwen3.5", "llama3", "mistral",
// "deepseek_v3", "deepseek_v3_2", "glm4", "kimi_k2", "gemma3", "gemma4"), a GBNF grammar whose
// every output is a call in that family's syntax, to one of the tools, with arguments valid
// against its parameters schema (json_schema.h). With kRequired the reply is the call(s); with
// kAuto it may instead be text that the family's parser reads as plain content (it never
// contains the family's call marker), optionally followed by calls. The chat module parses what
// the model wrote; this only constrains it. Markers are token references (grammar_matcher.h): the
// model's own control token where its vocabulary has the marker as one token (only that token,
// as its tokenizer encodes the template's text), the marker's text spelled out where it has not.
//
// Families that write arguments as text per parameter (Qwen3-Coder `<parameter=K>`, GLM-4
// `<arg_value>`, DeepSeek V3.2 `<｜DSML｜parameter>`) spell each value so that the parser's typing
// (chat/tool_call_syntax.h, typed_parameter_value, which reads only the parameter's own "type")
// gives back the value the grammar meant:
//  - "type": "string" (or, untyped, an enum/const of strings): the string's raw text, no quotes
//    or escapes; it never contains the closing marker, and a constrained one (length, pattern,
//    format) never contains '<'. Untyped enum strings that parse as JSON ("5", "true") are an
//    error, except for DeepSeek V3.2, which marks them string="true".
//  - any other type, a type list without "string", or an untyped schema that admits no string:
//    the value's JSON text (string="false" for DeepSeek V3.2).
//  - anything that may be a string or something else (["string", "null"], anyOf with a string
//    branch, {}) is an error naming the tool and parameter.
// Their parameters come in schema order, required ones always, no undeclared ones. Gemma 4
// writes arguments in its own syntax (json_schema.h, ValueSyntax::kGemma4). Tool and parameter
// names written as bare text (all but the JSON-object families) must be identifiers
// (letters, digits, _ - . :).
#pragma once

#include <string>
#include <string_view>

#include "hearth/base/json.h"
#include "hearth/base/result.h"

namespace hearth::sample {

enum class ToolChoice { kAuto, kRequired };

struct ToolCallGrammarOptions {
  ToolChoice choice = ToolChoice::kRequired;
  // Several calls in one reply (every family but llama3 and gemma3, whose call is the whole
  // reply): one block per call (hermes, qwen3_coder, glm4: newline-separated; mistral, gemma4:
  // back to back) or several calls in the family's section (deepseek_v3, deepseek_v3_2, kimi_k2).
  bool parallel = false;
};

// Errors: an unknown or unsupported format, a malformed tools list, a tool's schema that
// json_schema.h refuses (naming the tool).
Result<std::string> tool_call_grammar(const Json& tools, std::string_view format,
                                      const ToolCallGrammarOptions& options = {});

}  // namespace hearth::sample
