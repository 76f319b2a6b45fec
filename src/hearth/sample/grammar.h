// GBNF grammars as llama.cpp defines the syntax (rules `name ::= ...`, alternatives, groups,
// `*` `+` `?` `{m,n}`, string literals, character classes, `.`, comments), parsed and compiled
// into flat rules over Unicode code points. Repetitions become helper rules; left recursion and
// undefined rules are refused with their line and column. Matching lives in grammar_matcher.h.
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
  enum Kind : uint8_t { kChar, kRef, kEnd };
  Kind kind = kEnd;
  bool negated = false;  // kChar: matches code points outside the ranges
  uint32_t first = 0;    // kChar: index of the first range; kRef: the rule id
  uint32_t count = 0;    // kChar: number of ranges
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

  // Whether the kChar element at `pos` matches `c`.
  bool matches(uint32_t pos, char32_t c) const;
  // Whether it matches some code point in [lo, hi].
  bool intersects(uint32_t pos, char32_t lo, char32_t hi) const;

  // The most UTF-8 bytes a complete output can have; nullopt when outputs are unbounded (a rule
  // reachable from the root refers back to itself, as `*`, `+` and recursion do). Every token
  // adds at least one byte, so this many tokens plus an end token always finish a generation.
  std::optional<size_t> max_bytes() const;

 private:
  friend class GrammarBuilder;

  std::vector<std::string> names_;
  std::vector<std::vector<uint32_t>> rule_alts_;
  std::vector<GrammarElement> elements_;
  std::vector<CharRange> ranges_;
  uint32_t root_ = 0;
};

}  // namespace hearth::sample
