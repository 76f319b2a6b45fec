// Value syntaxes inside tool calls: JSON scanning, Python call literals, Gemma 4 objects, and
// typing of XML-style parameter text. Hand-written because each reads partial input and must
// say "not yet" rather than fail; whole values are still checked with nlohmann (parse_json).
#include "hearth/chat/tool_call_syntax.h"

#include <fmt/format.h>

#include <cctype>

namespace hearth::chat::detail {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void append_json_escaped(std::string_view text, std::string& out) {
  for (char c : text) {
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
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
}

// ---- JsonScanner ----

void JsonScanner::begin_value(std::size_t at) {
  if (stack_.size() == 1 && stack_[0] == '{') {
    members_.back().value_begin = at;
    member_open_ = true;
  }
}

void JsonScanner::value_done(std::size_t end) {
  if (stack_.empty()) {
    status_ = ScanStatus::kDone;
    return;
  }
  if (stack_.size() == 1 && member_open_) {
    members_.back().value_end = end;
    member_open_ = false;
  }
  expect_ = Expect::kNext;
}

ScanStatus JsonScanner::push(char c) {
  if (status_ != ScanStatus::kMore) return status_ = ScanStatus::kError;
  const std::size_t at = offset_++;
  switch (lex_) {
    case Lex::kString:
      if (c == '"') {
        lex_ = Lex::kNone;
        if (string_is_key_) {
          expect_ = Expect::kColon;
        } else {
          value_done(at + 1);
        }
      } else if (c == '\\') {
        lex_ = Lex::kEscape;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return status_ = ScanStatus::kError;
      } else if (string_is_key_ && stack_.size() == 1) {
        members_.back().key += c;
      }
      return status_;
    case Lex::kEscape:
      if (c == 'u') {
        lex_ = Lex::kHex;
        hex_left_ = 4;
      } else if (std::string_view("\"\\/bfnrt").find(c) != std::string_view::npos) {
        lex_ = Lex::kString;
      } else {
        return status_ = ScanStatus::kError;
      }
      if (string_is_key_ && stack_.size() == 1) members_.back().key += c;
      return status_;
    case Lex::kHex:
      if (!std::isxdigit(static_cast<unsigned char>(c))) return status_ = ScanStatus::kError;
      if (--hex_left_ == 0) lex_ = Lex::kString;
      return status_;
    case Lex::kLiteral:
      if (c != literal_rest_.front()) return status_ = ScanStatus::kError;
      literal_rest_.remove_prefix(1);
      if (literal_rest_.empty()) {
        lex_ = Lex::kNone;
        value_done(at + 1);
      }
      return status_;
    case Lex::kNumber:
      if (std::string_view("0123456789+-.eE").find(c) != std::string_view::npos) return status_;
      lex_ = Lex::kNone;
      value_done(at);
      return structural(c);
    case Lex::kNone:
      return structural(c);
  }
  return status_;
}

ScanStatus JsonScanner::structural(char c) {
  if (is_space(c)) return status_;
  const std::size_t at = offset_ - 1;
  switch (expect_) {
    case Expect::kValueOrClose:
      if (c == ']') {
        stack_.pop_back();
        value_done(at + 1);
        return status_;
      }
      [[fallthrough]];
    case Expect::kValue:
      if (c == '{' || c == '[') {
        begin_value(at);
        stack_ += c;
        expect_ = c == '{' ? Expect::kKeyOrClose : Expect::kValueOrClose;
      } else if (c == '"') {
        begin_value(at);
        lex_ = Lex::kString;
        string_is_key_ = false;
      } else if ((c == '-' || (c >= '0' && c <= '9')) && !stack_.empty()) {
        begin_value(at);
        lex_ = Lex::kNumber;
      } else if (c == 't' || c == 'f' || c == 'n') {
        begin_value(at);
        lex_ = Lex::kLiteral;
        literal_rest_ = c == 't' ? "rue" : c == 'f' ? "alse" : "ull";
      } else {
        status_ = ScanStatus::kError;
      }
      return status_;
    case Expect::kKeyOrClose:
      if (c == '}') {
        stack_.pop_back();
        value_done(at + 1);
        return status_;
      }
      [[fallthrough]];
    case Expect::kKey:
      if (c != '"') return status_ = ScanStatus::kError;
      lex_ = Lex::kString;
      string_is_key_ = true;
      if (stack_.size() == 1) members_.push_back({});
      return status_;
    case Expect::kColon:
      if (c != ':') return status_ = ScanStatus::kError;
      expect_ = Expect::kValue;
      return status_;
    case Expect::kNext:
      if (c == ',') {
        expect_ = stack_.back() == '{' ? Expect::kKey : Expect::kValue;
      } else if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
        stack_.pop_back();
        value_done(at + 1);
      } else {
        status_ = ScanStatus::kError;
      }
      return status_;
  }
  return status_;
}

// ---- Python call literals ----

namespace {

class PyReader {
 public:
  PyReader(std::string_view text, std::size_t pos) : text_(text), pos_(pos) {}

  std::size_t pos() const { return pos_; }

  // kIncomplete whenever the text ends before the construct does.
  PyParse call(PythonCall& out) {
    skip();
    std::size_t start = pos_;
    while (true) {
      if (auto r = identifier(); r != PyParse::kOk) return r;
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] != '.') break;
      ++pos_;
    }
    out.name = std::string(text_.substr(start, pos_ - start));
    skip();
    if (at_end()) return PyParse::kIncomplete;
    if (text_[pos_] != '(') return PyParse::kInvalid;
    ++pos_;
    while (true) {
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] == ')') {
        ++pos_;
        return PyParse::kOk;
      }
      std::size_t key_start = pos_;
      if (auto r = identifier(); r != PyParse::kOk) return r;
      std::string key(text_.substr(key_start, pos_ - key_start));
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] != '=') return PyParse::kInvalid;
      ++pos_;
      Json value;
      if (auto r = literal(value, 0); r != PyParse::kOk) return r;
      out.arguments[key] = std::move(value);
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] == ',') {
        ++pos_;
      } else if (text_[pos_] != ')') {
        return PyParse::kInvalid;
      }
    }
  }

  void skip() {
    while (!at_end() && is_space(text_[pos_])) ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void advance() { ++pos_; }

 private:
  static constexpr int kMaxDepth = 64;

  static bool ident_char(char c, bool first) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && (c >= '0' && c <= '9')) || c == '-';
  }

  PyParse identifier() {
    if (at_end()) return PyParse::kIncomplete;
    if (!ident_char(text_[pos_], true)) return PyParse::kInvalid;
    while (!at_end() && ident_char(text_[pos_], false)) ++pos_;
    return PyParse::kOk;
  }

  PyParse literal(Json& out, int depth) {
    if (depth > kMaxDepth) return PyParse::kInvalid;
    skip();
    if (at_end()) return PyParse::kIncomplete;
    char c = text_[pos_];
    if (c == '"' || c == '\'') return string(out);
    if (c == '[' || c == '(') return sequence(out, c == '[' ? ']' : ')', depth);
    if (c == '{') return dict(out, depth);
    std::size_t start = pos_;
    while (!at_end() &&
           std::string_view(",)]}: \t\n\r").find(text_[pos_]) == std::string_view::npos) {
      ++pos_;
    }
    if (at_end()) return PyParse::kIncomplete;
    std::string_view word = text_.substr(start, pos_ - start);
    if (word == "True" || word == "true") {
      out = true;
    } else if (word == "False" || word == "false") {
      out = false;
    } else if (word == "None" || word == "null") {
      out = nullptr;
    } else {
      auto number = parse_json(word, "number");
      if (!number.ok() || !number->is_number()) return PyParse::kInvalid;
      out = std::move(*number);
    }
    return PyParse::kOk;
  }

  PyParse string(Json& out) {
    const char quote = text_[pos_++];
    std::string value;
    while (true) {
      if (at_end()) return PyParse::kIncomplete;
      char c = text_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (at_end()) return PyParse::kIncomplete;
      char e = text_[pos_++];
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case '0':
          value += '\0';
          break;
        default:
          value += e;  // \\, \', \" and unknown escapes keep the character
      }
    }
    out = std::move(value);
    return PyParse::kOk;
  }

  PyParse sequence(Json& out, char close, int depth) {
    ++pos_;
    out = Json::array();
    while (true) {
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] == close) {
        ++pos_;
        return PyParse::kOk;
      }
      Json item;
      if (auto r = literal(item, depth + 1); r != PyParse::kOk) return r;
      out.push_back(std::move(item));
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] == ',') {
        ++pos_;
      } else if (text_[pos_] != close) {
        return PyParse::kInvalid;
      }
    }
  }

  PyParse dict(Json& out, int depth) {
    ++pos_;
    out = Json::object();
    while (true) {
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] == '}') {
        ++pos_;
        return PyParse::kOk;
      }
      Json key;
      if (auto r = literal(key, depth + 1); r != PyParse::kOk) return r;
      if (!key.is_string()) return PyParse::kInvalid;
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] != ':') return PyParse::kInvalid;
      ++pos_;
      Json value;
      if (auto r = literal(value, depth + 1); r != PyParse::kOk) return r;
      out[key.get<std::string>()] = std::move(value);
      skip();
      if (at_end()) return PyParse::kIncomplete;
      if (text_[pos_] == ',') {
        ++pos_;
      } else if (text_[pos_] != '}') {
        return PyParse::kInvalid;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_;
};

}  // namespace

PyParse parse_python_calls(std::string_view text, std::size_t& pos, bool list,
                           std::vector<PythonCall>& calls) {
  PyReader reader(text, pos);
  if (!list) {
    PythonCall call;
    if (auto r = reader.call(call); r != PyParse::kOk) return r;
    calls.push_back(std::move(call));
    pos = reader.pos();
    return PyParse::kOk;
  }
  reader.skip();
  if (reader.at_end()) return PyParse::kIncomplete;
  if (reader.peek() != '[') return PyParse::kInvalid;
  reader.advance();
  std::vector<PythonCall> found;
  while (true) {
    PythonCall call;
    if (auto r = reader.call(call); r != PyParse::kOk) return r;
    found.push_back(std::move(call));
    reader.skip();
    if (reader.at_end()) return PyParse::kIncomplete;
    if (reader.peek() == ']') break;
    if (reader.peek() != ',') return PyParse::kInvalid;
    reader.advance();
  }
  reader.advance();
  for (auto& call : found) calls.push_back(std::move(call));
  pos = reader.pos();
  return PyParse::kOk;
}

// ---- Gemma 4 argument objects ----

namespace {

// 1: text[pos...] starts with the quote token; 0: it does not; -1: it may, once more arrives.
int gemma_quote_at(std::string_view text, std::size_t pos, bool final) {
  std::string_view rest = text.substr(pos);
  if (rest.starts_with(kGemma4Quote)) return 1;
  if (!final && rest.size() < kGemma4Quote.size() && kGemma4Quote.starts_with(rest)) return -1;
  return 0;
}
}  // namespace

bool GemmaArgsConverter::emit_token(std::string_view token, bool as_key, std::string& out) {
  if (token.empty()) return false;
  if (as_key) {
    out += '"';
    append_json_escaped(token, out);
    out += "\":";
    return true;
  }
  if (token == "true" || token == "True") {
    out += "true";
  } else if (token == "false" || token == "False") {
    out += "false";
  } else if (token == "null" || token == "None") {
    out += "null";
  } else {
    auto number = parse_json(token, "number");
    if (!number.ok() || !number->is_number()) return false;
    out += token;
  }
  return true;
}

ScanStatus GemmaArgsConverter::advance(std::string_view text, std::size_t& pos, bool final,
                                       std::string& out) {
  constexpr std::size_t kMaxToken = 256;
  while (pos < text.size()) {
    const char c = text[pos];
    switch (state_) {
      case State::kString:
      case State::kKeyString: {
        std::size_t end = pos;
        while (end < text.size() && text[end] != '<') ++end;
        append_json_escaped(text.substr(pos, end - pos), out);
        pos = end;
        if (pos == text.size()) return ScanStatus::kMore;
        int q = gemma_quote_at(text, pos, final);
        if (q < 0) return ScanStatus::kMore;
        if (q == 0) {
          out += '<';
          ++pos;
          continue;
        }
        pos += kGemma4Quote.size();
        out += '"';
        if (state_ == State::kKeyString) {
          out += ':';
          state_ = State::kColon;
        } else {
          state_ = State::kNext;
        }
        continue;
      }
      default:
        break;
    }
    if (is_space(c)) {
      ++pos;
      continue;
    }
    switch (state_) {
      case State::kValue:
      case State::kKeyOrClose:
      case State::kKey: {
        const bool key = state_ != State::kValue;
        if (state_ == State::kKeyOrClose && c == '}') break;
        if (state_ == State::kValue && !stack_.empty() && stack_.back() == '[' &&
            first_in_container_ && c == ']') {
          break;
        }
        if (!key && (c == '{' || c == '[')) {
          out += c;
          stack_ += c;
          state_ = c == '{' ? State::kKeyOrClose : State::kValue;
          first_in_container_ = true;
          ++pos;
          continue;
        }
        if (stack_.empty()) return ScanStatus::kError;  // the value must be an object
        first_in_container_ = false;
        int q = gemma_quote_at(text, pos, final);
        if (q < 0) return ScanStatus::kMore;
        if (q > 0) {
          pos += kGemma4Quote.size();
          out += '"';
          state_ = key ? State::kKeyString : State::kString;
          continue;
        }
        std::size_t end = pos;
        const std::string_view stops = key ? ":" : ",}]";
        while (end < text.size() && stops.find(text[end]) == std::string_view::npos &&
               !is_space(text[end])) {
          ++end;
        }
        if (end == text.size()) {
          if (end - pos > kMaxToken || final) return ScanStatus::kError;
          return ScanStatus::kMore;
        }
        if (!emit_token(text.substr(pos, end - pos), key, out)) return ScanStatus::kError;
        pos = end;
        state_ = key ? State::kColon : State::kNext;
        if (key) {
          while (pos < text.size() && is_space(text[pos])) ++pos;
          if (pos == text.size()) return ScanStatus::kMore;
          if (text[pos] != ':') return ScanStatus::kError;
          ++pos;
          state_ = State::kValue;
        }
        continue;
      }
      case State::kColon:
        if (c != ':') return ScanStatus::kError;
        ++pos;
        state_ = State::kValue;
        continue;
      case State::kNext:
        if (c == ',') {
          out += ',';
          state_ = stack_.back() == '{' ? State::kKey : State::kValue;
          ++pos;
          continue;
        }
        break;
      default:
        return ScanStatus::kError;
    }
    // A closing bracket (from kKeyOrClose, an empty list, or kNext).
    if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
      out += c;
      stack_.pop_back();
      ++pos;
      state_ = State::kNext;
      first_in_container_ = false;
      if (stack_.empty()) return ScanStatus::kDone;
      continue;
    }
    return ScanStatus::kError;
  }
  return ScanStatus::kMore;
}

// ---- XML-style parameter values ----

namespace {
bool type_allows(const Json& type, std::string_view name) {
  if (type.is_string()) return type.get<std::string>() == name;
  if (type.is_array()) {
    for (const auto& t : type) {
      if (t.is_string() && t.get<std::string>() == name) return true;
    }
  }
  return false;
}

std::string quoted(std::string_view raw) {
  std::string out = "\"";
  append_json_escaped(raw, out);
  out += '"';
  return out;
}
}  // namespace

std::string typed_parameter_value(std::string_view raw, const Json& type) {
  const bool known = !type.is_null();
  if (known && type_allows(type, "string") && !type.is_array()) return quoted(raw);
  if (type_allows(type, "boolean")) {
    if (raw == "true" || raw == "True") return "true";
    if (raw == "false" || raw == "False") return "false";
  }
  if (type_allows(type, "null") && (raw == "null" || raw == "None")) return "null";
  auto parsed = parse_json(raw, "parameter");
  if (parsed.ok() && !parsed->is_string()) {
    const bool fits =
        !known ||
        (parsed->is_number() && (type_allows(type, "number") || type_allows(type, "integer"))) ||
        (parsed->is_boolean() && type_allows(type, "boolean")) ||
        (parsed->is_object() && type_allows(type, "object")) ||
        (parsed->is_array() && type_allows(type, "array")) ||
        (parsed->is_null() && type_allows(type, "null"));
    if (fits) return parsed->dump();
  }
  return quoted(raw);
}

Json parameter_schema_type(const Json& tools, std::string_view tool, std::string_view param) {
  if (!tools.is_array()) return nullptr;
  for (const auto& entry : tools) {
    const Json* function = &entry;
    if (entry.is_object() && entry.contains("function")) function = &entry["function"];
    if (!function->is_object() || function->value("name", "") != tool) continue;
    auto params = function->find("parameters");
    if (params == function->end() || !params->is_object()) return nullptr;
    auto props = params->find("properties");
    if (props == params->end() || !props->is_object()) return nullptr;
    auto prop = props->find(std::string(param));
    if (prop == props->end() || !prop->is_object()) return nullptr;
    return prop->value("type", Json());
  }
  return nullptr;
}

}  // namespace hearth::chat::detail
