// Grammar-constrained decoding: which tokens keep the output a valid prefix of a Grammar. A
// matcher's state is one id in a shared table of interned pushdown states (sets of rule stacks
// plus a partial UTF-8 character), advanced byte by byte with memoised transitions; masks walk a
// trie over the vocabulary's token bytes once per distinct state and are cached. Token bytes are
// the decoded bytes (byte-level or SentencePiece), so grammar symbols, UTF-8 characters and
// tokens may split anywhere.
//
// Control tokens (and unknown ones) never match text: not literals, classes or `.`, so never
// inside free text such as a JSON string. One is allowed only where the grammar references it:
//  - `<[id]>` is that token; `<text>` / `<"text">` the token whose text that is (a control
//    token's text is its piece; preferring a control token, then the lowest id). Only the token
//    is allowed there, not the same text spelled with other tokens; a grammar wanting both says
//    so: `( <|tool_call> | "<|tool_call>" )`.
//  - Where the vocabulary has no token with that text, `<text>` is the text spelled out as
//    literal characters (llama.cpp refuses such a grammar). One grammar thus serves every
//    vocabulary: the marker is the model's own token where it has one, as its tokenizer would
//    encode the chat template's text, and plain text elsewhere.
//  - `!<...>` is any one ordinary token but that one (never a control or end token).
//  - `<[id]>` outside the vocabulary is an error (GrammarMatcher::create, check_token_ids).
// End-of-generation tokens are allowed when the output is a complete match (and where a
// reference names one).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/sample/constraint.h"
#include "hearth/sample/grammar.h"
#include "hearth/tokenizer/tokenizer.h"

namespace hearth::sample {

// Every token's bytes and a trie over them; built once per vocabulary and shared.
class GrammarVocabulary {
 public:
  // A token either has bytes (matched against the grammar's characters) or is special (control
  // or unknown: `bytes` is then its text, matched only by token references).
  struct Token {
    std::string bytes;
    bool special = false;
  };

  static std::shared_ptr<const GrammarVocabulary> create(std::vector<Token> tokens,
                                                         std::vector<int32_t> end_tokens);
  // Bytes as the tokenizer decodes them; control and unknown tokens are special, unused ones
  // (empty) are never allowed.
  static std::shared_ptr<const GrammarVocabulary> from_tokenizer(
      const tokenizer::Tokenizer& tokenizer, std::vector<int32_t> end_tokens);

  size_t size() const { return tokens_.size(); }
  const Token& token(int32_t id) const { return tokens_[id]; }
  bool is_end(int32_t id) const;
  const std::vector<int32_t>& end_tokens() const { return end_tokens_; }
  // The token whose text is `text`: a special one first, else the lowest id; -1 when none.
  int32_t find(std::string_view text) const;

  // The trie in pre-order: a node's subtree is [index, end); its tokens are
  // order()[token_begin, token_begin + token_count).
  struct Node {
    uint32_t end;
    uint32_t token_begin;
    uint16_t depth;  // 1 for a first byte
    uint16_t token_count;
    uint8_t byte;
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int32_t>& order() const { return order_; }

 private:
  std::vector<Token> tokens_;
  std::vector<int32_t> end_tokens_;
  std::vector<Node> nodes_;
  std::vector<int32_t> order_;     // ordinary tokens (bytes, not an end token), by bytes
  std::vector<int32_t> specials_;  // special token ids, ascending
  uint16_t max_depth_ = 0;
  friend class GrammarEngine;
};

// Every `<[id]>` of `grammar` names a token of `vocab` (errors give the reference's line and
// column). CompiledGrammar::create expects this; GrammarMatcher::create checks it.
Status check_token_ids(const Grammar& grammar, const GrammarVocabulary& vocab);

// The tokens that end generation, each once and in id order: the vocabulary's EOS, EOT and EOM
// (tokenizer.ggml.{eos,eot,eom}_token_id) and the control tokens that chat templates end a turn
// with (<|im_end|>, <|eot_id|>, <end_of_turn>, Gemma 4's <turn|>, ...).
std::vector<int32_t> end_of_generation_tokens(const tokenizer::Tokenizer& tokenizer);

class GrammarEngine;

// A grammar bound to a vocabulary: the interned states, transitions and cached masks that all
// matchers made from it share (thread-safe: one mutex).
class CompiledGrammar {
 public:
  // A `<[id]>` outside the vocabulary (see check_token_ids) matches nothing here.
  static std::shared_ptr<CompiledGrammar> create(Grammar grammar,
                                                 std::shared_ptr<const GrammarVocabulary> vocab);
  ~CompiledGrammar();

  const Grammar& grammar() const;
  const GrammarVocabulary& vocabulary() const;
  GrammarEngine& engine() const { return *engine_; }

 private:
  explicit CompiledGrammar(std::unique_ptr<GrammarEngine> engine);
  std::unique_ptr<GrammarEngine> engine_;
};

class GrammarMatcher final : public TokenConstraint {
 public:
  explicit GrammarMatcher(std::shared_ptr<CompiledGrammar> compiled);
  // Parses `gbnf`, checks its token ids and binds it to `vocab` (a fresh CompiledGrammar, not
  // shared).
  static Result<std::unique_ptr<GrammarMatcher>> create(
      std::string_view gbnf, std::shared_ptr<const GrammarVocabulary> vocab);

  bool allows(int32_t token) const override;
  void mask(std::span<float> logits) const override;
  void accept(int32_t token) override;

  // Advances over raw bytes (text given in the prompt, tests); false, leaving the state
  // unchanged, when they do not continue a valid prefix.
  bool accept_bytes(std::string_view bytes);
  // The output so far is a complete match: an end token may follow.
  bool is_complete() const;
  // An end token was accepted, or the grammar admits nothing more.
  bool is_finished() const;
  void reset();
  std::unique_ptr<GrammarMatcher> clone() const;

 private:
  std::shared_ptr<CompiledGrammar> compiled_;
  int32_t state_;
  bool ended_ = false;
};

}  // namespace hearth::sample
