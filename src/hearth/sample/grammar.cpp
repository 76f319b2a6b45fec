// GBNF parsing (recursive descent, positions kept for errors) and compilation into the flat
// element layout of grammar.h. Repetitions are rewritten with helper rules: X* as S ::= X S | "",
// X? as O ::= X | "", X{m,n} as m copies then nested optionals. Left recursion would make the
// matcher's expansion loop forever, so it is found here (through nullable prefixes) and refused.
// A token reference by text also gets a helper rule spelling its text out, which the matcher
// uses where the vocabulary has no such token.
#include "hearth/sample/grammar.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "hearth/base/utf8.h"

namespace hearth::sample {

namespace {

constexpr uint32_t kMaxRepetition = 10000;

struct PElem {
  GrammarElement::Kind kind = GrammarElement::kChar;
  bool negated = false;
  std::vector<CharRange> ranges;
  uint32_t rule = 0;   // kRef
  uint32_t token = 0;  // kToken: index into the token references
};
using PSeq = std::vector<PElem>;

struct PRule {
  std::string name;  // as written; helper rules: their parent's name
  bool helper = false;
  bool defined = false;
  size_t defined_at = 0;  // byte offset of the definition
  size_t used_at = 0;     // byte offset of the first use (valid when !defined)
  std::vector<PSeq> alts;
};

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

class GrammarBuilder {
 public:
  explicit GrammarBuilder(std::string_view text) : text_(text) {}

  Result<Grammar> run() {
    HEARTH_RETURN_IF_ERROR(parse_all());
    for (const PRule& rule : rules_) {
      if (!rule.defined) {
        return error_at(rule.used_at,
                        fmt::format("rule '{}' is used but never defined", rule.name));
      }
    }
    auto root = ids_.find("root");
    if (root == ids_.end()) return make_error("grammar has no 'root' rule");
    HEARTH_RETURN_IF_ERROR(check_left_recursion());
    return compile(root->second);
  }

 private:
  // --- errors and positions ---

  std::string where(size_t offset) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<uint8_t>(text_[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    return fmt::format("line {}, column {}", line, column);
  }
  Error error_at(size_t offset, std::string_view message) const {
    return make_error("grammar {}: {}", where(offset), message);
  }
  Error error_here(std::string_view message) const { return error_at(pos_, message); }

  bool eof() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  void skip_space(bool newlines) {
    while (!eof()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
        ++pos_;
      } else if (c == '#') {
        while (!eof() && peek() != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  // --- rules ---

  uint32_t rule_id(std::string_view name, size_t used_at) {
    auto [it, inserted] = ids_.emplace(std::string(name), static_cast<uint32_t>(rules_.size()));
    if (inserted) {
      PRule rule;
      rule.name = std::string(name);
      rule.used_at = used_at;
      rules_.push_back(std::move(rule));
    }
    return it->second;
  }

  uint32_t helper_rule(uint32_t parent, std::vector<PSeq> alts) {
    PRule rule;
    rule.name = rules_[parent].name;
    rule.helper = true;
    rule.defined = true;
    rule.alts = std::move(alts);
    rules_.push_back(std::move(rule));
    return static_cast<uint32_t>(rules_.size() - 1);
  }

  static PElem ref(uint32_t rule) {
    PElem e;
    e.kind = GrammarElement::kRef;
    e.rule = rule;
    return e;
  }

  Status parse_all() {
    skip_space(true);
    while (!eof()) {
      HEARTH_RETURN_IF_ERROR(parse_rule());
      skip_space(true);
    }
    if (rules_.empty()) return make_error("grammar is empty (it needs a 'root' rule)");
    return {};
  }

  Status parse_rule() {
    const size_t start = pos_;
    while (!eof() && is_name_char(peek())) ++pos_;
    if (pos_ == start) return error_here("expected a rule name");
    const std::string_view name = text_.substr(start, pos_ - start);
    skip_space(false);
    if (text_.substr(pos_, 3) != "::=") return error_here("expected '::=' after the rule name");
    pos_ += 3;
    skip_space(true);
    const uint32_t id = rule_id(name, start);
    if (rules_[id].defined) {
      return error_at(start, fmt::format("rule '{}' is defined twice (first at {})", name,
                                         where(rules_[id].defined_at)));
    }
    rules_[id].defined = true;
    rules_[id].defined_at = start;
    HEARTH_ASSIGN_OR_RETURN(auto alts, parse_alternates(id, false));
    rules_[id].alts = std::move(alts);
    skip_space(false);
    if (!eof() && peek() != '\n' && peek() != '\r') {
      return error_here(fmt::format("unexpected '{}' in rule '{}'", peek(), name));
    }
    return {};
  }

  // At the top level a rule ends at the end of its line, unless the next line starts with '|'.
  bool continues_on_next_line() {
    size_t save = pos_;
    skip_space(true);
    if (peek() == '|') return true;
    pos_ = save;
    return false;
  }

  Result<std::vector<PSeq>> parse_alternates(uint32_t rule, bool nested) {
    std::vector<PSeq> alts;
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(PSeq seq, parse_sequence(rule, nested));
      alts.push_back(std::move(seq));
      if (peek() == '|' || (!nested && continues_on_next_line())) {
        ++pos_;
        skip_space(true);
        continue;
      }
      return alts;
    }
  }

  Result<PSeq> parse_sequence(uint32_t rule, bool nested) {
    PSeq seq;
    size_t last_start = 0;
    bool has_last = false;
    while (true) {
      skip_space(nested);
      if (eof()) break;
      const char c = peek();
      const size_t here = pos_;
      if (c == '"') {
        last_start = seq.size();
        ++pos_;
        while (true) {
          if (eof() || peek() == '\n') return error_at(here, "unterminated string literal");
          if (peek() == '"') break;
          HEARTH_ASSIGN_OR_RETURN(char32_t ch, parse_char());
          PElem e;
          e.ranges.push_back({ch, ch});
          seq.push_back(std::move(e));
        }
        ++pos_;
      } else if (c == '[') {
        last_start = seq.size();
        ++pos_;
        PElem e;
        if (peek() == '^') {
          e.negated = true;
          ++pos_;
        }
        while (true) {
          if (eof() || peek() == '\n') return error_at(here, "unterminated character class");
          if (peek() == ']') break;
          HEARTH_ASSIGN_OR_RETURN(char32_t lo, parse_char());
          char32_t hi = lo;
          if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
            ++pos_;
            const size_t hi_at = pos_;
            HEARTH_ASSIGN_OR_RETURN(hi, parse_char());
            if (hi < lo) return error_at(hi_at, "character range ends before it starts");
          }
          e.ranges.push_back({lo, hi});
        }
        ++pos_;
        seq.push_back(std::move(e));
      } else if (c == '.') {
        last_start = seq.size();
        ++pos_;
        PElem e;
        e.negated = true;
        seq.push_back(std::move(e));
      } else if (c == '(') {
        last_start = seq.size();
        ++pos_;
        skip_space(true);
        HEARTH_ASSIGN_OR_RETURN(auto alts, parse_alternates(rule, true));
        skip_space(true);
        if (peek() != ')') return error_here("expected ')' to close the group");
        ++pos_;
        seq.push_back(ref(helper_rule(rule, std::move(alts))));
      } else if (c == '<' || (c == '!' && peek(1) == '<')) {
        last_start = seq.size();
        HEARTH_ASSIGN_OR_RETURN(PElem e, parse_token_reference(rule));
        seq.push_back(std::move(e));
      } else if (is_name_char(c)) {
        last_start = seq.size();
        while (!eof() && is_name_char(peek())) ++pos_;
        seq.push_back(ref(rule_id(text_.substr(here, pos_ - here), here)));
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (!has_last) return error_here(fmt::format("'{}' has nothing before it to repeat", c));
        HEARTH_RETURN_IF_ERROR(parse_repetition(rule, seq, last_start));
        has_last = false;  // "a**" is an error, as in llama.cpp
        continue;
      } else {
        break;  // '|', ')', end of line, or an error the caller reports
      }
      has_last = true;
    }
    return seq;
  }

  // `<[id]>`, `<text>` or `<"text">`, optionally negated with '!'.
  Result<PElem> parse_token_reference(uint32_t rule) {
    const size_t here = pos_;
    PElem e;
    e.kind = GrammarElement::kToken;
    if (peek() == '!') {
      e.negated = true;
      ++pos_;
    }
    TokenReference ref;
    ref.where = where(here);
    const size_t open = pos_;
    ++pos_;  // '<'
    if (peek() == '[') {
      ++pos_;
      const size_t digits = pos_;
      int64_t id = 0;
      while (peek() >= '0' && peek() <= '9') {
        id = id * 10 + (peek() - '0');
        if (id > std::numeric_limits<int32_t>::max()) {
          return error_at(digits, "token id out of range");
        }
        ++pos_;
      }
      if (pos_ == digits) return error_here("expected a token id in '<[id]>'");
      if (peek() != ']' || peek(1) != '>') return error_here("expected ']>' after the token id");
      pos_ += 2;
      ref.id = static_cast<int32_t>(id);
    } else if (peek() == '"') {
      ++pos_;
      while (true) {
        if (eof() || peek() == '\n') {
          return error_at(here, "unterminated token text in '<\"...\">'");
        }
        if (peek() == '"') break;
        HEARTH_ASSIGN_OR_RETURN(char32_t ch, parse_char());
        utf8::append(ref.text, ch);
      }
      ++pos_;
      if (ref.text.empty()) return error_at(here, "empty token text in '<\"\">'");
      if (peek() != '>') return error_here("expected '>' after the token text");
      ++pos_;
    } else {
      // As llama.cpp: the text runs to the first '>' and includes the angle brackets.
      while (!eof() && peek() != '>' && peek() != '\n') ++pos_;
      if (peek() != '>') return error_at(here, "unterminated token reference (no '>')");
      ++pos_;
      ref.text = std::string(text_.substr(open, pos_ - open));
      if (!utf8::is_valid(ref.text)) return error_at(open, "invalid UTF-8 in the token text");
    }
    if (!ref.id && !e.negated) ref.spelled = spelled_rule(rule, ref.text);
    e.token = static_cast<uint32_t>(tokens_.size());
    tokens_.push_back(std::move(ref));
    return e;
  }

  // A helper rule matching `text` (valid UTF-8) as a literal.
  uint32_t spelled_rule(uint32_t parent, std::string_view text) {
    PSeq seq;
    for (std::string_view rest = text; !rest.empty();) {
      const utf8::Decoded d = utf8::decode(rest);
      PElem e;
      e.ranges.push_back({d.code_point, d.code_point});
      seq.push_back(std::move(e));
      rest.remove_prefix(d.length);
    }
    return helper_rule(parent, {std::move(seq)});
  }

  Result<uint32_t> parse_count() {
    const size_t start = pos_;
    uint64_t value = 0;
    while (!eof() && peek() >= '0' && peek() <= '9') {
      value = value * 10 + static_cast<uint64_t>(peek() - '0');
      if (value > kMaxRepetition) {
        return error_at(start, fmt::format("repetition count above {}", kMaxRepetition));
      }
      ++pos_;
    }
    if (pos_ == start) return error_here("expected a number in '{m,n}'");
    return static_cast<uint32_t>(value);
  }

  Status parse_repetition(uint32_t rule, PSeq& seq, size_t last_start) {
    const char op = peek();
    ++pos_;
    uint32_t min = 0;
    std::optional<uint32_t> max;  // nullopt: unbounded
    if (op == '*') {
    } else if (op == '+') {
      min = 1;
    } else if (op == '?') {
      max = 1;
    } else {
      skip_space(false);
      HEARTH_ASSIGN_OR_RETURN(min, parse_count());
      skip_space(false);
      if (peek() == ',') {
        ++pos_;
        skip_space(false);
        if (peek() != '}') {
          const size_t at = pos_;
          HEARTH_ASSIGN_OR_RETURN(uint32_t m, parse_count());
          if (m < min) return error_at(at, "'{m,n}' with n below m");
          max = m;
          skip_space(false);
        }
      } else {
        max = min;
      }
      if (peek() != '}') return error_here("expected '}' to close '{m,n}'");
      ++pos_;
    }
    // The unit repeated: what the last symbol produced (a literal may be several elements).
    PSeq unit(std::make_move_iterator(seq.begin() + static_cast<ptrdiff_t>(last_start)),
              std::make_move_iterator(seq.end()));
    seq.resize(last_start);
    if (unit.empty()) return {};  // "" repeated is still ""
    PElem x = unit.size() == 1 ? std::move(unit[0]) : ref(helper_rule(rule, {std::move(unit)}));
    for (uint32_t i = 0; i < min; ++i) seq.push_back(x);
    if (!max) {
      const uint32_t star = helper_rule(rule, {});
      rules_[star].alts = {{x, ref(star)}, {}};
      seq.push_back(ref(star));
    } else if (*max > min) {
      uint32_t inner = helper_rule(rule, {{x}, {}});
      for (uint32_t i = min + 1; i < *max; ++i) inner = helper_rule(rule, {{x, ref(inner)}, {}});
      seq.push_back(ref(inner));
    }
    return {};
  }

  Result<char32_t> parse_hex(int digits) {
    char32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) return error_here(fmt::format("expected {} hex digits in the escape", digits));
      value = value * 16 + static_cast<char32_t>(d);
      ++pos_;
    }
    if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      return error_here("escape is not a Unicode scalar value");
    }
    return value;
  }

  Result<char32_t> parse_char() {
    if (peek() == '\\') {
      const size_t at = pos_;
      ++pos_;
      const char e = peek();
      ++pos_;
      switch (e) {
        case 'n':
          return U'\n';
        case 'r':
          return U'\r';
        case 't':
          return U'\t';
        case '0':
          return U'\0';
        case '\\':
        case '"':
        case '\'':
        case '[':
        case ']':
        case '-':
        case '^':
        case '/':
        case '.':
        case '(':
        case ')':
        case '{':
        case '}':
        case '|':
        case '*':
        case '+':
        case '?':
          return static_cast<char32_t>(e);
        case 'x':
          return parse_hex(2);
        case 'u':
          return parse_hex(4);
        case 'U':
          return parse_hex(8);
        default:
          return error_at(at, fmt::format("unknown escape '\\{}'", e == '\0' ? ' ' : e));
      }
    }
    const utf8::Decoded d = utf8::decode(text_.substr(pos_));
    if (!d.valid) return error_here("invalid UTF-8 in the grammar");
    pos_ += d.length;
    return d.code_point;
  }

  // --- checks and compilation ---

  Status check_left_recursion() {
    const size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    auto seq_nullable = [&](const PSeq& seq) {
      return std::all_of(seq.begin(), seq.end(), [&](const PElem& e) {
        return e.kind == GrammarElement::kRef && nullable[e.rule];
      });
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        if (std::any_of(rules_[r].alts.begin(), rules_[r].alts.end(), seq_nullable)) {
          nullable[r] = changed = true;
        }
      }
    }
    // Edges to the rules each rule may begin with; a cycle is left recursion.
    std::vector<std::vector<uint32_t>> first(n);
    for (size_t r = 0; r < n; ++r) {
      for (const PSeq& seq : rules_[r].alts) {
        for (const PElem& e : seq) {
          if (e.kind != GrammarElement::kRef) break;
          first[r].push_back(e.rule);
          if (!nullable[e.rule]) break;
        }
      }
    }
    std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<uint32_t> path;
    std::optional<Error> found;
    auto visit = [&](auto&& self, uint32_t r) -> void {
      color[r] = 1;
      path.push_back(r);
      for (uint32_t next : first[r]) {
        if (found) return;
        if (color[next] == 1) {
          std::string cycle;
          auto it = std::find(path.begin(), path.end(), next);
          std::string last;
          for (; it != path.end(); ++it) {
            if (rules_[*it].name == last) continue;  // helper rules repeat their parent's name
            last = rules_[*it].name;
            cycle += last + " -> ";
          }
          cycle += rules_[next].name;
          found = error_at(rules_[next].defined_at,
                           fmt::format("rule '{}' is left-recursive ({}); a rule may not begin "
                                       "with itself, also through rules or repetitions that can "
                                       "match nothing",
                                       rules_[next].name, cycle));
          return;
        }
        if (color[next] == 0) self(self, next);
      }
      path.pop_back();
      color[r] = 2;
    };
    for (uint32_t r = 0; r < n && !found; ++r) {
      if (color[r] == 0) visit(visit, r);
    }
    if (found) return *found;
    return {};
  }

  Grammar compile(uint32_t root) {
    Grammar g;
    g.root_ = root;
    g.tokens_ = std::move(tokens_);
    g.names_.reserve(rules_.size());
    g.rule_alts_.resize(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
      g.names_.push_back(rules_[r].name);
      for (const PSeq& seq : rules_[r].alts) {
        g.rule_alts_[r].push_back(static_cast<uint32_t>(g.elements_.size()));
        for (const PElem& e : seq) {
          GrammarElement out;
          out.kind = e.kind;
          if (e.kind == GrammarElement::kRef) {
            out.first = e.rule;
          } else if (e.kind == GrammarElement::kToken) {
            out.negated = e.negated;
            out.first = e.token;
          } else {
            std::vector<CharRange> ranges = e.ranges;
            std::sort(ranges.begin(), ranges.end(),
                      [](CharRange a, CharRange b) { return a.lo < b.lo; });
            std::vector<CharRange> merged;
            for (CharRange range : ranges) {
              if (!merged.empty() && range.lo <= merged.back().hi + 1) {
                merged.back().hi = std::max(merged.back().hi, range.hi);
              } else {
                merged.push_back(range);
              }
            }
            out.negated = e.negated;
            out.first = static_cast<uint32_t>(g.ranges_.size());
            out.count = static_cast<uint32_t>(merged.size());
            g.ranges_.insert(g.ranges_.end(), merged.begin(), merged.end());
          }
          g.elements_.push_back(out);
        }
        g.elements_.push_back(GrammarElement{});
      }
    }
    return g;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<PRule> rules_;
  std::map<std::string, uint32_t, std::less<>> ids_;
  std::vector<TokenReference> tokens_;
};

Result<Grammar> Grammar::parse(std::string_view text) {
  return GrammarBuilder(text).run();
}

bool Grammar::matches(uint32_t pos, char32_t c) const {
  const GrammarElement& e = elements_[pos];
  bool in = false;
  for (uint32_t i = e.first; i < e.first + e.count; ++i) {
    if (c < ranges_[i].lo) break;
    if (c <= ranges_[i].hi) {
      in = true;
      break;
    }
  }
  return in != e.negated;
}

std::optional<size_t> Grammar::max_bytes() const {
  // Longest alternative per rule, depth first; meeting a rule still being visited is a cycle.
  enum : uint8_t { kNew, kVisiting, kDone };
  std::vector<uint8_t> mark(rule_alts_.size(), kNew);
  std::vector<size_t> longest(rule_alts_.size(), 0);
  auto visit = [&](auto&& self, uint32_t rule) -> bool {
    if (mark[rule] == kDone) return true;
    if (mark[rule] == kVisiting) return false;
    mark[rule] = kVisiting;
    size_t best = 0;
    for (uint32_t pos : rule_alts_[rule]) {
      size_t total = 0;
      for (; elements_[pos].kind != GrammarElement::kEnd; ++pos) {
        const GrammarElement& e = elements_[pos];
        if (e.kind == GrammarElement::kRef) {
          if (!self(self, e.first)) return false;
          total += longest[e.first];
        } else if (e.kind == GrammarElement::kToken) {
          const TokenReference& ref = tokens_[e.first];
          total += e.negated || ref.id ? 1 : ref.text.size();
        } else {
          const char32_t top =
              e.negated || e.count == 0 ? 0x10FFFF : ranges_[e.first + e.count - 1].hi;
          total += top < 0x80 ? 1 : top < 0x800 ? 2 : top < 0x10000 ? 3 : 4;
        }
      }
      best = std::max(best, total);
    }
    longest[rule] = best;
    mark[rule] = kDone;
    return true;
  };
  if (!visit(visit, root_)) return std::nullopt;
  return longest[root_];
}

bool Grammar::intersects(uint32_t pos, char32_t lo, char32_t hi) const {
  const GrammarElement& e = elements_[pos];
  const CharRange* begin = ranges_.data() + e.first;
  const CharRange* end = begin + e.count;
  if (!e.negated) {
    for (const CharRange* r = begin; r != end; ++r) {
      if (r->lo <= hi && lo <= r->hi) return true;
    }
    return false;
  }
  // Negated: some code point of [lo, hi] lies outside every (sorted, merged) range.
  char32_t next = lo;
  for (const CharRange* r = begin; r != end && next <= hi; ++r) {
    if (r->hi < next) continue;
    if (r->lo > next) return true;
    if (r->hi >= hi) return false;
    next = r->hi + 1;
  }
  return next <= hi;
}

}  // namespace hearth::sample
