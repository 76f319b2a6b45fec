// Routes, authentication, error bodies, and the bridge between HTTP threads and the scheduler
// thread: a Channel per request carries generated text one way; a Ticket carries cancellation the
// other way (a stream whose client went away cancels at the next token).
#include "hearth/server/server.h"

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "hearth/base/log.h"
#include "hearth/engine/chat_completion.h"
#include "hearth/engine/scheduler.h"
#include "hearth/server/api.h"
#include "hearth/server/metrics.h"

namespace hearth::server {
namespace {

using engine::GenerationStats;
using Clock = std::chrono::steady_clock;

enum class State { kLoading, kReady, kStopping };

// How often a waiting stream checks that its client is still there.
constexpr auto kStreamPoll = std::chrono::milliseconds(100);

// Generated text from the scheduler thread to the request's HTTP thread.
class Channel {
 public:
  void push(std::string_view text) {
    std::lock_guard lock(mutex_);
    text_ += text;
    changed_.notify_all();
  }
  void finish(const Result<GenerationStats>& result) {
    std::lock_guard lock(mutex_);
    end_ = result;
    changed_.notify_all();
  }
  // The text that arrived since the last call, waiting up to `timeout` for some; `end` receives
  // the outcome once generation is over and all its text has been taken.
  std::string take(std::chrono::milliseconds timeout, std::optional<Result<GenerationStats>>& end) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return !text_.empty() || end_.has_value(); });
    end = end_;
    return std::exchange(text_, {});
  }
  std::string wait_all(std::optional<Result<GenerationStats>>& end) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return end_.has_value(); });
    end = end_;
    return std::exchange(text_, {});
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  std::optional<Result<GenerationStats>> end_;
};

struct Job {
  std::shared_ptr<Channel> channel;
  std::shared_ptr<engine::Ticket> ticket;
};

// Turns a stream's text into server-sent events.
class StreamFormat {
 public:
  virtual ~StreamFormat() = default;
  virtual std::string begin() = 0;
  virtual std::string text(std::string_view piece) = 0;
  virtual std::string end(const Result<GenerationStats>& result) = 0;
};

std::string error_event(const Error& error) {
  return sse_event(error_json({500, error.message(), "server_error", ""}));
}

class ChatStream final : public StreamFormat {
 public:
  ChatStream(ReplyInfo info, chat::OutputParser parser, bool include_usage)
      : info_(std::move(info)), parser_(std::move(parser)), include_usage_(include_usage) {}

  std::string begin() override {
    return sse_event(chat_chunk_json(info_, {{"role", "assistant"}, {"content", ""}}, nullptr));
  }
  std::string text(std::string_view piece) override {
    return piece.empty() ? std::string() : delta(parser_.feed(piece));
  }
  std::string end(const Result<GenerationStats>& result) override {
    if (!result.ok()) return error_event(result.error()) + "data: [DONE]\n\n";
    std::string out = delta(parser_.finish());
    const bool calls = !parser_.result().tool_calls.empty();
    out += sse_event(
        chat_chunk_json(info_, Json::object(), engine::finish_reason(result->stop_reason, calls)));
    if (include_usage_) out += sse_event(usage_chunk_json(info_, "chat.completion.chunk", *result));
    return out + "data: [DONE]\n\n";
  }

 private:
  std::string delta(const chat::OutputDelta& delta) {
    for (const std::string& warning : delta.warnings) log::warn("{}: {}", info_.id, warning);
    Json json = chat_delta_json(delta);
    return json.empty() ? std::string()
                        : sse_event(chat_chunk_json(info_, std::move(json), nullptr));
  }

  ReplyInfo info_;
  chat::OutputParser parser_;
  bool include_usage_;
};

class CompletionStream final : public StreamFormat {
 public:
  CompletionStream(ReplyInfo info, bool include_usage)
      : info_(std::move(info)), include_usage_(include_usage) {}

  std::string begin() override { return {}; }
  std::string text(std::string_view piece) override {
    return piece.empty() ? std::string()
                         : sse_event(completion_json(info_, piece, nullptr, nullptr));
  }
  std::string end(const Result<GenerationStats>& result) override {
    if (!result.ok()) return error_event(result.error()) + "data: [DONE]\n\n";
    std::string out = sse_event(
        completion_json(info_, "", engine::finish_reason(result->stop_reason, false), nullptr));
    if (include_usage_) out += sse_event(usage_chunk_json(info_, "text_completion", *result));
    return out + "data: [DONE]\n\n";
  }

 private:
  ReplyInfo info_;
  bool include_usage_;
};

std::string_view route_name(const std::string& path) {
  for (const std::string_view route :
       {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics"}) {
    if (path == route) return route;
  }
  return "other";
}

bool same_secret(std::string_view a, std::string_view b) {
  // Constant time in the contents, so the key cannot be guessed byte by byte from timings.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(to_json_text(body), "application/json");
}

void reply_error(httplib::Response& res, const ApiError& error) {
  reply(res, error.status, error_json(error));
}

ApiError bad_request(const Error& error) {
  return {400, error.message(), "invalid_request_error", ""};
}

}  // namespace

class Server::Impl {
 public:
  explicit Impl(ServerOptions options) : options_(std::move(options)) {}
  ~Impl() { shutdown(std::chrono::milliseconds(0)); }

  Status start();
  Status attach(std::unique_ptr<engine::Engine> engine);
  void shutdown(std::chrono::milliseconds grace);
  int port() const { return port_; }

 private:
  void add_routes();
  std::optional<ApiError> check_ready() const;
  Result<Json> read_body(const httplib::Request& req) const;
  std::optional<ApiError> check_model(const GenerationParams& params) const;
  std::optional<ApiError> submit(std::vector<int32_t> prompt, const GenerationParams& params,
                                 std::unique_ptr<sample::TokenConstraint> constraint,
                                 std::vector<int32_t> preserved_tokens, Job& job);
  void stream(httplib::Response& res, Job job, std::shared_ptr<StreamFormat> format);
  ReplyInfo reply_info(std::string_view prefix);
  void chat_completions(const httplib::Request& req, httplib::Response& res);
  void completions(const httplib::Request& req, httplib::Response& res);

  ServerOptions options_;
  httplib::Server http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<State> state_{State::kLoading};
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<engine::ChatCompletions> chat_;
  std::unique_ptr<engine::Scheduler> scheduler_;  // declared last of the three: stops first
  std::string model_id_;
  int64_t started_at_ = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::atomic<uint64_t> next_id_{0};
  RequestCounters counters_;
  std::mutex shutdown_mutex_;
  bool shut_down_ = false;
};

Status Server::Impl::start() {
  add_routes();
  // Every waiting or streaming request holds an HTTP thread: room for all slots and the queue.
  const size_t threads = static_cast<size_t>(options_.n_parallel + options_.max_queued) + 4;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_payload_max_length(options_.max_body_bytes);
  // Longer than clients keep idle sockets (the openai client's agent frees them after 4 s), so a
  // client never reuses a socket the server is closing at that moment (ECONNRESET).
  http_.set_keep_alive_timeout(5);
  if (options_.port == 0) {
    port_ = http_.bind_to_any_port(options_.host);
    if (port_ < 0) return make_error("cannot bind {} to a free port", options_.host);
  } else {
    if (!http_.bind_to_port(options_.host, options_.port)) {
      return make_error("cannot bind {}:{} (in use, or not an address of this machine)",
                        options_.host, options_.port);
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] { http_.listen_after_bind(); });
  return Status();
}

Status Server::Impl::attach(std::unique_ptr<engine::Engine> engine) {
  HEARTH_ASSIGN_OR_RETURN(scheduler_,
                          engine::Scheduler::create(*engine, {.n_slots = options_.n_parallel,
                                                              .max_queued = options_.max_queued}));
  chat_ = std::make_unique<engine::ChatCompletions>(*engine);
  model_id_ = options_.alias.empty() ? engine->name() : options_.alias;
  engine_ = std::move(engine);
  State expected = State::kLoading;
  state_.compare_exchange_strong(expected, State::kReady);
  return Status();
}

void Server::Impl::shutdown(std::chrono::milliseconds grace) {
  std::lock_guard lock(shutdown_mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  state_ = State::kStopping;
  if (scheduler_) scheduler_->stop(grace);
  // Streams notice their end within kStreamPoll; give them that long to write it.
  std::this_thread::sleep_for(2 * kStreamPoll);
  http_.stop();
  if (thread_.joinable()) thread_.join();
}

std::optional<ApiError> Server::Impl::check_ready() const {
  switch (state_.load()) {
    case State::kLoading:
      return ApiError{503, "the model is still loading", "server_error", "model_loading"};
    case State::kStopping:
      return ApiError{503, "the server is shutting down", "server_error", "shutting_down"};
    case State::kReady:
      break;
  }
  return std::nullopt;
}

Result<Json> Server::Impl::read_body(const httplib::Request& req) const {
  return parse_json(req.body, "request body");
}

std::optional<ApiError> Server::Impl::check_model(const GenerationParams& params) const {
  if (params.model.empty() || params.model == model_id_ || params.model == engine_->name() ||
      params.model == engine_->options().model_path.filename().string()) {
    return std::nullopt;
  }
  return ApiError{
      404,
      fmt::format("the model '{}' does not exist; this server has '{}'", params.model, model_id_),
      "invalid_request_error", "model_not_found"};
}

ReplyInfo Server::Impl::reply_info(std::string_view prefix) {
  ReplyInfo info;
  info.id = fmt::format("{}-{:x}{:06x}", prefix, started_at_, ++next_id_);
  info.created = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  info.model = model_id_;
  return info;
}

std::optional<ApiError> Server::Impl::submit(std::vector<int32_t> prompt,
                                             const GenerationParams& params,
                                             std::unique_ptr<sample::TokenConstraint> constraint,
                                             std::vector<int32_t> preserved_tokens, Job& job) {
  if (static_cast<int64_t>(prompt.size()) > engine_->n_ctx()) {
    return ApiError{400,
                    fmt::format("the prompt is {} tokens, longer than the context of {} tokens",
                                prompt.size(), engine_->n_ctx()),
                    "invalid_request_error", "context_length_exceeded"};
  }
  job.channel = std::make_shared<Channel>();
  engine::GenerationRequest request;
  request.prompt = std::move(prompt);
  request.max_tokens = params.max_tokens;
  request.sampling = params.sampling;
  request.stop = params.stop;
  request.constraint = std::move(constraint);
  request.preserved_tokens = std::move(preserved_tokens);
  request.on_text = [channel = job.channel](std::string_view text) {
    channel->push(text);
    return true;
  };
  request.on_done = [channel = job.channel](const Result<GenerationStats>& result) {
    channel->finish(result);
  };
  engine::Submitted submitted = scheduler_->submit(std::move(request));
  switch (submitted.admission) {
    case engine::Admission::kAccepted:
      job.ticket = std::move(submitted.ticket);
      return std::nullopt;
    case engine::Admission::kQueueFull:
      return ApiError{503, submitted.message, "server_error", "queue_full"};
    case engine::Admission::kShuttingDown:
      return ApiError{503, submitted.message, "server_error", "shutting_down"};
    case engine::Admission::kInvalid:
      break;
  }
  return ApiError{400, submitted.message, "invalid_request_error", ""};
}

void Server::Impl::stream(httplib::Response& res, Job job, std::shared_ptr<StreamFormat> format) {
  res.set_header("Cache-Control", "no-cache");
  auto started = std::make_shared<bool>(false);
  res.set_chunked_content_provider(
      "text/event-stream",
      [job, format, started](size_t, httplib::DataSink& sink) {
        std::string out;
        if (!*started) {
          out = format->begin();
          *started = true;
        }
        std::optional<Result<GenerationStats>> end;
        out += format->text(job.channel->take(kStreamPoll, end));
        if (end) out += format->end(*end);
        if ((!out.empty() && !sink.write(out.data(), out.size())) || !sink.is_writable()) {
          job.ticket->cancel();  // the client went away
          return false;
        }
        if (end) sink.done();
        return true;
      },
      [job](bool success) {
        if (!success) job.ticket->cancel();
      });
}

void Server::Impl::chat_completions(const httplib::Request& req, httplib::Response& res) {
  if (auto error = check_ready()) return reply_error(res, *error);
  auto body = read_body(req);
  if (!body.ok()) return reply_error(res, bad_request(body.error()));
  auto params = parse_chat_params(*body);
  if (!params.ok()) return reply_error(res, bad_request(params.error()));
  if (auto error = check_model(params->generation)) return reply_error(res, *error);
  auto prepared = chat_->prepare(params->request);
  if (!prepared.ok()) return reply_error(res, bad_request(prepared.error()));

  Job job;
  if (auto error =
          submit(std::move(prepared->prompt), params->generation, std::move(prepared->constraint),
                 std::move(prepared->preserved_tokens), job)) {
    return reply_error(res, *error);
  }
  ReplyInfo info = reply_info("chatcmpl");
  if (params->generation.stream) {
    return stream(res, job,
                  std::make_shared<ChatStream>(std::move(info), prepared->parser(),
                                               params->generation.include_usage));
  }
  std::optional<Result<GenerationStats>> end;
  const std::string text = job.channel->wait_all(end);
  if (!end->ok()) return reply_error(res, {500, end->error().message(), "server_error", ""});
  chat::OutputParser parser = prepared->parser();
  parser.feed(text);
  parser.finish();
  const chat::ParsedOutput& output = parser.result();
  for (const std::string& warning : output.warnings) log::warn("{}: {}", info.id, warning);
  reply(res, 200,
        chat_completion_json(info, output,
                             engine::finish_reason((*end)->stop_reason, !output.tool_calls.empty()),
                             **end));
}

void Server::Impl::completions(const httplib::Request& req, httplib::Response& res) {
  if (auto error = check_ready()) return reply_error(res, *error);
  auto body = read_body(req);
  if (!body.ok()) return reply_error(res, bad_request(body.error()));
  auto params = parse_completion_params(*body);
  if (!params.ok()) return reply_error(res, bad_request(params.error()));
  if (auto error = check_model(params->generation)) return reply_error(res, *error);
  // Control-token spellings count as those tokens, so a hand-rendered chat prompt works.
  auto prompt = engine_->tokenize_prompt(params->prompt, /*parse_special=*/true);
  if (!prompt.ok()) return reply_error(res, bad_request(prompt.error()));
  Job job;
  if (auto error = submit(std::move(*prompt), params->generation, nullptr, {}, job)) {
    return reply_error(res, *error);
  }
  ReplyInfo info = reply_info("cmpl");
  if (params->generation.stream) {
    return stream(
        res, job,
        std::make_shared<CompletionStream>(std::move(info), params->generation.include_usage));
  }
  std::optional<Result<GenerationStats>> end;
  const std::string text = job.channel->wait_all(end);
  if (!end->ok()) return reply_error(res, {500, end->error().message(), "server_error", ""});
  reply(res, 200,
        completion_json(info, text, engine::finish_reason((*end)->stop_reason, false), &**end));
}

void Server::Impl::add_routes() {
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // /health and /metrics stay open for orchestrators and scrapers.
    if (options_.api_key.empty() || req.path == "/health" || req.path == "/metrics") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string header = req.get_header_value("Authorization");
    std::string_view given = header;
    if (given.substr(0, 7) == "Bearer ") given.remove_prefix(7);
    if (!same_secret(given, options_.api_key)) {
      reply_error(res, {401, "invalid or missing API key (Authorization: Bearer ...)",
                        "invalid_request_error", "invalid_api_key"});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    chat_completions(req, res);
  });
  http_.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    completions(req, res);
  });
  http_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    if (auto error = check_ready()) return reply_error(res, *error);
    reply(res, 200,
          {{"object", "list"},
           {"data", Json::array({{{"id", model_id_},
                                  {"object", "model"},
                                  {"created", started_at_},
                                  {"owned_by", "hearth"},
                                  {"meta", {{"n_ctx", engine_->n_ctx()}}}}})}});
  });
  http_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    switch (state_.load()) {
      case State::kLoading:
        return reply(res, 503, {{"status", "loading"}});
      case State::kStopping:
        return reply(res, 503, {{"status", "stopping"}});
      case State::kReady:
        break;
    }
    reply(res, 200, {{"status", "ready"}});
  });
  http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::optional<engine::SchedulerStats> stats;
    if (state_.load() == State::kReady) stats = scheduler_->stats();
    res.set_content(prometheus_text(counters_, stats ? &*stats : nullptr),
                    "text/plain; version=0.0.4");
  });
  // Statuses httplib sets itself (unknown route, oversized or unreadable request) get an
  // OpenAI-shaped body too.
  http_.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = fmt::format("HTTP {}", res.status);
        if (res.status == 404) message = fmt::format("no route {} {}", req.method, req.path);
        if (res.status == 413) message = "the request body is too large";
        if (res.status == 400) message = "malformed HTTP request";
        reply_error(res, {res.status, message, "invalid_request_error", ""});
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string message = "internal error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          message = e.what();
        } catch (...) {
        }
        reply_error(res, {500, message, "server_error", ""});
      });
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    counters_.count(std::string(route_name(req.path)), res.status);
    log::debug("{} {} -> {}", req.method, req.path, res.status);
  });
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;
Status Server::start() {
  return impl_->start();
}
int Server::port() const {
  return impl_->port();
}
Status Server::attach(std::unique_ptr<engine::Engine> engine) {
  return impl_->attach(std::move(engine));
}
void Server::shutdown(std::chrono::milliseconds grace) {
  impl_->shutdown(grace);
}

}  // namespace hearth::server
