// Request validation and response shapes of the OpenAI API. Every field is type-checked before
// it is read, so no nlohmann exception can escape a malformed body.
#include "hearth/server/api.h"

#include <cmath>
#include <limits>

namespace hearth::server {
namespace {

bool present(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && !it->is_null();
}

Status read_float(const Json& body, const char* key, float& out) {
  if (!present(body, key)) return Status();
  const Json& value = body[key];
  if (!value.is_number()) return make_error("'{}' must be a number", key);
  out = value.get<float>();
  return Status();
}

Status read_int(const Json& body, const char* key, int64_t& out) {
  if (!present(body, key)) return Status();
  const Json& value = body[key];
  if (!value.is_number_integer()) return make_error("'{}' must be an integer", key);
  out = value.get<int64_t>();
  return Status();
}

Status read_bool(const Json& body, const char* key, bool& out) {
  if (!present(body, key)) return Status();
  if (!body[key].is_boolean()) return make_error("'{}' must be true or false", key);
  out = body[key].get<bool>();
  return Status();
}

Status check_range(const char* key, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) return make_error("'{}' must be in [{}, {}]", key, lo, hi);
  return Status();
}

Status parse_generation(const Json& body, GenerationParams& out) {
  if (present(body, "model")) {
    if (!body["model"].is_string()) return make_error("'model' must be a string");
    out.model = body["model"].get<std::string>();
  }
  for (const char* key : {"max_tokens", "max_completion_tokens", "n_predict"}) {
    int64_t value = -1;
    HEARTH_RETURN_IF_ERROR(read_int(body, key, value));
    if (!present(body, key)) continue;
    if (value < 1 && !(value == -1 && std::string_view(key) == "n_predict")) {
      return make_error("'{}' must be at least 1", key);
    }
    out.max_tokens = value;
  }
  sample::SamplingParams& s = out.sampling;
  HEARTH_RETURN_IF_ERROR(read_float(body, "temperature", s.temperature));
  HEARTH_RETURN_IF_ERROR(check_range("temperature", s.temperature, 0, 100));
  HEARTH_RETURN_IF_ERROR(read_float(body, "top_p", s.top_p));
  HEARTH_RETURN_IF_ERROR(check_range("top_p", s.top_p, 0, 1));
  HEARTH_RETURN_IF_ERROR(read_float(body, "min_p", s.min_p));
  HEARTH_RETURN_IF_ERROR(check_range("min_p", s.min_p, 0, 1));
  HEARTH_RETURN_IF_ERROR(read_float(body, "presence_penalty", s.presence_penalty));
  HEARTH_RETURN_IF_ERROR(check_range("presence_penalty", s.presence_penalty, -2, 2));
  HEARTH_RETURN_IF_ERROR(read_float(body, "frequency_penalty", s.frequency_penalty));
  HEARTH_RETURN_IF_ERROR(check_range("frequency_penalty", s.frequency_penalty, -2, 2));
  HEARTH_RETURN_IF_ERROR(read_float(body, "repeat_penalty", s.repeat_penalty));
  HEARTH_RETURN_IF_ERROR(check_range("repeat_penalty", s.repeat_penalty, 0.01, 100));
  int64_t top_k = s.top_k;
  HEARTH_RETURN_IF_ERROR(read_int(body, "top_k", top_k));
  HEARTH_RETURN_IF_ERROR(check_range("top_k", static_cast<double>(top_k), 0, 1 << 30));
  s.top_k = static_cast<int32_t>(top_k);
  if (present(body, "seed")) {
    int64_t seed = 0;
    HEARTH_RETURN_IF_ERROR(read_int(body, "seed", seed));
    // OpenAI seeds are 64-bit; the sampler's are 32-bit: keep the low bits (-1 stays random).
    s.seed = static_cast<uint32_t>(static_cast<uint64_t>(seed));
  }
  if (present(body, "stop")) {
    const Json& stop = body["stop"];
    if (stop.is_string()) {
      out.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 16) {
      for (const Json& item : stop) {
        if (!item.is_string()) return make_error("'stop' must be a string or a list of strings");
        out.stop.push_back(item.get<std::string>());
      }
    } else {
      return make_error("'stop' must be a string or a list of at most 16 strings");
    }
  }
  HEARTH_RETURN_IF_ERROR(read_bool(body, "stream", out.stream));
  if (present(body, "stream_options")) {
    const Json& options = body["stream_options"];
    if (!options.is_object()) return make_error("'stream_options' must be an object");
    if (present(options, "include_usage") && !options["include_usage"].is_boolean()) {
      return make_error("'stream_options.include_usage' must be true or false");
    }
    HEARTH_RETURN_IF_ERROR(read_bool(options, "include_usage", out.include_usage));
  }
  if (present(body, "n")) {
    if (!body["n"].is_number_integer() || body["n"].get<int64_t>() != 1) {
      return make_error("'n' must be 1 (one choice per request is supported)");
    }
  }
  bool logprobs = false;
  HEARTH_RETURN_IF_ERROR(read_bool(body, "logprobs", logprobs));
  if (logprobs) return make_error("'logprobs' is not supported");
  return Status();
}

// A message's content as one string: a string, null, or text parts.
Result<std::string> content_text(const Json& content, const std::string& where) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    return make_error("{}.content must be a string, null or a list of parts", where);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string at = fmt::format("{}.content[{}]", where, i);
    if (!part.is_object() || !present(part, "type") || !part["type"].is_string()) {
      return make_error("{} must be an object with a string 'type'", at);
    }
    const std::string type = part["type"].get<std::string>();
    if (type != "text")
      return make_error("{}: content parts of type '{}' are not supported", at, type);
    if (!present(part, "text") || !part["text"].is_string()) {
      return make_error("{}.text must be a string", at);
    }
    if (!text.empty()) text += "\n";
    text += part["text"].get<std::string>();
  }
  return text;
}

Result<Json> parse_tool_calls(const Json& calls, const std::string& where) {
  if (!calls.is_array()) return make_error("{}.tool_calls must be a list", where);
  Json out = Json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    const Json& call = calls[i];
    const std::string at = fmt::format("{}.tool_calls[{}]", where, i);
    if (!call.is_object() || !present(call, "function") || !call["function"].is_object()) {
      return make_error("{} must be an object with a 'function' object", at);
    }
    const Json& function = call["function"];
    if (!present(function, "name") || !function["name"].is_string()) {
      return make_error("{}.function.name must be a string", at);
    }
    Json arguments = present(function, "arguments") ? function["arguments"] : Json("{}");
    if (!arguments.is_string() && !arguments.is_object()) {
      return make_error("{}.function.arguments must be a string", at);
    }
    Json normalized = {{"id", call.value("id", fmt::format("call{}", i))},
                       {"type", "function"},
                       {"function", {{"name", function["name"]}, {"arguments", arguments}}}};
    if (!normalized["id"].is_string()) return make_error("{}.id must be a string", at);
    out.push_back(std::move(normalized));
  }
  return out;
}

Result<Json> parse_messages(const Json& body) {
  if (!present(body, "messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return make_error("'messages' must be a non-empty list");
  }
  Json out = Json::array();
  const Json& messages = body["messages"];
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& message = messages[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!message.is_object()) return make_error("{} must be an object", at);
    if (!present(message, "role") || !message["role"].is_string()) {
      return make_error("{}.role must be a string", at);
    }
    std::string role = message["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for the system role
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return make_error("{}.role '{}' is not one of system, developer, user, assistant, tool", at,
                        role);
    }
    Json normalized = {{"role", role}};
    HEARTH_ASSIGN_OR_RETURN(std::string content,
                            content_text(message.value("content", Json()), at));
    normalized["content"] = std::move(content);
    if (present(message, "tool_calls")) {
      if (role != "assistant") return make_error("{}: only assistant messages have tool_calls", at);
      HEARTH_ASSIGN_OR_RETURN(normalized["tool_calls"],
                              parse_tool_calls(message["tool_calls"], at));
    }
    for (const char* key : {"tool_call_id", "name", "reasoning_content"}) {
      if (!present(message, key)) continue;
      if (!message[key].is_string()) return make_error("{}.{} must be a string", at, key);
      normalized[key] = message[key];
    }
    out.push_back(std::move(normalized));
  }
  return out;
}

Status parse_tools(const Json& body, engine::ChatCompletionRequest& request) {
  if (present(body, "tools")) {
    const Json& tools = body["tools"];
    if (!tools.is_array()) return make_error("'tools' must be a list");
    for (size_t i = 0; i < tools.size(); ++i) {
      const Json& tool = tools[i];
      const std::string at = fmt::format("tools[{}]", i);
      if (!tool.is_object() || tool.value("type", Json()) != "function") {
        return make_error("{} must be an object of type 'function'", at);
      }
      if (!present(tool, "function") || !tool["function"].is_object()) {
        return make_error("{}.function must be an object", at);
      }
      const Json& function = tool["function"];
      if (!present(function, "name") || !function["name"].is_string()) {
        return make_error("{}.function.name must be a string", at);
      }
      if (present(function, "description") && !function["description"].is_string()) {
        return make_error("{}.function.description must be a string", at);
      }
      if (present(function, "parameters") && !function["parameters"].is_object()) {
        return make_error("{}.function.parameters must be an object", at);
      }
    }
    if (!tools.empty()) request.tools = tools;
  }
  if (present(body, "tool_choice")) {
    const Json& choice = body["tool_choice"];
    if (choice == "auto") {
      request.tool_choice = engine::ToolChoice::kAuto;
    } else if (choice == "none") {
      request.tool_choice = engine::ToolChoice::kNone;
    } else if (choice == "required") {
      request.tool_choice = engine::ToolChoice::kRequired;
    } else if (choice.is_object() && choice.value("type", Json()) == "function" &&
               choice.contains("function") && choice["function"].is_object() &&
               choice["function"].value("name", Json()).is_string()) {
      request.tool_choice = engine::ToolChoice::kNamed;
      request.tool_name = choice["function"]["name"].get<std::string>();
    } else {
      return Error(
          "'tool_choice' must be \"auto\", \"none\", \"required\" or "
          "{\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
    if (request.tool_choice != engine::ToolChoice::kAuto &&
        request.tool_choice != engine::ToolChoice::kNone && request.tools.is_null()) {
      return make_error("'tool_choice' requires 'tools'");
    }
  }
  return read_bool(body, "parallel_tool_calls", request.parallel_tool_calls);
}

Status parse_response_format(const Json& body, engine::ChatCompletionRequest& request) {
  if (!present(body, "response_format")) return Status();
  const Json& format = body["response_format"];
  if (!format.is_object() || !present(format, "type") || !format["type"].is_string()) {
    return make_error("'response_format' must be an object with a string 'type'");
  }
  const std::string type = format["type"].get<std::string>();
  if (type == "text") {
    request.response_format = engine::ResponseFormat::kText;
  } else if (type == "json_object") {
    request.response_format = engine::ResponseFormat::kJsonObject;
  } else if (type == "json_schema") {
    if (!present(format, "json_schema") || !format["json_schema"].is_object() ||
        !present(format["json_schema"], "schema") || !format["json_schema"]["schema"].is_object()) {
      return make_error("response_format.json_schema.schema must be an object");
    }
    request.response_format = engine::ResponseFormat::kJsonSchema;
    request.json_schema = format["json_schema"]["schema"];
  } else {
    return make_error("response_format.type '{}' is not one of text, json_object, json_schema",
                      type);
  }
  return Status();
}

}  // namespace

Json error_json(const ApiError& error) {
  return {{"error",
           {{"message", error.message},
            {"type", error.type},
            {"param", nullptr},
            {"code", error.code.empty() ? Json() : Json(error.code)}}}};
}

Result<ChatParams> parse_chat_params(const Json& body) {
  if (!body.is_object()) return make_error("the request body must be a JSON object");
  ChatParams params;
  HEARTH_RETURN_IF_ERROR(parse_generation(body, params.generation));
  HEARTH_ASSIGN_OR_RETURN(params.request.messages, parse_messages(body));
  HEARTH_RETURN_IF_ERROR(parse_tools(body, params.request));
  HEARTH_RETURN_IF_ERROR(parse_response_format(body, params.request));
  if (present(body, "chat_template_kwargs")) {
    if (!body["chat_template_kwargs"].is_object()) {
      return make_error("'chat_template_kwargs' must be an object");
    }
    params.request.template_variables = body["chat_template_kwargs"];
  }
  return params;
}

Result<CompletionParams> parse_completion_params(const Json& body) {
  if (!body.is_object()) return make_error("the request body must be a JSON object");
  CompletionParams params;
  HEARTH_RETURN_IF_ERROR(parse_generation(body, params.generation));
  const Json prompt = body.value("prompt", Json());
  if (prompt.is_string()) {
    params.prompt = prompt.get<std::string>();
  } else if (prompt.is_array() && prompt.size() == 1 && prompt[0].is_string()) {
    params.prompt = prompt[0].get<std::string>();
  } else {
    return make_error("'prompt' must be a string (or a list of one string)");
  }
  if (params.prompt.empty()) return make_error("'prompt' is empty");
  return params;
}

Json usage_json(const engine::GenerationStats& stats) {
  return {{"prompt_tokens", stats.n_prompt},
          {"completion_tokens", stats.n_generated},
          {"total_tokens", stats.n_prompt + stats.n_generated},
          {"prompt_tokens_details", {{"cached_tokens", stats.n_reused}}}};
}

Json chat_completion_json(const ReplyInfo& info, const chat::ParsedOutput& output,
                          std::string_view finish_reason, const engine::GenerationStats& stats) {
  Json message = {{"role", "assistant"}};
  // OpenAI sends null content beside tool calls.
  message["content"] =
      output.content.empty() && !output.tool_calls.empty() ? Json() : Json(output.content);
  if (!output.reasoning.empty()) message["reasoning_content"] = output.reasoning;
  if (!output.tool_calls.empty()) {
    Json calls = Json::array();
    for (const chat::ToolCall& call : output.tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  return {{"id", info.id},
          {"object", "chat.completion"},
          {"created", info.created},
          {"model", info.model},
          {"choices", Json::array({{{"index", 0},
                                    {"message", std::move(message)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish_reason}}})},
          {"usage", usage_json(stats)}};
}

Json chat_delta_json(const chat::OutputDelta& delta) {
  Json out = Json::object();
  if (!delta.reasoning.empty()) out["reasoning_content"] = delta.reasoning;
  if (!delta.content.empty()) out["content"] = delta.content;
  Json calls = Json::array();
  for (const chat::ToolCallDelta& call : delta.tool_calls) {
    if (call.aborted) continue;  // its text follows as content
    Json piece = {{"index", call.index}};
    if (!call.id.empty() || !call.name.empty()) {
      piece["id"] = call.id;
      piece["type"] = "function";
      piece["function"] = {{"name", call.name}, {"arguments", call.arguments}};
    } else {
      piece["function"] = {{"arguments", call.arguments}};
    }
    calls.push_back(std::move(piece));
  }
  if (!calls.empty()) out["tool_calls"] = std::move(calls);
  return out;
}

Json chat_chunk_json(const ReplyInfo& info, Json delta, Json finish_reason) {
  return {{"id", info.id},
          {"object", "chat.completion.chunk"},
          {"created", info.created},
          {"model", info.model},
          {"choices", Json::array({{{"index", 0},
                                    {"delta", std::move(delta)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", std::move(finish_reason)}}})}};
}

Json usage_chunk_json(const ReplyInfo& info, std::string_view object,
                      const engine::GenerationStats& stats) {
  return {{"id", info.id},       {"object", object},         {"created", info.created},
          {"model", info.model}, {"choices", Json::array()}, {"usage", usage_json(stats)}};
}

Json completion_json(const ReplyInfo& info, std::string_view text, Json finish_reason,
                     const engine::GenerationStats* stats) {
  Json out = {{"id", info.id},
              {"object", "text_completion"},
              {"created", info.created},
              {"model", info.model},
              {"choices", Json::array({{{"index", 0},
                                        {"text", text},
                                        {"logprobs", nullptr},
                                        {"finish_reason", std::move(finish_reason)}}})}};
  if (stats != nullptr) out["usage"] = usage_json(*stats);
  return out;
}

std::string sse_event(const Json& payload) {
  return "data: " + to_json_text(payload) + "\n\n";
}

}  // namespace hearth::server
