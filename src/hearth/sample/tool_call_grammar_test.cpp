// Tool-call grammar tests: hand cases per family, then the "random model" check with real
// vocabularies: in required mode every output is exactly the family's call syntax, which the chat
// module's parser turns into calls to a listed tool with arguments valid against its schema
// (checked by the independent validator); in auto mode replies are either such calls or text in
// which the parser finds no call and nothing malformed.
#include "hearth/sample/tool_call_grammar.h"

#include <gtest/gtest.h>

#include "grammar_test_support.h"
#include "hearth/chat/output_parser.h"
#include "hearth/sample/grammar_matcher.h"
#include "testing.h"

namespace hearth::sample {
namespace {

const char* const kTools = R"([
  {"type":"function","function":{"name":"get_weather","description":"Weather now",
    "parameters":{"type":"object","properties":{
      "location":{"type":"string","maxLength":20},
      "unit":{"enum":["celsius","fahrenheit"]}},"required":["location"]}}},
  {"type":"function","function":{"name":"search","parameters":{"type":"object","properties":{
      "query":{"type":"string","maxLength":30},
      "limit":{"type":"integer","minimum":1,"maximum":10}},"required":["query","limit"]}}},
  {"type":"function","function":{"name":"now"}}
])";

Json tools() {
  auto parsed = parse_json(kTools, "tools");
  EXPECT_TRUE(parsed.ok());
  return *parsed;
}

std::shared_ptr<const GrammarVocabulary> byte_vocab() {
  std::vector<GrammarVocabulary::Token> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back({std::string(1, static_cast<char>(b))});
  return GrammarVocabulary::create(std::move(tokens), {});
}

bool accepts(std::string_view format, ToolChoice choice, std::string_view text) {
  auto gbnf = tool_call_grammar(tools(), format, {choice, true});
  if (!gbnf.ok()) {
    ADD_FAILURE() << gbnf.error().message();
    return false;
  }
  auto m = GrammarMatcher::create(*gbnf, byte_vocab());
  if (!m.ok()) {
    ADD_FAILURE() << m.error().message() << "\n" << *gbnf;
    return false;
  }
  return (*m)->accept_bytes(text) && (*m)->is_complete();
}

TEST(ToolCallGrammar, HandCases) {
  const auto kReq = ToolChoice::kRequired, kAuto = ToolChoice::kAuto;
  const char* hermes_call =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n"
      "</tool_call>";
  EXPECT_TRUE(accepts("hermes", kReq, hermes_call));
  EXPECT_TRUE(accepts("qwen3", kReq, std::string(hermes_call) + "\n" + hermes_call));
  EXPECT_FALSE(accepts("hermes", kReq, "Sure."));
  EXPECT_FALSE(accepts("hermes", kReq,
                       "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(accepts("hermes", kReq,
                       "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"x\"}}\n"
                       "</tool_call>"));
  EXPECT_TRUE(accepts("hermes", kAuto, "Sure, <tool_ call> and <tool_callx"));
  EXPECT_TRUE(accepts("hermes", kAuto, std::string("Let me check. <tool_") + hermes_call));
  EXPECT_FALSE(accepts("hermes", kAuto, "text <tool_call> more"));
  EXPECT_TRUE(accepts("llama3", kReq, "{\"name\": \"now\", \"parameters\": {}}"));
  EXPECT_TRUE(accepts("llama3", kAuto, "It is sunny."));
  EXPECT_FALSE(accepts("llama3", kAuto, " {\"x\": 1}"));
  EXPECT_FALSE(accepts("llama3", kAuto, "a <|python_tag|>"));
  EXPECT_TRUE(accepts("gemma3", kReq,
                      "{\"name\": \"search\", \"arguments\": {\"query\": \"q\", \"limit\": 10}}"));
  EXPECT_TRUE(accepts("gemma3", kAuto, "Here `code` is"));
  EXPECT_FALSE(accepts("gemma3", kAuto, "[f(x=1)]"));
  EXPECT_FALSE(accepts("gemma3", kAuto, "See ```tool_code\nf()```"));

  auto unsupported = tool_call_grammar(tools(), "mistral");
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.error().message(),
            "tool-call grammar: format 'mistral' is not supported (supported: hermes, llama3, "
            "gemma3)");
  auto bad_schema = tool_call_grammar(
      parse_json(R"([{"function":{"name":"f","parameters":{"type":"object","properties":
                     {"n":{"type":"number","multipleOf":2}}}}}])",
                 "tools")
          .value(),
      "hermes");
  ASSERT_FALSE(bad_schema.ok());
  EXPECT_EQ(bad_schema.error().message(),
            "tool 'f': JSON schema at /properties/n: unsupported keyword 'multipleOf'");
}

// Parses `text` as the family's parser does and checks every call against the tools.
void expect_calls(const std::string& format, const std::string& text, size_t min_calls,
                  size_t max_calls) {
  auto fmt = chat::output_format_from_name(format);
  ASSERT_TRUE(fmt.ok());
  chat::ParserOptions options;
  options.tools = tools();
  const chat::ParsedOutput parsed = chat::parse_output(*fmt, text, options);
  ASSERT_TRUE(parsed.warnings.empty()) << parsed.warnings[0] << "\n" << text;
  ASSERT_GE(parsed.tool_calls.size(), min_calls) << text;
  ASSERT_LE(parsed.tool_calls.size(), max_calls) << text;
  if (min_calls > 0) {
    EXPECT_TRUE(parsed.content.empty()) << text;
  }
  for (const chat::ToolCall& call : parsed.tool_calls) {
    const Json* schema = nullptr;
    for (const Json& tool : options.tools) {
      if (tool["function"]["name"] == call.name) {
        schema = &tool["function"];
      }
    }
    ASSERT_NE(schema, nullptr) << call.name;
    const Json params = schema->value("parameters", Json{{"type", "object"}});
    auto args = parse_json(call.arguments, "arguments");
    ASSERT_TRUE(args.ok()) << call.arguments;
    auto problem = testing::validate(*args, params, params);
    ASSERT_FALSE(problem.has_value()) << *problem << "\n" << text;
  }
}

void run_random_model(const char* model, const std::string& format, int seeds) {
  auto vocab = testing::vocabulary(model);
  ASSERT_NE(vocab, nullptr);
  for (bool parallel : {false, true}) {
    auto gbnf = tool_call_grammar(tools(), format, {ToolChoice::kRequired, parallel});
    ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
    auto compiled = CompiledGrammar::create(Grammar::parse(*gbnf).value(), vocab);
    for (int i = 0; i < seeds; ++i) {
      GrammarMatcher matcher(compiled);
      const auto out = testing::generate(matcher, *vocab, 100 + i, 400);
      if (!out.ended) continue;
      expect_calls(format, out.text, 1, parallel && format == "hermes" ? 100 : 1);
    }
  }
  // Auto: free text, and calls once the reply starts like one.
  auto gbnf = tool_call_grammar(tools(), format, {ToolChoice::kAuto, false});
  ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
  auto compiled = CompiledGrammar::create(Grammar::parse(*gbnf).value(), vocab);
  const std::string opener = format == "hermes" ? "<tool_call>\n" : "{";
  for (int i = 0; i < seeds; ++i) {
    GrammarMatcher text_matcher(compiled);
    const auto text = testing::generate(text_matcher, *vocab, 900 + i, 30);
    if (text_matcher.is_complete()) expect_calls(format, text.text, 0, 1);
    GrammarMatcher call_matcher(compiled);
    ASSERT_TRUE(call_matcher.accept_bytes(opener));
    const auto call = testing::generate(call_matcher, *vocab, 900 + i, 400);
    if (call.ended) expect_calls(format, opener + call.text, 1, 1);
  }
}

TEST(ToolCallGrammarRandomModel, HermesQwen3) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  run_random_model("models/tiny-qwen3-f16.gguf", "hermes", testing::seed_count(100));
}

TEST(ToolCallGrammarRandomModel, Llama3Qwen3Vocab) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  run_random_model("models/tiny-qwen3-f16.gguf", "llama3", testing::seed_count(100));
}

TEST(ToolCallGrammarRandomModel, Gemma3) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-gemma3-f16.gguf");
  run_random_model("models/tiny-gemma3-f16.gguf", "gemma3", testing::seed_count(100));
}

}  // namespace
}  // namespace hearth::sample
