// Backend flags: one definition of the flags and of the backend they select, so that every
// agent-driving command accepts the same ones.
#include "hearth/cli/backend_flags.h"

#include "hearth/llm/local_backend.h"
#include "hearth/llm/remote_backend.h"
#include "hearth/llm/scripted_backend.h"

namespace hearth::cli {

void add_backend_flags(CLI::App* command, BackendFlags* flags) {
  command->add_option("-m", flags->gguf, "Local model: a GGUF file run in-process");
  command->add_option("-t,--threads", flags->threads, "Threads for a local model (0: one per core)")
      ->check(CLI::Range(0, 1024));
  command->add_option("--endpoint", flags->endpoint,
                      "OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1");
  command->add_option("--model", flags->model, "Model name at the endpoint");
  command->add_option("--api-key", flags->api_key,
                      "API key (default: $HEARTH_API_KEY, then $OPENAI_API_KEY)");
  command->add_option("--script", flags->script,
                      "Scripted backend: a JSONL file of replies (tests, demos)");
  command->add_option("--context-size", flags->context_size,
                      "The model's context in tokens (default: the backend's, else 32768)");
}

Result<std::unique_ptr<llm::ChatBackend>> make_backend(const BackendFlags& f) {
  if (!f.gguf.empty() + !f.script.empty() + !f.endpoint.empty() > 1) {
    return make_error("give one model backend: -m MODEL.gguf, --endpoint URL or --script FILE");
  }
  if (!f.gguf.empty()) {
    HEARTH_ASSIGN_OR_RETURN(auto local, llm::LocalBackend::open({.model_path = f.gguf,
                                                                 .n_threads = f.threads,
                                                                 .n_ctx = f.context_size}));
    return std::unique_ptr<llm::ChatBackend>(std::move(local));
  }
  if (!f.script.empty()) {
    HEARTH_ASSIGN_OR_RETURN(llm::ScriptedBackend b,
                            llm::ScriptedBackend::from_file(f.script, f.context_size));
    return std::unique_ptr<llm::ChatBackend>(new llm::ScriptedBackend(std::move(b)));
  }
  if (f.endpoint.empty()) {
    return make_error(
        "no model backend: give -m MODEL.gguf, --endpoint URL --model NAME (any "
        "OpenAI-compatible server) or --script FILE");
  }
  llm::RemoteOptions options;
  options.base_url = f.endpoint;
  options.model = f.model;
  options.api_key = llm::resolve_api_key(f.api_key);
  options.context_size = f.context_size;
  HEARTH_ASSIGN_OR_RETURN(auto remote, llm::RemoteBackend::create(std::move(options)));
  return std::unique_ptr<llm::ChatBackend>(std::move(remote));
}

}  // namespace hearth::cli
