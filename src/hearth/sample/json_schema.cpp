// JSON Schema → GBNF (see json_schema.h). Deliberate restrictions, each producing a subset of the
// valid values so that output is never invalid: objects without additionalProperties get no extra
// keys, and extra keys never use escapes or a declared name; properties come in schema order;
// numbers have at most 16 integer digits, 16 decimals and a 2-digit exponent; a number with
// bounds is an integer inside them; strings from a pattern spell characters that JSON must escape
// (quote, backslash, controls) only through \t \n \r \" \\, and `.` or negated classes never
// produce them; dates never give February a 29th. The one relaxation: oneOf is read as anyOf.
// Unknown formats are ignored, as JSON Schema 2020-12 treats format as an annotation. Raw strings
// (Gemma 4 and text values, see json_schema.h): one with a length, pattern or format holds no '<'
// and no C0 control but tab, newline and return (every closing marker starts with '<', so none
// can form inside); a free one or an enum value anything but its closing marker. kJsonNoAngle
// spells '<' as \u003c everywhere, so its values are those of kJson.
#include "hearth/sample/json_schema.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "hearth/base/check.h"
#include "hearth/base/utf8.h"

namespace hearth::sample {

namespace {

constexpr uint64_t kMaxMagnitude = 9999999999999999;  // 16 digits

const std::set<std::string, std::less<>>& annotation_keywords() {
  static const std::set<std::string, std::less<>> keys = {
      "title", "description", "examples",         "default",         "$schema",
      "$id",   "$comment",    "deprecated",       "readOnly",        "writeOnly",
      "$defs", "definitions", "contentMediaType", "contentEncoding", "strict"};
  return keys;
}

const std::set<std::string, std::less<>>& supported_keywords() {
  static const std::set<std::string, std::less<>> keys = {"type",
                                                          "properties",
                                                          "required",
                                                          "additionalProperties",
                                                          "items",
                                                          "minItems",
                                                          "maxItems",
                                                          "minLength",
                                                          "maxLength",
                                                          "pattern",
                                                          "format",
                                                          "enum",
                                                          "const",
                                                          "minimum",
                                                          "maximum",
                                                          "exclusiveMinimum",
                                                          "exclusiveMaximum",
                                                          "anyOf",
                                                          "oneOf",
                                                          "allOf",
                                                          "$ref",
                                                          "nullable",
                                                          "uniqueItems"};
  return keys;
}

std::string sanitize_name(std::string_view hint) {
  std::string out;
  for (char c : hint) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (ok) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "value" : out;
}

std::string child_path(const std::string& path, std::string_view key) {
  std::string out = path + "/";
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Error schema_error(const std::string& path, std::string_view message) {
  return make_error("JSON schema at {}: {}", path.empty() ? "/" : path, message);
}

// --- integer ranges as digit patterns ---

std::string digit_class(char lo, char hi) {
  if (lo == hi) return fmt::format("\"{}\"", lo);
  if (lo == '0' && hi == '9') return "[0-9]";
  return fmt::format("[{}-{}]", lo, hi);
}

std::string any_digits(size_t n) {
  if (n == 0) return "";
  if (n == 1) return " [0-9]";
  return fmt::format(" [0-9]{{{}}}", n);
}

// Alternatives for the numbers from a to b, both with the same number of digits.
std::string same_length_range(const std::string& a, const std::string& b) {
  const size_t n = a.size();
  if (n == 1) return digit_class(a[0], b[0]);
  const std::string a_rest = a.substr(1), b_rest = b.substr(1);
  if (a[0] == b[0]) return fmt::format("\"{}\" ({})", a[0], same_length_range(a_rest, b_rest));
  const bool a_low = a_rest.find_first_not_of('0') == std::string::npos;
  const bool b_high = b_rest.find_first_not_of('9') == std::string::npos;
  std::vector<std::string> alts;
  char first = a[0], last = b[0];
  if (!a_low) {
    alts.push_back(
        fmt::format("\"{}\" ({})", a[0], same_length_range(a_rest, std::string(n - 1, '9'))));
    ++first;
  }
  if (!b_high) --last;
  if (first <= last) alts.push_back(digit_class(first, last) + any_digits(n - 1));
  if (!b_high) {
    alts.push_back(
        fmt::format("\"{}\" ({})", b[0], same_length_range(std::string(n - 1, '0'), b_rest)));
  }
  std::string out;
  for (const auto& alt : alts) out += (out.empty() ? "" : " | ") + alt;
  return out;
}

// Alternatives for the decimal spellings (no leading zeros) of a..b.
std::string magnitude_range(uint64_t a, uint64_t b) {
  const std::string sa = std::to_string(a), sb = std::to_string(b);
  std::string out;
  for (size_t len = sa.size(); len <= sb.size(); ++len) {
    const std::string lo = len == sa.size() ? sa : "1" + std::string(len - 1, '0');
    const std::string hi = len == sb.size() ? sb : std::string(len, '9');
    out += (out.empty() ? "(" : " | (") + same_length_range(lo, hi) + ")";
  }
  return out;
}

uint64_t clamp_magnitude(double v) {
  return v >= static_cast<double>(kMaxMagnitude) ? kMaxMagnitude : static_cast<uint64_t>(v);
}

// --- regular expressions (a common subset) → GBNF over JSON string content ---

class PatternConverter {
 public:
  // `raw`: characters are written as themselves (no JSON escapes), never '<' or a control
  // other than tab, newline and return. `escape_angle` (JSON only): '<' is spelled \u003c.
  PatternConverter(std::string pattern, std::string path, bool raw, bool escape_angle)
      : source_(std::move(pattern)),
        re_(source_),
        path_(std::move(path)),
        raw_(raw),
        escape_angle_(escape_angle) {}

  // The GBNF sequence for the string's content (between the quotes). `any_char` is the rule
  // for one arbitrary JSON string character (unanchored ends).
  Result<std::string> convert(const std::string& any_char) {
    bool anchored_start = false, anchored_end = false;
    if (!re_.empty() && re_.front() == '^') {
      anchored_start = true;
      re_.remove_prefix(1);
    }
    if (!re_.empty() && re_.back() == '$' && !(re_.size() >= 2 && re_[re_.size() - 2] == '\\')) {
      anchored_end = true;
      re_.remove_suffix(1);
    }
    HEARTH_ASSIGN_OR_RETURN(std::string body, alternation());
    if (pos_ != re_.size()) return fail(fmt::format("unexpected '{}'", re_[pos_]));
    std::string out = anchored_start ? "" : any_char + "* ";
    out += "(" + body + ")";
    if (!anchored_end) out += " " + any_char + "*";
    return out;
  }

 private:
  Error fail(std::string_view what) const {
    return schema_error(path_, fmt::format("pattern '{}' at offset {}: {} (supported: literals, "
                                           "., [...], [^...], \\d \\w \\s, groups, |, * + ? "
                                           "{{m,n}}, ^ and $ at the ends)",
                                           re_, pos_, what));
  }

  bool eof() const { return pos_ >= re_.size(); }

  Result<std::string> alternation() {
    std::string out;
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(std::string seq, sequence());
      out += seq.empty() ? "\"\"" : seq;
      if (eof() || re_[pos_] != '|') return out;
      ++pos_;
      out += " | ";
    }
  }

  Result<std::string> sequence() {
    std::string out;
    while (!eof() && re_[pos_] != '|' && re_[pos_] != ')') {
      HEARTH_ASSIGN_OR_RETURN(std::string atom, this->atom());
      HEARTH_ASSIGN_OR_RETURN(std::string quant, quantifier());
      out += (out.empty() ? "" : " ") + atom + quant;
    }
    return out;
  }

  Result<std::string> quantifier() {
    if (eof()) return std::string();
    std::string q;
    const char c = re_[pos_];
    if (c == '*' || c == '+' || c == '?') {
      q = std::string(1, c);
      ++pos_;
    } else if (c == '{') {
      const size_t close = re_.find('}', pos_);
      if (close == std::string_view::npos) return fail("unterminated {m,n}");
      const std::string_view inside = re_.substr(pos_ + 1, close - pos_ - 1);
      if (inside.empty() || inside.find_first_not_of("0123456789,") != std::string_view::npos ||
          inside.front() == ',') {
        return fail("bad {m,n}");
      }
      q = "{" + std::string(inside) + "}";
      pos_ = close + 1;
    } else {
      return q;
    }
    if (!eof() && re_[pos_] == '?') ++pos_;  // lazy: the same language
    if (!eof() && (re_[pos_] == '*' || re_[pos_] == '+')) return fail("possessive quantifier");
    return q;
  }

  // One string character standing for code point c (escaped where JSON requires); empty when
  // the string cannot hold it.
  std::string literal(char32_t c) const {
    if (raw_) {
      if (c == '<' || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) return "";
      return gbnf_literal(utf8::encode(c));
    }
    if (c == '<' && escape_angle_) return gbnf_literal("\\u003c");
    switch (c) {
      case '"':
        return "\"\\\\\\\"\"";
      case '\\':
        return "\"\\\\\\\\\"";
      case '\n':
        return "\"\\\\n\"";
      case '\t':
        return "\"\\\\t\"";
      case '\r':
        return "\"\\\\r\"";
      default:
        break;
    }
    if (c < 0x20) return "";
    return gbnf_literal(utf8::encode(c));
  }

  static std::string class_char(char32_t c) {
    if (c == ']' || c == '[' || c == '\\' || c == '-' || c == '^' || c == '"' || c < 0x20) {
      return fmt::format("\\x{:02X}", static_cast<unsigned>(c));
    }
    return utf8::encode(c);
  }

  static void append_range(std::string& cls, char32_t lo, char32_t hi) {
    cls += class_char(lo);
    if (hi > lo) {
      cls += '-';
      cls += class_char(hi);
    }
  }

  // A class from code-point ranges: characters written as themselves in one GBNF class, the
  // ones JSON escapes (quote, backslash, \n \t \r, and '<' under escape_angle) as alternatives
  // spelled escaped. Raw strings write tab, newline and return as themselves and drop '<'.
  std::string from_ranges(const std::vector<std::pair<char32_t, char32_t>>& ranges) const {
    auto contains = [&](char32_t c) {
      return std::any_of(ranges.begin(), ranges.end(),
                         [&](const auto& r) { return r.first <= c && c <= r.second; });
    };
    std::vector<char32_t> cuts = {U'<'};  // never in the class; ascending
    std::vector<std::string> escaped;
    std::string cls;
    if (raw_) {
      for (char32_t c : {U'\t', U'\n', U'\r'}) {
        if (contains(c)) cls += class_char(c);
      }
    } else {
      cuts = {U'"', U'\\'};
      if (escape_angle_) cuts.insert(cuts.begin() + 1, U'<');
      for (char32_t special : {U'"', U'\\', U'\n', U'\t', U'\r', U'<'}) {
        if (contains(special) && (special != '<' || escape_angle_)) {
          escaped.push_back(literal(special));
        }
      }
    }
    for (auto [lo, hi] : ranges) {
      // Plain characters from 0x20 up, the range split around the cuts.
      char32_t start = std::max<char32_t>(lo, 0x20);
      for (char32_t cut : cuts) {
        if (cut >= start && cut <= hi) {
          if (cut > start) append_range(cls, start, cut - 1);
          start = cut + 1;
        }
      }
      if (start <= hi) append_range(cls, start, hi);
    }
    std::string out = cls.empty() ? "" : "[" + cls + "]";
    for (const auto& e : escaped) out += (out.empty() ? "" : " | ") + e;
    if (out.empty()) return "";
    return "(" + out + ")";
  }

  Result<char32_t> escape_char() {
    // re_[pos_] follows a backslash.
    const char e = re_[pos_++];
    switch (e) {
      case 'n':
        return U'\n';
      case 't':
        return U'\t';
      case 'r':
        return U'\r';
      case 'f':
        return U'\f';
      case 'v':
        return U'\v';
      case 'u': {
        if (pos_ + 4 > re_.size()) return fail("short \\u escape");
        const std::string hex(re_.substr(pos_, 4));
        if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
          return fail("bad \\u escape");
        }
        pos_ += 4;
        return static_cast<char32_t>(std::stoul(hex, nullptr, 16));
      }
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
          --pos_;
          return fail(fmt::format("unsupported escape '\\{}'", e));
        }
        return static_cast<char32_t>(e);
    }
  }

  // \d \w \s as ranges; false when re_[pos_] is not one of them.
  bool shorthand(std::vector<std::pair<char32_t, char32_t>>& ranges) {
    switch (re_[pos_]) {
      case 'd':
        ranges.push_back({'0', '9'});
        break;
      case 'w':
        ranges.insert(ranges.end(), {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}});
        break;
      case 's':
        ranges.insert(ranges.end(), {{'\t', '\r'}, {' ', ' '}});
        break;
      default:
        return false;
    }
    ++pos_;
    return true;
  }

  Result<std::string> atom() {
    const char c = re_[pos_];
    if (c == '(') {
      ++pos_;
      if (re_.substr(pos_, 2) == "?:") {
        pos_ += 2;
      } else if (!eof() && re_[pos_] == '?') {
        return fail("lookaround and named groups");
      }
      HEARTH_ASSIGN_OR_RETURN(std::string inner, alternation());
      if (eof() || re_[pos_] != ')') return fail("unclosed group");
      ++pos_;
      return "(" + inner + ")";
    }
    if (c == '[') return char_class();
    if (c == '.') {
      ++pos_;
      if (raw_) return std::string("[^<\\x00-\\x1F\\x7F]");
      if (escape_angle_) return "( [^\"\\\\<\\x00-\\x1F\\x7F] | " + literal(U'<') + " )";
      return std::string("[^\"\\\\\\x00-\\x1F\\x7F]");
    }
    if (c == '^' || c == '$') return fail("anchor inside the pattern");
    if (c == '*' || c == '+' || c == '?' || c == '{') return fail("quantifier without an atom");
    if (c == '\\') {
      ++pos_;
      if (eof()) return fail("trailing backslash");
      std::vector<std::pair<char32_t, char32_t>> ranges;
      if (shorthand(ranges)) return from_ranges(ranges);
      if (re_[pos_] == 'D' || re_[pos_] == 'W' || re_[pos_] == 'S' || re_[pos_] == 'b' ||
          re_[pos_] == 'B' || (re_[pos_] >= '1' && re_[pos_] <= '9')) {
        return fail(fmt::format("unsupported escape '\\{}'", re_[pos_]));
      }
      HEARTH_ASSIGN_OR_RETURN(char32_t ch, escape_char());
      const std::string lit = literal(ch);
      if (lit.empty()) return fail(unwritable());
      return lit;
    }
    const utf8::Decoded d = utf8::decode(re_.substr(pos_));
    if (!d.valid) return fail("invalid UTF-8");
    pos_ += d.length;
    const std::string lit = literal(d.code_point);
    if (lit.empty()) return fail(unwritable());
    return lit;
  }

  Result<std::string> char_class() {
    ++pos_;  // '['
    bool negated = false;
    if (!eof() && re_[pos_] == '^') {
      negated = true;
      ++pos_;
    }
    std::vector<std::pair<char32_t, char32_t>> ranges;
    bool first = true;
    while (true) {
      if (eof()) return fail("unterminated character class");
      if (re_[pos_] == ']' && !first) break;
      first = false;
      char32_t lo;
      if (re_[pos_] == '\\') {
        ++pos_;
        if (eof()) return fail("trailing backslash");
        if (shorthand(ranges)) continue;
        HEARTH_ASSIGN_OR_RETURN(lo, escape_char());
      } else {
        const utf8::Decoded d = utf8::decode(re_.substr(pos_));
        if (!d.valid) return fail("invalid UTF-8");
        pos_ += d.length;
        lo = d.code_point;
      }
      char32_t hi = lo;
      if (pos_ + 1 < re_.size() && re_[pos_] == '-' && re_[pos_ + 1] != ']') {
        ++pos_;
        if (re_[pos_] == '\\') {
          ++pos_;
          if (eof()) return fail("trailing backslash");
          HEARTH_ASSIGN_OR_RETURN(hi, escape_char());
        } else {
          const utf8::Decoded d = utf8::decode(re_.substr(pos_));
          if (!d.valid) return fail("invalid UTF-8");
          pos_ += d.length;
          hi = d.code_point;
        }
        if (hi < lo) return fail("range out of order");
      }
      ranges.push_back({lo, hi});
    }
    ++pos_;  // ']'
    if (negated) {
      // Everything else that needs no escaping in JSON (raw: that is not '<' or a control; '<'
      // escaped as an alternative when it is not excluded).
      std::string cls = raw_            ? "[^<\\x00-\\x1F"
                        : escape_angle_ ? "[^\"\\\\<\\x00-\\x1F"
                                        : "[^\"\\\\\\x00-\\x1F";
      for (auto [lo, hi] : ranges) append_range(cls, lo, hi);
      cls += "]";
      const bool angle_excluded = std::any_of(ranges.begin(), ranges.end(), [](const auto& r) {
        return r.first <= U'<' && U'<' <= r.second;
      });
      if (escape_angle_ && !angle_excluded) return "( " + cls + " | " + literal(U'<') + " )";
      return cls;
    }
    std::string out = from_ranges(ranges);
    if (out.empty()) return fail("class of characters the string cannot hold only");
    return out;
  }

  const char* unwritable() const {
    return raw_ ? "'<' or a control character (a raw text value cannot hold them)"
                : "control character";
  }

  std::string source_;
  std::string_view re_;  // what is left to convert, after the anchors
  std::string path_;
  bool raw_;
  bool escape_angle_;
  size_t pos_ = 0;
};

}  // namespace

std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += fmt::format("\\x{:02X}", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  return out + "\"";
}

std::string gbnf_token(std::string_view text) {
  const bool bracketed = text.size() >= 2 && text.front() == '<' &&
                         text.find('>') == text.size() - 1 && text.find('\n') == text.npos;
  if (bracketed) return std::string(text);
  std::string quoted = "<";  // appended, not operator+: GCC 12 -Wrestrict false positive
  quoted += gbnf_literal(text);
  quoted += '>';
  return quoted;
}

std::string JsonGrammarBuilder::add_rule(std::string_view name, std::string body) {
  std::string base = sanitize_name(name);
  std::string unique = base;
  for (int i = 2; names_.count(unique) || unique == "root"; ++i)
    unique = fmt::format("{}-{}", base, i);
  names_.insert(unique);
  rules_.emplace_back(unique, std::move(body));
  return unique;
}

void JsonGrammarBuilder::set_rule(const std::string& name, std::string body) {
  for (auto& [rule, text] : rules_) {
    if (rule == name) text = std::move(body);
  }
}

std::string JsonGrammarBuilder::primitive(std::string_view name) {
  const std::string key = "p:" + std::string(name);
  if (auto it = refs_.find(key); it != refs_.end()) return it->second;
  std::string rule;
  if (name == "ws") {
    rule = add_rule("ws", "\"\" | \" \" | \"\\n\" [ \\t]{0,16}");
  } else if (name == "char") {
    rule = add_rule("char",
                    std::string(syntax_ == ValueSyntax::kJsonNoAngle ? "[^\"\\\\<\\x00-\\x1F]"
                                                                     : "[^\"\\\\\\x00-\\x1F]") +
                        " | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-Ce-fE-F] "
                        "[0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} ) )");
  } else if (name == "string") {
    rule = add_rule("string", "\"\\\"\" " + primitive("char") + "* \"\\\"\"");
  } else if (name == "integer") {
    rule = add_rule("integer", "\"-\"? ( \"0\" | [1-9] [0-9]{0,15} )");
  } else if (name == "number") {
    rule = add_rule("number",
                    "\"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,16} )? ( [eE] [-+]? "
                    "[0-9]{1,2} )?");
  } else if (name == "boolean") {
    rule = add_rule("boolean", "\"true\" | \"false\"");
  } else if (name == "null") {
    rule = add_rule("null", "\"null\"");
  } else if (name == "date") {
    const std::string d28 = "( \"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8] )";
    const std::string d30 = "( \"0\" [1-9] | [12] [0-9] | \"30\" )";
    const std::string d31 = "( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )";
    rule = add_rule("date", "[0-9]{4} \"-\" ( \"0\" [13578] \"-\" " + d31 + " | \"1\" [02] \"-\" " +
                                d31 + " | \"0\" [469] \"-\" " + d30 + " | \"11-\" " + d30 +
                                " | \"02-\" " + d28 + " )");
  } else if (name == "time") {
    const std::string hh = "( [01] [0-9] | \"2\" [0-3] )";
    rule = add_rule(
        "time", hh + " \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,6} )? ( \"Z\" | [+-] " +
                    hh + " \":\" [0-5] [0-9] )");
  } else if (name == "date-time") {
    rule = add_rule("date-time", primitive("date") + " \"T\" " + primitive("time"));
  } else if (name == "uuid") {
    rule = add_rule("uuid",
                    "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} "
                    "\"-\" [0-9a-fA-F]{12}");
  }
  refs_[key] = rule;
  return rule;
}

std::string JsonGrammarBuilder::space() {
  return primitive("ws");
}

std::string JsonGrammarBuilder::any_value() {
  const std::string key = "p:value";
  if (auto it = refs_.find(key); it != refs_.end()) return it->second;
  const std::string value = add_rule("value", "");
  refs_[key] = value;
  const std::string ws = space();
  const std::string str = add_rule("string", quote() + " " + free_string_content() + " " + quote());
  const std::string object_key = syntax_ == ValueSyntax::kGemma4
                                     ? add_rule("key", quote() + " " + raw_char() + "* " + quote())
                                     : str;
  const std::string object = add_rule(
      "object", fmt::format("\"{{\" {0} ( {1} {0} \":\" {0} {2} {0} ( \",\" {0} {1} {0} \":\" {0} "
                            "{2} {0} )* )? \"}}\"",
                            ws, object_key, value));
  const std::string array = add_rule(
      "array", fmt::format("\"[\" {0} ( {1} {0} ( \",\" {0} {1} {0} )* )? \"]\"", ws, value));
  const std::string body =
      fmt::format("{} | {} | {} | {} | {} | {}", object, array, str, primitive("number"),
                  primitive("boolean"), primitive("null"));
  set_rule(value, body);
  return value;
}

std::string JsonGrammarBuilder::quote() const {
  if (!text_stop_.empty()) return "\"\"";
  return syntax_ == ValueSyntax::kGemma4 ? gbnf_token("<|\"|>") : gbnf_literal("\"");
}

std::string JsonGrammarBuilder::raw_char() const {
  return "[^<\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]";
}

std::string JsonGrammarBuilder::free_string_content() {
  if (!raw_strings()) return primitive("char") + "*";
  const std::string stop = text_stop_.empty() ? "<|\"|>" : text_stop_;
  const std::string key = "free:" + stop;
  if (auto it = refs_.find(key); it != refs_.end()) return it->second;
  const std::string start = text_without(stop, "text")[0];
  refs_[key] = start;
  return start;
}

// JSON text of a value; '<' (only ever inside strings) as \u003c under kJsonNoAngle.
std::string JsonGrammarBuilder::json_text(const Json& value) const {
  const std::string text = value.dump();
  if (syntax_ != ValueSyntax::kJsonNoAngle) return text;
  std::string out;
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Gemma 4 keys are bare when the parser reads them back whole (up to ':' or a space).
std::string JsonGrammarBuilder::key_literal(const std::string& name) const {
  if (syntax_ != ValueSyntax::kGemma4) return gbnf_literal(json_text(Json(name)));
  const bool bare = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
  return bare ? gbnf_literal(name) : quote() + " " + gbnf_literal(name) + " " + quote();
}

// A value as the current syntax writes it (enum and const).
Result<std::string> JsonGrammarBuilder::spell(const Json& value, const std::string& path) const {
  if (!text_stop_.empty()) {
    if (!value.is_string()) return schema_error(path, "a text value must be a string");
    const std::string text = value.get<std::string>();
    if (text.find(text_stop_) != std::string::npos) {
      return schema_error(path,
                          fmt::format("the value '{}' holds the marker '{}'", text, text_stop_));
    }
    return text.empty() ? "\"\"" : gbnf_literal(text);
  }
  if (syntax_ != ValueSyntax::kGemma4) return gbnf_literal(json_text(value));
  // Gemma 4: as its chat template's format_argument writes values.
  constexpr std::string_view kQuote = "<|\"|>";
  std::string out;
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text.find(kQuote) != std::string::npos) {
      return schema_error(path, fmt::format("the value '{}' holds the marker '{}'", text, kQuote));
    }
    return quote() + " " + gbnf_literal(text) + " " + quote();
  }
  if (value.is_object() || value.is_array()) {
    out = gbnf_literal(value.is_object() ? "{" : "[");
    bool first = true;
    for (const auto& [key, item] : value.items()) {
      if (!first) out += " \",\"";
      first = false;
      if (value.is_object()) {
        if (key.find(kQuote) != std::string::npos) {
          return schema_error(path, fmt::format("the key '{}' holds the marker '{}'", key, kQuote));
        }
        out += ' ';
        out += key_literal(key);
        out += " \":\"";
      }
      HEARTH_ASSIGN_OR_RETURN(std::string inner, spell(item, path));
      out += " " + inner;
    }
    return out + " " + gbnf_literal(value.is_object() ? "}" : "]");
  }
  return gbnf_literal(value.dump());
}

std::vector<std::string> JsonGrammarBuilder::text_without(std::string_view marker,
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
  for (size_t k = 0; k < n; ++k) states.push_back(add_rule(hint, "\"\""));
  for (size_t k = 0; k < n; ++k) {
    std::string body = "\"\"";
    std::string others;
    for (char32_t c : chars) {
      others += fmt::format("\\U{:08X}", static_cast<uint32_t>(c));
      const size_t to = next(k, c);
      if (to == n) continue;  // would complete the marker
      body += " | " + gbnf_literal(utf8::encode(c)) + " " + states[to];
    }
    body += " | [^" + others + "] " + states[0];
    set_rule(states[k], body);
  }
  return states;
}

Result<std::string> JsonGrammarBuilder::add_text_schema(const Json& schema, std::string_view hint,
                                                        const Json* root, std::string_view stop) {
  HEARTH_CHECK(!stop.empty() && stop.front() == '<', "text values stop at a '<' marker");
  root_ = root ? root : &schema;
  text_stop_ = std::string(stop);
  auto rule = visit(schema, std::string(hint), "");
  text_stop_.clear();
  return rule;
}

std::string JsonGrammarBuilder::text(std::string_view root_body) const {
  std::string out = "root ::= " + std::string(root_body) + "\n";
  for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
  return out;
}

Result<std::string> JsonGrammarBuilder::add_schema(const Json& schema, std::string_view hint,
                                                   const Json* root) {
  root_ = root ? root : &schema;
  return visit(schema, std::string(hint), "");
}

Result<std::string> JsonGrammarBuilder::visit_ref(const std::string& ref, const std::string& path) {
  if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
  if (!ref.starts_with("#/")) {
    return schema_error(path, fmt::format("$ref '{}' is not a local reference (#/...)", ref));
  }
  const Json* target = root_;
  std::string_view rest = std::string_view(ref).substr(2);
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    std::string token(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    for (size_t at = token.find("~1"); at != std::string::npos; at = token.find("~1", at)) {
      token.replace(at, 2, "/");
    }
    for (size_t at = token.find("~0"); at != std::string::npos; at = token.find("~0", at)) {
      token.replace(at, 2, "~");
    }
    if (!target->is_object() || !target->contains(token)) {
      return schema_error(path, fmt::format("$ref '{}' does not resolve", ref));
    }
    target = &(*target)[token];
  }
  // The rule is named before it is built, so recursive references resolve to it.
  const std::string name = add_rule(ref.substr(ref.rfind('/') + 1), "");
  refs_[ref] = name;
  HEARTH_ASSIGN_OR_RETURN(std::string body, visit(*target, name + "-body", ref.substr(1)));
  set_rule(name, std::move(body));
  return name;
}

Result<std::string> JsonGrammarBuilder::visit(const Json& schema, const std::string& hint,
                                              const std::string& path) {
  if (!text_stop_.empty() && (schema.is_boolean() || schema.contains("anyOf") ||
                              schema.contains("oneOf") || schema.contains("allOf"))) {
    return schema_error(path,
                        "a text value needs a string schema (type \"string\", enum or const)");
  }
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return any_value();
    return schema_error(path, "the schema 'false' admits no value");
  }
  if (!schema.is_object()) return schema_error(path, "a schema must be an object or a boolean");
  for (const auto& [key, value] : schema.items()) {
    if (annotation_keywords().count(key) || supported_keywords().count(key)) continue;
    return schema_error(path, fmt::format("unsupported keyword '{}'", key));
  }
  if (schema.contains("uniqueItems") && schema["uniqueItems"] != Json(false)) {
    return schema_error(path, "unsupported keyword 'uniqueItems'");
  }
  const bool nullable = schema.value("nullable", false);
  auto with_null = [&](std::string body) -> std::string {
    return nullable ? body + " | " + primitive("null") : body;
  };

  if (schema.contains("$ref")) {
    if (!schema["$ref"].is_string()) return schema_error(path, "$ref must be a string");
    for (const auto& [key, value] : schema.items()) {
      if (key != "$ref" && key != "nullable" && !annotation_keywords().count(key)) {
        return schema_error(path, fmt::format("'{}' beside $ref is not supported", key));
      }
    }
    HEARTH_ASSIGN_OR_RETURN(std::string target, visit_ref(schema["$ref"].get<std::string>(), path));
    return nullable ? add_rule(hint, with_null(target)) : target;
  }
  if (schema.contains("enum") || schema.contains("const")) {
    std::vector<Json> values;
    if (schema.contains("const")) {
      values.push_back(schema["const"]);
    } else {
      if (!schema["enum"].is_array() || schema["enum"].empty()) {
        return schema_error(path, "enum must be a non-empty array");
      }
      values.assign(schema["enum"].begin(), schema["enum"].end());
    }
    std::string body;
    for (const Json& v : values) {
      HEARTH_ASSIGN_OR_RETURN(std::string spelled, spell(v, path));
      body += (body.empty() ? "" : " | ") + spelled;
    }
    return add_rule(hint, with_null(body));
  }
  for (const char* key : {"anyOf", "oneOf", "allOf"}) {
    if (!schema.contains(key)) continue;
    const Json& list = schema[key];
    const std::string here = child_path(path, key);
    if (!list.is_array() || list.empty()) return schema_error(here, "must be a non-empty array");
    for (const auto& [other, value] : schema.items()) {
      if (other != key && other != "nullable" && !annotation_keywords().count(other)) {
        return schema_error(path, fmt::format("'{}' beside {} is not supported", other, key));
      }
    }
    if (std::string_view(key) == "allOf" && list.size() != 1) {
      return schema_error(here, "allOf with more than one schema is not supported");
    }
    std::string body;
    for (size_t i = 0; i < list.size(); ++i) {
      HEARTH_ASSIGN_OR_RETURN(std::string alt, visit(list[i], fmt::format("{}-{}", hint, i),
                                                     child_path(here, std::to_string(i))));
      body += (body.empty() ? "" : " | ") + alt;
    }
    return add_rule(hint, with_null(body));
  }

  std::vector<std::string> types;
  if (schema.contains("type")) {
    const Json& t = schema["type"];
    if (t.is_string()) {
      types.push_back(t.get<std::string>());
    } else if (t.is_array()) {
      for (const Json& one : t) {
        if (!one.is_string()) return schema_error(path, "type lists must hold strings");
        types.push_back(one.get<std::string>());
      }
    } else {
      return schema_error(path, "type must be a string or a list of strings");
    }
  } else if (schema.contains("properties") || schema.contains("additionalProperties") ||
             schema.contains("required")) {
    types.push_back("object");
  } else if (schema.contains("items") || schema.contains("minItems") ||
             schema.contains("maxItems")) {
    types.push_back("array");
  } else if (schema.contains("minLength") || schema.contains("maxLength") ||
             schema.contains("pattern") || schema.contains("format")) {
    types.push_back("string");
  } else if (schema.contains("minimum") || schema.contains("maximum") ||
             schema.contains("exclusiveMinimum") || schema.contains("exclusiveMaximum")) {
    types.push_back("number");
  } else {
    if (!text_stop_.empty()) {
      return schema_error(path,
                          "a text value needs a string schema (type \"string\", enum or const)");
    }
    return any_value();
  }
  std::string body;
  for (const std::string& type : types) {
    if (!text_stop_.empty() && type != "string") {
      return schema_error(path, fmt::format("a text value cannot be of type '{}'", type));
    }
    std::string alt;
    const std::string type_hint = types.size() > 1 ? hint + "-" + type : hint;
    if (type == "object") {
      HEARTH_ASSIGN_OR_RETURN(alt, visit_object(schema, type_hint, path));
    } else if (type == "array") {
      HEARTH_ASSIGN_OR_RETURN(alt, visit_array(schema, type_hint, path));
    } else if (type == "string") {
      HEARTH_ASSIGN_OR_RETURN(alt, visit_string(schema, type_hint, path));
    } else if (type == "integer" || type == "number") {
      HEARTH_ASSIGN_OR_RETURN(alt, visit_integer(schema, type_hint, path, type == "number"));
    } else if (type == "boolean") {
      alt = primitive("boolean");
    } else if (type == "null") {
      alt = primitive("null");
    } else {
      return schema_error(path, fmt::format("unknown type '{}'", type));
    }
    body += (body.empty() ? "" : " | ") + alt;
  }
  if (types.size() == 1 && !nullable) return body;
  return add_rule(hint, with_null(body));
}

Result<std::string> JsonGrammarBuilder::visit_object(const Json& schema, const std::string& hint,
                                                     const std::string& path) {
  struct Prop {
    std::string name;
    std::string rule;
    bool required;
  };
  std::vector<Prop> props;
  std::set<std::string> required;
  if (schema.contains("required")) {
    if (!schema["required"].is_array()) return schema_error(path, "required must be an array");
    for (const Json& r : schema["required"]) {
      if (!r.is_string()) return schema_error(path, "required must list strings");
      required.insert(r.get<std::string>());
    }
  }
  std::set<std::string> declared;
  if (schema.contains("properties")) {
    const Json& properties = schema["properties"];
    if (!properties.is_object()) return schema_error(path, "properties must be an object");
    for (const auto& [name, sub] : properties.items()) {
      HEARTH_ASSIGN_OR_RETURN(
          std::string rule,
          visit(sub, hint + "-" + name, child_path(child_path(path, "properties"), name)));
      props.push_back({name, rule, required.count(name) > 0});
      declared.insert(name);
    }
  }
  for (const std::string& name : required) {
    if (!declared.count(name)) {
      props.push_back({name, any_value(), true});
      declared.insert(name);
    }
  }
  // The value rule of additional properties. A schema that declares no properties and says
  // nothing about others is a free-form object.
  std::optional<std::string> extra;
  if (!schema.contains("properties") && !schema.contains("additionalProperties")) {
    extra = any_value();
  } else if (schema.contains("additionalProperties")) {
    const Json& ap = schema["additionalProperties"];
    if (!(ap.is_boolean() && !ap.get<bool>())) {
      HEARTH_ASSIGN_OR_RETURN(std::string rule, visit(ap, hint + "-additional",
                                                      child_path(path, "additionalProperties")));
      extra = rule;
    }
  }
  const std::string ws = space();
  std::string tail_first = "\"\"", tail_next = "\"\"";
  if (extra) {
    const std::string q = syntax_ == ValueSyntax::kGemma4 ? quote() : "\"\\\"\"";
    const std::string kv = add_rule(
        hint + "-extra-kv",
        fmt::format("{} {} {} {} \":\" {} {} {}", q, key_not_in(declared), q, ws, ws, *extra, ws));
    tail_next = add_rule(hint + "-extra", fmt::format("( \",\" {} {} )*", ws, kv));
    tail_first = add_rule(hint + "-extra-first", fmt::format("( {} {} )?", kv, tail_next));
  }
  // rest[i][first]: properties i.. where `first` says nothing has been written yet.
  std::string next_first = tail_first, next_rest = tail_next;
  for (size_t i = props.size(); i-- > 0;) {
    const Prop& p = props[i];
    if (syntax_ == ValueSyntax::kGemma4 && p.name.find("<|\"|>") != std::string::npos) {
      return schema_error(path, fmt::format("the property '{}' holds the marker '<|\"|>'", p.name));
    }
    const std::string kv =
        fmt::format("{} {} \":\" {} {} {}", key_literal(p.name), ws, ws, p.rule, ws);
    const std::string with_first = kv + " " + next_rest;
    const std::string with_comma = "\",\" " + ws + " " + kv + " " + next_rest;
    std::string first_body = with_first, rest_body = with_comma;
    if (!p.required) {
      first_body += " | " + next_first;
      rest_body += " | " + next_rest;
    }
    const std::string first_rule = add_rule(hint + "-" + p.name + "-first", first_body);
    const std::string rest_rule = add_rule(hint + "-" + p.name + "-rest", rest_body);
    next_first = first_rule;
    next_rest = rest_rule;
  }
  return add_rule(hint, fmt::format("\"{{\" {} {} \"}}\"", ws, next_first));
}

// The content of a JSON key, free of escapes, that is none of `names`.
std::string JsonGrammarBuilder::key_not_in(const std::set<std::string>& names) {
  const std::string excluded_always = raw_strings()                          ? "<\\x00-\\x1F"
                                      : syntax_ == ValueSyntax::kJsonNoAngle ? "\"\\\\<\\x00-\\x1F"
                                                                             : "\"\\\\\\x00-\\x1F";
  const std::string plain = "[^" + excluded_always + "]";
  if (names.empty()) return plain + "*";
  // One rule per prefix of the names (in code points): end here unless the prefix is a name;
  // continue with a character that follows the prefix in some name, or leave the names behind.
  std::vector<std::u32string> decoded;
  for (const std::string& name : names) {
    std::u32string cps;
    for (std::string_view rest = name; !rest.empty();) {
      const utf8::Decoded d = utf8::decode(rest);
      cps.push_back(d.code_point);
      rest.remove_prefix(d.length);
    }
    decoded.push_back(std::move(cps));
  }
  const std::string free = add_rule("key-free", plain + "*");
  auto build = [&](auto&& self, const std::u32string& prefix) -> std::string {
    std::set<char32_t> next;
    bool is_name = false;
    for (const std::u32string& n : decoded) {
      if (n == prefix) is_name = true;
      if (n.size() > prefix.size() && n.compare(0, prefix.size(), prefix) == 0) {
        next.insert(n[prefix.size()]);
      }
    }
    std::string body = is_name ? "" : "\"\"";
    std::string excluded;
    for (char32_t c : next) {
      const std::string child = self(self, prefix + c);
      body += fmt::format("{}\"\\U{:08X}\" {}", body.empty() ? "" : " | ", static_cast<uint32_t>(c),
                          child);
      excluded += fmt::format("\\U{:08X}", static_cast<uint32_t>(c));
    }
    body += fmt::format("{}[^{}{}] {}", body.empty() ? "" : " | ", excluded_always, excluded, free);
    return add_rule("key", body);
  };
  return build(build, U"");
}

Result<std::string> JsonGrammarBuilder::visit_array(const Json& schema, const std::string& hint,
                                                    const std::string& path) {
  std::string item = any_value();
  if (schema.contains("items")) {
    HEARTH_ASSIGN_OR_RETURN(item,
                            visit(schema["items"], hint + "-item", child_path(path, "items")));
  }
  auto count = [&](const char* key, uint64_t fallback) -> Result<uint64_t> {
    if (!schema.contains(key)) return fallback;
    const Json& v = schema[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      return schema_error(child_path(path, key), "must be a non-negative integer");
    }
    return v.get<uint64_t>();
  };
  HEARTH_ASSIGN_OR_RETURN(uint64_t min, count("minItems", 0));
  HEARTH_ASSIGN_OR_RETURN(uint64_t max, count("maxItems", UINT64_MAX));
  if (max < min) return schema_error(path, "maxItems is below minItems");
  if (min > 1000 || (max != UINT64_MAX && max > 1000)) {
    return schema_error(path, "minItems/maxItems above 1000 are not supported");
  }
  const std::string ws = space();
  if (max == 0) return add_rule(hint, fmt::format("\"[\" {} \"]\"", ws));
  const std::string more = fmt::format("( \",\" {} {} {} )", ws, item, ws);
  std::string repeat;
  const uint64_t lo = min > 0 ? min - 1 : 0;
  if (max == UINT64_MAX) {
    repeat = lo == 0 ? more + "*" : fmt::format("{}{{{},}}", more, lo);
  } else {
    repeat = fmt::format("{}{{{},{}}}", more, lo, max - 1);
  }
  std::string items = fmt::format("{} {} {}", item, ws, repeat);
  if (min == 0) items = "( " + items + " )?";
  return add_rule(hint, fmt::format("\"[\" {} {} \"]\"", ws, items));
}

Result<std::string> JsonGrammarBuilder::visit_string(const Json& schema, const std::string& hint,
                                                     const std::string& path) {
  const bool has_length = schema.contains("minLength") || schema.contains("maxLength");
  if (schema.contains("pattern")) {
    if (!schema["pattern"].is_string()) return schema_error(path, "pattern must be a string");
    if (has_length || schema.contains("format")) {
      return schema_error(path,
                          "pattern together with minLength/maxLength/format is not supported");
    }
    PatternConverter converter(schema["pattern"].get<std::string>(), child_path(path, "pattern"),
                               raw_strings(), syntax_ == ValueSyntax::kJsonNoAngle);
    HEARTH_ASSIGN_OR_RETURN(std::string content,
                            converter.convert(raw_strings() ? raw_char() : primitive("char")));
    return add_rule(hint, quote() + " " + content + " " + quote());
  }
  if (schema.contains("format")) {
    const std::string format =
        schema["format"].is_string() ? schema["format"].get<std::string>() : "";
    if (format == "date" || format == "time" || format == "date-time" || format == "uuid") {
      if (has_length)
        return schema_error(path, "format together with minLength/maxLength is not supported");
      return add_rule(hint, quote() + " " + primitive(format) + " " + quote());
    }
  }
  if (!has_length) {
    if (!raw_strings()) return primitive("string");
    return add_rule(hint, quote() + " " + free_string_content() + " " + quote());
  }
  auto count = [&](const char* key, uint64_t fallback) -> Result<uint64_t> {
    if (!schema.contains(key)) return fallback;
    const Json& v = schema[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      return schema_error(child_path(path, key), "must be a non-negative integer");
    }
    return v.get<uint64_t>();
  };
  HEARTH_ASSIGN_OR_RETURN(uint64_t min, count("minLength", 0));
  HEARTH_ASSIGN_OR_RETURN(uint64_t max, count("maxLength", UINT64_MAX));
  if (max < min) return schema_error(path, "maxLength is below minLength");
  if (min > 10000 || (max != UINT64_MAX && max > 10000)) {
    return schema_error(path, "minLength/maxLength above 10000 are not supported");
  }
  const std::string ch = raw_strings() ? raw_char() : primitive("char");
  const std::string rep =
      max == UINT64_MAX ? fmt::format("{{{},}}", min) : fmt::format("{{{},{}}}", min, max);
  return add_rule(hint, fmt::format("{} {}{} {}", quote(), ch, rep, quote()));
}

Result<std::string> JsonGrammarBuilder::visit_integer(const Json& schema, const std::string& hint,
                                                      const std::string& path, bool number) {
  // Bounds as integers: the smallest and largest integer the keywords allow.
  std::optional<double> lo, hi;
  auto read = [&](const char* key, bool lower, bool exclusive) -> Status {
    if (!schema.contains(key)) return {};
    const Json& v = schema[key];
    if (v.is_boolean()) {
      return schema_error(child_path(path, key),
                          "boolean exclusive bounds (draft 4) are not supported");
    }
    if (!v.is_number()) return schema_error(child_path(path, key), "must be a number");
    const double x = v.get<double>();
    const double bound = lower ? (exclusive ? std::floor(x) + 1 : std::ceil(x))
                               : (exclusive ? std::ceil(x) - 1 : std::floor(x));
    auto& slot = lower ? lo : hi;
    slot = slot ? (lower ? std::max(*slot, bound) : std::min(*slot, bound)) : bound;
    return {};
  };
  HEARTH_RETURN_IF_ERROR(read("minimum", true, false));
  HEARTH_RETURN_IF_ERROR(read("exclusiveMinimum", true, true));
  HEARTH_RETURN_IF_ERROR(read("maximum", false, false));
  HEARTH_RETURN_IF_ERROR(read("exclusiveMaximum", false, true));
  if (!lo && !hi) return primitive(number ? "number" : "integer");
  if (lo && hi && *lo > *hi) {
    return schema_error(path, number ? "no integer lies within the bounds (a bounded number is "
                                       "generated as an integer)"
                                     : "no integer lies within the bounds");
  }
  std::string body;
  // Negative values: magnitudes from max(1, -hi) to -lo.
  if (!lo || *lo < 0) {
    const uint64_t mag_lo = hi && *hi < 0 ? clamp_magnitude(-*hi) : 1;
    const uint64_t mag_hi = lo ? clamp_magnitude(-*lo) : kMaxMagnitude;
    if (mag_lo <= mag_hi) body = "\"-\" ( " + magnitude_range(mag_lo, mag_hi) + " )";
  }
  if (!hi || *hi >= 0) {
    const uint64_t from = lo && *lo > 0 ? clamp_magnitude(*lo) : 0;
    const uint64_t to = hi ? clamp_magnitude(*hi) : kMaxMagnitude;
    if (from <= to) body += (body.empty() ? "" : " | ") + magnitude_range(from, to);
  }
  if (body.empty()) return schema_error(path, "the bounds are outside the supported 16 digits");
  return add_rule(hint, body);
}

Result<std::string> grammar_from_json_schema(const Json& schema) {
  JsonGrammarBuilder builder;
  HEARTH_ASSIGN_OR_RETURN(std::string rule, builder.add_schema(schema, "schema"));
  return builder.text(rule);
}

}  // namespace hearth::sample
