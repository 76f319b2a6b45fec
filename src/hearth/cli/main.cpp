// Entry point of the `hearth` program: global flags, the subcommand table, exit codes.
#include <cstdio>
#include <string>

#include "hearth/base/log.h"
#include "hearth/cli/commands.h"
#include "hearth/cli/version.h"

namespace hearth::cli {

int report_error(const Error& error) {
  std::fprintf(stderr, "hearth: error: %s\n", error.message().c_str());
  return kExitFailure;
}

namespace {

int run(int argc, char** argv) {
  CLI::App app{"hearth: run open-weight language models on your own machine, serve them through "
               "an OpenAI-compatible API, and drive them as agents."};
  app.set_version_flag("--version", std::string("hearth ") + kVersion);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));

  int exit_code = 0;
  register_inspect(app, &exit_code);
  register_synth(app, &exit_code);
  register_template(app, &exit_code);
  register_tokenize(app, &exit_code);
  register_agent(app, &exit_code);
  register_sessions(app, &exit_code);
  register_debate(app, &exit_code);
  register_eval(app, &exit_code);
  register_run(app, &exit_code);
  register_chat(app, &exit_code);
  register_serve(app, &exit_code);
  register_logits(app, &exit_code);
  register_bench(app, &exit_code);
  register_quantize(app, &exit_code);

  app.parse_complete_callback([&] {
    log::Level level;
    if (log::parse_level(log_level, &level)) log::set_level(level);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  return exit_code;
}

}  // namespace
}  // namespace hearth::cli

int main(int argc, char** argv) { return hearth::cli::run(argc, argv); }
