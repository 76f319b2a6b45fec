// The tokenizer: text → token ids → text over one Vocab (vocab.h), from a GGUF file or a
// tokenizer.json. Encoding: added/special tokens split out first, then per fragment NFC (where the
// vocabulary asks), pre-tokenizer regexes and byte-level BPE by merge rank, or SentencePiece-style
// BPE by score with <0xNN> byte fallback; BOS/EOS as the vocabulary says. Decoding renders pieces
// and never emits a partial UTF-8 sequence when streaming. Chat templates live in `chat`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"
#include "hearth/tokenizer/vocab.h"

namespace hearth::tokenizer {

struct EncodeOptions {
  bool add_special = true;     // BOS/EOS where the vocabulary adds them
  bool parse_special = false;  // control-token spellings in the text become those tokens
};

struct DecodeOptions {
  bool special = true;  // render control tokens (<|im_start|>, <s>); hidden when false
  // Control tokens rendered even when `special` is false: a chat format's markers that its
  // output parser must see (Gemma 4's <|tool_call>, Mistral's [TOOL_CALLS]), while the others
  // (end of turn, role headers) stay hidden. llama.cpp calls them preserved tokens.
  std::vector<TokenId> preserved = {};
  // SentencePiece's dummy prefix: drop the space the first piece starts with (decoding a whole
  // text). False when the pieces continue a prompt (generation), where that space is real.
  bool strip_leading_space = true;
};

class Tokenizer {
 public:
  static Result<Tokenizer> from_metadata(const gguf::Metadata& metadata);
  static Result<Tokenizer> from_gguf(const std::filesystem::path& path);
  static Result<Tokenizer> from_hf(const std::filesystem::path& tokenizer_json);
  // A .gguf file, a tokenizer.json, or a directory holding tokenizer.json.
  static Result<Tokenizer> open(const std::filesystem::path& path);

  // Errors: text that is not valid UTF-8 (naming the byte offset).
  Result<std::vector<TokenId>> encode(std::string_view text, const EncodeOptions& options) const;
  // Errors: an id outside the vocabulary. Invalid UTF-8 produced by byte tokens becomes U+FFFD.
  Result<std::string> decode(std::span<const TokenId> ids, const DecodeOptions& options) const;

  // The vocabulary piece as stored (byte-level form or with ▁); empty for an id out of range.
  std::string_view piece(TokenId id) const;
  const Vocab& vocab() const;
  size_t n_vocab() const { return vocab().size(); }

 private:
  friend class StreamDecoder;
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Incremental decoding for streamed generation: push ids one at a time and get the text that is
// complete so far; bytes of an unfinished UTF-8 sequence wait for the next id.
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options);

  Result<std::string> push(TokenId id);
  // The rest, with an unfinished sequence rendered as U+FFFD.
  std::string finish();

 private:
  std::shared_ptr<const Tokenizer::Impl> impl_;
  DecodeOptions options_;
  std::string pending_;
  bool started_ = false;  // a non-empty piece was emitted (SentencePiece strips one space before)
};

}  // namespace hearth::tokenizer
