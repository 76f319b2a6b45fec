// `hearth template render (--template FILE | -m MODEL.gguf) --jsonl CASES`: renders each case
// (messages, tools, add_generation_prompt, extra) with a chat template and prints one JSON line
// per case, {"rendered": ...} or {"error": ...}. FILE is a .jinja file or a tokenizer_config.json;
// a GGUF model gives tokenizer.chat_template and its special tokens.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "hearth/base/files.h"
#include "hearth/base/json.h"
#include "hearth/chat/chat_template.h"
#include "hearth/cli/commands.h"
#include "hearth/gguf/gguf.h"

namespace hearth::cli {
namespace {

Result<chat::ChatTemplate> load_from_gguf(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(gguf::File file, gguf::File::open(path));
  auto loaded = chat::ChatTemplate::from_gguf(file.metadata());
  if (!loaded.ok()) return loaded.error().context(path);
  return loaded;
}

Result<chat::ChatTemplate> load_from_file(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::string text, read_file(path));
  const bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  Result<chat::ChatTemplate> loaded = make_error("unreachable");
  if (is_json) {
    HEARTH_ASSIGN_OR_RETURN(Json config, parse_json(text, path));
    loaded = chat::ChatTemplate::from_tokenizer_config(config);
  } else {
    loaded = chat::ChatTemplate::from_source(text, Json::object());
  }
  if (!loaded.ok()) return loaded.error().context(path);
  return loaded;
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS", as the fixed clock of strftime_now.
Result<std::tm> parse_time(const std::string& text) {
  std::tm tm{};
  int n = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3) {
    return make_error("--now '{}': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS", text);
  }
  if (static_cast<size_t>(n) < text.size() &&
      std::sscanf(text.c_str() + n, "T%2d:%2d:%2d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 3) {
    return make_error("--now '{}': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS", text);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  // timegm normalizes and fills in the weekday and day of the year.
  const std::time_t t = timegm(&tm);
  std::tm out{};
  gmtime_r(&t, &out);
  return out;
}

Json render_case(const chat::ChatTemplate& tmpl, const std::string& line, size_t line_number,
                 const chat::RenderOptions& options) {
  auto parsed = parse_json(line, "line " + std::to_string(line_number));
  if (!parsed.ok()) return Json{{"error", parsed.error().message()}};
  const Json& c = *parsed;
  if (!c.is_object())
    return Json{{"error", "line " + std::to_string(line_number) + ": not a JSON object"}};
  chat::ChatInput input;
  input.messages = c.value("messages", Json::array());
  input.tools = c.contains("tools") ? c["tools"] : Json();
  input.add_generation_prompt = c.value("add_generation_prompt", false);
  input.extra = c.value("extra", Json::object());
  chat::TemplateError detail;
  auto rendered = tmpl.render(input, options, &detail);
  if (rendered.ok()) return Json{{"rendered", *rendered}};
  // A template's own raise_exception message is shown as is, as transformers reports it.
  return Json{{"error", detail.raised ? detail.message : rendered.error().message()}};
}

struct RenderFlags {
  std::string template_path;
  std::string model_path;
  std::string jsonl_path;
  std::string now;
};

int run_render(const RenderFlags& flags) {
  Result<chat::ChatTemplate> tmpl = flags.template_path.empty()
                                        ? load_from_gguf(flags.model_path)
                                        : load_from_file(flags.template_path);
  if (!tmpl.ok()) return report_error(tmpl.error());
  chat::RenderOptions options;
  if (!flags.now.empty()) {
    auto now = parse_time(flags.now);
    if (!now.ok()) return report_error(now.error());
    options.now = *now;
  }
  std::ifstream file;
  if (flags.jsonl_path != "-") {
    file.open(flags.jsonl_path);
    if (!file) return report_error(make_error("cannot open '{}'", flags.jsonl_path));
  }
  std::istream& in = flags.jsonl_path == "-" ? std::cin : file;
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const Json out = render_case(*tmpl, line, line_number, options);
    std::printf("%s\n", to_json_text(out).c_str());
  }
  return 0;
}

}  // namespace

void register_template(CLI::App& app, int* exit_code) {
  auto* command = app.add_subcommand("template", "Work with chat templates");
  command->require_subcommand(1);
  auto* render = command->add_subcommand(
      "render", "Render each case of a JSONL file with a chat template, one JSON line per case");
  auto flags = std::make_shared<RenderFlags>();
  auto* from_file = render->add_option("--template", flags->template_path,
                                       "A .jinja template or a tokenizer_config.json");
  auto* from_model = render->add_option("-m,--model", flags->model_path,
                                        "A GGUF model (its tokenizer.chat_template)");
  from_file->excludes(from_model);
  render
      ->add_option("--jsonl", flags->jsonl_path,
                   "Cases, one JSON object per line: messages, tools, add_generation_prompt, extra "
                   "('-' reads stdin)")
      ->required();
  render->add_option(
      "--now", flags->now,
      "Fixed clock for strftime_now, YYYY-MM-DD[THH:MM:SS] (default: the local time)");
  render->callback([flags, exit_code] {
    if (flags->template_path.empty() && flags->model_path.empty()) {
      std::fprintf(stderr, "hearth: error: %s\n",
                   "template render needs --template FILE or -m MODEL.gguf");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = run_render(*flags);
  });
}

}  // namespace hearth::cli
