// Token references in grammars (`<[id]>`, `<text>`, `<"text">`, `!<...>`): the parser's forms and
// errors, and the matcher on a hand-written vocabulary with control tokens: a control token is
// allowed exactly where a reference names it (never in literals, classes or `.`), a reference
// allows only its token, a reference the vocabulary cannot fill is spelled out, and masks agree
// with allows().
#include <gtest/gtest.h>

#include <cmath>

#include "hearth/sample/grammar.h"
#include "hearth/sample/grammar_matcher.h"

namespace hearth::sample {
namespace {

std::string parse_error(std::string_view text) {
  auto g = Grammar::parse(text);
  return g.ok() ? std::string("(parsed)") : g.error().message();
}

// Ids of the test vocabulary.
enum : int32_t {
  kA,
  kB,
  kQuote,
  kLess,
  kBar,
  kToolCall,  // "tool_call"
  kGreater,
  kAb,
  kToolCallControl,  // <|tool_call> (control)
  kStringControl,    // <|"|> (control)
  kBracketControl,   // [TOOL_CALLS] (control)
  kEnd,              // </s> (control, end of generation)
  kVocabSize
};

std::shared_ptr<const GrammarVocabulary> control_vocab() {
  std::vector<GrammarVocabulary::Token> tokens = {{"a"},
                                                  {"b"},
                                                  {"\""},
                                                  {"<"},
                                                  {"|"},
                                                  {"tool_call"},
                                                  {">"},
                                                  {"ab"},
                                                  {"<|tool_call>", true},
                                                  {"<|\"|>", true},
                                                  {"[TOOL_CALLS]", true},
                                                  {"</s>", true}};
  return GrammarVocabulary::create(std::move(tokens), {kEnd});
}

std::unique_ptr<GrammarMatcher> matcher(std::string_view gbnf) {
  auto m = GrammarMatcher::create(gbnf, control_vocab());
  EXPECT_TRUE(m.ok()) << m.error().message();
  return m.ok() ? std::move(*m) : nullptr;
}

// The tokens the mask leaves, checked against allows() token by token.
std::vector<int32_t> allowed(const GrammarMatcher& m) {
  std::vector<float> logits(kVocabSize, 0.0f);
  m.mask(logits);
  std::vector<int32_t> out;
  for (int32_t t = 0; t < kVocabSize; ++t) {
    EXPECT_EQ(std::isfinite(logits[t]), m.allows(t)) << "token " << t;
    if (std::isfinite(logits[t])) out.push_back(t);
  }
  return out;
}

using Ids = std::vector<int32_t>;

TEST(GrammarTokenParse, Forms) {
  auto g = Grammar::parse(
      "root ::= <[12]> <|tool_call> <\"[TOOL_CALLS]\"> !<[3]> !<|\"|> <\"\\u00e9\\n\">{2} "
      "(<a> | \"x\")*");
  ASSERT_TRUE(g.ok()) << g.error().message();
  const auto& refs = g->tokens();
  ASSERT_EQ(refs.size(), 7u);  // a repetition copies the element, not the reference
  EXPECT_EQ(refs[0].id, 12);
  EXPECT_EQ(refs[1].text, "<|tool_call>");
  EXPECT_EQ(refs[2].text, "[TOOL_CALLS]");
  EXPECT_EQ(refs[3].id, 3);
  EXPECT_EQ(refs[4].text, "<|\"|>");
  EXPECT_EQ(refs[5].text, "é\n");
  EXPECT_EQ(refs[6].text, "<a>");
  EXPECT_EQ(refs[1].where, "line 1, column 17");
  EXPECT_EQ(g->max_bytes(), std::nullopt);
  // A reference by text counts its text's bytes (the spelled-out fallback), by id one token.
  EXPECT_EQ(Grammar::parse("root ::= <[7]> <|tool_call> !<ab>").value().max_bytes(), 14u);
}

TEST(GrammarTokenParse, ErrorsNameLineAndColumn) {
  EXPECT_EQ(parse_error("root ::= \"a\"\n  | <[x]>"),
            "grammar line 2, column 7: expected a token id in '<[id]>'");
  EXPECT_EQ(parse_error("root ::= <[12>"),
            "grammar line 1, column 14: expected ']>' after the token id");
  EXPECT_EQ(parse_error("root ::= <[99999999999]>"),
            "grammar line 1, column 12: token id out of range");
  EXPECT_EQ(parse_error("root ::= <|tool_call\nx ::= \"a\""),
            "grammar line 1, column 10: unterminated token reference (no '>')");
  EXPECT_EQ(parse_error("root ::= \"a\" <\"\">"),
            "grammar line 1, column 14: empty token text in '<\"\">'");
  EXPECT_EQ(parse_error("root ::= <\"ab\" >"),
            "grammar line 1, column 15: expected '>' after the token text");
  EXPECT_EQ(parse_error("root ::= <\"ab"),
            "grammar line 1, column 10: unterminated token text in '<\"...\">'");
  EXPECT_EQ(parse_error("root ::= ! \"a\""),
            "grammar line 1, column 10: unexpected '!' in rule 'root'");
  // Ids are checked against the vocabulary when the grammar is bound.
  auto m = GrammarMatcher::create("root ::= \"a\"\n  | <[40]>", control_vocab());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message(),
            "grammar line 2, column 5: token id 40 is not in the vocabulary (12 tokens)");
}

TEST(GrammarTokenMatch, ControlTokenOnlyWhereReferenced) {
  auto m = matcher("root ::= <|tool_call> \"a\" [^\"]* \"\\\"\"");
  ASSERT_NE(m, nullptr);
  // Only the token: not the same text spelled out, nor its first byte.
  EXPECT_EQ(allowed(*m), Ids({kToolCallControl}));
  EXPECT_FALSE(m->allows(kLess));
  EXPECT_FALSE(m->accept_bytes("<|tool_call>"));
  m->accept(kToolCallControl);
  EXPECT_EQ(allowed(*m), Ids({kA, kAb}));
  m->accept(kA);
  // Free text: every ordinary token but the closing quote's is fine, no control token ever.
  EXPECT_EQ(allowed(*m), Ids({kA, kB, kQuote, kLess, kBar, kToolCall, kGreater, kAb}));
  m->accept(kQuote);
  EXPECT_TRUE(m->is_complete());
  EXPECT_EQ(allowed(*m), Ids({kEnd}));
}

TEST(GrammarTokenMatch, LiteralTextNeverAllowsTheControlToken) {
  auto m = matcher("root ::= \"<|tool_call>\" | .*");
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(m->allows(kToolCallControl));
  EXPECT_FALSE(m->allows(kStringControl));
  EXPECT_TRUE(m->allows(kLess));
  EXPECT_TRUE(m->accept_bytes("<|tool_call>"));
}

TEST(GrammarTokenMatch, TokenOrTextWhenTheGrammarSaysSo) {
  auto m = matcher("root ::= ( <|tool_call> | \"<|tool_call>\" ) \"b\"");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(allowed(*m), Ids({kLess, kToolCallControl}));
  auto spelled = m->clone();
  ASSERT_TRUE(spelled->accept_bytes("<|tool_call>"));
  m->accept(kToolCallControl);
  EXPECT_EQ(allowed(*m), Ids({kB}));
  EXPECT_EQ(allowed(*spelled), Ids({kB}));
}

TEST(GrammarTokenMatch, ReferenceTheVocabularyLacksIsSpelledOut) {
  // No token has the text <|tool_call_end|> or "b|": their text is matched as characters.
  auto m = matcher("root ::= <|tool_call_end|> <\"b|\">");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(allowed(*m), Ids({kLess}));
  EXPECT_TRUE(m->accept_bytes("<|tool_call_end|>b|"));
  EXPECT_TRUE(m->is_complete());
}

TEST(GrammarTokenMatch, ReferencesByIdAndQuotedText) {
  auto m = matcher("root ::= <\"[TOOL_CALLS]\"> <[1]> <|\"|>");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(allowed(*m), Ids({kBracketControl}));
  m->accept(kBracketControl);
  EXPECT_EQ(allowed(*m), Ids({kB}));
  m->accept(kB);
  EXPECT_EQ(allowed(*m), Ids({kStringControl}));
  m->accept(kStringControl);
  EXPECT_EQ(allowed(*m), Ids({kEnd}));
}

TEST(GrammarTokenMatch, ReferenceToAnOrdinaryTokenAllowsOnlyThatToken) {
  // "ab" is one token: the reference takes it, not "a" then "b"; the literal beside it reads
  // the same token as bytes, and both readings continue.
  auto m = matcher("root ::= <\"ab\"> \"a\" | \"ab\" \"b\"");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(allowed(*m), Ids({kA, kAb}));
  m->accept(kAb);
  EXPECT_EQ(allowed(*m), Ids({kA, kB}));
  auto by_bytes = m->clone();
  m->accept(kA);
  EXPECT_TRUE(m->is_complete());
  by_bytes->accept(kB);
  EXPECT_TRUE(by_bytes->is_complete());
  // Spelled with two tokens, only the literal's reading is left.
  auto spelled = matcher("root ::= <\"ab\"> \"a\" | \"ab\" \"b\"");
  spelled->accept(kA);
  spelled->accept(kB);
  EXPECT_EQ(allowed(*spelled), Ids({kB}));
}

TEST(GrammarTokenMatch, NegatedReferenceIsAnyOrdinaryTokenButOne) {
  auto m = matcher("root ::= !<\"a\">{2} <|tool_call>");
  ASSERT_NE(m, nullptr);
  const Ids others = {kB, kQuote, kLess, kBar, kToolCall, kGreater, kAb};
  EXPECT_EQ(allowed(*m), others);
  m->accept(kToolCall);  // a whole token, whatever its length
  EXPECT_EQ(allowed(*m), others);
  m->accept(kLess);
  EXPECT_EQ(allowed(*m), Ids({kToolCallControl}));
  // Two negations at one place exclude nothing that the other allows.
  auto both = matcher("root ::= !<[0]> | !<[1]>");
  ASSERT_NE(both, nullptr);
  EXPECT_EQ(allowed(*both), Ids({kA, kB, kQuote, kLess, kBar, kToolCall, kGreater, kAb}));
}

TEST(GrammarTokenMatch, EndTokensStillNeedACompleteMatch) {
  auto m = matcher("root ::= <|tool_call>?");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(allowed(*m), Ids({kToolCallControl, kEnd}));
  m->accept(kToolCallControl);
  EXPECT_EQ(allowed(*m), Ids({kEnd}));
  m->accept(kEnd);
  EXPECT_TRUE(m->is_finished());
}

TEST(GrammarTokenMatch, EndTokenWithBytesNeverContinuesText) {
  // An end token that a vocabulary types as ordinary text ("\n" here) ends generation only.
  auto vocab = GrammarVocabulary::create({{"a"}, {"\n"}}, {1});
  auto m = GrammarMatcher::create("root ::= \"a\\na\" | \"a\"{2}", vocab);
  ASSERT_TRUE(m.ok()) << m.error().message();
  (*m)->accept(0);
  std::vector<float> logits(2, 0.0f);
  (*m)->mask(logits);
  EXPECT_TRUE(std::isfinite(logits[0]));
  EXPECT_FALSE(std::isfinite(logits[1]));
  EXPECT_FALSE((*m)->allows(1));
  (*m)->accept(0);
  EXPECT_TRUE((*m)->allows(1));
}

}  // namespace
}  // namespace hearth::sample
