// JSON Schema → GBNF: a grammar whose every complete output is a JSON text valid against the
// schema. Supported: type (and lists of types), object (properties, required,
// additionalProperties), array (items, minItems, maxItems), string (minLength, maxLength, pattern
// in a common regex subset, format date/time/date-time/uuid), integer and number (minimum,
// maximum, exclusive forms), boolean, null, enum, const, anyOf, oneOf, allOf of one schema, $ref
// into the document, nullable. Any other keyword is an error naming it and its JSON path. The
// restrictions (outputs a subset of the valid values) and the one relaxation (oneOf read as anyOf)
// are listed at the top of json_schema.cpp.
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

// Builds one grammar from several schemas and hand-written rules (tool-call grammars).
class JsonGrammarBuilder {
 public:
  // Adds the rules for `schema` and returns the name of the rule producing its values. `root`
  // is the document that `$ref`s in `schema` resolve against; `hint` names the rules.
  Result<std::string> add_schema(const Json& schema, std::string_view hint,
                                 const Json* root = nullptr);
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

  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> names_;
  std::map<std::string, std::string> refs_;  // $ref → rule
  const Json* root_ = nullptr;
};

}  // namespace hearth::sample
