// Tool-call grammar tests: hand cases per family (the calls as the families' chat templates
// render them), then the "random model" check with real vocabularies for every family: in
// required mode every output is exactly the family's call syntax, which the chat module's parser
// turns into calls to a listed tool with arguments valid against its schema (checked by the
// independent validator); in auto mode replies are either such calls or text in which the parser
// finds no call and nothing malformed.
#include "hearth/sample/tool_call_grammar.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

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
  {"type":"function","function":{"name":"now"}},
  {"type":"function","function":{"name":"write_note","parameters":{"type":"object","properties":{
      "text":{"type":"string","maxLength":24},
      "tags":{"type":"array","items":{"type":"string","pattern":"^[a-z]{1,6}$"},"maxItems":2},
      "pinned":{"type":"boolean"},
      "meta":{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":99},
                                            "kind":{"enum":["a","b"]}},"required":["id"]}},
    "required":["text","meta"]}}}
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

  auto unsupported = tool_call_grammar(tools(), "command_r");
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.error().message(),
            "tool-call grammar: format 'command_r' is not supported (supported: hermes, "
            "qwen3_coder, llama3, mistral, deepseek_v3, deepseek_v3_2, glm4, kimi_k2, gemma3, "
            "gemma4)");
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

TEST(ToolCallGrammar, HandCasesOtherFamilies) {
  const auto kReq = ToolChoice::kRequired, kAuto = ToolChoice::kAuto;
  // Qwen3-Coder: raw text for strings (a free one may hold '<'), JSON text for the rest.
  const std::string coder_note =
      "<tool_call>\n<function=write_note>\n<parameter=text>\na <b> c\n</parameter>\n"
      "<parameter=tags>\n[\"x\", \"yz\"]\n</parameter>\n<parameter=meta>\n{\"id\": 7}\n"
      "</parameter>\n</function>\n</tool_call>";
  EXPECT_FALSE(accepts("qwen3_coder", kReq, coder_note));  // '<' in a constrained string
  const std::string coder_weather =
      "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n"
      "<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>";
  EXPECT_TRUE(accepts("qwen3_coder", kReq, coder_weather));
  EXPECT_TRUE(accepts("qwen3.5", kReq, coder_weather + "\n" + coder_weather));
  EXPECT_FALSE(accepts("qwen3_coder", kReq,
                       "<tool_call>\n<function=get_weather>\n<parameter=unit>\ncelsius\n"
                       "</parameter>\n</function>\n</tool_call>"));  // location is required
  EXPECT_TRUE(accepts("qwen3_coder", kAuto, "Let me look. <tool_ call>\n" + coder_weather));
  EXPECT_FALSE(accepts("qwen3_coder", kAuto, "a <tool_call> b"));
  EXPECT_TRUE(accepts("glm4", kReq,
                      "<tool_call>search\n<arg_key>query</arg_key>\n<arg_value>rain</arg_value>\n"
                      "<arg_key>limit</arg_key>\n<arg_value>3</arg_value>\n</tool_call>"));
  EXPECT_FALSE(accepts("glm4", kReq,
                       "<tool_call>search\n<arg_key>query</arg_key>\n<arg_value>rain</arg_value>\n"
                       "<arg_key>limit</arg_key>\n<arg_value>30</arg_value>\n</tool_call>"));
  EXPECT_TRUE(accepts("deepseek_v3_2", kReq,
                      "<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"now\">\n</｜DSML｜invoke>\n"
                      "<｜DSML｜invoke name=\"search\">\n<｜DSML｜parameter name=\"query\" "
                      "string=\"true\">42</｜DSML｜parameter>\n<｜DSML｜parameter name=\"limit\" "
                      "string=\"false\">5</｜DSML｜parameter>\n</｜DSML｜invoke>\n"
                      "</｜DSML｜function_calls>"));
  EXPECT_TRUE(
      accepts("mistral", kReq,
              "[TOOL_CALLS]now[ARGS]{}[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Oslo\"}"));
  EXPECT_TRUE(accepts("mistral", kAuto, "Sure [TOOL_ CALLS] [TOOL_CALLS]now[ARGS]{}"));
  EXPECT_FALSE(accepts("mistral", kAuto, "x [TOOL_CALLS]oops"));
  EXPECT_TRUE(
      accepts("deepseek_v3", kReq,
              "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>now<｜tool▁sep｜>{}<｜tool▁call▁end｜>"
              "<｜tool▁calls▁end｜>"));
  EXPECT_TRUE(accepts("kimi_k2", kReq,
                      "<|tool_calls_section_begin|><|tool_call_begin|>functions.now:0"
                      "<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_call_begin|>"
                      "functions.get_weather:1<|tool_call_argument_begin|>{\"location\": \"Rome\"}"
                      "<|tool_call_end|><|tool_calls_section_end|>"));
  // Gemma 4: its own value syntax, keys bare, strings between <|"|>.
  EXPECT_TRUE(accepts("gemma4", kReq,
                      "<|tool_call>call:write_note{text:<|\"|>hi there<|\"|>,tags:[<|\"|>ab<|\"|>],"
                      "meta:{id:7,kind:<|\"|>b<|\"|>}}<tool_call|>"));
  EXPECT_FALSE(
      accepts("gemma4", kReq, "<|tool_call>call:write_note{text:hi,meta:{id:7}}<tool_call|>"));
  EXPECT_TRUE(accepts("gemma4", kAuto, "Hello <|tool_ call>"));

  // Parameters whose text form would be ambiguous are refused, naming them.
  auto ambiguous = tool_call_grammar(
      parse_json(R"([{"function":{"name":"f","parameters":{"type":"object","properties":
                     {"v":{"type":["string","null"]}}}}}])",
                 "tools")
          .value(),
      "qwen3_coder");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().message(),
            "tool 'f': parameter 'v': a type list holding \"string\" is ambiguous when written as "
            "text (\"5\" or 5)");
  auto bad_name =
      tool_call_grammar(parse_json(R"([{"function":{"name":"a b"}}])", "tools").value(), "mistral");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().message(),
            "tool 'a b': tool name 'a b' cannot be written in the mistral format (letters, digits "
            "and _ - . : only)");
}

// The free text of a raw string may hold '<' but never the closing marker; JSON values inside
// the markup spell '<' as \u003c.
TEST(ToolCallGrammar, FreeTextParameter) {
  const Json tools = parse_json(R"([{"function":{"name":"write","parameters":{"type":"object",
      "properties":{"code":{"type":"string"},"opts":{"type":"object","properties":{
        "s":{"type":"string"},"p":{"type":"string","pattern":"^[^a]<.$"}}}},
      "required":["code"]}}}])",
                                "tools")
                         .value();
  auto gbnf = tool_call_grammar(tools, "glm4");
  ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
  auto matcher = GrammarMatcher::create(*gbnf, byte_vocab());
  ASSERT_TRUE(matcher.ok()) << matcher.error().message();
  const std::string head = "<tool_call>write\n<arg_key>code</arg_key>\n<arg_value>";
  auto m = (*matcher)->clone();
  EXPECT_TRUE(m->accept_bytes(head + "if (a < b) x = \"</arg_valu\";</arg_value>\n</tool_call>"));
  EXPECT_TRUE(m->is_complete());
  m = (*matcher)->clone();
  EXPECT_TRUE(m->accept_bytes(head + "a</arg_value>"));
  EXPECT_FALSE(m->accept_bytes("b"));  // the marker ended the value
  m = (*matcher)->clone();
  const std::string opts = head + "a</arg_value>\n<arg_key>opts</arg_key>\n<arg_value>";
  EXPECT_TRUE(m->accept_bytes(opts + R"({"s": "\u003c/arg_value>", "p": "b\u003c\u003c"})"));
  EXPECT_TRUE(m->accept_bytes("</arg_value>\n</tool_call>"));
  EXPECT_TRUE(m->is_complete());
  m = (*matcher)->clone();
  EXPECT_FALSE(m->accept_bytes(opts + R"({"s": "<)"));
  m = (*matcher)->clone();
  EXPECT_FALSE(m->accept_bytes(opts + R"({"p": "b<)"));
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

// What a reply that calls starts with, per family: a marker (a token reference in the grammar:
// one token where the vocabulary has it) and text.
std::pair<std::string, std::string> call_opener(const std::string& format) {
  static const std::map<std::string, std::pair<std::string, std::string>> kOpeners = {
      {"hermes", {"<tool_call>", "\n"}},
      {"qwen3_coder", {"<tool_call>", "\n"}},
      {"glm4", {"<tool_call>", ""}},
      {"mistral", {"[TOOL_CALLS]", ""}},
      {"deepseek_v3", {"<｜tool▁calls▁begin｜>", ""}},
      {"deepseek_v3_2", {"", "<｜DSML｜function_calls>\n"}},
      {"kimi_k2", {"<|tool_calls_section_begin|>", ""}},
      {"gemma4", {"<|tool_call>", ""}}};
  const auto it = kOpeners.find(format);
  // llama3, gemma3: a bare JSON call
  return it == kOpeners.end() ? std::pair<std::string, std::string>{"", "{"} : it->second;
}

// Feeds the opener: the marker as the vocabulary's token when it has one, else as bytes.
void accept_opener(GrammarMatcher& matcher, const GrammarVocabulary& vocab,
                   const std::pair<std::string, std::string>& opener) {
  const auto& [marker, text] = opener;
  const int32_t token = marker.empty() ? -1 : vocab.find(marker);
  if (token >= 0) {
    ASSERT_FALSE(matcher.accept_bytes(marker)) << marker << " is the token " << token;
    ASSERT_TRUE(matcher.allows(token)) << marker;
    matcher.accept(token);
  } else {
    ASSERT_TRUE(matcher.accept_bytes(marker)) << marker;
  }
  ASSERT_TRUE(matcher.accept_bytes(text)) << text;
}

void run_random_model(const char* model, const std::string& format, int seeds) {
  auto vocab = testing::vocabulary(model);
  ASSERT_NE(vocab, nullptr);
  const bool single = format == "llama3" || format == "gemma3";
  int ended = 0;
  for (bool parallel : {false, true}) {
    auto gbnf = tool_call_grammar(tools(), format, {ToolChoice::kRequired, parallel});
    ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
    auto compiled = CompiledGrammar::create(Grammar::parse(*gbnf).value(), vocab);
    for (int i = 0; i < seeds; ++i) {
      GrammarMatcher matcher(compiled);
      const auto out = testing::generate(matcher, *vocab, 100 + i, 400);
      if (!out.ended) continue;
      ++ended;
      expect_calls(format, out.text, 1, parallel && !single ? 100 : 1);
    }
  }
  EXPECT_GT(ended, 0) << "no required-mode output ended within 400 tokens";
  // Auto: free text, and calls once the reply starts like one.
  auto gbnf = tool_call_grammar(tools(), format, {ToolChoice::kAuto, false});
  ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
  auto compiled = CompiledGrammar::create(Grammar::parse(*gbnf).value(), vocab);
  const auto opener = call_opener(format);
  for (int i = 0; i < seeds; ++i) {
    GrammarMatcher text_matcher(compiled);
    const auto text = testing::generate(text_matcher, *vocab, 900 + i, 30);
    if (text_matcher.is_complete()) expect_calls(format, text.text, 0, 1);
    GrammarMatcher call_matcher(compiled);
    accept_opener(call_matcher, *vocab, opener);
    if (::testing::Test::HasFatalFailure()) return;
    const auto call = testing::generate(call_matcher, *vocab, 900 + i, 400);
    if (call.ended) expect_calls(format, opener.first + opener.second + call.text, 1, 1);
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

// The other families on the Qwen3 vocabulary (byte-level BPE), Gemma 4 on Gemma's
// (SentencePiece): every marker is spelled by ordinary tokens.
class ToolCallGrammarFamilies : public ::testing::TestWithParam<const char*> {};

TEST_P(ToolCallGrammarFamilies, RandomModel) {
  const std::string format = GetParam();
  const char* model =
      format == "gemma4" ? "models/tiny-gemma3-f16.gguf" : "models/tiny-qwen3-f16.gguf";
  HEARTH_REQUIRE_TESTDATA(path, model);
  run_random_model(model, format, testing::seed_count(100));
}

INSTANTIATE_TEST_SUITE_P(All, ToolCallGrammarFamilies,
                         ::testing::Values("qwen3_coder", "mistral", "deepseek_v3", "deepseek_v3_2",
                                           "glm4", "kimi_k2", "gemma4"));

// Markers that are control tokens: a vocabulary of every byte plus the family's markers as
// control tokens, as Gemma 4's, Kimi K2's and Mistral's vocabularies have them. The call must
// start with the marker token (its spelling is refused), and the output, rendered with the
// control tokens' text as the engine renders it under a grammar, parses into valid calls.
struct MarkerCase {
  const char* format;
  std::vector<std::string> markers;  // the first one opens a call
};

class ToolCallGrammarControlTokens : public ::testing::TestWithParam<MarkerCase> {};

TEST_P(ToolCallGrammarControlTokens, CallsUseTheModelsMarkerTokens) {
  const MarkerCase& c = GetParam();
  std::vector<GrammarVocabulary::Token> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back({std::string(1, static_cast<char>(b))});
  const auto first_marker = static_cast<int32_t>(tokens.size());
  for (const std::string& marker : c.markers) tokens.push_back({marker, true});
  const auto end = static_cast<int32_t>(tokens.size());
  tokens.push_back({"</s>", true});
  const auto vocab = GrammarVocabulary::create(std::move(tokens), {end});
  const auto n = static_cast<size_t>(end + 1);
  int ended = 0;
  for (const ToolChoice choice : {ToolChoice::kRequired, ToolChoice::kAuto}) {
    auto gbnf = tool_call_grammar(tools(), c.format, {choice, true});
    ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
    auto compiled = CompiledGrammar::create(Grammar::parse(*gbnf).value(), vocab);
    GrammarMatcher start(compiled);
    std::vector<float> logits(n, 0.0f);
    start.mask(logits);
    EXPECT_TRUE(std::isfinite(logits[first_marker])) << c.markers[0];
    // The marker's first byte: refused in required mode; in auto mode it may start text.
    const auto first_byte = static_cast<uint8_t>(c.markers[0][0]);
    EXPECT_EQ(std::isfinite(logits[first_byte]), choice == ToolChoice::kAuto) << *gbnf;
    for (int i = 0; i < testing::seed_count(40, 1); ++i) {  // fast even with sanitizers
      GrammarMatcher matcher(compiled);
      if (choice == ToolChoice::kAuto) matcher.accept(first_marker);  // a call, not text
      const auto out = testing::generate(matcher, *vocab, 300 + i, 600);
      if (!out.ended) continue;
      ++ended;
      const std::string text = (choice == ToolChoice::kAuto ? c.markers[0] : "") + out.text;
      expect_calls(c.format, text, 1, 100);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_GT(ended, 0) << "no output ended within 600 tokens";
}

INSTANTIATE_TEST_SUITE_P(
    All, ToolCallGrammarControlTokens,
    ::testing::Values(
        MarkerCase{"gemma4", {"<|tool_call>", "<tool_call|>", "<|\"|>"}},
        MarkerCase{"mistral", {"[TOOL_CALLS]", "[ARGS]"}},
        MarkerCase{"kimi_k2",
                   {"<|tool_calls_section_begin|>", "<|tool_calls_section_end|>",
                    "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>"}},
        MarkerCase{"deepseek_v3",
                   {"<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>",
                    "<｜tool▁sep｜>", "<｜tool▁call▁end｜>"}},
        MarkerCase{"glm4",
                   {"<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>",
                    "</arg_value>"}},
        MarkerCase{"hermes", {"<tool_call>", "</tool_call>"}}),
    [](const ::testing::TestParamInfo<MarkerCase>& info) {
      return std::string(info.param.format);
    });

}  // namespace
}  // namespace hearth::sample
