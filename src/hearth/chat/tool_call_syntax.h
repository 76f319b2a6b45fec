// Small incremental readers for the value syntaxes inside tool calls: a validating JSON
// scanner that finds where a value ends and what its top-level members are, Python call
// literals (Gemma 3, Llama builtins), Gemma 4's <|"|>-quoted objects, and the typing of
// XML-style parameter text. Internal to output_parser; the marker logic lives there.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/json.h"

namespace hearth::chat::detail {

enum class ScanStatus { kMore, kDone, kError };

// Validates a JSON value byte by byte (numbers loosely: parse_json has the last word) and
// records the members of a top-level object: their raw keys and value spans.
class JsonScanner {
 public:
  struct Member {
    std::string key;  // raw text between the quotes
    std::size_t value_begin = 0;
    std::size_t value_end = 0;  // 0 while the value is still open
  };

  ScanStatus push(char c);
  ScanStatus status() const { return status_; }
  std::size_t offset() const { return offset_; }  // bytes pushed so far
  const std::vector<Member>& members() const { return members_; }

 private:
  enum class Expect : unsigned char { kValue, kValueOrClose, kKeyOrClose, kKey, kColon, kNext };
  enum class Lex : unsigned char { kNone, kString, kEscape, kHex, kNumber, kLiteral };

  ScanStatus structural(char c);
  void value_done(std::size_t end);
  void begin_value(std::size_t at);

  std::string stack_;  // '{' and '['
  Expect expect_ = Expect::kValue;
  Lex lex_ = Lex::kNone;
  bool string_is_key_ = false;
  int hex_left_ = 0;
  std::string_view literal_rest_;
  std::size_t offset_ = 0;
  ScanStatus status_ = ScanStatus::kMore;
  std::vector<Member> members_;
  bool member_open_ = false;
};

// A Python-style call `name(key=literal, ...)` with literals: strings, numbers, True/False/
// None, lists, tuples, dicts. `name` may be dotted (`brave_search.call`).
struct PythonCall {
  std::string name;
  Json arguments = Json::object();
};

enum class PyParse { kOk, kIncomplete, kInvalid };

// Parses calls from text[pos...]: a single call, or with `list` a bracketed list `[f(..), g()]`.
// On kOk `pos` is just past the call (or the list's ']').
PyParse parse_python_calls(std::string_view text, std::size_t& pos, bool list,
                           std::vector<PythonCall>& calls);

// Gemma 4's markers inside a call: the quote around strings in its argument objects, and the
// call's close. Control tokens of its vocabulary, like the opener <|tool_call>.
inline constexpr std::string_view kGemma4Quote = "<|\"|>";
inline constexpr std::string_view kGemma4CallClose = "<tool_call|>";

// Converts Gemma 4's argument object (`{key:<|"|>text<|"|>,n:3,o:{..},l:[..]}`) to JSON text
// as it arrives. Holds back a possible `<|"|>` prefix and bare tokens until they end.
class GemmaArgsConverter {
 public:
  // Consumes from text[pos...]; appends JSON to `out`. kDone once the top-level '}' is read.
  ScanStatus advance(std::string_view text, std::size_t& pos, bool final, std::string& out);

 private:
  enum class State : unsigned char {
    kValue,
    kKeyOrClose,
    kKey,
    kColon,
    kNext,
    kString,
    kKeyString
  };
  bool emit_token(std::string_view token, bool as_key, std::string& out);

  std::string stack_;
  State state_ = State::kValue;
  bool first_in_container_ = true;
};

// JSON text for a parameter given as plain text by an XML-style family. `type` is the
// schema's "type" (a string, a list of strings, or null when unknown).
std::string typed_parameter_value(std::string_view raw, const Json& type);

// The schema "type" of a tool's parameter, from an OpenAI-style tools array (null if unknown).
Json parameter_schema_type(const Json& tools, std::string_view tool, std::string_view param);

// Appends `text` to `out` as the body of a JSON string (no quotes).
void append_json_escaped(std::string_view text, std::string& out);

bool is_space(char c);

}  // namespace hearth::chat::detail
