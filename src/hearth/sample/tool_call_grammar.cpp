// Tool-call grammars per family (see tool_call_grammar.h). Calls are spelled exactly as the
// family's chat templates render them (../shared/testdata/templates), which is also what its
// parser in chat/output_parser.cpp reads; the markers are the parser's table. Text in auto mode
// avoids the family's call marker with a small automaton over the marker
// (JsonGrammarBuilder::text_without), so the parser never sees a call there.
//
// Every marker that some vocabulary of the family has as one token is written as a token
// reference (gbnf_token): the model's own token where its vocabulary has it (Gemma 4's
// <|tool_call>, Kimi's <|tool_calls_section_begin|>, Mistral's [TOOL_CALLS] are control tokens),
// as its tokenizer encodes the template's text, and the text spelled out elsewhere. Control
// tokens are never allowed in free text, so text never holds one.
#include "hearth/sample/tool_call_grammar.h"

#include <algorithm>
#include <vector>

#include "hearth/sample/json_schema.h"

namespace hearth::sample {

namespace {

enum class Family {
  kHermes,
  kLlama3,
  kGemma3,
  kQwen3Coder,
  kMistral,
  kDeepSeekV3,
  kDeepSeekV32,
  kGlm4,
  kKimiK2,
  kGemma4
};

// The chat module's format names and aliases (chat/output_parser.cpp).
Result<Family> family_of(std::string_view format) {
  static constexpr std::pair<std::string_view, Family> kNames[] = {
      {"hermes", Family::kHermes},
      {"qwen3", Family::kHermes},
      {"qwen2.5", Family::kHermes},
      {"llama3", Family::kLlama3},
      {"llama3.1", Family::kLlama3},
      {"llama3.2", Family::kLlama3},
      {"gemma3", Family::kGemma3},
      {"qwen3_coder", Family::kQwen3Coder},
      {"qwen3.5", Family::kQwen3Coder},
      {"mistral", Family::kMistral},
      {"deepseek_v3", Family::kDeepSeekV3},
      {"deepseek_v3_1", Family::kDeepSeekV3},
      {"deepseek_r1", Family::kDeepSeekV3},
      {"deepseek_v3_2", Family::kDeepSeekV32},
      {"glm4", Family::kGlm4},
      {"glm4.5", Family::kGlm4},
      {"kimi_k2", Family::kKimiK2},
      {"kimi", Family::kKimiK2},
      {"gemma4", Family::kGemma4}};
  for (const auto& [name, family] : kNames) {
    if (name == format) return family;
  }
  return make_error(
      "tool-call grammar: format '{}' is not supported (supported: hermes, qwen3_coder, llama3, "
      "mistral, deepseek_v3, deepseek_v3_2, glm4, kimi_k2, gemma3, gemma4)",
      format);
}

// The marker at which the family's parser starts reading a call anywhere in the reply (empty for
// Llama 3 and Gemma 3, whose calls are a bare JSON reply).
std::string_view call_marker(Family family) {
  switch (family) {
    case Family::kHermes:
    case Family::kQwen3Coder:
    case Family::kGlm4:
      return "<tool_call>";
    case Family::kMistral:
      return "[TOOL_CALLS]";
    case Family::kDeepSeekV3:
      return "<｜tool▁calls▁begin｜>";
    case Family::kDeepSeekV32:
      return "<｜DSML｜function_calls>";
    case Family::kKimiK2:
      return "<|tool_calls_section_begin|>";
    case Family::kGemma4:
      return "<|tool_call>";
    case Family::kLlama3:
    case Family::kGemma3:
      return "";
  }
  return "";
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

// Names written as raw text between markers: the parsers read them up to the next marker, '"'
// or '>', so only identifier characters are safe.
Status check_identifier(const std::string& name, std::string_view what, std::string_view format) {
  const bool ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
  });
  if (ok && !name.empty()) return {};
  return make_error("{} '{}' cannot be written in the {} format (letters, digits and _ - . : only)",
                    what, name, format);
}

// --- parameters as text (Qwen3-Coder, GLM-4, DeepSeek V3.2) ---

// Whether a schema may admit a string (conservatively true when unsure).
bool may_be_string(const Json& schema, const Json& root, int depth = 0) {
  if (schema.is_boolean()) return schema.get<bool>();
  if (!schema.is_object() || depth > 32) return true;
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"].is_string() ? schema["$ref"].get<std::string>() : "";
    const Json* target = &root;
    for (std::string_view rest = ref.starts_with("#/") ? std::string_view(ref).substr(2) : "";
         !rest.empty();) {
      const size_t slash = rest.find('/');
      const std::string token(rest.substr(0, slash));
      if (!target->is_object() || !target->contains(token)) return true;
      target = &(*target)[token];
      rest = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    }
    return target == &root || may_be_string(*target, root, depth + 1);
  }
  if (schema.contains("const")) return schema["const"].is_string();
  if (schema.contains("enum") && schema["enum"].is_array()) {
    return std::any_of(schema["enum"].begin(), schema["enum"].end(),
                       [](const Json& v) { return v.is_string(); });
  }
  for (const char* key : {"anyOf", "oneOf", "allOf"}) {
    if (!schema.contains(key) || !schema[key].is_array()) continue;
    return std::any_of(schema[key].begin(), schema[key].end(),
                       [&](const Json& sub) { return may_be_string(sub, root, depth + 1); });
  }
  if (schema.contains("type")) {
    const Json& t = schema["type"];
    if (t.is_string()) return t.get<std::string>() == "string";
    return !t.is_array() || std::find(t.begin(), t.end(), Json("string")) != t.end();
  }
  for (const char* key :
       {"properties", "additionalProperties", "required", "items", "minItems", "maxItems",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
    if (schema.contains(key)) return false;
  }
  return true;
}

// How one parameter's value is written, so that chat's typed_parameter_value reads it back as
// the value the grammar meant. The parser looks only at the parameter's own "type": "string"
// keeps the text as a string; any other type (or none) reads the text as JSON when it parses.
enum class TextForm { kRaw, kJson };

Result<TextForm> text_form(const Json& schema, const Json& root, bool string_attribute) {
  if (schema.is_object() && schema.contains("type")) {
    const Json& t = schema["type"];
    if (t.is_string()) return t.get<std::string>() == "string" ? TextForm::kRaw : TextForm::kJson;
    if (t.is_array() && std::find(t.begin(), t.end(), Json("string")) == t.end()) {
      return TextForm::kJson;
    }
    return make_error(
        "a type list holding \"string\" is ambiguous when written as text (\"5\" or 5)");
  }
  if (!may_be_string(schema, root)) return TextForm::kJson;
  if (schema.is_object() && (schema.contains("enum") || schema.contains("const"))) {
    const Json values = schema.contains("const") ? Json::array({schema["const"]}) : schema["enum"];
    for (const Json& v : values) {
      if (!v.is_string()) return make_error("an enum mixing strings and other values needs a type");
      // Without a type the parser reads "5" or "true" as JSON: such strings cannot be written
      // (DeepSeek V3.2 says string="true" instead).
      if (!string_attribute && parse_json(v.get<std::string>(), "value").ok()) {
        return make_error(
            "the string '{}' would be read back as JSON; give it \"type\": \"string\"",
            v.get<std::string>());
      }
    }
    return TextForm::kRaw;
  }
  return make_error("a parameter that may be a string needs a \"type\" to be written as text");
}

// The parts of a parameter element, as GBNF (GLM-4's tags are tokens of its vocabulary).
struct XmlSpelling {
  std::string key_open, key_close;  // around the parameter name
  std::string raw_open, json_open;  // after the name, before a raw or a JSON value
  std::string value_close;          // after the value (its marker part starts with '<')
  std::string stop;                 // what raw text must never contain (text, not GBNF)
};

XmlSpelling xml_spelling(Family family) {
  switch (family) {
    case Family::kQwen3Coder:
      return {gbnf_literal("<parameter="),      gbnf_literal(">\n"), "\"\"", "\"\"",
              gbnf_literal("\n</parameter>\n"), "</parameter>"};
    case Family::kGlm4:
      return {gbnf_token("<arg_key>"),
              gbnf_token("</arg_key>") + " \"\\n\"",
              gbnf_token("<arg_value>"),
              gbnf_token("<arg_value>"),
              gbnf_token("</arg_value>") + " \"\\n\"",
              "</arg_value>"};
    default:  // DeepSeek V3.2
      return {gbnf_literal("<｜DSML｜parameter name=\""), gbnf_literal("\""),
              gbnf_literal(" string=\"true\">"),          gbnf_literal(" string=\"false\">"),
              gbnf_literal("</｜DSML｜parameter>\n"),     "</｜DSML｜parameter>"};
  }
}

// The parameters of one call as the family's parameter elements: required ones always, the
// others optionally, in schema order; no undeclared parameters.
Result<std::string> xml_parameters(JsonGrammarBuilder& builder, const Tool& tool, Family family,
                                   std::string_view format) {
  const Json& params = tool.parameters;
  if (!params.is_object() || params.value("type", "object") != "object") {
    return make_error("parameters must be an object schema with properties");
  }
  for (const auto& [key, value] : params.items()) {
    static constexpr std::string_view kAllowed[] = {
        "type",        "properties", "required", "additionalProperties",
        "description", "title",      "$defs",    "definitions",
        "$schema",     "strict"};
    if (std::find(std::begin(kAllowed), std::end(kAllowed), key) == std::end(kAllowed)) {
      return make_error("parameters: unsupported keyword '{}'", key);
    }
  }
  const Json properties = params.value("properties", Json::object());
  std::vector<std::string> required;
  for (const Json& r : params.value("required", Json::array())) {
    if (!r.is_string()) return make_error("parameters: required must list strings");
    if (!properties.contains(r.get<std::string>())) {
      return make_error("required parameter '{}' has no schema in properties",
                        r.get<std::string>());
    }
    required.push_back(r.get<std::string>());
  }
  const XmlSpelling spelling = xml_spelling(family);
  const bool string_attribute = family == Family::kDeepSeekV32;
  std::string body;
  for (const auto& [name, schema] : properties.items()) {
    HEARTH_RETURN_IF_ERROR(check_identifier(name, "parameter name", format));
    auto form = text_form(schema, params, string_attribute);
    if (!form.ok()) return form.error().context(fmt::format("parameter '{}'", name));
    const std::string hint = "param-" + tool.name + "-" + name;
    auto value = *form == TextForm::kRaw
                     ? builder.add_text_schema(schema, hint, &params, spelling.stop)
                     : builder.add_schema(schema, hint, &params);
    if (!value.ok()) return value.error().context(fmt::format("parameter '{}'", name));
    const std::string element = builder.add_rule(
        hint + "-element", spelling.key_open + " " + gbnf_literal(name) + " " + spelling.key_close +
                               " " +
                               (*form == TextForm::kRaw ? spelling.raw_open : spelling.json_open) +
                               " " + *value + " " + spelling.value_close);
    const bool is_required = std::find(required.begin(), required.end(), name) != required.end();
    body += (body.empty() ? "" : " ") + element + (is_required ? "" : "?");
  }
  return body.empty() ? "\"\"" : body;
}

// --- one call per family ---

Result<std::string> call_rule(JsonGrammarBuilder& builder, const Tool& tool, Family family,
                              std::string_view format) {
  const std::string hint = "call-" + tool.name;
  switch (family) {
    case Family::kHermes:
    case Family::kLlama3:
    case Family::kGemma3: {
      HEARTH_ASSIGN_OR_RETURN(
          std::string args,
          builder.add_schema(tool.parameters, "args-" + tool.name, &tool.parameters));
      const std::string object =
          fmt::format("\"{{\\\"name\\\": \" {} \", \\\"{}\\\": \" {} \"}}\"",
                      gbnf_literal(Json(tool.name).dump()),
                      family == Family::kLlama3 ? "parameters" : "arguments", args);
      if (family != Family::kHermes) return builder.add_rule(hint, object);
      return builder.add_rule(hint, gbnf_token("<tool_call>") + " \"\\n\" " + object + " \"\\n\" " +
                                        gbnf_token("</tool_call>"));
    }
    case Family::kMistral:
    case Family::kDeepSeekV3:
    case Family::kKimiK2:
    case Family::kGemma4: {
      HEARTH_RETURN_IF_ERROR(check_identifier(tool.name, "tool name", format));
      HEARTH_ASSIGN_OR_RETURN(
          std::string args,
          builder.add_schema(tool.parameters, "args-" + tool.name, &tool.parameters));
      if (family == Family::kDeepSeekV3 && tool.name == "function") {
        return make_error("the name 'function' reads as DeepSeek R1's fenced call form");
      }
      std::string head, tail;
      if (family == Family::kMistral) {
        head =
            gbnf_token("[TOOL_CALLS]") + " " + gbnf_literal(tool.name) + " " + gbnf_token("[ARGS]");
      } else if (family == Family::kDeepSeekV3) {
        head = gbnf_token("<｜tool▁call▁begin｜>") + " " + gbnf_literal(tool.name) + " " +
               gbnf_token("<｜tool▁sep｜>");
        tail = gbnf_token("<｜tool▁call▁end｜>");
      } else if (family == Family::kKimiK2) {
        // The head "functions.NAME:INDEX" is also the call's id.
        head = gbnf_token("<|tool_call_begin|>") + " " +
               gbnf_literal("functions." + tool.name + ":") + " [0-9]{1,3} " +
               gbnf_token("<|tool_call_argument_begin|>");
        tail = gbnf_token("<|tool_call_end|>");
      } else {
        head = gbnf_token("<|tool_call>") + " " + gbnf_literal("call:" + tool.name);
        tail = gbnf_token("<tool_call|>");
      }
      return builder.add_rule(hint, head + " " + args + (tail.empty() ? "" : " " + tail));
    }
    case Family::kQwen3Coder:
    case Family::kGlm4:
    case Family::kDeepSeekV32: {
      HEARTH_RETURN_IF_ERROR(check_identifier(tool.name, "tool name", format));
      HEARTH_ASSIGN_OR_RETURN(std::string params, xml_parameters(builder, tool, family, format));
      if (family == Family::kQwen3Coder) {
        return builder.add_rule(hint, gbnf_token("<tool_call>") + " " +
                                          gbnf_literal("\n<function=" + tool.name + ">\n") + " " +
                                          params + " \"</function>\\n\" " +
                                          gbnf_token("</tool_call>"));
      }
      if (family == Family::kGlm4) {
        // GLM-4.5/4.6's layout: a newline after the name and after each element (the parser
        // also reads GLM-4.7's, which has none).
        return builder.add_rule(hint, gbnf_token("<tool_call>") + " " +
                                          gbnf_literal(tool.name + "\n") + " " + params + " " +
                                          gbnf_token("</tool_call>"));
      }
      return builder.add_rule(hint, gbnf_literal("<｜DSML｜invoke name=\"" + tool.name + "\">\n") +
                                        " " + params + " \"</｜DSML｜invoke>\\n\"");
    }
  }
  return make_error("unreachable");
}

}  // namespace

Result<std::string> tool_call_grammar(const Json& tools, std::string_view format,
                                      const ToolCallGrammarOptions& options) {
  HEARTH_ASSIGN_OR_RETURN(Family family, family_of(format));
  HEARTH_ASSIGN_OR_RETURN(std::vector<Tool> list, read_tools(tools));
  // Values inside markup (the XML-style families' JSON parameter values) never hold a raw '<',
  // so no closing tag can appear inside them.
  const bool markup =
      family == Family::kQwen3Coder || family == Family::kGlm4 || family == Family::kDeepSeekV32;
  JsonGrammarBuilder builder(family == Family::kGemma4 ? ValueSyntax::kGemma4
                             : markup                  ? ValueSyntax::kJsonNoAngle
                                                       : ValueSyntax::kJson);
  std::string alternatives;
  for (const Tool& tool : list) {
    auto call = call_rule(builder, tool, family, format);
    if (!call.ok()) return call.error().context(fmt::format("tool '{}'", tool.name));
    alternatives += (alternatives.empty() ? "" : " | ") + *call;
  }
  const std::string call = builder.add_rule("call", alternatives);

  // The calls of one reply: one, or with `parallel` several, inside the family's section
  // markers where it has them, else one after another.
  std::string calls;
  const std::string more = options.parallel ? "+" : "";
  switch (family) {
    case Family::kLlama3:
    case Family::kGemma3:
      calls = call;  // the whole reply is one JSON object
      break;
    case Family::kHermes:
    case Family::kQwen3Coder:
    case Family::kGlm4:
      calls = options.parallel ? call + " ( \"\\n\" " + call + " )*" : call;
      break;
    case Family::kMistral:
    case Family::kGemma4:
      calls = call + more;
      break;
    case Family::kDeepSeekV3:
      calls = gbnf_token("<｜tool▁calls▁begin｜>") + " " + call + more + " " +
              gbnf_token("<｜tool▁calls▁end｜>");
      break;
    case Family::kKimiK2:
      calls = gbnf_token("<|tool_calls_section_begin|>") + " " + call + more + " " +
              gbnf_token("<|tool_calls_section_end|>");
      break;
    case Family::kDeepSeekV32:
      calls = "\"<｜DSML｜function_calls>\\n\" " + call + more + " \"</｜DSML｜function_calls>\"";
      break;
  }
  if (options.choice == ToolChoice::kRequired) return builder.text(calls);

  if (family == Family::kLlama3 || family == Family::kGemma3) {
    // Text must not start (after space) like a call, nor hold a marker the parser takes
    // anywhere: <|python_tag|> (Llama 3) or ```tool_code (Gemma 3).
    const bool llama = family == Family::kLlama3;
    const auto text = builder.text_without(llama ? "<|python_tag|>" : "```tool_code", "text");
    const std::string marker_start = llama ? "<" : "`";
    const std::string first = llama ? "[^{< \\t\\n\\r] " : "[^{[` \\t\\n\\r] ";
    return builder.text(calls + " | " + first + text[0] + " | " + gbnf_literal(marker_start) + " " +
                        text[1]);
  }
  const auto text = builder.text_without(call_marker(family), "text");
  return builder.text(text[0] + " ( " + calls + " )?");
}

}  // namespace hearth::sample
