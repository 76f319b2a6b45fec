// JSON Schema → GBNF tests: accepted and refused texts per keyword, errors for unsupported
// schemas, and the "random model" check: for several schemas (nested objects, arrays, enums,
// patterns, formats, $ref recursion) and seeds, sampling under the grammar with the real Qwen3
// and Gemma 3 vocabularies always yields JSON that an independent validator accepts.
#include "hearth/sample/json_schema.h"

#include <gtest/gtest.h>

#include "grammar_test_support.h"
#include "hearth/sample/grammar_matcher.h"
#include "testing.h"

namespace hearth::sample {
namespace {

Json schema_of(std::string_view text) {
  auto parsed = parse_json(text, "schema");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  return parsed.ok() ? *parsed : Json();
}

std::shared_ptr<const GrammarVocabulary> byte_vocab() {
  std::vector<GrammarVocabulary::Token> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back({std::string(1, static_cast<char>(b))});
  return GrammarVocabulary::create(std::move(tokens), {});
}

// Whether `text` is a complete match of the schema's grammar.
bool accepts(std::string_view schema, std::string_view text) {
  auto gbnf = grammar_from_json_schema(schema_of(schema));
  if (!gbnf.ok()) {
    ADD_FAILURE() << gbnf.error().message();
    return false;
  }
  auto m = GrammarMatcher::create(*gbnf, byte_vocab());
  EXPECT_TRUE(m.ok()) << m.error().message() << "\n" << *gbnf;
  return m.ok() && (*m)->accept_bytes(text) && (*m)->is_complete();
}

std::string error_of(std::string_view schema) {
  auto gbnf = grammar_from_json_schema(schema_of(schema));
  return gbnf.ok() ? "(converted)" : gbnf.error().message();
}

TEST(JsonSchema, Objects) {
  const char* s = R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},
                      "required":["b"]})";
  EXPECT_TRUE(accepts(s, R"({"a": 1, "b": "x"})"));
  EXPECT_TRUE(accepts(s, R"({"b":"x"})"));
  EXPECT_TRUE(accepts(s, "{\n  \"a\": -3,\n  \"b\": \"\"\n}"));
  EXPECT_FALSE(accepts(s, R"({"a": 1})"));
  EXPECT_FALSE(accepts(s, R"({"a": 1, "b": "x", "c": 2})"));
  EXPECT_FALSE(accepts(s, R"({"a": 1.5, "b": "x"})"));
  const char* extra =
      R"({"properties":{"id":{"type":"integer"}},"additionalProperties":{"type":"boolean"}})";
  EXPECT_TRUE(accepts(extra, R"({"id": 1, "x": true, "idx": false})"));
  EXPECT_TRUE(accepts(extra, R"({"i": true})"));
  EXPECT_FALSE(accepts(extra, R"({"x": 1})"));
  EXPECT_FALSE(accepts(extra, R"({"id": 1, "id": true})"));  // a declared name is not extra
  EXPECT_TRUE(accepts(R"({"type":"object"})", R"({"free": [1, {"x": null}]})"));
}

TEST(JsonSchema, ArraysStringsNumbers) {
  const char* arr = R"({"type":"array","items":{"enum":["a",2,null]},"minItems":1,"maxItems":2})";
  EXPECT_TRUE(accepts(arr, R"(["a", 2])"));
  EXPECT_TRUE(accepts(arr, "[null]"));
  EXPECT_FALSE(accepts(arr, "[]"));
  EXPECT_FALSE(accepts(arr, R"(["a","a","a"])"));
  const char* str = R"({"type":"string","minLength":2,"maxLength":3})";
  EXPECT_TRUE(accepts(str, R"("ab")"));
  EXPECT_TRUE(accepts(str, R"("é\n😀")"));
  EXPECT_FALSE(accepts(str, R"("a")"));
  EXPECT_FALSE(accepts(str, R"("abcd")"));
  EXPECT_FALSE(accepts(R"({"type":"string"})", R"("\ud800")"));  // lone surrogate escape
  const char* range = R"({"type":"integer","minimum":-12,"exclusiveMaximum":105})";
  for (int v = -20; v <= 120; ++v) {
    EXPECT_EQ(accepts(range, std::to_string(v)), v >= -12 && v < 105) << v;
  }
  EXPECT_FALSE(accepts(range, "-0"));
  EXPECT_FALSE(accepts(range, "007"));
  EXPECT_TRUE(accepts(R"({"type":"number"})", "-12.5e+3"));
  EXPECT_FALSE(accepts(R"({"type":"number"})", "1."));
  EXPECT_TRUE(accepts(R"({"type":"number","minimum":0.5,"maximum":3})", "3"));
  EXPECT_FALSE(accepts(R"({"type":"number","minimum":0.5,"maximum":3})", "0"));
  EXPECT_TRUE(accepts(R"({"type":["integer","null"]})", "null"));
  EXPECT_TRUE(accepts(R"({"type":"boolean"})", "false"));
}

TEST(JsonSchema, PatternsAndFormats) {
  const char* p = R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}(x|yz)?$"})";
  EXPECT_TRUE(accepts(p, R"("AB-123")"));
  EXPECT_TRUE(accepts(p, R"("AB-123yz")"));
  EXPECT_FALSE(accepts(p, R"("AB-12")"));
  EXPECT_FALSE(accepts(p, R"("ab-123")"));
  // Unanchored: the match may sit anywhere.
  EXPECT_TRUE(accepts(R"({"type":"string","pattern":"a\"b"})", R"("xxa\"byy")"));
  EXPECT_TRUE(accepts(R"({"type":"string","pattern":"^[^a]+$"})", R"("bcd")"));
  EXPECT_FALSE(accepts(R"({"type":"string","pattern":"^[^a]+$"})", R"("bad")"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"date"})", R"("2024-02-28")"));
  EXPECT_FALSE(accepts(R"({"type":"string","format":"date"})", R"("2024-04-31")"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"date-time"})", R"("2024-12-31T23:59:60Z")") ==
              false);
  EXPECT_TRUE(
      accepts(R"({"type":"string","format":"date-time"})", R"("2024-12-31T23:59:59.5+01:00")"));
  EXPECT_TRUE(
      accepts(R"({"type":"string","format":"uuid"})", R"("123e4567-e89b-12d3-a456-426614174000")"));
}

TEST(JsonSchema, RefsAndCombinators) {
  const char* tree = R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
      "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}},
      "$ref":"#/$defs/node"})";
  EXPECT_TRUE(accepts(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[]}]})"));
  EXPECT_FALSE(accepts(tree, R"({"v":1,"kids":[{}]})"));
  const char* any = R"({"anyOf":[{"type":"integer"},{"const":"x"}]})";
  EXPECT_TRUE(accepts(any, "5"));
  EXPECT_TRUE(accepts(any, R"("x")"));
  EXPECT_FALSE(accepts(any, R"("y")"));
}

TEST(JsonSchema, UnsupportedIsAnError) {
  EXPECT_EQ(error_of(R"({"type":"object","properties":{"n":{"type":"integer","multipleOf":3}}})"),
            "JSON schema at /properties/n: unsupported keyword 'multipleOf'");
  EXPECT_EQ(error_of(R"({"$ref":"#/$defs/missing"})"),
            "JSON schema at /: $ref '#/$defs/missing' does not resolve");
  EXPECT_EQ(error_of(R"({"$ref":"http://example.com/s.json"})"),
            "JSON schema at /: $ref 'http://example.com/s.json' is not a local reference (#/...)");
  EXPECT_NE(error_of(R"({"type":"string","pattern":"(?=a)b"})").find("lookaround"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type":"string","pattern":"(a)\\1"})").find("unsupported escape"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"type":"integer","minimum":5,"maximum":4})"),
            "JSON schema at /: no integer lies within the bounds");
  EXPECT_EQ(error_of(R"({"type":"array","uniqueItems":true})"),
            "JSON schema at /: unsupported keyword 'uniqueItems'");
  EXPECT_EQ(error_of("false"), "JSON schema at /: the schema 'false' admits no value");
  EXPECT_EQ(error_of(R"({"type":"strin"})"), "JSON schema at /: unknown type 'strin'");
}

// Raw text values (tool-call families that write parameters as text) and Gemma 4's syntax.
// `text_stop` empty: Gemma 4; else a text value ending before that marker.
Result<std::string> spelled(std::string_view schema, std::string_view text_stop) {
  const Json parsed = schema_of(schema);
  JsonGrammarBuilder builder(text_stop.empty() ? ValueSyntax::kGemma4 : ValueSyntax::kJson);
  auto rule = text_stop.empty() ? builder.add_schema(parsed, "v")
                                : builder.add_text_schema(parsed, "v", nullptr, text_stop);
  if (!rule.ok()) return rule.error();
  return builder.text(*rule);
}

bool spelled_accepts(std::string_view schema, std::string_view text_stop, std::string_view text) {
  auto gbnf = spelled(schema, text_stop);
  EXPECT_TRUE(gbnf.ok()) << gbnf.error().message();
  if (!gbnf.ok()) return false;
  auto m = GrammarMatcher::create(*gbnf, byte_vocab());
  EXPECT_TRUE(m.ok()) << m.error().message() << "\n" << *gbnf;
  return m.ok() && (*m)->accept_bytes(text) && (*m)->is_complete();
}

TEST(JsonSchema, RawTextAndGemma4Spellings) {
  const char* str = R"({"type":"string","maxLength":4})";
  EXPECT_TRUE(spelled_accepts(str, "</v>", "a\"\\\n"));   // quotes, backslashes, newlines as is
  EXPECT_FALSE(spelled_accepts(str, "</v>", "a<b"));      // constrained: no '<'
  EXPECT_FALSE(spelled_accepts(str, "</v>", "\"abc\""));  // five characters
  EXPECT_TRUE(spelled_accepts(R"({"type":"string"})", "</v>", "x < y </ v"));
  EXPECT_FALSE(spelled_accepts(R"({"type":"string"})", "</v>", "x</v>"));
  EXPECT_TRUE(spelled_accepts(R"({"type":"string","pattern":"^[<a-c]+$"})", "</v>", "cab"));
  EXPECT_EQ(spelled(R"({"type":"string","pattern":"^a<b$"})", "</v>").error().message(),
            "JSON schema at /pattern: pattern 'a<b' at offset 2: '<' or a control character (a "
            "raw text value cannot hold them) (supported: literals, ., [...], [^...], \\d \\w "
            "\\s, groups, |, * + ? {m,n}, ^ and $ at the ends)");
  EXPECT_EQ(spelled(R"({"type":"integer"})", "</v>").error().message(),
            "JSON schema at /: a text value cannot be of type 'integer'");
  EXPECT_EQ(spelled(R"({"enum":["a</v>"]})", "</v>").error().message(),
            "JSON schema at /: the value 'a</v>' holds the marker '</v>'");

  const char* obj = R"({"type":"object","properties":{"name":{"type":"string"},
      "n":{"type":"integer"},"my key":{"enum":[{"x":[1,"y"]}]},"l":{"type":"array"}},
      "required":["name"]})";
  EXPECT_TRUE(spelled_accepts(obj, "", "{name:<|\"|>Ada \"L\" <3<|\"|>,n:5}"));
  EXPECT_TRUE(
      spelled_accepts(obj, "", "{name:<|\"|><|\"|>,<|\"|>my key<|\"|>:{x:[1,<|\"|>y<|\"|>]}}"));
  EXPECT_TRUE(spelled_accepts(obj, "", "{name:<|\"|>a<|\"|>,l:[{<|\"|>k<|\"|>:null},true]}"));
  EXPECT_FALSE(spelled_accepts(obj, "", "{\"name\":\"Ada\"}"));
  EXPECT_FALSE(spelled_accepts(obj, "", "{name:<|\"|>a<|\"|>|><|\"|>}"));
}

const std::vector<const char*> kRandomSchemas = testing::test_schemas(
    // const, oneOf with disjoint branches, recursion. (Extra properties are left to the unit
    // tests: a random model rarely closes an object that may grow.)
    R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
         "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
         "required":["v"],"additionalProperties":false}},
       "type":"object","properties":{"kind":{"const":"event"},
         "payload":{"oneOf":[{"type":"string","maxLength":5},
                             {"type":"array","items":{"type":"boolean"},"maxItems":3}]},
         "tree":{"$ref":"#/$defs/node"}},
       "required":["kind","payload"],"additionalProperties":false})");

void run_random_model(const char* model, int seeds, uint32_t seed_base) {
  auto vocab = testing::vocabulary(model);
  ASSERT_NE(vocab, nullptr);
  for (const char* text : kRandomSchemas) {
    const Json schema = schema_of(text);
    auto gbnf = grammar_from_json_schema(schema);
    ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
    auto grammar = Grammar::parse(*gbnf);
    ASSERT_TRUE(grammar.ok()) << grammar.error().message() << "\n" << *gbnf;
    auto compiled = CompiledGrammar::create(std::move(*grammar), vocab);
    int ended = 0;
    for (int i = 0; i < seeds; ++i) {
      GrammarMatcher matcher(compiled);
      const auto out = testing::generate(matcher, *vocab, seed_base + i, 600);
      if (!out.ended) continue;  // a long random walk: still a valid prefix, checked below
      ++ended;
      auto value = parse_json(out.text, "output");
      ASSERT_TRUE(value.ok()) << "seed " << i << ": " << value.error().message() << "\n"
                              << out.text;
      auto problem = testing::validate(*value, schema, schema);
      ASSERT_FALSE(problem.has_value()) << "seed " << i << ": " << *problem << "\n" << out.text;
    }
    EXPECT_GE(ended, seeds * 9 / 10) << text;
  }
}

TEST(JsonSchemaRandomModel, Qwen3) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  run_random_model("models/tiny-qwen3-f16.gguf", testing::seed_count(250), 1000);
}

TEST(JsonSchemaRandomModel, Gemma3) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-gemma3-f16.gguf");
  run_random_model("models/tiny-gemma3-f16.gguf", testing::seed_count(250), 5000);
}

}  // namespace
}  // namespace hearth::sample
