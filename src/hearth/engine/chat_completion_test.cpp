// Tests of the chat-completion layer on the tiny Qwen3 model: messages render through the
// model's template, tools switch on tool-call parsing, tool_choice required and response_format
// json_schema give grammar constraints, and bad requests are errors naming the problem.
#include "hearth/engine/chat_completion.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace hearth::engine {
namespace {

std::unique_ptr<Engine> load_engine(const std::filesystem::path& path) {
  EngineOptions options;
  options.model_path = path;
  options.n_threads = 2;
  options.n_ctx = 256;
  return Engine::load(options).value();
}

const Json kWeatherTool = Json::parse(R"({"type": "function", "function": {
  "name": "get_weather", "description": "Weather in a city",
  "parameters": {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome"]}},
                 "required": ["city"]}}})");

TEST(ChatCompletionTest, RendersMessagesAndTools) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  ChatCompletions completions(*engine);
  ChatCompletionRequest request;
  request.messages = Json::parse(R"([
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call1", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call1", "content": "sunny"}])");
  request.tools = Json::array({kWeatherTool});
  auto prepared = completions.prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_NE(prepared->prompt_text.find("get_weather"), std::string::npos);
  EXPECT_NE(prepared->prompt_text.find("{\"city\": \"Paris\"}"), std::string::npos)
      << prepared->prompt_text;
  EXPECT_NE(prepared->prompt_text.find("sunny"), std::string::npos);
  EXPECT_FALSE(prepared->prompt.empty());
  EXPECT_TRUE(prepared->parser_options.parse_tool_calls);
  EXPECT_NE(prepared->constraint, nullptr);  // auto: text, or well-formed calls

  request.tool_choice = ToolChoice::kNone;
  prepared = completions.prepare(request);
  ASSERT_TRUE(prepared.ok());
  EXPECT_FALSE(prepared->parser_options.parse_tool_calls);
  EXPECT_EQ(prepared->prompt_text.find("<tools>"), std::string::npos);
}

TEST(ChatCompletionTest, ForcedCallsAndSchemasAreConstrained) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto engine = load_engine(path);
  ChatCompletions completions(*engine);
  ChatCompletionRequest request;
  request.messages = Json::parse(R"([{"role": "user", "content": "Weather?"}])");
  request.tools = Json::array({kWeatherTool});
  request.tool_choice = ToolChoice::kRequired;
  auto prepared = completions.prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  ASSERT_NE(prepared->constraint, nullptr);

  request.tool_choice = ToolChoice::kNamed;
  request.tool_name = "get_time";
  prepared = completions.prepare(request);
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.error().message().find("'get_time'"), std::string::npos);

  // auto: constrained too (text, or well-formed calls).
  request.tool_choice = ToolChoice::kAuto;
  prepared = completions.prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_NE(prepared->constraint, nullptr);

  request.tools = nullptr;
  request.response_format = ResponseFormat::kJsonSchema;
  request.json_schema =
      Json::parse(R"({"type": "object", "properties": {"ok": {"type": "boolean"}}})");
  prepared = completions.prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_NE(prepared->constraint, nullptr);

  request.json_schema = Json::parse(R"({"type": "object", "patternProperties": {}})");
  prepared = completions.prepare(request);
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.error().message().find("patternProperties"), std::string::npos)
      << prepared.error().message();
}

TEST(ChatCompletionTest, FinishReasons) {
  EXPECT_EQ(finish_reason(StopReason::kEndOfGeneration, false), "stop");
  EXPECT_EQ(finish_reason(StopReason::kEndOfGeneration, true), "tool_calls");
  EXPECT_EQ(finish_reason(StopReason::kMaxTokens, true), "length");
  EXPECT_EQ(finish_reason(StopReason::kStopString, false), "stop");
}

}  // namespace
}  // namespace hearth::engine
