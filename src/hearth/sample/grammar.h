// GBNF grammars as llama.cpp defines the syntax (rules `name ::= ...`, alternatives, groups,
// `*` `+` `?` `{m,n}`, string literals, character classes, `.`, comments, token references
// `<[id]>` `<text>` `!<...>`), parsed and compiled into flat rules over Unicode code points and
// tokens. Repetitions become helper rules; left recursion and undefined rules are refused with
// their line and column. Token references are bound to a vocabulary and matched in
// grammar_matcher.h, which says how they behave.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/result.h"

namespace hearth::sample {

// One step of a compiled alternative. Alternatives are stored back to back in
// Grammar::elements(), each ending with a kEnd element.
struct GrammarElement {
  enum Kind : uint8_t { kChar, kRef, kEnd, kToken };
  Kind kind = kEnd;
  // kChar: matches code points outside the ranges; kToken: any one token but the referenced one
  bool negated = false;
  uint32_t first = 0;  // kChar: index of the first range; kRef: the rule id; kToken: the reference
  uint32_t count = 0;  // kChar: number of ranges
};

// A token reference as written: `<[id]>` by id; `<text>` (the text includes the angle brackets,
// as in llama.cpp) or the hearth extension `<"text">` (a string literal, for token texts that are
// not in angle brackets, such as Mistral's [TOOL_CALLS]) by text.
struct TokenReference {
  std::optional<int32_t> id;
  std::string text;      // by text: the token's text
  uint32_t spelled = 0;  // by text, not negated: the rule spelling `text` out as characters
  std::string where;     // "line L, column C" of the reference, for errors when binding
};

// An inclusive code-point range of a character class.
struct CharRange {
  char32_t lo, hi;
};

class Grammar {
 public:
  // Parses GBNF text. Errors carry "line L, column C" of the offending character, name an
  // undefined rule where it is used, and name the rules of a left-recursive cycle.
  static Result<Grammar> parse(std::string_view text);

  uint32_t root() const { return root_; }
  size_t rule_count() const { return rule_alts_.size(); }
  std::string_view rule_name(uint32_t rule) const { return names_[rule]; }

  const std::vector<GrammarElement>& elements() const { return elements_; }
  // Positions in elements() where each alternative of `rule` starts.
  std::span<const uint32_t> alternatives(uint32_t rule) const { return rule_alts_[rule]; }

  // Token references; a kToken element's `first` indexes this.
  const std::vector<TokenReference>& tokens() const { return tokens_; }

  // Whether the kChar element at `pos` matches `c`.
  bool matches(uint32_t pos, char32_t c) const;
  // Whether it matches some code point in [lo, hi].
  bool intersects(uint32_t pos, char32_t lo, char32_t hi) const;

  // The most UTF-8 bytes a complete output can have, a token reference counting as its text's
  // length (one for `<[id]>` and `!<...>`, which take one token); nullopt when outputs are
  // unbounded (a rule reachable from the root refers back to itself, as `*`, `+` and recursion
  // do). Every token adds at least one byte or fills one reference, so this many tokens plus an
  // end token always finish a generation.
  std::optional<size_t> max_bytes() const;

 private:
  friend class GrammarBuilder;

  std::vector<std::string> names_;
  std::vector<std::vector<uint32_t>> rule_alts_;
  std::vector<GrammarElement> elements_;
  std::vector<CharRange> ranges_;
  std::vector<TokenReference> tokens_;
  uint32_t root_ = 0;
};

}  // namespace hearth::sample
