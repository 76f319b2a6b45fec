// `hearth serve`: the OpenAI-compatible server. Listens first (so /health says "loading"), then
// loads the model; SIGTERM or SIGINT drains in-flight requests within --shutdown-grace seconds.
#include <csignal>
#include <memory>
#include <string>

#include "hearth/base/log.h"
#include "hearth/cli/commands.h"
#include "hearth/cli/engine_flags.h"
#include "hearth/server/server.h"

namespace hearth::cli {
namespace {

struct ServeFlags {
  EngineFlags engine;
  server::ServerOptions server;
  double shutdown_grace = 10;
};

int run_serve(const ServeFlags& flags) {
  // Signals are taken by sigwait below: block them before any thread starts, so every thread
  // inherits the mask and none is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::Server server(flags.server);
  if (const Status started = server.start(); !started.ok()) return report_error(started.error());
  log::info("listening on http://{}:{} (loading the model)", flags.server.host, server.port());
  auto engine = load_engine(flags.engine);
  if (!engine.ok()) return report_error(engine.error());
  if (const Status attached = server.attach(std::move(*engine)); !attached.ok()) {
    return report_error(attached.error());
  }
  log::info("ready: http://{}:{}/v1, {} parallel slots", flags.server.host, server.port(),
            flags.server.n_parallel);
  int signal = 0;
  sigwait(&signals, &signal);
  log::info("{}: finishing in-flight requests (up to {} s)",
            signal == SIGTERM ? "SIGTERM" : "SIGINT", flags.shutdown_grace);
  server.shutdown(std::chrono::milliseconds(static_cast<int64_t>(flags.shutdown_grace * 1000)));
  return 0;
}

}  // namespace

void register_serve(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  auto* command = app.add_subcommand("serve", "Serve a model through an OpenAI-compatible API");
  add_engine_flags(command, flags->engine);
  command->add_option("--host", flags->server.host, "address to listen on (default: loopback)");
  command->add_option("--port", flags->server.port, "port")->check(CLI::Range(0, 65535));
  command
      ->add_option("-P,--parallel", flags->server.n_parallel,
                   "requests decoded together (slots; each has its own --ctx-size cache)")
      ->check(CLI::Range(1, 256));
  command
      ->add_option("--queue", flags->server.max_queued,
                   "requests waiting for a slot before 503 'queue full'")
      ->check(CLI::Range(0, 100000));
  command
      ->add_option("--api-key", flags->server.api_key,
                   "require 'Authorization: Bearer KEY' on /v1 (also $HEARTH_API_KEY)")
      ->envname("HEARTH_API_KEY");
  command->add_option("--alias", flags->server.alias, "model id for clients (default: its name)");
  command
      ->add_option("--shutdown-grace", flags->shutdown_grace,
                   "seconds in-flight requests may finish after SIGTERM")
      ->check(CLI::Range(0.0, 3600.0));
  command->callback([flags, exit_code] { *exit_code = run_serve(*flags); });
}

}  // namespace hearth::cli
