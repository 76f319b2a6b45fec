// JSON Schema → GBNF: a grammar whose every complete output is a JSON text valid against the
// schema. Supported: type (and lists of types), object (properties, required,
// additionalProperties), array (items, minItems, maxItems), string (minLength, maxLength, pattern
// in a common regex subset, format date/time/date-time/uuid), integer and number (minimum,
// maximum, exclusive forms), boolean, null, enum, const, anyOf, oneOf, allOf of one schema, $ref
// into the document, nullable. Any other keyword is an error naming it and its JSON path. The
// restrictions (outputs a subset of the valid values) and the one relaxation (oneOf read as anyOf)
// are listed at the top of json_schema.cpp. The same builder spells values in Gemma 4's call
// syntax, and strings as raw text for families that write parameters as text (tool calls).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/json.h"
#include "hearth/base/result.h"

namespace hearth::sample {

// The GBNF text of a schema; its root rule produces one JSON value (no surrounding space).
Result<std::string> grammar_from_json_schema(const Json& schema);

// GBNF source text for `text` as a literal: "..." with the grammar's escapes.
std::string gbnf_literal(std::string_view text);

// GBNF source text for the marker `text` as a token reference (grammar_matcher.h): the
// vocabulary's token with that text where it has one (a control token such as <|tool_call>),
// else the text spelled out. `<text>` (llama.cpp's form) when the text is in angle brackets, else
// `<"text">`.
std::string gbnf_token(std::string_view text);

// How values are written. kJson: JSON text. kJsonNoAngle: JSON text that never holds a raw '<'
// (strings spell it \u003c), for values inside markup whose closing tags start with '<': the
// same values, only spelled so that no closing tag can appear inside. kGemma4: Gemma 4's
// tool-call arguments, which its parser (chat/tool_call_syntax.h) reads: strings as raw text
// between <|"|> quotes (token references: Gemma 4's vocabulary has <|"|> as a control token),
// object keys bare (or <|"|>-quoted when they are not identifiers), numbers, true, false and null
// as JSON.
enum class ValueSyntax { kJson, kJsonNoAngle, kGemma4 };

// Builds one grammar from several schemas and hand-written rules (tool-call grammars).
class JsonGrammarBuilder {
 public:
  explicit JsonGrammarBuilder(ValueSyntax syntax = ValueSyntax::kJson) : syntax_(syntax) {}

  // Adds the rules for `schema` and returns the name of the rule producing its values. `root`
  // is the document that `$ref`s in `schema` resolve against; `hint` names the rules.
  Result<std::string> add_schema(const Json& schema, std::string_view hint,
                                 const Json* root = nullptr);
  // The rule for a string-only schema (type "string", or an enum/const of strings) written as
  // raw text: no quotes, no escapes, never containing `stop` (a marker starting with '<').
  // Constrained strings (length, pattern, format) never hold '<'; free ones exclude only `stop`.
  Result<std::string> add_text_schema(const Json& schema, std::string_view hint, const Json* root,
                                      std::string_view stop);
  // Rules for text that never contains `marker`: the states of an automaton over the marker
  // (Knuth-Morris-Pratt), state k meaning "the text ends with the marker's first k characters".
  // Every state may end the text; states[0] is the start.
  std::vector<std::string> text_without(std::string_view marker, std::string_view hint);
  // Adds `name ::= body` (name made unique; the final name is returned).
  std::string add_rule(std::string_view name, std::string body);
  // Replaces the body of a rule added earlier (rules that refer to each other).
  void set_rule(const std::string& name, std::string body);
  // A rule for any JSON value, and for the optional space between tokens.
  std::string any_value();
  std::string space();
  // All rules, `root ::= root_body` first.
  std::string text(std::string_view root_body) const;

 private:
  Result<std::string> visit(const Json& schema, const std::string& hint, const std::string& path);
  Result<std::string> visit_object(const Json& schema, const std::string& hint,
                                   const std::string& path);
  Result<std::string> visit_array(const Json& schema, const std::string& hint,
                                  const std::string& path);
  Result<std::string> visit_string(const Json& schema, const std::string& hint,
                                   const std::string& path);
  Result<std::string> visit_integer(const Json& schema, const std::string& hint,
                                    const std::string& path, bool number);
  Result<std::string> visit_ref(const std::string& ref, const std::string& path);
  std::string primitive(std::string_view name);
  std::string key_not_in(const std::set<std::string>& names);
  // The current spelling of strings: raw text (Gemma 4, text values) or JSON with escapes.
  bool raw_strings() const { return syntax_ == ValueSyntax::kGemma4 || !text_stop_.empty(); }
  std::string quote() const;          // GBNF for a string's quotes ("" for text values)
  std::string raw_char() const;       // GBNF for one character of a constrained raw string
  std::string free_string_content();  // any content of an unconstrained string
  Result<std::string> spell(const Json& value, const std::string& path) const;
  std::string key_literal(const std::string& name) const;
  std::string json_text(const Json& value) const;

  ValueSyntax syntax_;
  std::string text_stop_;  // set while add_text_schema runs
  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> names_;
  std::map<std::string, std::string> refs_;  // $ref → rule
  const Json* root_ = nullptr;
};

}  // namespace hearth::sample
