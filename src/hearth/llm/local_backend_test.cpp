// Tests of the local backend on the tiny Qwen3 model of testdata (random weights: the text is
// noise, but it goes through the template, the forward pass, the sampler and the parser).
#include "hearth/llm/local_backend.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace hearth::llm {
namespace {

ChatRequest greedy_request(std::string question) {
  ChatRequest request;
  request.messages = {Message::system("You are terse."), Message::user(std::move(question))};
  request.params.temperature = 0.0;
  request.params.max_tokens = 8;
  return request;
}

TEST(LocalBackendTest, AnswersThroughTheModelTemplateAndReportsUsage) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto backend = LocalBackend::open({.model_path = path, .n_threads = 2, .n_ctx = 256});
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  EXPECT_EQ((*backend)->context_size(), 256);
  EXPECT_NE((*backend)->describe().find("tiny-qwen3-f16.gguf"), std::string::npos);

  std::vector<Event> events;
  auto first = (*backend)->chat(greedy_request("What is 2 + 2?"),
                                [&](const Event& e) { events.push_back(e); });
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_TRUE(first->has_usage);
  EXPECT_GT(first->usage.prompt_tokens, 10);
  EXPECT_LE(first->usage.completion_tokens, 8);
  EXPECT_FALSE(first->finish_reason.empty());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, EventKind::kDone);

  // Greedy and the same conversation: the same reply (the second run reuses the cached prompt).
  auto again = (*backend)->chat(greedy_request("What is 2 + 2?"), {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->message.content, first->message.content);
  EXPECT_EQ(again->message.reasoning, first->message.reasoning);

  // A second backend on the same file shares the loaded model and gives the same answer.
  auto other = LocalBackend::open({.model_path = path, .n_threads = 2, .n_ctx = 256});
  ASSERT_TRUE(other.ok());
  auto third = (*other)->chat(greedy_request("What is 2 + 2?"), {});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->message.content, first->message.content);
}

// With tools offered, the reply goes through the auto tool grammar: the random model may answer
// in text or call, but no call marker is left half-written in the text and every call it makes
// names a known tool with arguments valid against its schema. (Random weights rarely start a
// call; the grammar's own tests cover the calls, this covers the wiring.)
TEST(LocalBackendTest, RepliesWithToolsOfferedStayWellFormed) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto backend = LocalBackend::open({.model_path = path, .n_threads = 2, .n_ctx = 1024});
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  ChatRequest request = greedy_request("Weather in Paris?");
  request.tools = {ToolSpec{"get_weather", "Current weather",
                            Json::parse(R"({"type": "object", "required": ["city"],
                                            "properties": {"city": {"type": "string"}}})")}};
  request.params.temperature = 1.0;
  request.params.max_tokens = 48;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    request.params.seed = seed;
    auto reply = (*backend)->chat(request, {});
    ASSERT_TRUE(reply.ok()) << reply.error().message();
    for (const ToolCall& call : reply->message.tool_calls) {
      EXPECT_EQ(call.name, "get_weather");
      const Result<Json> arguments = parse_json(call.arguments, "arguments");
      ASSERT_TRUE(arguments.ok()) << call.arguments;
      EXPECT_TRUE((*arguments)["city"].is_string()) << call.arguments;
    }
    EXPECT_EQ(reply->message.content.find("<tool_call>"), std::string::npos)
        << reply->message.content;
  }
}

TEST(LocalBackendTest, RefusesModelsWithoutTemplateAndMissingFiles) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-llama-f32.gguf");
  auto no_template = LocalBackend::open({.model_path = path});
  ASSERT_FALSE(no_template.ok());
  EXPECT_NE(no_template.error().message().find("no chat template"), std::string::npos);
  auto missing = LocalBackend::open({.model_path = "/nonexistent/model.gguf"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/model.gguf"), std::string::npos);
}

TEST(LocalBackendTest, PromptLongerThanContextIsAnErrorEvent) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  auto backend = LocalBackend::open({.model_path = path, .n_threads = 1, .n_ctx = 16});
  ASSERT_TRUE(backend.ok());
  std::vector<Event> events;
  auto reply = (*backend)->chat(greedy_request(std::string(400, 'x')),
                                [&](const Event& e) { events.push_back(e); });
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().message().find("longer than the context of 16"), std::string::npos)
      << reply.error().message();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, EventKind::kError);
}

}  // namespace
}  // namespace hearth::llm
