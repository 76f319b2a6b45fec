// Output parser tests: one table of realistic model outputs per family (single and parallel
// calls, calls with content, reasoning, malformed calls), each also fed split at every byte
// offset and byte by byte, which must give the whole-text result; plus the families' own
// template renderings (../shared/testdata/templates) parsed back into their tool calls.
#include "hearth/chat/output_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "testing.h"

namespace hearth::chat {
namespace {

struct Call {
  std::string name;
  std::string arguments;  // compared as JSON
  std::string id = {};    // checked when not empty
};

struct Case {
  std::string name;
  OutputFormat format;
  std::string text;
  std::string content;
  std::string reasoning;
  std::vector<Call> calls;
  std::size_t warnings = 0;
  bool starts_in_reasoning = false;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

const char* kTools = R"~([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
    "properties": {"location": {"type": "string"}, "unit": {"type": "string"}}}}},
  {"type": "function", "function": {"name": "search_web", "parameters": {"type": "object",
    "properties": {"query": {"type": "string"}, "max_results": {"type": "integer"},
                   "safe": {"type": "boolean"}}}}}
])~";

const std::string kParis = R"~({"location": "Paris", "unit": "celsius"})~";
const std::string kTokyo = R"~({"location": "Tokyo", "unit": "celsius"})~";

std::vector<Case> cases() {
  using F = OutputFormat;
  return {
      // ---- Hermes / Qwen3 ----
      {"hermes_single",
       F::kHermes,
       "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + kParis + "}\n</tool_call>",
       "",
       "",
       {{"get_weather", kParis}}},
      {"hermes_parallel_with_content",
       F::kHermes,
       "Let me check both cities.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " +
           kParis + "}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " +
           kTokyo + "}\n</tool_call>",
       "Let me check both cities.",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"hermes_reasoning_then_call",
       F::kHermes,
       "<think>\nThe user wants the weather in Paris.\n</think>\n\n<tool_call>\n{\"name\": "
       "\"get_weather\", \"arguments\": " +
           kParis + "}\n</tool_call>",
       "",
       "The user wants the weather in Paris.",
       {{"get_weather", kParis}}},
      {"hermes_starts_in_reasoning",
       F::kHermes,
       "Paris is in France.\n</think>\n\nThe capital of France is Paris.",
       "The capital of France is Paris.",
       "Paris is in France.",
       {},
       0,
       true},
      {"hermes_empty_think",
       F::kHermes,
       "<think>\n\n</think>\n\nHello! 你好 👋",
       "Hello! 你好 👋",
       "",
       {}},
      {"hermes_angle_brackets_are_content",
       F::kHermes,
       "Use <tool> or <tool_c and a<b; <think> is literal here.",
       "Use <tool> or <tool_c and a<b; <think> is literal here.",
       "",
       {}},
      {"hermes_text_after_call",
       F::kHermes,
       "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>\n"
       "Done.",
       "Checking.\nDone.",
       "",
       {{"get_weather", "{}"}}},
      {"hermes_arguments_as_string",
       F::kHermes,
       R"~(<tool_call>{"name": "search_web", "arguments": "{\"query\": \"ü\"}"}</tool_call>)~",
       "",
       "",
       {{"search_web", R"~({"query": "ü"})~"}}},
      {"hermes_arguments_before_name",
       F::kHermes,
       R"~(<tool_call>{"arguments": {"query": "x"}, "name": "search_web"}</tool_call>)~",
       "",
       "",
       {{"search_web", R"~({"query": "x"})~"}}},
      {"hermes_bad_json",
       F::kHermes,
       "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": }}\n</tool_call>",
       "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": }}\n</tool_call>",
       "",
       {},
       1},
      {"hermes_unterminated",
       F::kHermes,
       "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Par",
       "Sure.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Par",
       "",
       {},
       1},
      {"hermes_bad_then_good",
       F::kHermes,
       "<tool_call>oops</tool_call><tool_call>{\"name\": \"get_weather\", \"arguments\": " +
           kParis + "}</tool_call>",
       "<tool_call>oops</tool_call>",
       "",
       {{"get_weather", kParis}},
       1},
      {"hermes_no_name",
       F::kHermes,
       R"~(<tool_call>{"arguments": {}}</tool_call>)~",
       R"~(<tool_call>{"arguments": {}}</tool_call>)~",
       "",
       {},
       1},

      // ---- Qwen3-Coder / Qwen3.5 ----
      {"qwen3_coder_parallel",
       F::kQwen3Coder,
       "Let me check both cities.\n\n<tool_call>\n<function=get_weather>\n<parameter=location>\n"
       "Paris\n</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>\n"
       "<tool_call>\n<function=get_weather>\n<parameter=location>\nTokyo\n</parameter>\n"
       "<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
       "Let me check both cities.",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"qwen3_coder_typed_and_multiline",
       F::kQwen3Coder,
       "<think>\nSearch.\n</think>\n\n<tool_call>\n<function=search_web>\n<parameter=query>\n"
       "line one\n  line \"two\"\n</parameter>\n<parameter=max_results>\n5\n</parameter>\n"
       "<parameter=safe>\nTrue\n</parameter>\n</function>\n</tool_call>",
       "",
       "Search.",
       {{"search_web", R"~({"query": "line one\n  line \"two\"", "max_results": 5,
                           "safe": true})~"}}},
      {"qwen3_coder_string_typed_number",
       F::kQwen3Coder,
       "<tool_call>\n<function=get_weather>\n<parameter=location>\n75001\n</parameter>\n"
       "</function>\n</tool_call>",
       "",
       "",
       {{"get_weather", R"~({"location": "75001"})~"}}},
      {"qwen3_coder_no_parameters",
       F::kQwen3Coder,
       "<tool_call>\n<function=get_time>\n</function>\n</tool_call>",
       "",
       "",
       {{"get_time", "{}"}}},
      {"qwen3_coder_missing_function_close",
       F::kQwen3Coder,
       "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n"
       "</tool_call>",
       "",
       "",
       {{"get_weather", R"~({"location": "Paris"})~"}}},
      {"qwen3_coder_unterminated",
       F::kQwen3Coder,
       "<tool_call>\n<function=get_weather>\n<parameter=location>\nPar",
       "<tool_call>\n<function=get_weather>\n<parameter=location>\nPar",
       "",
       {},
       1},
      {"qwen3_coder_starts_in_reasoning",
       F::kQwen3Coder,
       "Need weather.\n</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=location>\n"
       "Paris\n</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
       "",
       "Need weather.",
       {{"get_weather", kParis}},
       0,
       true},

      // ---- Llama 3.x ----
      {"llama3_json_call",
       F::kLlama3,
       "{\"name\": \"get_weather\", \"parameters\": " + kParis + "}",
       "",
       "",
       {{"get_weather", kParis}}},
      {"llama3_json_reply_is_content",
       F::kLlama3,
       R"~({"answer": 42, "name": "x"})~",
       R"~({"answer": 42, "name": "x"})~",
       "",
       {}},
      {"llama3_text",
       F::kLlama3,
       "The weather in Paris is {sunny}.",
       "The weather in Paris is {sunny}.",
       "",
       {}},
      {"llama3_python_tag_builtin",
       F::kLlama3,
       "<|python_tag|>brave_search.call(query=\"weather in Paris\")",
       "",
       "",
       {{"brave_search", R"~({"query": "weather in Paris"})~"}}},
      {"llama3_python_tag_json",
       F::kLlama3,
       "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": " + kParis + "}",
       "",
       "",
       {{"get_weather", kParis}}},
      {"llama3_python_tag_code",
       F::kLlama3,
       "<|python_tag|>import math\nprint(math.sqrt(2))",
       "",
       "",
       {{"code_interpreter", R"~({"code": "import math\nprint(math.sqrt(2))"})~"}}},
      {"llama3_unterminated",
       F::kLlama3,
       R"~({"name": "get_weather", "parameters": {"location": "Paris")~",
       R"~({"name": "get_weather", "parameters": {"location": "Paris")~",
       "",
       {},
       1},

      // ---- Mistral ----
      {"mistral_single",
       F::kMistral,
       "[TOOL_CALLS]get_weather[ARGS]" + kParis,
       "",
       "",
       {{"get_weather", kParis}}},
      {"mistral_parallel_with_content",
       F::kMistral,
       "Let me check both cities.[TOOL_CALLS]get_weather[ARGS]" + kParis +
           "[TOOL_CALLS]get_weather[ARGS]" + kTokyo,
       "Let me check both cities.",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"mistral_call_ids",
       F::kMistral,
       "[TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]" + kParis,
       "",
       "",
       {{"get_weather", kParis, "a1B2c3D4e"}}},
      {"mistral_nemo_list",
       F::kMistral,
       "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " + kParis +
           ", \"id\": \"call00001\"}, {\"name\": \"get_weather\", \"arguments\": " + kTokyo +
           ", \"id\": \"call00002\"}]",
       "",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"mistral_reasoning",
       F::kMistral,
       "[THINK]2 + 2 = 4.[/THINK]The answer is 4.",
       "The answer is 4.",
       "2 + 2 = 4.",
       {}},
      {"mistral_unterminated",
       F::kMistral,
       "[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Pa",
       "[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Pa",
       "",
       {},
       1},
      {"mistral_name_never_ends",
       F::kMistral,
       "[TOOL_CALLS] are how I call tools.",
       "[TOOL_CALLS] are how I call tools.",
       "",
       {},
       1},

      // ---- DeepSeek V3.x ----
      {"deepseek_v3_1_parallel",
       F::kDeepSeekV3,
       "Let me check both "
       "cities.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>" +
           kParis + "<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>" + kTokyo +
           "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
       "Let me check both cities.",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"deepseek_r1_fenced",
       F::kDeepSeekV3,
       "<think>\nNeed the weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
       "<｜tool▁sep｜>get_weather\n```json\n" +
           kParis + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
       "",
       "Need the weather.",
       {{"get_weather", kParis}}},
      {"deepseek_starts_in_reasoning",
       F::kDeepSeekV3,
       "Easy.</think>It is 4.",
       "It is 4.",
       "Easy.",
       {},
       0,
       true},
      {"deepseek_second_call_broken",
       F::kDeepSeekV3,
       "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>" + kParis +
           "<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"location\": ]"
           "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
       "<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"location\": ]<｜tool▁call▁end｜>"
       "<｜tool▁calls▁end｜>",
       "",
       {{"get_weather", kParis}},
       1},
      {"deepseek_v3_2_dsml",
       F::kDeepSeekV32,
       "Let me check both cities.\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke "
       "name=\"get_weather\">\n"
       "<｜DSML｜parameter name=\"location\" string=\"true\">Paris</｜DSML｜parameter>\n"
       "<｜DSML｜parameter name=\"unit\" string=\"true\">celsius</｜DSML｜parameter>\n"
       "</｜DSML｜invoke>\n<｜DSML｜invoke name=\"search_web\">\n"
       "<｜DSML｜parameter name=\"query\" string=\"true\">42</｜DSML｜parameter>\n"
       "<｜DSML｜parameter name=\"max_results\" string=\"false\">5</｜DSML｜parameter>\n"
       "</｜DSML｜invoke>\n</｜DSML｜function_calls>",
       "Let me check both cities.",
       "",
       {{"get_weather", kParis}, {"search_web", R"~({"query": "42", "max_results": 5})~"}}},

      // ---- GLM-4.x ----
      {"glm4_6_parallel",
       F::kGlm4,
       "\n<think></think>\nLet me check both cities.\n<tool_call>get_weather\n<arg_key>location"
       "</arg_key>\n<arg_value>Paris</arg_value>\n<arg_key>unit</arg_key>\n<arg_value>celsius"
       "</arg_value>\n</tool_call>\n<tool_call>get_weather\n<arg_key>location</arg_key>\n"
       "<arg_value>Tokyo</arg_value>\n<arg_key>unit</arg_key>\n<arg_value>celsius</arg_value>\n"
       "</tool_call>",
       "Let me check both cities.",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"glm4_7_compact_with_reasoning",
       F::kGlm4,
       "<think>Look it up.</think><tool_call>search_web<arg_key>query</arg_key><arg_value>"
       "rain</arg_value><arg_key>max_results</arg_key><arg_value>3</arg_value></tool_call>",
       "",
       "Look it up.",
       {{"search_web", R"~({"query": "rain", "max_results": 3})~"}}},
      {"glm4_json_value",
       F::kGlm4,
       "<tool_call>configure\n<arg_key>options</arg_key>\n<arg_value>{\"deep\": true}"
       "</arg_value>\n</tool_call>",
       "",
       "",
       {{"configure", R"~({"options": {"deep": true}})~"}}},
      {"glm4_unterminated",
       F::kGlm4,
       "<tool_call>get_weather\n<arg_key>location</arg_key>",
       "<tool_call>get_weather\n<arg_key>location</arg_key>",
       "",
       {},
       1},

      // ---- Kimi-K2 ----
      {"kimi_k2_parallel",
       F::kKimiK2,
       "Let me check both cities.<|tool_calls_section_begin|><|tool_call_begin|>"
       "functions.get_weather:0<|tool_call_argument_begin|>" +
           kParis +
           "<|tool_call_end|><|tool_call_begin|>functions.get_weather:1"
           "<|tool_call_argument_begin|>" +
           kTokyo + "<|tool_call_end|><|tool_calls_section_end|>",
       "Let me check both cities.",
       "",
       {{"get_weather", kParis, "functions.get_weather:0"},
        {"get_weather", kTokyo, "functions.get_weather:1"}}},
      {"kimi_k2_thinking",
       F::kKimiK2,
       "<think>Weather lookup.</think><|tool_calls_section_begin|>\n<|tool_call_begin|>"
       "functions.get_weather:0 <|tool_call_argument_begin|> " +
           kParis + " <|tool_call_end|>\n<|tool_calls_section_end|>",
       "",
       "Weather lookup.",
       {{"get_weather", kParis, "functions.get_weather:0"}}},

      // ---- Gemma 3 ----
      {"gemma3_python_list",
       F::kGemma3,
       "[get_weather(location=\"Paris\", unit=\"celsius\"), get_weather(location='Tokyo', "
       "unit=\"celsius\")]",
       "",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"gemma3_tool_code",
       F::kGemma3,
       "I'll search.\n```tool_code\nsearch_web(query=\"rain\", max_results=3, safe=True)\n```",
       "I'll search.",
       "",
       {{"search_web", R"~({"query": "rain", "max_results": 3, "safe": true})~"}}},
      {"gemma3_json",
       F::kGemma3,
       "{\"name\": \"get_weather\", \"parameters\": " + kParis + "}",
       "",
       "",
       {{"get_weather", kParis}}},
      {"gemma3_brackets_are_content",
       F::kGemma3,
       "[1] See the docs [here](x).",
       "[1] See the docs [here](x).",
       "",
       {}},
      {"gemma3_tool_code_unterminated",
       F::kGemma3,
       "```tool_code\nget_weather(location=\"Pa",
       "```tool_code\nget_weather(location=\"Pa",
       "",
       {},
       1},

      // ---- Gemma 4 ----
      {"gemma4_parallel",
       F::kGemma4,
       "<|tool_call>call:get_weather{location:<|\"|>Paris<|\"|>,unit:<|\"|>celsius<|\"|>}"
       "<tool_call|><|tool_call>call:get_weather{location:<|\"|>Tokyo<|\"|>,unit:<|\"|>celsius"
       "<|\"|>}<tool_call|>",
       "",
       "",
       {{"get_weather", kParis}, {"get_weather", kTokyo}}},
      {"gemma4_values",
       F::kGemma4,
       "Searching.<|tool_call>call:search_web{query:<|\"|>a \"quoted\" <b> text<|\"|>,"
       "max_results:5,flags:[true,false],opts:{deep:True,none:None},empty:[]}<tool_call|>",
       "Searching.",
       "",
       {{"search_web", R"~({"query": "a \"quoted\" <b> text", "max_results": 5,
          "flags": [true, false], "opts": {"deep": true, "none": null}, "empty": []})~"}}},
      {"gemma4_reasoning",
       F::kGemma4,
       "<|channel>thought\nThe user greets me.<channel|>Hello there!",
       "Hello there!",
       "The user greets me.",
       {}},
      {"gemma4_bare_string_value",
       F::kGemma4,
       "<|tool_call>call:get_weather{location:Paris}<tool_call|>",
       "<|tool_call>call:get_weather{location:Paris}<tool_call|>",
       "",
       {},
       1},

      // ---- generic ----
      {"generic_think", F::kGeneric, "<think>hmm</think>Answer: 4", "Answer: 4", "hmm", {}},
      {"generic_unterminated_think",
       F::kGeneric,
       "<think>still thinking",
       "",
       "still thinking",
       {}},
  };
}

Json json_of(const std::string& text) {
  auto parsed = parse_json(text, "test");
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? Json(nlohmann::json::parse(text)) : Json();
}

ParserOptions options_for(const Case& c) {
  ParserOptions options;
  options.starts_in_reasoning = c.starts_in_reasoning;
  options.tools = Json::parse(kTools);
  return options;
}

void expect_same(const ParsedOutput& a, const ParsedOutput& b) {
  EXPECT_EQ(a.content, b.content);
  EXPECT_EQ(a.reasoning, b.reasoning);
  EXPECT_EQ(a.warnings, b.warnings);
  ASSERT_EQ(a.tool_calls.size(), b.tool_calls.size());
  for (std::size_t i = 0; i < a.tool_calls.size(); ++i) {
    EXPECT_EQ(a.tool_calls[i].id, b.tool_calls[i].id);
    EXPECT_EQ(a.tool_calls[i].name, b.tool_calls[i].name);
    EXPECT_EQ(a.tool_calls[i].arguments, b.tool_calls[i].arguments);
  }
}

// Rebuilds a result from deltas, as a streaming client would.
struct Rebuilt {
  std::string content;
  std::string reasoning;
  std::map<std::size_t, ToolCall> calls;
  std::vector<std::size_t> aborted;

  void add(const OutputDelta& d) {
    content += d.content;
    reasoning += d.reasoning;
    for (const auto& t : d.tool_calls) {
      if (t.aborted) {
        aborted.push_back(t.index);
        continue;
      }
      auto& call = calls[t.index];
      if (!t.name.empty()) {
        EXPECT_TRUE(call.name.empty()) << "name sent twice for call " << t.index;
        call.name = t.name;
        call.id = t.id;
      }
      EXPECT_FALSE(call.name.empty()) << "arguments before the name of call " << t.index;
      call.arguments += t.arguments;
    }
  }
};

class OutputParserTest : public ::testing::TestWithParam<Case> {};

TEST_P(OutputParserTest, WholeText) {
  const Case& c = GetParam();
  ParsedOutput out = parse_output(c.format, c.text, options_for(c));
  EXPECT_EQ(out.content, c.content);
  EXPECT_EQ(out.reasoning, c.reasoning);
  EXPECT_EQ(out.warnings.size(), c.warnings) << (out.warnings.empty() ? "" : out.warnings[0]);
  ASSERT_EQ(out.tool_calls.size(), c.calls.size());
  for (std::size_t i = 0; i < c.calls.size(); ++i) {
    EXPECT_EQ(out.tool_calls[i].name, c.calls[i].name);
    EXPECT_EQ(json_of(out.tool_calls[i].arguments), json_of(c.calls[i].arguments))
        << out.tool_calls[i].arguments;
    if (!c.calls[i].id.empty()) {
      EXPECT_EQ(out.tool_calls[i].id, c.calls[i].id);
    }
    EXPECT_FALSE(out.tool_calls[i].id.empty());
  }
}

TEST_P(OutputParserTest, EverySplitMatchesWholeText) {
  const Case& c = GetParam();
  const ParsedOutput whole = parse_output(c.format, c.text, options_for(c));
  for (std::size_t split = 0; split <= c.text.size(); ++split) {
    SCOPED_TRACE(::testing::Message() << "split at byte " << split);
    OutputParser parser(c.format, options_for(c));
    Rebuilt rebuilt;
    rebuilt.add(parser.feed(std::string_view(c.text).substr(0, split)));
    rebuilt.add(parser.feed(std::string_view(c.text).substr(split)));
    rebuilt.add(parser.finish());
    expect_same(parser.result(), whole);
    EXPECT_EQ(rebuilt.content, whole.content);
    EXPECT_EQ(rebuilt.reasoning, whole.reasoning);
    if (HasFailure()) return;
  }
}

TEST_P(OutputParserTest, ByteByByteDeltasRebuildTheResult) {
  const Case& c = GetParam();
  const ParsedOutput whole = parse_output(c.format, c.text, options_for(c));
  OutputParser parser(c.format, options_for(c));
  Rebuilt rebuilt;
  for (char ch : c.text) rebuilt.add(parser.feed(std::string_view(&ch, 1)));
  rebuilt.add(parser.finish());
  expect_same(parser.result(), whole);
  EXPECT_EQ(rebuilt.content, whole.content);
  EXPECT_EQ(rebuilt.reasoning, whole.reasoning);
  std::vector<ToolCall> kept;
  for (const auto& [index, call] : rebuilt.calls) {
    if (std::find(rebuilt.aborted.begin(), rebuilt.aborted.end(), index) == rebuilt.aborted.end()) {
      kept.push_back(call);
    }
  }
  ASSERT_EQ(kept.size(), whole.tool_calls.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].id, whole.tool_calls[i].id);
    EXPECT_EQ(kept[i].name, whole.tool_calls[i].name);
    EXPECT_EQ(kept[i].arguments, whole.tool_calls[i].arguments);
  }
  // Malformed outputs tell the stream which calls they withdrew.
  EXPECT_EQ(rebuilt.aborted.size() + kept.size(), rebuilt.calls.size());
}

INSTANTIATE_TEST_SUITE_P(Families, OutputParserTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(OutputParserStreaming, ContentAndCallsArriveBeforeTheEnd) {
  OutputParser parser(OutputFormat::kHermes);
  EXPECT_EQ(parser.feed("Let me check").content, "Let me check");
  EXPECT_EQ(parser.feed(" both <tool_").content, " both");  // "<tool_" may be a marker
  OutputDelta d = parser.feed("call>\n{\"name\": \"get_weather\", \"arguments\": {\"loc");
  EXPECT_EQ(d.content, "");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].name, "get_weather");
  EXPECT_EQ(d.tool_calls[0].id, "call00001");
  EXPECT_EQ(d.tool_calls[0].arguments, "{\"loc");
  d = parser.feed("ation\": \"Paris\"}}\n</tool_call>");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].name, "");
  EXPECT_EQ(d.tool_calls[0].arguments, "ation\": \"Paris\"}");
  EXPECT_TRUE(parser.finish().empty());
  EXPECT_EQ(parser.result().content, "Let me check both");
}

TEST(OutputParserStreaming, AbortedCallIsReported) {
  OutputParser parser(OutputFormat::kMistral);
  OutputDelta d = parser.feed("[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Pa");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].name, "get_weather");
  d = parser.finish();
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_TRUE(d.tool_calls[0].aborted);
  EXPECT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.content, "[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Pa");
  EXPECT_TRUE(parser.result().tool_calls.empty());
}

TEST(OutputParserStreaming, ToolCallsOffLeavesMarkersAsContent) {
  ParserOptions options;
  options.parse_tool_calls = false;
  std::string text = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";
  ParsedOutput out = parse_output(OutputFormat::kHermes, text, options);
  EXPECT_EQ(out.content, text);
  EXPECT_TRUE(out.tool_calls.empty());
}

TEST(OutputParserStreaming, LongArgumentsStreamInPieces) {
  std::string value(20000, 'x');
  std::string text =
      "<tool_call>{\"name\": \"write\", \"arguments\": {\"text\": \"" + value + "\"}}</tool_call>";
  OutputParser parser(OutputFormat::kHermes);
  std::size_t pieces = 0;
  for (std::size_t i = 0; i < text.size(); i += 7) {
    for (const auto& t : parser.feed(std::string_view(text).substr(i, 7)).tool_calls) {
      pieces += !t.arguments.empty();
    }
  }
  parser.finish();
  ASSERT_EQ(parser.result().tool_calls.size(), 1u);
  EXPECT_GT(pieces, 1000u);
  EXPECT_TRUE(parser.result().tool_calls[0].arguments == "{\"text\": \"" + value + "\"}");
}

TEST(OutputFormatNames, RoundTrip) {
  for (auto format : {OutputFormat::kGeneric, OutputFormat::kHermes, OutputFormat::kQwen3Coder,
                      OutputFormat::kLlama3, OutputFormat::kMistral, OutputFormat::kDeepSeekV3,
                      OutputFormat::kDeepSeekV32, OutputFormat::kGlm4, OutputFormat::kKimiK2,
                      OutputFormat::kGemma3, OutputFormat::kGemma4}) {
    auto back = output_format_from_name(output_format_name(format));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, format);
  }
  EXPECT_EQ(*output_format_from_name("qwen3"), OutputFormat::kHermes);
  EXPECT_FALSE(output_format_from_name("nope").ok());
}

TEST(OutputFormatDetection, PromptOpensReasoning) {
  EXPECT_TRUE(
      prompt_opens_reasoning(OutputFormat::kQwen3Coder, "<|im_start|>assistant\n<think>\n"));
  EXPECT_FALSE(prompt_opens_reasoning(OutputFormat::kQwen3Coder,
                                      "<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  EXPECT_FALSE(prompt_opens_reasoning(OutputFormat::kLlama3, "<think>"));
}

// The markers the engine keeps in generated text where they are control tokens.
TEST(ParserMarkers, ReasoningAlwaysToolCallsOnRequest) {
  using Markers = std::vector<std::string_view>;
  EXPECT_EQ(parser_markers(OutputFormat::kGeneric, true), (Markers{"</think>", "<think>"}));
  EXPECT_EQ(parser_markers(OutputFormat::kLlama3, false), Markers{});
  EXPECT_EQ(parser_markers(OutputFormat::kGemma4, false),
            (Markers{"<channel|>", "<|channel>thought"}));
  EXPECT_EQ(parser_markers(OutputFormat::kGemma4, true),
            (Markers{"<channel|>", "<tool_call|>", "<|\"|>", "<|channel>thought", "<|tool_call>"}));
  EXPECT_EQ(parser_markers(OutputFormat::kMistral, true),
            (Markers{"[/THINK]", "[ARGS]", "[CALL_ID]", "[THINK]", "[TOOL_CALLS]"}));
  EXPECT_EQ(
      parser_markers(OutputFormat::kKimiK2, true),
      (Markers{"</think>", "<think>", "<|tool_call_argument_begin|>", "<|tool_call_begin|>",
               "<|tool_call_end|>", "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"}));
  const Markers deepseek = parser_markers(OutputFormat::kDeepSeekV3, true);
  for (std::string_view marker :
       {"<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>",
        "<｜tool▁calls▁end｜>"}) {
    EXPECT_NE(std::find(deepseek.begin(), deepseek.end(), marker), deepseek.end()) << marker;
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Each family's real template, detected from its source and checked against its rendering of
// the parallel (or single, where the template allows one call only) tool-call conversation:
// the assistant text it renders is what the model writes, so it must parse back to the calls.
struct Golden {
  std::string template_name;
  OutputFormat format;
  std::string case_name;
  std::string begin;  // the assistant text starts after the last of these before `end`
  std::string end;
};

TEST(OutputParserGolden, TemplatesRenderWhatTheParserReads) {
  HEARTH_REQUIRE_TESTDATA(dir, "templates");
  using F = OutputFormat;
  const std::vector<Golden> goldens = {
      {"Qwen-Qwen3-0.6B", F::kHermes, "parallel_tool_calls", "<|im_start|>assistant\n",
       "<|im_end|>\n<|im_start|>user\n<tool_response>"},
      {"Qwen-Qwen2.5-7B-Instruct", F::kHermes, "parallel_tool_calls", "<|im_start|>assistant\n",
       "<|im_end|>\n<|im_start|>user\n<tool_response>"},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", F::kHermes, "parallel_tool_calls",
       "<|im_start|>assistant\n", "<|im_end|>\n<|im_start|>tool"},
      {"Qwen3-Coder", F::kQwen3Coder, "parallel_tool_calls", "<|im_start|>assistant\n",
       "<|im_end|>\n<|im_start|>user\n<tool_response>"},
      {"Qwen3.5-4B", F::kQwen3Coder, "parallel_tool_calls", "<|im_start|>assistant\n",
       "<|im_end|>\n<|im_start|>user\n<tool_response>"},
      {"meta-llama-Llama-3.1-8B-Instruct", F::kLlama3, "tool_call_pending",
       "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|><|start_header_id|>ipython"},
      {"meta-llama-Llama-3.2-3B-Instruct", F::kLlama3, "tool_call_pending",
       "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|><|start_header_id|>ipython"},
      {"Mistral-Small-3.2-24B-Instruct-2506", F::kMistral, "parallel_tool_calls", "[/INST]",
       "</s>[TOOL_RESULTS]"},
      {"mistralai-Mistral-Nemo-Instruct-2407", F::kMistral, "parallel_tool_calls", "[/INST]",
       "</s>[TOOL_RESULTS]"},
      {"mistralai-Ministral-3-14B-Reasoning-2512", F::kMistral, "parallel_tool_calls", "[/INST]",
       "</s>[TOOL_RESULTS]"},
      {"unsloth-mistral-Devstral-Small-2507", F::kMistral, "parallel_tool_calls", "[/INST]",
       "</s>[TOOL_RESULTS]"},
      {"deepseek-ai-DeepSeek-V3.1", F::kDeepSeekV3, "parallel_tool_calls", "<｜Assistant｜>",
       "<｜end▁of▁sentence｜><｜tool▁output▁begin｜>"},
      {"deepseek-ai-DeepSeek-V3.2", F::kDeepSeekV32, "parallel_tool_calls", "<｜Assistant｜>",
       "<｜end▁of▁sentence｜>\n\n<function_results>"},
      {"GLM-4.6", F::kGlm4, "parallel_tool_calls", "<|assistant|>", "<|observation|>"},
      {"GLM-4.7-Flash", F::kGlm4, "parallel_tool_calls", "<|assistant|>", "<|observation|>"},
      {"moonshotai-Kimi-K2", F::kKimiK2, "parallel_tool_calls", "<|im_middle|>",
       "<|im_end|><|im_system|>tool"},
      {"gemma4", F::kGemma4, "parallel_tool_calls", "<|turn>model\n", "<turn|>\n<|turn>tool"},
  };
  for (const auto& g : goldens) {
    SCOPED_TRACE(g.template_name);
    const std::string source = read_file(dir / (g.template_name + ".jinja"));
    EXPECT_EQ(detect_output_format(source), g.format);
    std::ifstream lines(dir / (g.template_name + ".jsonl"));
    std::string line;
    bool found = false;
    while (std::getline(lines, line)) {
      Json test = Json::parse(line);
      if (test["name"] != g.case_name) continue;
      found = true;
      const std::string rendered = test["rendered"].get<std::string>();
      std::size_t end = rendered.find(g.end);
      ASSERT_NE(end, std::string::npos);
      std::size_t begin = rendered.rfind(g.begin, end);
      ASSERT_NE(begin, std::string::npos);
      begin += g.begin.size();
      const std::string text = rendered.substr(begin, end - begin);
      SCOPED_TRACE(text);
      ParsedOutput out = parse_output(g.format, text);
      EXPECT_TRUE(out.warnings.empty());
      Json expected_calls;
      for (const auto& m : test["messages"]) {
        if (m.contains("tool_calls")) expected_calls = m["tool_calls"];
      }
      ASSERT_EQ(out.tool_calls.size(), expected_calls.size());
      for (std::size_t i = 0; i < out.tool_calls.size(); ++i) {
        EXPECT_EQ(out.tool_calls[i].name, expected_calls[i]["function"]["name"]);
        EXPECT_EQ(nlohmann::json::parse(out.tool_calls[i].arguments),
                  nlohmann::json::parse(expected_calls[i]["function"]["arguments"].dump()));
      }
    }
    EXPECT_TRUE(found) << g.case_name;
  }
}

TEST(OutputFormatDetection, TemplatesInTestdata) {
  HEARTH_REQUIRE_TESTDATA(dir, "templates");
  const std::vector<std::pair<std::string, OutputFormat>> expected = {
      {"google-gemma-2-2b-it", OutputFormat::kGemma3},
      {"google-gemma-4-31B-it", OutputFormat::kGemma4},
      {"Kimi-K2-Instruct", OutputFormat::kKimiK2},
      {"Kimi-K2-Thinking", OutputFormat::kKimiK2},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", OutputFormat::kDeepSeekV3},
      {"llama-cpp-deepseek-r1", OutputFormat::kDeepSeekV3},
      {"meta-llama-Llama-3.3-70B-Instruct", OutputFormat::kLlama3},
  };
  for (const auto& [name, format] : expected) {
    EXPECT_EQ(detect_output_format(read_file(dir / (name + ".jinja"))), format) << name;
  }
}

}  // namespace
}  // namespace hearth::chat
