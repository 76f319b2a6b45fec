// Tests of the HTTP server on the tiny Qwen3 model over loopback: health while loading and
// when ready, API keys, error statuses and bodies, non-streamed and streamed chat giving the
// same reply, concurrent clients getting the text they get alone, a full queue, and a client
// that hangs up mid-stream freeing its slot, and hearth's own remote backend as a client.
#include "hearth/server/server.h"

#include <httplib.h>

#include <gtest/gtest.h>

#include <thread>

#include "hearth/base/json.h"
#include "hearth/llm/remote_backend.h"
#include "testing.h"

namespace hearth::server {
namespace {

std::unique_ptr<engine::Engine> load_engine(const std::filesystem::path& path, int64_t n_ctx) {
  engine::EngineOptions options;
  options.model_path = path;
  options.n_threads = 2;
  options.n_ctx = n_ctx;
  return engine::Engine::load(options).value();
}

struct Reply {
  int status = 0;
  Json body;
  std::string text;
};

class Client {
 public:
  explicit Client(int port, std::string key = "")
      : client_("127.0.0.1", port), key_(std::move(key)) {
    client_.set_read_timeout(60, 0);
  }
  Reply post(const std::string& path, const std::string& body) {
    httplib::Headers headers;
    if (!key_.empty()) headers.emplace("Authorization", "Bearer " + key_);
    return to_reply(client_.Post(path, headers, body, "application/json"));
  }
  Reply get(const std::string& path) {
    httplib::Headers headers;
    if (!key_.empty()) headers.emplace("Authorization", "Bearer " + key_);
    return to_reply(client_.Get(path, headers));
  }

  // Streams `body` and returns the concatenated "data:" payloads other than [DONE], parsed.
  std::vector<Json> stream(const std::string& body) {
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = body;
    req.set_header("Content-Type", "application/json");
    if (!key_.empty()) req.set_header("Authorization", "Bearer " + key_);
    std::string raw;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      raw.append(data, n);
      return true;
    };
    auto result = client_.send(req);
    EXPECT_TRUE(result) << httplib::to_string(result.error());
    std::vector<Json> events;
    size_t at = 0;
    while ((at = raw.find("data: ", at)) != std::string::npos) {
      const size_t end = raw.find("\n\n", at);
      const std::string payload = raw.substr(at + 6, end - at - 6);
      if (payload != "[DONE]") events.push_back(Json::parse(payload));
      at = end;
    }
    EXPECT_NE(raw.find("data: [DONE]\n\n"), std::string::npos);
    return events;
  }

  httplib::Client& raw() { return client_; }

 private:
  static Reply to_reply(const httplib::Result& result) {
    Reply reply;
    if (!result) return reply;
    reply.status = result->status;
    reply.text = result->body;
    auto parsed = parse_json(result->body, "reply");
    if (parsed.ok()) reply.body = *parsed;
    return reply;
  }
  httplib::Client client_;
  std::string key_;
};

ServerOptions options(int n_parallel, int max_queued = 64, std::string api_key = "") {
  ServerOptions options;
  options.port = 0;
  options.n_parallel = n_parallel;
  options.max_queued = max_queued;
  options.api_key = std::move(api_key);
  options.alias = "tiny";
  return options;
}

std::string chat_body(std::string_view content, int max_tokens, std::string_view extra = "") {
  return fmt::format(R"({{"messages": [{{"role": "user", "content": "{}"}}], "max_tokens": {},
                         "temperature": 0{}}})",
                     content, max_tokens, extra);
}

TEST(ServerTest, HealthAuthAndErrors) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  Server server(options(2, 64, "sesame"));
  ASSERT_TRUE(server.start().ok());
  Client client(server.port(), "sesame");
  EXPECT_EQ(client.get("/health").status, 503);
  EXPECT_EQ(client.get("/health").body["status"], "loading");
  EXPECT_EQ(client.post("/v1/chat/completions", chat_body("hi", 2)).status, 503);
  ASSERT_TRUE(server.attach(load_engine(path, 64)).ok());
  EXPECT_EQ(client.get("/health").status, 200);
  EXPECT_EQ(client.get("/health").body["status"], "ready");

  Client anonymous(server.port());
  Reply reply = anonymous.post("/v1/chat/completions", chat_body("hi", 2));
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.body["error"]["code"], "invalid_api_key");
  Client wrong(server.port(), "open");
  EXPECT_EQ(wrong.post("/v1/chat/completions", chat_body("hi", 2)).status, 401);

  reply = client.post("/v1/chat/completions", R"({"messages": [)");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body["error"]["type"], "invalid_request_error");
  reply = client.post("/v1/chat/completions", R"({"messages": "hi"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.text.find("'messages'"), std::string::npos);
  reply = client.post("/v1/chat/completions",
                      "{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}");
  EXPECT_EQ(reply.status, 400);
  reply = client.post("/v1/chat/completions",
                      R"({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]})");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body["error"]["code"], "model_not_found");
  reply = client.post("/v1/nothing", "{}");
  EXPECT_EQ(reply.status, 404);
  EXPECT_TRUE(reply.body["error"].is_object());
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += "word ";
  reply = client.post("/v1/chat/completions", chat_body(long_text, 2));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.text.find("longer than the context of 64 tokens"), std::string::npos)
      << reply.text;
  reply = client.post("/v1/chat/completions", std::string(9 << 20, ' '));
  EXPECT_EQ(reply.status, 413);
  EXPECT_TRUE(reply.body["error"].is_object());

  // Still serving after all that.
  reply = client.post("/v1/chat/completions", chat_body("hi", 3, R"(, "model": "tiny")"));
  EXPECT_EQ(reply.status, 200) << reply.text;
  EXPECT_EQ(reply.body["usage"]["completion_tokens"].get<int>() <= 3, true);
  reply = client.get("/v1/models");
  EXPECT_EQ(reply.body["data"][0]["id"], "tiny");
  const std::string metrics = client.get("/metrics").text;
  EXPECT_NE(metrics.find("route=\"/v1/chat/completions\",status=\"401\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("hearth_ready 1"), std::string::npos);
}

TEST(ServerTest, StreamedChatMatchesTheWholeReply) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  Server server(options(2));
  ASSERT_TRUE(server.start().ok());
  ASSERT_TRUE(server.attach(load_engine(path, 256)).ok());
  Client client(server.port());
  const Reply whole = client.post("/v1/chat/completions", chat_body("Tell me a story", 12));
  ASSERT_EQ(whole.status, 200) << whole.text;
  const Json& message = whole.body["choices"][0]["message"];
  const std::vector<Json> events = client.stream(chat_body(
      "Tell me a story", 12, R"(, "stream": true, "stream_options": {"include_usage": true})"));
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front()["choices"][0]["delta"]["role"], "assistant");
  std::string content;
  std::string reasoning;
  for (const Json& event : events) {
    if (event["choices"].empty()) continue;
    const Json& delta = event["choices"][0]["delta"];
    content += delta.value("content", "");
    reasoning += delta.value("reasoning_content", "");
  }
  EXPECT_EQ(content, message["content"].is_string() ? message["content"].get<std::string>() : "");
  EXPECT_EQ(reasoning, message.value("reasoning_content", ""));
  EXPECT_EQ(events[events.size() - 2]["choices"][0]["finish_reason"],
            whole.body["choices"][0]["finish_reason"]);
  EXPECT_EQ(events.back()["usage"],
            whole.body["usage"].is_object() ? Json(events.back()["usage"]) : Json());
  EXPECT_EQ(events.back()["usage"]["completion_tokens"], whole.body["usage"]["completion_tokens"]);
}

TEST(ServerTest, ConcurrentClientsGetWhatTheyGetAlone) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  Server server(options(4));
  ASSERT_TRUE(server.start().ok());
  ASSERT_TRUE(server.attach(load_engine(path, 256)).ok());
  constexpr int kClients = 8;
  const auto body = [](int i) {
    return fmt::format(R"({{"prompt": "Story number {}:", "max_tokens": 8, "temperature": 1.0,
                           "seed": {}}})",
                       i, 100 + i);
  };
  std::vector<std::string> alone(kClients);
  Client client(server.port());
  for (int i = 0; i < kClients; ++i) {
    const Reply reply = client.post("/v1/completions", body(i));
    ASSERT_EQ(reply.status, 200) << reply.text;
    alone[i] = reply.body["choices"][0]["text"];
  }
  std::vector<std::string> together(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Client own(server.port());
      const Reply reply = own.post("/v1/completions", body(i));
      if (reply.status == 200) together[i] = reply.body["choices"][0]["text"];
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(together, alone);
}

TEST(ServerTest, FullQueueAndHangingUpFreesTheSlot) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  Server server(options(1, 0));
  ASSERT_TRUE(server.start().ok());
  ASSERT_TRUE(server.attach(load_engine(path, 4096)).ok());
  Client client(server.port());

  // A long stream holds the only slot until its client hangs up after a few chunks.
  std::atomic<bool> streaming{false};
  std::atomic<bool> hang_up{false};
  std::thread holder([&] {
    Client own(server.port());
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = R"({"prompt": "Count:", "max_tokens": 3000, "temperature": 0, "stream": true})";
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      streaming = true;
      return !hang_up.load();
    };
    own.raw().send(req);
  });
  while (!streaming) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Reply reply = client.post("/v1/completions", R"({"prompt": "Hi", "max_tokens": 2})");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body["error"]["code"], "queue_full");
  hang_up = true;
  holder.join();
  // The slot frees within a step or two of the hang-up.
  for (int attempt = 0; attempt < 100; ++attempt) {
    reply = client.post("/v1/completions", R"({"prompt": "Hi", "max_tokens": 2})");
    if (reply.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(reply.status, 200) << reply.text;
  EXPECT_NE(client.get("/metrics").text.find("hearth_requests_cancelled_total 1"),
            std::string::npos);
}

TEST(ServerTest, HearthRemoteBackendIsAClient) {
  HEARTH_REQUIRE_TESTDATA(path, "models/tiny-qwen3-f16.gguf");
  Server server(options(2, 64, "sesame"));
  ASSERT_TRUE(server.start().ok());
  ASSERT_TRUE(server.attach(load_engine(path, 512)).ok());
  llm::RemoteOptions remote;
  remote.base_url = fmt::format("http://127.0.0.1:{}/v1", server.port());
  remote.model = "tiny";
  remote.api_key = "sesame";
  remote.max_attempts = 1;
  auto backend = llm::RemoteBackend::create(remote);
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  llm::ChatRequest request;
  request.messages = {llm::Message::system("You are terse."), llm::Message::user("Hello there")};
  request.tools.push_back(
      {"get_time", "The time now", Json::parse(R"({"type": "object", "properties": {}})")});
  request.params.temperature = 0;
  request.params.max_tokens = 6;
  int events = 0;
  auto response = (*backend)->chat(request, [&](const llm::Event&) { ++events; });
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_TRUE(response->has_usage);
  EXPECT_GT(response->usage.prompt_tokens, 0);
  EXPECT_LE(response->usage.completion_tokens, 6);
  EXPECT_FALSE(response->finish_reason.empty());
  EXPECT_GE(events, 2);  // usage and done at least
}

}  // namespace
}  // namespace hearth::server
