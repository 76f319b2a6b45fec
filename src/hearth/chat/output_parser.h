// Turns a model's generated text into content, reasoning and tool calls, per model family
// (Hermes/Qwen3, Qwen3-Coder, Llama 3.x, Mistral, DeepSeek V3.x, GLM-4.x, Kimi-K2, Gemma 3/4).
// Incremental: fed token pieces, it emits deltas as soon as they are certain and never emits
// text that may still become a marker. Malformed calls come back as content plus a warning.
// Rendering prompts is template.h's job; this file only reads what the model wrote.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/json.h"
#include "hearth/base/result.h"

namespace hearth::chat {

// How a family writes reasoning and tool calls. kGeneric knows only <think> blocks.
enum class OutputFormat {
  kGeneric,
  kHermes,      // Qwen2.5/Qwen3, Hermes: <tool_call>{"name":..,"arguments":..}</tool_call>
  kQwen3Coder,  // Qwen3-Coder, Qwen3.5: <tool_call><function=N><parameter=K>V</parameter>...
  kLlama3,      // {"name":..,"parameters":..} as the whole reply, or <|python_tag|>
  kMistral,     // [TOOL_CALLS]name[CALL_ID]id[ARGS]{..}, or [TOOL_CALLS][{..},..] (Nemo)
  kDeepSeekV3,  // <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>name<｜tool▁sep｜>{..}... (V3.1, R1)
  kDeepSeekV32,  // <｜DSML｜function_calls><｜DSML｜invoke name=".."><｜DSML｜parameter ..>
  kGlm4,         // <tool_call>name<arg_key>K</arg_key><arg_value>V</arg_value></tool_call>
  kKimiK2,  // <|tool_calls_section_begin|><|tool_call_begin|>functions.N:0<|tool_call_argument_begin|>{..}
  kGemma3,  // [f(a=1), g(b="x")], ```tool_code f(a=1)```, or a JSON call as the reply
  kGemma4,  // <|tool_call>call:name{key:<|"|>text<|"|>,n:1}<tool_call|>
};

// The family's name as accepted by output_format_from_name ("hermes", "qwen3_coder", ...).
std::string_view output_format_name(OutputFormat format);
Result<OutputFormat> output_format_from_name(std::string_view name);
// Picks the family from a chat template's source by the markers it renders (kGeneric when
// none is recognised), so the engine and server can choose without configuration.
OutputFormat detect_output_format(std::string_view template_source);
// True when a rendered prompt ends inside an open reasoning block (Qwen3.5, DeepSeek R1 and
// GLM-4.7 templates end with "<think>" when thinking is on): the output starts as reasoning.
bool prompt_opens_reasoning(OutputFormat format, std::string_view prompt);

// The spellings of the markers the family's parser reads: the reasoning block's open and close,
// and with `tool_calls` every tool-call marker (openers, separators, closers). Where a model's
// vocabulary has one as a control token, generation must render it although it hides control
// tokens otherwise (the engine's preserved tokens); the others are text in every vocabulary.
std::vector<std::string_view> parser_markers(OutputFormat format, bool tool_calls);

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, as text
};

struct ParsedOutput {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;
  // One line per malformed call returned as content; empty when everything parsed.
  std::vector<std::string> warnings;
};

// A piece of one tool call. The first piece of a call carries its id and name; later ones
// append argument text. `index` counts calls in stream order. A call that turns out to be
// malformed after it began gets a last piece with `aborted` set: it is dropped from the
// result and its text comes back as content.
struct ToolCallDelta {
  std::size_t index = 0;
  std::string id;
  std::string name;
  std::string arguments;
  bool aborted = false;
};

// What one feed() or finish() adds. Appending every delta in order rebuilds result().
struct OutputDelta {
  std::string content;
  std::string reasoning;
  std::vector<ToolCallDelta> tool_calls;
  std::vector<std::string> warnings;

  bool empty() const {
    return content.empty() && reasoning.empty() && tool_calls.empty() && warnings.empty();
  }
};

struct ParserOptions {
  // The prompt ended inside a reasoning block (see prompt_opens_reasoning).
  bool starts_in_reasoning = false;
  // When false, tool-call markers are plain content (the request offered no tools).
  bool parse_tool_calls = true;
  // The request's tools (OpenAI shape): parameter types from their JSON schemas decide how
  // XML-style families' text values are typed ("5" as a string or a number). May be null.
  Json tools;
  // Ids for calls the model does not name itself: prefix + 5 digits, "call00001" by default
  // (nine alphanumerics, as Mistral templates require).
  std::string id_prefix = "call";
};

class OutputParser {
 public:
  explicit OutputParser(OutputFormat format, ParserOptions options = {});
  ~OutputParser();
  OutputParser(OutputParser&&) noexcept;
  OutputParser& operator=(OutputParser&&) noexcept;

  // Feeds the next piece of generated text (any split, even inside a marker or a UTF-8
  // sequence) and returns what became certain.
  OutputDelta feed(std::string_view chunk);
  // Ends the output: held-back text is resolved, unterminated calls become content.
  OutputDelta finish();
  // Everything parsed so far (complete after finish()).
  const ParsedOutput& result() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Whole-text parsing: one feed and finish.
ParsedOutput parse_output(OutputFormat format, std::string_view text,
                          const ParserOptions& options = {});

}  // namespace hearth::chat
