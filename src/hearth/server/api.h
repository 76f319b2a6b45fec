// The OpenAI API's JSON, both ways: request bodies of /v1/chat/completions and /v1/completions
// checked field by field into typed parameters (an error names the field), and the response
// objects, stream chunks and error bodies built from typed results. No HTTP here (server.h) and
// no generation (engine).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/json.h"
#include "hearth/base/result.h"
#include "hearth/chat/output_parser.h"
#include "hearth/engine/chat_completion.h"
#include "hearth/engine/engine.h"
#include "hearth/sample/sampler.h"

namespace hearth::server {

// An error as OpenAI reports it: {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string code;  // empty: null
};

Json error_json(const ApiError& error);

// What both endpoints share: the model asked for, limits, sampling, stops, streaming.
struct GenerationParams {
  std::string model;        // empty when the body names none
  int64_t max_tokens = -1;  // -1: until the end of generation or of the context
  sample::SamplingParams sampling;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

struct ChatParams {
  GenerationParams generation;
  engine::ChatCompletionRequest request;
};

struct CompletionParams {
  GenerationParams generation;
  std::string prompt;
};

// Errors name the field ("messages[1].content[0].type: ..."); unknown fields are ignored, as
// OpenAI clients send vendor extensions. Content parts of type "text" are joined; other part
// types, n != 1 and logprobs are refused as unsupported.
Result<ChatParams> parse_chat_params(const Json& body);
Result<CompletionParams> parse_completion_params(const Json& body);

// The fixed fields of one reply: "chatcmpl-..." id, creation time, the model's id.
struct ReplyInfo {
  std::string id;
  int64_t created = 0;
  std::string model;
};

Json usage_json(const engine::GenerationStats& stats);

// A whole chat.completion object.
Json chat_completion_json(const ReplyInfo& info, const chat::ParsedOutput& output,
                          std::string_view finish_reason, const engine::GenerationStats& stats);
// The delta of a chat.completion.chunk for `delta`; an empty object when it carries nothing a
// client sees (warnings, aborted calls).
Json chat_delta_json(const chat::OutputDelta& delta);
// A chat.completion.chunk with one choice; `finish_reason` null while streaming.
Json chat_chunk_json(const ReplyInfo& info, Json delta, Json finish_reason);
// The last chunk of a stream with include_usage: no choices, the usage.
Json usage_chunk_json(const ReplyInfo& info, std::string_view object,
                      const engine::GenerationStats& stats);

// A text_completion object; streamed chunks are the same shape with a piece of the text.
Json completion_json(const ReplyInfo& info, std::string_view text, Json finish_reason,
                     const engine::GenerationStats* stats);

// One server-sent event: "data: <json>\n\n".
std::string sse_event(const Json& payload);

}  // namespace hearth::server
