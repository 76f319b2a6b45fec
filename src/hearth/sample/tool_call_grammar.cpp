// Tool-call grammars per family (see tool_call_grammar.h). Calls are spelled exactly as the
// family's chat templates render them, which is also what its parser in chat/output_parser.cpp
// reads: hermes `<tool_call>\n{"name": .., "arguments": ..}\n</tool_call>`, llama3 a bare
// `{"name": .., "parameters": ..}` reply, gemma3 a bare `{"name": .., "arguments": ..}` reply.
// Text in auto mode avoids the family's markers with a small automaton over the marker (one rule
// per matched prefix length, as in Knuth-Morris-Pratt), so the parser never sees a call there.
#include "hearth/sample/tool_call_grammar.h"

#include <set>
#include <vector>

#include "hearth/base/utf8.h"
#include "hearth/sample/json_schema.h"

namespace hearth::sample {

namespace {

enum class Family { kHermes, kLlama3, kGemma3 };

Result<Family> family_of(std::string_view format) {
  if (format == "hermes" || format == "qwen3" || format == "qwen2.5") return Family::kHermes;
  if (format == "llama3" || format == "llama3.1" || format == "llama3.2") return Family::kLlama3;
  if (format == "gemma3") return Family::kGemma3;
  return make_error(
      "tool-call grammar: format '{}' is not supported (supported: hermes, llama3, gemma3)",
      format);
}

std::string class_escape(char32_t c) {
  return fmt::format("\\U{:08X}", static_cast<uint32_t>(c));
}

// Rules for text that never contains `marker`; returns the rules of the automaton's states,
// state k meaning "the text ends with the marker's first k characters".
std::vector<std::string> text_without(JsonGrammarBuilder& builder, std::string_view marker,
                                      std::string_view hint) {
  std::u32string m;
  for (std::string_view rest = marker; !rest.empty();) {
    const utf8::Decoded d = utf8::decode(rest);
    m.push_back(d.code_point);
    rest.remove_prefix(d.length);
  }
  const size_t n = m.size();
  std::vector<size_t> fail(n, 0);  // longest proper border of m[0..i]
  for (size_t i = 1, k = 0; i < n; ++i) {
    while (k > 0 && m[i] != m[k]) k = fail[k - 1];
    if (m[i] == m[k]) ++k;
    fail[i] = k;
  }
  auto next = [&](size_t k, char32_t c) {
    while (k > 0 && m[k] != c) k = fail[k - 1];
    return m[k] == c ? k + 1 : 0;
  };
  const std::set<char32_t> chars(m.begin(), m.end());
  std::vector<std::string> states;
  for (size_t k = 0; k < n; ++k) states.push_back(builder.add_rule(hint, "\"\""));
  for (size_t k = 0; k < n; ++k) {
    std::string body = "\"\"";
    std::string others;
    for (char32_t c : chars) {
      others += class_escape(c);
      const size_t to = next(k, c);
      if (to == n) continue;  // would complete the marker
      body += " | " + gbnf_literal(utf8::encode(c)) + " " + states[to];
    }
    body += " | [^" + others + "] " + states[0];
    builder.set_rule(states[k], body);
  }
  return states;
}

struct Tool {
  std::string name;
  Json parameters;
};

Result<std::vector<Tool>> read_tools(const Json& tools) {
  if (!tools.is_array() || tools.empty()) {
    return make_error("tool-call grammar: tools must be a non-empty array");
  }
  std::vector<Tool> out;
  for (size_t i = 0; i < tools.size(); ++i) {
    const Json& entry = tools[i];
    const Json* fn = entry.is_object() && entry.contains("function") ? &entry["function"] : &entry;
    if (!fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string() ||
        (*fn)["name"].get<std::string>().empty()) {
      return make_error("tool-call grammar: tools[{}] has no function name", i);
    }
    Tool tool{(*fn)["name"].get<std::string>(), fn->value("parameters", Json::object())};
    if (tool.parameters.is_object() && tool.parameters.empty()) {
      tool.parameters = Json{{"type", "object"}};
    }
    out.push_back(std::move(tool));
  }
  return out;
}

}  // namespace

Result<std::string> tool_call_grammar(const Json& tools, std::string_view format,
                                      const ToolCallGrammarOptions& options) {
  HEARTH_ASSIGN_OR_RETURN(Family family, family_of(format));
  HEARTH_ASSIGN_OR_RETURN(std::vector<Tool> list, read_tools(tools));
  JsonGrammarBuilder builder;
  const std::string args_key = family == Family::kLlama3 ? "parameters" : "arguments";
  std::string objects;
  for (const Tool& tool : list) {
    auto args = builder.add_schema(tool.parameters, "args-" + tool.name, &tool.parameters);
    if (!args.ok()) return args.error().context(fmt::format("tool '{}'", tool.name));
    const std::string object = builder.add_rule(
        "call-" + tool.name, fmt::format("\"{{\\\"name\\\": \" {} \", \\\"{}\\\": \" {} \"}}\"",
                                         gbnf_literal(Json(tool.name).dump()), args_key, *args));
    objects += (objects.empty() ? "" : " | ") + object;
  }
  const std::string call_object = builder.add_rule("call-object", objects);

  std::string root;
  switch (family) {
    case Family::kHermes: {
      const std::string call = builder.add_rule(
          "tool-call", "\"<tool_call>\\n\" " + call_object + " \"\\n</tool_call>\"");
      const std::string calls = options.parallel ? call + " ( \"\\n\" " + call + " )*" : call;
      if (options.choice == ToolChoice::kRequired) {
        root = calls;
      } else {
        const auto text = text_without(builder, "<tool_call>", "text");
        root = text[0] + " ( " + calls + " )?";
      }
      break;
    }
    case Family::kLlama3:
    case Family::kGemma3: {
      root = call_object;
      if (options.choice == ToolChoice::kAuto) {
        // Text must not start (after space) like a call, nor hold a marker the parser takes
        // anywhere: <|python_tag|> (Llama 3) or ```tool_code (Gemma 3).
        const bool llama = family == Family::kLlama3;
        const auto text = text_without(builder, llama ? "<|python_tag|>" : "```tool_code", "text");
        const std::string marker_start = llama ? "<" : "`";
        const std::string first = llama ? "[^{< \\t\\n\\r] " : "[^{[` \\t\\n\\r] ";
        root += " | " + first + text[0] + " | " + gbnf_literal(marker_start) + " " + text[1];
      }
      break;
    }
  }
  return builder.text(root);
}

}  // namespace hearth::sample
