// `hearth chat`: an interactive terminal chat with a local model, rendered through the model's
// own chat template. Input: one line per message; end a line with `\` to continue it, or wrap
// several lines in `"""`. `/clear` forgets the conversation, `/exit` (or end of input) quits.
// Ctrl-C stops the reply being written without quitting; at the prompt it quits. The oldest
// turns are dropped when the conversation no longer fits the context; the session's KV cache
// is reused turn after turn (only the new text is processed).
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "hearth/base/json.h"
#include "hearth/cli/commands.h"
#include "hearth/cli/engine_flags.h"

namespace hearth::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) { g_interrupted = true; }

struct ChatFlags {
  EngineFlags engine;
  sample::SamplingParams sampling;
  std::string system;
  int64_t n_predict = -1;
};

// One message from stdin; nullopt at end of input or on Ctrl-C.
std::optional<std::string> read_message() {
  std::string message;
  std::string line;
  bool in_block = false;
  std::fputs(in_block ? "... " : "> ", stdout);
  std::fflush(stdout);
  while (std::getline(std::cin, line)) {
    if (!in_block && message.empty() && line == "\"\"\"") {
      in_block = true;
    } else if (in_block && line == "\"\"\"") {
      return message;
    } else if (in_block) {
      message += (message.empty() ? "" : "\n") + line;
    } else if (!line.empty() && line.back() == '\\') {
      message += line.substr(0, line.size() - 1) + "\n";
    } else {
      return message + line;
    }
    std::fputs("... ", stdout);
    std::fflush(stdout);
  }
  return std::nullopt;
}

// The conversation rendered and tokenized, dropping the oldest turns (never the system prompt
// nor the newest message) until it leaves `reserve` tokens of room.
Result<std::vector<int32_t>> fit_prompt(engine::Engine& engine, Json& messages, int64_t reserve) {
  const size_t first_turn = !messages.empty() && messages[0]["role"] == "system" ? 1 : 0;
  while (true) {
    chat::ChatInput input;
    input.messages = messages;
    HEARTH_ASSIGN_OR_RETURN(const std::string text, engine.chat_template()->render(input));
    HEARTH_ASSIGN_OR_RETURN(auto tokens, engine.tokenize_prompt(text, /*parse_special=*/true));
    if (static_cast<int64_t>(tokens.size()) + reserve <= engine.n_ctx()) return tokens;
    if (messages.size() <= first_turn + 1) {
      return make_error("the message is {} tokens, too long for the context of {}",
                        tokens.size(), engine.n_ctx());
    }
    messages.erase(messages.begin() + static_cast<ptrdiff_t>(first_turn));
  }
}

int run_chat(const ChatFlags& flags) {
  if (const Status valid = sample::validate(flags.sampling); !valid.ok()) {
    report_error(valid.error());
    return kExitUsage;
  }
  auto loaded = load_engine(flags.engine);
  if (!loaded.ok()) return report_error(loaded.error());
  engine::Engine& engine = **loaded;
  if (engine.chat_template() == nullptr) {
    return report_error(Error(flags.engine.model + " has no chat template (tokenizer.chat_template); use `hearth run`"));
  }
  auto session = engine::Session::create(engine);
  if (!session.ok()) return report_error(session.error());

  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: Ctrl-C at the prompt interrupts the read
  sigaction(SIGINT, &action, nullptr);

  Json messages = Json::array();
  if (!flags.system.empty()) messages.push_back({{"role", "system"}, {"content", flags.system}});
  engine::GenerateOptions options;
  options.sampling = flags.sampling;
  options.max_tokens = flags.n_predict;
  const int64_t reserve = flags.n_predict > 0 ? flags.n_predict : engine.n_ctx() / 4;
  std::fprintf(stderr, "chatting with %s; /clear forgets, /exit quits, Ctrl-C stops a reply\n",
               engine.name().c_str());
  while (true) {
    g_interrupted = false;
    const auto message = read_message();
    if (!message || g_interrupted) break;
    if (*message == "/exit") break;
    if (*message == "/clear") {
      messages.erase(messages.begin() + (flags.system.empty() ? 0 : 1), messages.end());
      continue;
    }
    if (message->empty()) continue;
    messages.push_back({{"role", "user"}, {"content", *message}});
    auto prompt = fit_prompt(engine, messages, reserve);
    if (!prompt.ok()) {
      report_error(prompt.error());
      messages.erase(messages.end() - 1);
      continue;
    }
    std::string reply;
    auto stats = (*session)->generate(*prompt, options, [&](std::string_view text) {
      reply += text;
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return !g_interrupted;
    });
    std::fputs("\n", stdout);
    if (!stats.ok()) {
      report_error(stats.error());
      messages.erase(messages.end() - 1);
      continue;
    }
    messages.push_back({{"role", "assistant"}, {"content", reply}});
  }
  std::fputs("\n", stdout);
  return 0;
}

}  // namespace

void register_chat(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ChatFlags>();
  auto* command = app.add_subcommand("chat", "Interactive chat with a local model");
  add_engine_flags(command, flags->engine);
  add_sampling_flags(command, flags->sampling);
  command->add_option("--system", flags->system, "system prompt");
  command->add_option("-n,--n-predict", flags->n_predict, "most tokens per reply (-1: no limit)");
  command->callback([flags, exit_code] { *exit_code = run_chat(*flags); });
}

}  // namespace hearth::cli
