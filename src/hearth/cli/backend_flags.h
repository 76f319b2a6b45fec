// The model-backend flags shared by the commands that drive an agent (`hearth agent`, `hearth
// eval --agent hearth`): -m MODEL.gguf for a local model, --endpoint/--model/--api-key for any
// OpenAI-compatible server, or --script for the deterministic scripted backend; --context-size
// and --threads.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "hearth/base/result.h"
#include "hearth/llm/chat_backend.h"

namespace hearth::cli {

struct BackendFlags {
  std::string gguf;
  int threads = 0;
  std::string endpoint;
  std::string model;
  std::string api_key;
  std::string script;
  int64_t context_size = 0;
};

void add_backend_flags(CLI::App* command, BackendFlags* flags);

// A new backend from the flags; an error when none or both kinds are given.
Result<std::unique_ptr<llm::ChatBackend>> make_backend(const BackendFlags& flags);

}  // namespace hearth::cli
