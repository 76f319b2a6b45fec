// Tests of request validation (each malformed field is a 400 naming it), the response and chunk
// shapes the openai client reads, and the Prometheus text.
#include "hearth/server/api.h"

#include <gtest/gtest.h>

#include "hearth/server/metrics.h"

namespace hearth::server {
namespace {

Json body(std::string_view text) {
  return Json::parse(text);
}

std::string chat_error(std::string_view text) {
  auto params = parse_chat_params(body(text));
  return params.ok() ? "" : params.error().message();
}

TEST(ApiTest, ParsesAChatRequest) {
  auto params = parse_chat_params(body(R"({
    "model": "m", "max_completion_tokens": 7, "temperature": 0, "top_p": 0.5, "seed": 3,
    "presence_penalty": 0.5, "frequency_penalty": -0.5, "stop": ["x", "y"], "stream": true,
    "stream_options": {"include_usage": true}, "n": 1, "vendor_extension": {"ignored": 1},
    "messages": [
      {"role": "developer", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "done"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "response_format": {"type": "text"}})"));
  ASSERT_TRUE(params.ok()) << params.error().message();
  const GenerationParams& g = params->generation;
  EXPECT_EQ(g.model, "m");
  EXPECT_EQ(g.max_tokens, 7);
  EXPECT_EQ(g.sampling.temperature, 0);
  EXPECT_EQ(g.sampling.top_p, 0.5f);
  EXPECT_EQ(g.sampling.seed, 3u);
  EXPECT_EQ(g.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(g.stream);
  EXPECT_TRUE(g.include_usage);
  const Json& messages = params->request.messages;
  EXPECT_EQ(messages[0]["role"], "system");
  EXPECT_EQ(messages[1]["content"], "a\nb");
  EXPECT_EQ(messages[2]["content"], "");
  EXPECT_EQ(messages[2]["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(messages[3]["tool_call_id"], "c1");
  EXPECT_EQ(params->request.tool_choice, engine::ToolChoice::kNamed);
  EXPECT_EQ(params->request.tool_name, "f");
}

TEST(ApiTest, RefusesMalformedFieldsNamingThem) {
  const std::string user = R"("messages": [{"role": "user", "content": "hi"}])";
  EXPECT_NE(chat_error("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(chat_error("{}").find("'messages'"), std::string::npos);
  EXPECT_NE(
      chat_error(R"({"messages": [{"role": "robot", "content": "x"}]})").find("messages[0].role"),
      std::string::npos);
  EXPECT_NE(
      chat_error(R"({"messages": [{"role": "user", "content": 5}]})").find("messages[0].content"),
      std::string::npos);
  EXPECT_NE(chat_error(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})")
                .find("not supported"),
            std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "temperature": "hot"})").find("'temperature'"),
            std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "max_tokens": 0})").find("'max_tokens'"),
            std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "top_p": 3})").find("'top_p'"), std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "n": 2})").find("'n'"), std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "stop": 4})").find("'stop'"), std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "stream": "yes"})").find("'stream'"), std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "tools": [{"type": "web"}]})").find("tools[0]"),
            std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "tool_choice": "required"})").find("requires 'tools'"),
            std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "response_format": {"type": "xml"}})").find("'xml'"),
            std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "response_format": {"type": "json_schema"}})")
                .find("json_schema.schema"),
            std::string::npos);
  EXPECT_NE(chat_error("{" + user + R"(, "logprobs": true})").find("not supported"),
            std::string::npos);
}

TEST(ApiTest, ParsesACompletionRequest) {
  auto params = parse_completion_params(body(R"({"prompt": ["Once"], "max_tokens": 3})"));
  ASSERT_TRUE(params.ok()) << params.error().message();
  EXPECT_EQ(params->prompt, "Once");
  EXPECT_EQ(params->generation.max_tokens, 3);
  EXPECT_FALSE(parse_completion_params(body(R"({"prompt": 5})")).ok());
  EXPECT_FALSE(parse_completion_params(body(R"({"prompt": ["a", "b"]})")).ok());
}

TEST(ApiTest, BuildsResponsesAndChunks) {
  const ReplyInfo info{"chatcmpl-1", 100, "tiny"};
  chat::ParsedOutput output;
  output.reasoning = "hmm";
  output.tool_calls.push_back({"call1", "f", R"({"a":1})"});
  engine::GenerationStats stats;
  stats.n_prompt = 5;
  stats.n_generated = 3;
  stats.n_reused = 2;
  const Json reply = chat_completion_json(info, output, "tool_calls", stats);
  EXPECT_EQ(reply["object"], "chat.completion");
  EXPECT_TRUE(reply["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(reply["choices"][0]["message"]["reasoning_content"], "hmm");
  EXPECT_EQ(reply["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], R"({"a":1})");
  EXPECT_EQ(reply["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(reply["usage"]["total_tokens"], 8);
  EXPECT_EQ(reply["usage"]["prompt_tokens_details"]["cached_tokens"], 2);

  chat::OutputDelta delta;
  delta.content = "hi";
  delta.tool_calls.push_back({0, "call1", "f", "{", false});
  delta.tool_calls.push_back({0, "", "", "}", false});
  const Json json = chat_delta_json(delta);
  EXPECT_EQ(json["content"], "hi");
  EXPECT_EQ(json["tool_calls"][0]["id"], "call1");
  EXPECT_EQ(json["tool_calls"][0]["type"], "function");
  EXPECT_FALSE(json["tool_calls"][1].contains("id"));
  EXPECT_TRUE(chat_delta_json(chat::OutputDelta{}).empty());
  const Json chunk = chat_chunk_json(info, json, nullptr);
  EXPECT_EQ(chunk["object"], "chat.completion.chunk");
  EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(sse_event(Json{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(error_json({404, "gone", "invalid_request_error", "model_not_found"})["error"]["code"],
            "model_not_found");
}

TEST(ApiTest, PrometheusText) {
  RequestCounters counters;
  counters.count("/health", 200);
  counters.count("/health", 200);
  engine::SchedulerStats stats;
  stats.generated_tokens = 10;
  stats.busy_seconds = 2;
  stats.queued = 3;
  const std::string text = prometheus_text(counters, &stats);
  EXPECT_NE(text.find("hearth_http_requests_total{route=\"/health\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE hearth_queue_depth gauge\nhearth_queue_depth 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("hearth_generation_tokens_per_second 5.000\n"), std::string::npos);
  EXPECT_NE(prometheus_text(counters, nullptr).find("hearth_ready 0\n"), std::string::npos);
}

}  // namespace
}  // namespace hearth::server
