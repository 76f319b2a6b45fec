// The `hearth` commands. Each register_* adds one subcommand to the CLI11 app; its callback
// parses nothing itself beyond flags, calls the modules, and stores the process exit code.
// Only this layer prints to stdout for the user and decides exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include "hearth/base/result.h"

namespace hearth::cli {

// Exit codes: 0 success, 1 the operation failed (bad input file, I/O), 2 bad usage.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "hearth: error: <message>" to stderr and returns kExitFailure.
int report_error(const Error& error);

void register_inspect(CLI::App& app, int* exit_code);
void register_synth(CLI::App& app, int* exit_code);
void register_template(CLI::App& app, int* exit_code);
void register_tokenize(CLI::App& app, int* exit_code);
void register_agent(CLI::App& app, int* exit_code);
void register_sessions(CLI::App& app, int* exit_code);
void register_debate(CLI::App& app, int* exit_code);
void register_eval(CLI::App& app, int* exit_code);
void register_run(CLI::App& app, int* exit_code);
void register_logits(CLI::App& app, int* exit_code);
void register_bench(CLI::App& app, int* exit_code);
void register_quantize(CLI::App& app, int* exit_code);
void register_chat(CLI::App& app, int* exit_code);
void register_serve(CLI::App& app, int* exit_code);

}  // namespace hearth::cli
