// A tokenizer vocabulary as GGUF's tokenizer.ggml.* keys describe it, validated once: pieces,
// token types, scores or merges, special ids, flags, and the pre-tokenizer spec its `pre` name
// selects. Both sources (GGUF files and tokenizer.json via hf_import) end up here; encoding and
// decoding live in tokenizer.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"

namespace hearth::tokenizer {

using TokenId = int32_t;

// GGUF token types (llama.cpp's llama_token_type numbers).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// tokenizer.ggml.model: "gpt2" is byte-level BPE ranked by merges; "llama" is SentencePiece-style
// BPE ranked by scores, with <0xNN> byte fallback.
enum class Model { kBytePairs, kSentencePiece };

// What a `tokenizer.ggml.pre` name means for byte-level BPE. The regexes split the text in turn
// (each one splits the pieces of the previous; unmatched gaps stay pieces, as HF's `Isolated`).
struct PreTokenizerSpec {
  std::string_view name;
  std::vector<std::string_view> regexes;
  bool ignore_merges = false;  // a whole piece found in the vocabulary is one token (Llama 3)
  bool nfc = false;            // NFC before splitting (Qwen2's tokenizer.json normalizer)
};

// The spec for `name` (aliases included), or nullptr when unknown.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view name);
// All canonical specs, for matching a tokenizer.json's regex to a name.
std::span<const PreTokenizerSpec> pre_tokenizers();

namespace keys {
inline constexpr std::string_view kModel = "tokenizer.ggml.model";
inline constexpr std::string_view kPre = "tokenizer.ggml.pre";
inline constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
inline constexpr std::string_view kTokenType = "tokenizer.ggml.token_type";
inline constexpr std::string_view kScores = "tokenizer.ggml.scores";
inline constexpr std::string_view kMerges = "tokenizer.ggml.merges";
inline constexpr std::string_view kBos = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view kEos = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view kEot = "tokenizer.ggml.eot_token_id";
inline constexpr std::string_view kEom = "tokenizer.ggml.eom_token_id";
inline constexpr std::string_view kUnknown = "tokenizer.ggml.unknown_token_id";
inline constexpr std::string_view kPadding = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view kAddBos = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view kAddEos = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
inline constexpr std::string_view kChatTemplate = "tokenizer.chat_template";
}  // namespace keys

struct Vocab {
  Model model = Model::kBytePairs;
  std::string pre_name;
  const PreTokenizerSpec* pre = nullptr;  // kBytePairs only
  std::vector<std::string> tokens;        // as stored: byte-level form (Ġ) or with ▁
  std::vector<TokenType> types;
  std::vector<float> scores;  // kSentencePiece (empty otherwise)
  // kBytePairs: merges as (left id, right id, result id), index = rank.
  struct Merge {
    TokenId left, right, result;
  };
  std::vector<Merge> merges;
  std::optional<TokenId> bos, eos, unknown, padding;
  // End of turn and end of message (llama.cpp's eot/eom): generation stops at them as at eos.
  std::optional<TokenId> eot, eom;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix =
      false;  // kSentencePiece: prefix text with ▁ (SentencePiece's dummy prefix)
  std::string chat_template;

  size_t size() const { return tokens.size(); }
};

// Reads and validates the tokenizer.ggml.* keys. Errors name the key and the index.
Result<Vocab> load_vocab(const gguf::Metadata& metadata);

// GPT-2's byte-to-character table: byte b appears in byte-level pieces as this code point.
char32_t byte_to_char(uint8_t byte);

}  // namespace hearth::tokenizer
