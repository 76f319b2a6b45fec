// Test-only helpers behind grammar_test_support.h.
#include "grammar_test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <regex>

#include "hearth/base/utf8.h"
#include "testing.h"

namespace hearth::sample::testing {

std::shared_ptr<const GrammarVocabulary> vocabulary(const std::filesystem::path& gguf) {
  static std::map<std::string, std::shared_ptr<const GrammarVocabulary>> cache;
  auto& slot = cache[gguf.string()];
  if (!slot) {
    const auto root = hearth::testing::testdata_dir();
    if (!root) return nullptr;
    auto tok = tokenizer::Tokenizer::from_gguf(*root / gguf);
    if (!tok.ok()) {
      ADD_FAILURE() << gguf << ": " << tok.error().message();
      return nullptr;
    }
    slot = GrammarVocabulary::from_tokenizer(*tok, end_of_generation_tokens(*tok));
  }
  return slot;
}

Generation generate(GrammarMatcher& matcher, const GrammarVocabulary& vocab, uint32_t seed,
                    int max_tokens) {
  std::mt19937 rng(seed);
  const size_t n = vocab.size();
  std::vector<float> logits;
  Generation out;
  for (; out.tokens < max_tokens; ++out.tokens) {
    // Free draws first, as the sampler does; a masked draw when they are refused (the first
    // allowed token from a random start, scanning with wrap-around).
    auto t = static_cast<int32_t>(rng() % n);
    for (int tries = 0; tries < 8 && !matcher.allows(t); ++tries) {
      t = static_cast<int32_t>(rng() % n);
    }
    if (!matcher.allows(t)) {
      logits.assign(n, 0.0f);
      matcher.mask(logits);
      const auto finite = [](float l) { return l > -1e30f; };
      const auto start = logits.begin() + static_cast<ptrdiff_t>(rng() % n);
      auto it = std::find_if(start, logits.end(), finite);
      if (it == logits.end()) it = std::find_if(logits.begin(), start, finite);
      if (it == start && !finite(*it)) {
        ADD_FAILURE() << "no token allowed after " << out.text;
        return out;
      }
      t = static_cast<int32_t>(it - logits.begin());
      if (!matcher.allows(t)) {
        ADD_FAILURE() << "mask allows token " << t << " that allows() refuses after " << out.text;
        return out;
      }
    }
    matcher.accept(t);
    if (vocab.is_end(t)) {
      out.ended = true;
      ++out.tokens;
      return out;
    }
    out.text += vocab.token(t).bytes;
  }
  return out;
}

namespace {

bool full_regex(const std::string& text, const char* re) {
  return std::regex_match(text, std::regex(re));
}

bool valid_date(const std::string& s) {
  if (!full_regex(s, "[0-9]{4}-[0-9]{2}-[0-9]{2}")) return false;
  const int year = std::stoi(s.substr(0, 4)), month = std::stoi(s.substr(5, 2)),
            day = std::stoi(s.substr(8, 2));
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool valid_time(const std::string& s) {
  return full_regex(s,
                    "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?"
                    "(Z|z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])");
}

bool type_matches(const Json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    return v.is_number_integer() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  }
  return false;
}

}  // namespace

std::optional<std::string> validate(const Json& v, const Json& s, const Json& root) {
  if (s.is_boolean()) return s.get<bool>() ? std::nullopt : std::optional<std::string>("false");
  if (s.contains("$ref")) {
    const std::string ref = s["$ref"].get<std::string>();
    const Json* target = &root;
    std::string rest = ref.substr(2);
    while (!rest.empty()) {
      const size_t slash = rest.find('/');
      target = &(*target)[rest.substr(0, slash)];
      rest = slash == std::string::npos ? "" : rest.substr(slash + 1);
    }
    return validate(v, *target, root);
  }
  if (s.contains("const") && v != s["const"]) return "not the const " + s["const"].dump();
  if (s.contains("enum")) {
    bool found = false;
    for (const Json& e : s["enum"]) found = found || e == v;
    if (!found) return "not in enum";
  }
  if (s.contains("anyOf")) {
    bool any = false;
    for (const Json& sub : s["anyOf"]) any = any || !validate(v, sub, root);
    if (!any) return "no anyOf branch";
  }
  if (s.contains("oneOf")) {
    int count = 0;
    for (const Json& sub : s["oneOf"]) count += validate(v, sub, root) ? 0 : 1;
    if (count != 1) return "oneOf matched " + std::to_string(count);
  }
  if (s.contains("type")) {
    std::vector<std::string> types;
    if (s["type"].is_string()) {
      types.push_back(s["type"].get<std::string>());
    } else {
      for (const Json& t : s["type"]) types.push_back(t.get<std::string>());
    }
    bool ok = false;
    for (const auto& t : types) ok = ok || type_matches(v, t);
    if (s.value("nullable", false) && v.is_null()) return std::nullopt;
    if (!ok) return "wrong type for " + s["type"].dump();
  }
  if (v.is_string()) {
    const std::string str = v.get<std::string>();
    const size_t length = utf8::length(str);
    if (s.contains("minLength") && length < s["minLength"].get<size_t>()) return "too short";
    if (s.contains("maxLength") && length > s["maxLength"].get<size_t>()) return "too long";
    if (s.contains("pattern") &&
        !std::regex_search(str, std::regex(s["pattern"].get<std::string>()))) {
      return "does not match the pattern";
    }
    const std::string format = s.value("format", "");
    if (format == "date" && !valid_date(str)) return "bad date";
    if (format == "time" && !valid_time(str)) return "bad time";
    if (format == "date-time") {
      const size_t t = str.find('T');
      if (t == std::string::npos || !valid_date(str.substr(0, t)) ||
          !valid_time(str.substr(t + 1))) {
        return "bad date-time";
      }
    }
    if (format == "uuid" &&
        !full_regex(
            str, "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
      return "bad uuid";
    }
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    if (s.contains("minimum") && x < s["minimum"].get<double>()) return "below minimum";
    if (s.contains("maximum") && x > s["maximum"].get<double>()) return "above maximum";
    if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>()) {
      return "not above exclusiveMinimum";
    }
    if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>()) {
      return "not below exclusiveMaximum";
    }
  }
  if (v.is_object()) {
    const Json props = s.value("properties", Json::object());
    for (const Json& r : s.value("required", Json::array())) {
      if (!v.contains(r.get<std::string>())) return "missing " + r.get<std::string>();
    }
    for (const auto& [key, value] : v.items()) {
      if (props.contains(key)) {
        if (auto e = validate(value, props[key], root)) return key + ": " + *e;
      } else if (s.contains("additionalProperties")) {
        if (auto e = validate(value, s["additionalProperties"], root)) {
          return "extra " + key + ": " + *e;
        }
      }
    }
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return "too few items";
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return "too many items";
    if (s.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto e = validate(v[i], s["items"], root)) return "[" + std::to_string(i) + "] " + *e;
      }
    }
  }
  return std::nullopt;
}

int seed_count(int release_count, [[maybe_unused]] int sanitizer_divisor) {
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
  return std::max(1, release_count / sanitizer_divisor);
#else
  return release_count;
#endif
}

std::vector<const char*> test_schemas(const char* last) {
  return {
    // Nested objects, bounded strings and arrays, an integer range, a pattern.
    R"({"type":"object","properties":{
         "name":{"type":"string","maxLength":12},
         "age":{"type":"integer","minimum":0,"maximum":150},
         "address":{"type":"object","properties":{"street":{"type":"string","maxLength":20},
                    "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["zip"]},
         "tags":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3}},
       "required":["name","age","address"]})",
    // Enums, anyOf, booleans, nullable types.
    R"({"type":"object","properties":{
         "color":{"enum":["red","green","blue"]},
         "size":{"anyOf":[{"type":"integer","minimum":-5,"maximum":5},{"type":"null"}]},
         "ok":{"type":"boolean"},
         "note":{"type":["string","null"],"maxLength":6}},
       "required":["color","size","ok"],"additionalProperties":false})",
    // An array of $ref'd objects with numbers.
    R"({"$defs":{"point":{"type":"object","properties":{"x":{"type":"number"},
         "y":{"type":"number","minimum":-10,"maximum":10}},"required":["x","y"]}},
       "type":"array","items":{"$ref":"#/$defs/point"},"minItems":1,"maxItems":3})",
    // Formats and patterns.
    R"({"type":"object","properties":{
         "id":{"type":"string","format":"uuid"},
         "when":{"type":"string","format":"date-time"},
         "day":{"type":"string","format":"date"},
         "code":{"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"},
         "email":{"type":"string","pattern":"^[a-z]{1,8}@[a-z]{1,8}\\.(com|org)$"}},
       "required":["id","when","day","code","email"]})",
      last};
}

}  // namespace hearth::sample::testing
