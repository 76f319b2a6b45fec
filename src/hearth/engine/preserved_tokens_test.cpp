// Preserved tokens: generation without a grammar shows a chat format's marker control tokens
// (Gemma 4's <|tool_call>, Kimi K2's section markers) so that the output parser finds the tool
// call, and keeps hiding the others (end of turn). The model is a crafted tiny Llama whose layers
// add nothing and whose embedding and output rows make greedy decoding follow a fixed chain of
// tokens from the prompt's last token: a teacher-forced reply through the real forward pass,
// sampler, scheduler and Session, with the family's real chat template.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "engine_test_support.h"
#include "hearth/base/files.h"
#include "hearth/chat/output_parser.h"
#include "hearth/engine/chat_completion.h"
#include "hearth/engine/scheduler.h"
#include "hearth/model/synth.h"
#include "hearth/sample/grammar.h"
#include "hearth/sample/tool_call_grammar.h"
#include "testing.h"

namespace hearth::engine {
namespace {

using tokenizer::TokenId;

// One family's case: its template, the control tokens its vocabulary has, and the reply.
struct Family {
  std::string format;         // chat::output_format_name
  std::string template_file;  // under templates/ in the testdata
  std::vector<std::string> controls;
  std::vector<std::string> reply;  // pieces; the last one is an end-of-turn control
};

void PrintTo(const Family& family, std::ostream* os) {
  *os << family.format;
}

const std::vector<Family>& families() {
  static const std::vector<Family> list = {
      {"gemma4",
       "google-gemma-4-31B-it.jinja",
       {"<|turn>", "<turn|>", "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>"},
       {"<|tool_call>", "call", ":", "now", "{", "}", "<tool_call|>", "<turn|>"}},
      {"kimi_k2",
       "Kimi-K2-Instruct.jinja",
       {"<|im_system|>", "<|im_user|>", "<|im_assistant|>", "<|im_middle|>", "<|im_end|>",
        "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>",
        "<|tool_call_argument_begin|>", "<|tool_call_end|>"},
       {"<|tool_calls_section_begin|>", "<|tool_call_begin|>", "functions", ".", "now", ":", "0",
        "<|tool_call_argument_begin|>", "{}", "<|tool_call_end|>", "<|tool_calls_section_end|>",
        "<|im_end|>"}},
  };
  return list;
}

// A tool whose schema no grammar expresses (patternProperties): tool_choice auto then leaves
// generation unconstrained, the case preserved tokens exist for.
const Json kTools = Json::parse(R"([{"type": "function", "function": {"name": "now",
  "parameters": {"type": "object", "patternProperties": {"^x": {"type": "string"}}}}}])");

TokenId find_piece(const tokenizer::Vocab& vocab, std::string_view piece) {
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (vocab.tokens[i] == piece) return static_cast<TokenId>(i);
  }
  return -1;
}

// The tiny Llama's vocabulary with the family's control tokens in its last ids, and the chat
// template at `template_path`.
Result<gguf::Metadata> family_vocab(const std::filesystem::path& base,
                                    const std::filesystem::path& template_path,
                                    const Family& family) {
  HEARTH_ASSIGN_OR_RETURN(gguf::Metadata vocab, model::load_synth_vocab(base));
  HEARTH_RETURN_IF_ERROR(testing::add_control_tokens(vocab, family.controls));
  HEARTH_ASSIGN_OR_RETURN(const std::string chat_template, read_file(template_path));
  vocab.set("tokenizer.chat_template", gguf::Value{chat_template});
  return vocab;
}

// Writes a one-layer Llama over `vocab` whose greedy choice after token chain[i] is chain[i + 1]:
// attention and feed-forward outputs are zero, so the last hidden state is the token's
// embedding; chain[i]'s embedding is the unit vector e_i and chain[i + 1]'s output row is e_i,
// which gives it the only positive logit. Every other embedding is zero.
Status write_chain_model(const gguf::Metadata& vocab, const std::vector<TokenId>& chain,
                         const std::filesystem::path& path) {
  HEARTH_ASSIGN_OR_RETURN(const model::SynthConfig config,
                          model::synth_config_from_dims("llama", "32,1,2,1,16,64"));
  if (chain.size() > static_cast<size_t>(config.d_model)) {
    return make_error("a chain of {} tokens is longer than d_model ({})", chain.size(),
                      config.d_model);
  }
  HEARTH_ASSIGN_OR_RETURN(model::SynthPlan plan,
                          model::plan_synth(config, GgmlType::kF32, vocab, 1));
  const size_t d_model = static_cast<size_t>(config.d_model);
  bool has_output = false;
  for (model::SynthTensor& tensor : plan.tensors) {
    const bool embedding = tensor.name == "token_embd.weight";
    const bool output = tensor.name == "output.weight";
    if (embedding || output) {
      has_output |= output;
      tensor.values.assign(tensor.shape[0] * tensor.shape[1], 0.0f);
      for (size_t i = 0; i + 1 < chain.size(); ++i) {
        const size_t row = static_cast<size_t>(embedding ? chain[i] : chain[i + 1]);
        tensor.values[row * d_model + i] = 1.0f;
      }
    } else if (tensor.name.ends_with("attn_output.weight") ||
               tensor.name.ends_with("ffn_down.weight")) {
      tensor.mean = tensor.std = 0.0f;
    } else if (tensor.name == "output_norm.weight") {
      tensor.mean = 1.0f;
      tensor.std = 0.0f;
    }
  }
  if (!has_output) return make_error("the synthetic Llama has no output.weight");
  return model::write_synth(plan, path, {}, 2);
}

struct Generated {
  std::string session_text;    // through Session::generate
  std::string scheduler_text;  // through the Scheduler
  PreparedChat prepared;
};

class PreservedTokensTest : public ::testing::TestWithParam<Family> {
 protected:
  // Loads the family's crafted model, prepares a chat request (with or without the tool) and
  // generates its reply greedily both ways. ignore_eos: the reply's last token is decoded even
  // where it ends generation (Kimi's <|im_end|>), so that its hiding is checked.
  void generate(bool with_tools, Generated& out) {
    HEARTH_REQUIRE_TESTDATA(base, "models/tiny-llama-f32.gguf");
    HEARTH_REQUIRE_TESTDATA(template_path, "templates/" + GetParam().template_file);
    auto vocab = family_vocab(base, template_path, GetParam());
    ASSERT_TRUE(vocab.ok()) << vocab.error().message();
    // The chain starts at the prompt's last token, and ChatCompletions makes the prompt with an
    // engine: write the model without a chain, prepare, then rewrite it with the chain and load
    // it again (which prepares the same prompt).
    const auto path = hearth::testing::temp_path("preserved-" + GetParam().format + ".gguf");
    ASSERT_TRUE(write_chain_model(*vocab, {}, path).ok());
    auto tokens = tokenizer::Tokenizer::from_metadata(*vocab);
    ASSERT_TRUE(tokens.ok()) << tokens.error().message();
    std::vector<TokenId> reply;
    for (const std::string& piece : GetParam().reply) {
      reply.push_back(find_piece(tokens->vocab(), piece));
      ASSERT_GE(reply.back(), 0) << "no token '" << piece << "'";
    }

    std::unique_ptr<Engine> engine;
    for (int pass = 0; pass < 2; ++pass) {
      auto loaded = Engine::load({.model_path = path, .n_threads = 2, .n_ctx = 1024});
      ASSERT_TRUE(loaded.ok()) << loaded.error().message();
      engine = std::move(*loaded);
      ASSERT_EQ(chat::output_format_name(engine->output_format()), GetParam().format);
      ChatCompletions completions(*engine);
      ChatCompletionRequest request;
      request.messages = Json::parse(R"([{"role": "user", "content": "What time is it?"}])");
      if (with_tools) request.tools = kTools;
      auto prepared = completions.prepare(request);
      ASSERT_TRUE(prepared.ok()) << prepared.error().message();
      out.prepared = std::move(*prepared);
      if (pass == 1) break;
      std::vector<TokenId> chain = {out.prepared.prompt.back()};
      chain.insert(chain.end(), reply.begin(), reply.end());
      for (size_t i = 0; i < chain.size(); ++i) {
        ASSERT_EQ(std::count(chain.begin(), chain.end(), chain[i]), 1)
            << "token " << chain[i] << " twice in the chain: its successor is ambiguous";
      }
      engine.reset();
      const Status written = write_chain_model(*vocab, chain, path);
      ASSERT_TRUE(written.ok()) << written.error().message();
    }
    // Unconstrained: the tool's schema has no grammar.
    ASSERT_EQ(out.prepared.constraint, nullptr);

    GenerateOptions options;
    options.sampling.temperature = 0.0f;
    options.max_tokens = static_cast<int64_t>(reply.size());
    options.ignore_eos = true;
    options.preserved_tokens = out.prepared.preserved_tokens;
    auto session = Session::create(*engine);
    ASSERT_TRUE(session.ok()) << session.error().message();
    auto stats = (*session)->generate(out.prepared.prompt, options, [&](std::string_view text) {
      out.session_text += text;
      return true;
    });
    ASSERT_TRUE(stats.ok()) << stats.error().message();
    ASSERT_EQ(stats->n_generated, static_cast<int64_t>(reply.size()));
    ASSERT_EQ((*session)->tokens().size(), out.prepared.prompt.size() + reply.size() - 1);
    EXPECT_TRUE(std::equal(reply.begin(), reply.end() - 1,
                           (*session)->tokens().begin() + out.prepared.prompt.size()))
        << "the crafted model did not follow its chain";

    auto scheduler = Scheduler::create(*engine, {});
    ASSERT_TRUE(scheduler.ok()) << scheduler.error().message();
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    GenerationRequest request;
    request.prompt = out.prepared.prompt;
    request.max_tokens = options.max_tokens;
    request.sampling = options.sampling;
    request.ignore_eos = true;
    request.preserved_tokens = out.prepared.preserved_tokens;
    request.on_text = [&](std::string_view text) {
      out.scheduler_text += text;
      return true;
    };
    request.on_done = [&](const Result<GenerationStats>& result) {
      EXPECT_TRUE(result.ok()) << result.error().message();
      std::lock_guard lock(mutex);
      finished = true;
      done.notify_one();
    };
    const Submitted submitted = (*scheduler)->submit(std::move(request));
    ASSERT_EQ(submitted.admission, Admission::kAccepted) << submitted.message;
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return finished; });
  }

  // The reply as text, without its last (end-of-turn) token; the family's control tokens shown
  // or not.
  std::string expected_text(bool markers_shown) const {
    std::string text;
    const Family& family = GetParam();
    for (size_t i = 0; i + 1 < family.reply.size(); ++i) {
      const std::string& piece = family.reply[i];
      const bool control =
          std::find(family.controls.begin(), family.controls.end(), piece) != family.controls.end();
      if (!control || markers_shown) text += piece;
    }
    return text;
  }
};

TEST_P(PreservedTokensTest, ToolCallWithoutGrammarIsParsed) {
  Generated out;
  generate(/*with_tools=*/true, out);
  if (HasFatalFailure() || IsSkipped()) return;
  // The markers are shown, the end-of-turn token after them is not.
  EXPECT_EQ(out.session_text, expected_text(true));
  EXPECT_EQ(out.scheduler_text, out.session_text);
  const chat::ParsedOutput parsed =
      chat::parse_output(out.prepared.format, out.session_text, out.prepared.parser_options);
  EXPECT_TRUE(parsed.warnings.empty()) << parsed.warnings.front();
  EXPECT_EQ(parsed.content, "");
  ASSERT_EQ(parsed.tool_calls.size(), 1u) << out.session_text;
  EXPECT_EQ(parsed.tool_calls[0].name, "now");
  EXPECT_EQ(parsed.tool_calls[0].arguments, "{}");
}

TEST_P(PreservedTokensTest, WithoutToolsMarkersStayHidden) {
  Generated out;
  generate(/*with_tools=*/false, out);
  if (HasFatalFailure() || IsSkipped()) return;
  EXPECT_EQ(out.session_text, expected_text(false));
  EXPECT_EQ(out.scheduler_text, out.session_text);
  const chat::ParsedOutput parsed =
      chat::parse_output(out.prepared.format, out.session_text, out.prepared.parser_options);
  EXPECT_TRUE(parsed.tool_calls.empty());
}

INSTANTIATE_TEST_SUITE_P(Families, PreservedTokensTest, ::testing::ValuesIn(families()),
                         [](const ::testing::TestParamInfo<Family>& info) {
                           return info.param.format;
                         });

// Every token a tool-call grammar references is a marker the parser reads, so the preserved
// tokens of a family include every control token its grammar makes the model write.
TEST(PreservedTokens, CoverEveryGrammarTokenReference) {
  const Json tools = Json::parse(R"([{"type": "function", "function": {"name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                   "days": {"type": "integer"}}, "required": ["city"]}}}])");
  size_t n_references = 0;
  for (const std::string_view format : {"hermes", "qwen3_coder", "llama3", "mistral", "deepseek_v3",
                                        "deepseek_v3_2", "glm4", "kimi_k2", "gemma3", "gemma4"}) {
    SCOPED_TRACE(format);
    const chat::OutputFormat output_format = chat::output_format_from_name(format).value();
    const std::vector<std::string_view> markers = chat::parser_markers(output_format, true);
    for (const sample::ToolChoice choice :
         {sample::ToolChoice::kRequired, sample::ToolChoice::kAuto}) {
      auto gbnf = sample::tool_call_grammar(tools, format, {.choice = choice, .parallel = true});
      ASSERT_TRUE(gbnf.ok()) << gbnf.error().message();
      auto grammar = sample::Grammar::parse(*gbnf);
      ASSERT_TRUE(grammar.ok()) << grammar.error().message();
      n_references += grammar->tokens().size();
      for (const sample::TokenReference& reference : grammar->tokens()) {
        EXPECT_NE(std::find(markers.begin(), markers.end(), reference.text), markers.end())
            << "the grammar references '" << reference.text << "', which the parser never reads";
      }
    }
  }
  EXPECT_GT(n_references, 20u);
}

}  // namespace
}  // namespace hearth::engine
