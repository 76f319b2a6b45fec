// `hearth serve`'s HTTP server: OpenAI-compatible routes over cpp-httplib. HTTP threads parse and
// validate JSON, render and tokenize (engine::ChatCompletions), and hand a typed request to the
// engine::Scheduler; generated text comes back through a per-request channel and is parsed into
// content, reasoning and tool-call deltas on the HTTP thread. It listens before the model is
// loaded so /health can say "loading"; shutdown drains within a grace period.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "hearth/base/result.h"
#include "hearth/engine/engine.h"

namespace hearth::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0: any free port (tests)
  std::string api_key;  // when set, /v1/* need "Authorization: Bearer <key>"
  std::string alias;    // the model id clients use; default: the model's name
  int n_parallel = 4;   // slots decoding together
  int max_queued = 64;  // requests waiting for a slot before 503
  size_t max_body_bytes = size_t{8} << 20;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // shutdown() with no grace
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on a background thread; /v1/* answer 503 until attach().
  Status start();
  int port() const;  // the bound port
  // Takes the loaded engine and starts the scheduler: requests are admitted from now on.
  Status attach(std::unique_ptr<engine::Engine> engine);
  // Stops admitting (503, /health "stopping"), lets in-flight requests finish for up to
  // `grace`, cancels the rest, then stops the HTTP server. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::server
