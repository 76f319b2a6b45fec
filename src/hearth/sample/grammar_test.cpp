// GBNF parser and matcher tests: valid grammars and the errors (with line and column) of invalid
// ones; the matcher on hand-written vocabularies, including UTF-8 characters split across tokens,
// end tokens and control tokens; mask() against allows() over whole vocabularies; and the token
// bytes of real vocabularies against what the tokenizer decodes.
#include "hearth/sample/grammar.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hearth/base/utf8.h"
#include "hearth/gguf/gguf.h"
#include "hearth/sample/grammar_matcher.h"
#include "hearth/tokenizer/tokenizer.h"
#include "hearth/tokenizer/vocab.h"
#include "testing.h"

namespace hearth::sample {
namespace {

std::string parse_error(std::string_view text) {
  auto g = Grammar::parse(text);
  return g.ok() ? std::string("(parsed)") : g.error().message();
}

// Whole-string acceptance through the byte-level matcher (a vocabulary of single bytes).
std::shared_ptr<const GrammarVocabulary> byte_vocab() {
  std::vector<GrammarVocabulary::Token> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back({std::string(1, static_cast<char>(b))});
  tokens.push_back({"", true});  // 256: end
  return GrammarVocabulary::create(std::move(tokens), {256});
}

bool full_match(std::string_view gbnf, std::string_view text) {
  auto m = GrammarMatcher::create(gbnf, byte_vocab());
  EXPECT_TRUE(m.ok()) << m.error().message();
  if (!m.ok()) return false;
  return (*m)->accept_bytes(text) && (*m)->is_complete();
}

bool prefix_ok(std::string_view gbnf, std::string_view text) {
  auto m = GrammarMatcher::create(gbnf, byte_vocab());
  EXPECT_TRUE(m.ok()) << m.error().message();
  return m.ok() && (*m)->accept_bytes(text);
}

TEST(GrammarParse, ValidSyntax) {
  const char* grammars[] = {
      "root ::= \"a\"",
      "root ::= [a-z]+ \"x\"? [^0-9]* . # comment\n",
      "# leading comment\nroot ::= a | b\na ::= \"a\"\nb ::= (\"b\" | \"c\")*\n",
      "root ::=\n  \"{\" ws (\n    \"x\" ws\n  )? \"}\"\nws ::= [ \\t\\n]*",
      "root ::= \"a\"{3} \"b\"{1,} \"c\"{0,2} \"d\"{2,4}",
      "root ::= \"\\x41\\u00e9\\U0001F600\\n\\t\\\\\\\"\" [\\]\\[-]",
      "root ::= x\n     | y\nx ::= \"x\"\ny ::= \"y\"",
      "root ::= ( | \"a\")",
      "root ::= \"é→😀\" [α-ω]",
      "root-rule ::= \"a\"\nroot ::= root-rule under_score\nunder_score ::= \"b\"",
  };
  for (const char* text : grammars) {
    auto g = Grammar::parse(text);
    EXPECT_TRUE(g.ok()) << text << "\n" << g.error().message();
  }
}

TEST(GrammarParse, ErrorsNameLineAndColumn) {
  EXPECT_EQ(parse_error("root ::= \"a\"\nfoo \"b\""),
            "grammar line 2, column 5: expected '::=' after the rule name");
  EXPECT_EQ(parse_error("root ::= \"abc"),
            "grammar line 1, column 10: unterminated string literal");
  EXPECT_EQ(parse_error("root ::= [a-z"),
            "grammar line 1, column 10: unterminated character class");
  EXPECT_EQ(parse_error("root ::= [z-a]"),
            "grammar line 1, column 13: character range ends before it starts");
  EXPECT_EQ(parse_error("root ::= \"a\"\n  x ::= \"b\" \n\nroot2 ::= missing"),
            "grammar line 4, column 11: rule 'missing' is used but never defined");
  EXPECT_EQ(parse_error("root ::= (\"a\" \"b\""),
            "grammar line 1, column 18: expected ')' to close the group");
  EXPECT_EQ(parse_error("root ::= * \"a\""),
            "grammar line 1, column 10: '*' has nothing before it to repeat");
  EXPECT_EQ(parse_error("root ::= \"a\"{2,1}"),
            "grammar line 1, column 16: '{m,n}' with n below m");
  EXPECT_EQ(parse_error("root ::= \"\\q\""), "grammar line 1, column 11: unknown escape '\\q'");
  EXPECT_EQ(parse_error("root ::= \"a\" )"),
            "grammar line 1, column 14: unexpected ')' in rule 'root'");
  EXPECT_EQ(parse_error("a ::= \"x\""), "grammar has no 'root' rule");
  EXPECT_EQ(parse_error(""), "grammar is empty (it needs a 'root' rule)");
  EXPECT_EQ(parse_error("root ::= \"a\"\nroot ::= \"b\""),
            "grammar line 2, column 1: rule 'root' is defined twice (first at line 1, column 1)");
  EXPECT_EQ(parse_error("root ::= \"a\"{99999}"),
            "grammar line 1, column 14: repetition count above 10000");
}

TEST(GrammarParse, LeftRecursionIsReported) {
  EXPECT_EQ(parse_error("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]"),
            "grammar line 2, column 1: rule 'expr' is left-recursive (expr -> expr); a rule may "
            "not begin with itself, also through rules or repetitions that can match nothing");
  // Indirect, through a nullable prefix.
  const std::string indirect =
      parse_error("root ::= a\na ::= opt b \"x\"\nb ::= a | \"y\"\nopt ::= \"o\"?");
  EXPECT_NE(indirect.find("left-recursive (a -> b -> a)"), std::string::npos) << indirect;
  // A repetition of something that can match nothing loops the same way.
  EXPECT_NE(parse_error("root ::= (\"a\"?)*").find("left-recursive"), std::string::npos);
  // Right recursion is fine.
  EXPECT_TRUE(Grammar::parse("root ::= \"a\" root | \"b\"").ok());
}

TEST(GrammarParse, MaxBytes) {
  auto max_bytes = [](std::string_view text) { return Grammar::parse(text).value().max_bytes(); };
  EXPECT_EQ(max_bytes("root ::= \"ab\" [a-z]{0,3} \"é\"? | \"x\""), 7u);
  EXPECT_EQ(max_bytes("root ::= [^a] w\nw ::= \"\" | [\\U0001F600]"), 8u);
  EXPECT_EQ(max_bytes("root ::= \"a\"*"), std::nullopt);
  EXPECT_EQ(max_bytes("root ::= \"(\" root \")\" | \"\""), std::nullopt);
}

TEST(GrammarMatch, Language) {
  const char* kList = "root ::= \"[\" (item (\",\" item)*)? \"]\"\nitem ::= [0-9]+";
  EXPECT_TRUE(full_match(kList, "[]"));
  EXPECT_TRUE(full_match(kList, "[1,22,333]"));
  EXPECT_FALSE(full_match(kList, "[1,]"));
  EXPECT_TRUE(prefix_ok(kList, "[1,"));
  EXPECT_FALSE(prefix_ok(kList, "[,"));

  const char* kCounts = "root ::= \"a\"{2} \"b\"{1,} \"c\"{0,2}";
  EXPECT_TRUE(full_match(kCounts, "aab"));
  EXPECT_TRUE(full_match(kCounts, "aabbbcc"));
  EXPECT_FALSE(full_match(kCounts, "aabccc"));
  EXPECT_FALSE(full_match(kCounts, "ab"));

  const char* kClasses = "root ::= [^a-c\\n] [a-c]? .";
  EXPECT_TRUE(full_match(kClasses, "dz"));
  EXPECT_TRUE(full_match(kClasses, "é😀"));
  EXPECT_FALSE(full_match(kClasses, "az"));
  EXPECT_FALSE(full_match(kClasses, "\nz"));

  // Ambiguous alternatives and nullable rules.
  const char* kAmbiguous = "root ::= x x\nx ::= \"a\"* | \"ab\"";
  EXPECT_TRUE(full_match(kAmbiguous, "aaab"));
  EXPECT_TRUE(full_match(kAmbiguous, ""));
  EXPECT_FALSE(full_match(kAmbiguous, "abb"));
}

TEST(GrammarMatch, Utf8SplitAcrossTokens) {
  // "é" is C3 A9; "→" is E2 86 92; "😀" is F0 9F 98 80.
  std::vector<GrammarVocabulary::Token> tokens = {
      {"\xC3"},     {"\xA9"},     {"\xE2\x86"}, {"\x92!"},
      {"\xF0"},     {"\x9F\x98"}, {"\x80"},     {"\xC3\xA8"},  // è
      {"", true},                                              // 8: end
      {"", true},                                              // 9: another control token
      {"\xED\xA0"},  // a surrogate's lead: never valid UTF-8
  };
  auto vocab = GrammarVocabulary::create(tokens, {8});
  auto m = GrammarMatcher::create("root ::= [é-é] \"→!\" [😀-😀]", vocab);
  ASSERT_TRUE(m.ok()) << m.error().message();
  GrammarMatcher& g = **m;
  EXPECT_TRUE(g.allows(0));
  EXPECT_FALSE(g.allows(7));  // è: complete but wrong
  EXPECT_FALSE(g.allows(10));
  EXPECT_FALSE(g.allows(8));
  EXPECT_FALSE(g.allows(9));
  g.accept(0);
  EXPECT_TRUE(g.allows(1));
  EXPECT_FALSE(g.allows(0));
  g.accept(1);
  EXPECT_TRUE(g.allows(2));
  g.accept(2);
  EXPECT_TRUE(g.allows(3));
  g.accept(3);
  EXPECT_FALSE(g.is_complete());
  EXPECT_TRUE(g.allows(4));
  g.accept(4);
  EXPECT_TRUE(g.allows(5));
  g.accept(5);
  std::vector<float> logits(tokens.size(), 0.0f);
  g.mask(logits);
  for (size_t t = 0; t < logits.size(); ++t) EXPECT_EQ(std::isfinite(logits[t]), t == 6) << t;
  g.accept(6);
  EXPECT_TRUE(g.is_complete());
  EXPECT_TRUE(g.is_finished());
  EXPECT_TRUE(g.allows(8));
  EXPECT_FALSE(g.allows(9));
  g.accept(8);
  EXPECT_FALSE(g.allows(8));
}

TEST(GrammarMatch, PartialCharacterMustFitTheClass) {
  // Only 2-byte characters below U+0100 (lead C2 or C3) fit [\u0080-\u00ff].
  std::vector<GrammarVocabulary::Token> tokens = {{"\xC3"}, {"\xC4"}, {"\xE0"}, {"\xC3\xBF"}};
  auto m =
      GrammarMatcher::create("root ::= [\\u0080-\\u00ff]", GrammarVocabulary::create(tokens, {}));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE((*m)->allows(0));
  EXPECT_FALSE((*m)->allows(1));
  EXPECT_FALSE((*m)->allows(2));
  EXPECT_TRUE((*m)->allows(3));
  // Negated: anything but U+00E9, so a lone C3 still may become another character.
  auto n = GrammarMatcher::create("root ::= [^é]", GrammarVocabulary::create(tokens, {}));
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE((*n)->allows(0));
  EXPECT_TRUE((*n)->allows(2));
}

// Checks mask() against allows() for every token after each accepted token.
void expect_mask_matches_allows(GrammarMatcher& m, size_t n_vocab) {
  std::vector<float> logits(n_vocab, 1.0f);
  m.mask(logits);
  for (size_t t = 0; t < n_vocab; ++t) {
    ASSERT_EQ(std::isfinite(logits[t]), m.allows(static_cast<int32_t>(t))) << "token " << t;
  }
}

TEST(GrammarMatch, MaskAgreesWithAllowsOnRandomVocabulary) {
  std::mt19937 rng(7);
  const std::string alphabet = "ab{}[]\",: 0123456789\\\xC3\xA9\xE2\x86\x92";
  std::vector<GrammarVocabulary::Token> tokens;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes;
    const int len = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < len; ++k) bytes.push_back(alphabet[rng() % alphabet.size()]);
    tokens.push_back({bytes});
  }
  tokens.push_back({"", true});
  const int32_t end = static_cast<int32_t>(tokens.size() - 1);
  auto vocab = GrammarVocabulary::create(tokens, {end});
  const char* kGrammar =
      "root ::= obj\nobj ::= \"{\" (pair (\",\" pair)*)? \"}\"\n"
      "pair ::= str \":\" ws val\nval ::= str | num | obj | \"[\" (val (\",\" val)*)? \"]\"\n"
      "str ::= \"\\\"\" ([^\"\\\\] | \"\\\\\" [\"\\\\])* \"\\\"\"\nnum ::= [0-9]{1,4}\nws ::= \" "
      "\"?";
  for (int seed = 0; seed < 20; ++seed) {
    auto m = GrammarMatcher::create(kGrammar, vocab);
    ASSERT_TRUE(m.ok()) << m.error().message();
    std::mt19937 pick(seed);
    for (int step = 0; step < 40 && !(*m)->is_finished(); ++step) {
      expect_mask_matches_allows(**m, tokens.size());
      std::vector<float> logits(tokens.size());
      for (float& l : logits) l = std::uniform_real_distribution<float>(0, 1)(pick);
      (*m)->mask(logits);
      const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
      if (!std::isfinite(logits[best])) break;
      if (best == end) break;
      (*m)->accept(static_cast<int32_t>(best));
    }
  }
}

// The bytes the matcher uses for each token are what the tokenizer decodes.
void check_token_bytes(const std::filesystem::path& gguf) {
  auto tok = tokenizer::Tokenizer::from_gguf(gguf);
  ASSERT_TRUE(tok.ok()) << tok.error().message();
  auto vocab = GrammarVocabulary::from_tokenizer(*tok, end_of_generation_tokens(*tok));
  ASSERT_EQ(vocab->size(), tok->n_vocab());
  EXPECT_FALSE(vocab->end_tokens().empty());
  size_t checked = 0;
  for (size_t i = 0; i < vocab->size(); i += 7) {
    const auto& t = vocab->token(static_cast<int32_t>(i));
    if (t.special || t.bytes.empty() || !utf8::is_valid(t.bytes)) continue;
    // Decoded after a neutral first token, so a SentencePiece leading space is not stripped.
    const int32_t ids[] = {static_cast<int32_t>(i)};
    auto text = tok->decode(ids, {});
    ASSERT_TRUE(text.ok());
    // (SentencePiece drops the leading space of a reply's first token, which may be all of it.)
    if (t.bytes.size() == text->size() + 1 && t.bytes[0] == ' ') {
      EXPECT_EQ(t.bytes.substr(1), *text) << i;
    } else {
      EXPECT_EQ(t.bytes, *text) << i;
    }
    ++checked;
  }
  EXPECT_GT(checked, vocab->size() / 20);
}

// Generation ends at the vocabulary's eos, eot and eom ids and at the control tokens chat
// templates close a turn with (Gemma 4's <turn|> among them), each once; not at other control
// tokens, nor at a normal token spelled like an end.
TEST(EndOfGeneration, EosEotEomAndTurnEnds) {
  // A byte-level vocabulary: the 256 byte tokens, then these.
  const std::vector<std::pair<std::string, int32_t>> extra = {
      {"<|turn>", 3}, {"<turn|>", 3}, {"<eos>", 3}, {"<x>", 3}, {"<y>", 3}, {"<|im_end|>", 1}};
  gguf::Array texts{gguf::ValueType::kString, {}}, types{gguf::ValueType::kInt32, {}};
  for (int byte = 0; byte < 256; ++byte) {
    texts.items.push_back(
        gguf::Value{utf8::encode(tokenizer::byte_to_char(static_cast<uint8_t>(byte)))});
    types.items.push_back(gguf::Value{int32_t{1}});
  }
  for (const auto& [text, type] : extra) {
    texts.items.push_back(gguf::Value{text});
    types.items.push_back(gguf::Value{type});
  }
  gguf::Metadata metadata;
  metadata.set("tokenizer.ggml.model", gguf::Value{std::string("gpt2")});
  metadata.set("tokenizer.ggml.tokens", gguf::Value{std::move(texts)});
  metadata.set("tokenizer.ggml.token_type", gguf::Value{std::move(types)});
  metadata.set("tokenizer.ggml.merges", gguf::Value{gguf::Array{gguf::ValueType::kString, {}}});
  metadata.set("tokenizer.ggml.eos_token_id", gguf::Value{uint32_t{258}});
  metadata.set("tokenizer.ggml.eot_token_id", gguf::Value{uint32_t{259}});
  metadata.set("tokenizer.ggml.eom_token_id", gguf::Value{uint32_t{258}});
  auto tokenizer = tokenizer::Tokenizer::from_metadata(metadata);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  EXPECT_EQ(end_of_generation_tokens(*tokenizer), (std::vector<int32_t>{257, 258, 259}));
}

TEST(GrammarVocabulary, TokenBytesMatchDecodingQwen3) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  check_token_bytes(model);
}

TEST(GrammarVocabulary, TokenBytesMatchDecodingGemma3) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-gemma3-f16.gguf");
  check_token_bytes(model);
}

TEST(GrammarVocabulary, TokenBytesMatchDecodingLlama2) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-llama-f32.gguf");
  check_token_bytes(model);
}

}  // namespace
}  // namespace hearth::sample
