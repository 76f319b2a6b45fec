// Vocabulary loading from tokenizer.ggml.* metadata, the table of pre-tokenizer names, and GPT-2's
// byte-to-character mapping. Defaults for absent keys follow llama.cpp's loader (add_bos on for
// SentencePiece and Llama 3, add_space_prefix on for SentencePiece, pre "default").
#include "hearth/tokenizer/vocab.h"

#include <array>
#include <unordered_map>

namespace hearth::tokenizer {
namespace {

// The split regexes exactly as the tokenizer.json files spell them, so hf_import can name them.
constexpr std::string_view kQwen2Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kLlama3Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kGpt2Regex =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";

const std::vector<PreTokenizerSpec>& specs() {
  static const std::vector<PreTokenizerSpec> kSpecs = {
      {"qwen2", {kQwen2Regex}, false, true},
      {"llama-bpe", {kLlama3Regex}, true, false},
      {"gpt-2", {kGpt2Regex}, false, false},
      // llama.cpp's fallback for byte-level vocabularies without a known pre-tokenizer.
      {"default",
       {R"re([\p{P}\$\+<=>\^~\|]+)re", kGpt2Regex, R"re(\p{N}+)re", R"re([0-9][0-9][0-9])re"},
       false,
       false},
  };
  return kSpecs;
}

struct Alias {
  std::string_view alias, name;
};
constexpr Alias kAliases[] = {
    {"llama3", "llama-bpe"}, {"llama-v3", "llama-bpe"}, {"gpt2", "gpt-2"}};

Result<const gguf::Array*> typed_array(const gguf::Metadata& metadata, std::string_view key,
                                       size_t expected_size) {
  HEARTH_ASSIGN_OR_RETURN(const gguf::Array* array, metadata.get_array(key));
  if (array->items.size() != expected_size) {
    return make_error("{} has {} entries but tokenizer.ggml.tokens has {}", key,
                      array->items.size(), expected_size);
  }
  return array;
}

Result<std::optional<TokenId>> optional_id(const gguf::Metadata& metadata, std::string_view key,
                                           size_t n_tokens) {
  if (!metadata.contains(key)) return std::optional<TokenId>();
  HEARTH_ASSIGN_OR_RETURN(int64_t id, metadata.get_int(key));
  if (id < 0 || id >= static_cast<int64_t>(n_tokens)) {
    return make_error("{} = {} is outside the vocabulary of {} tokens", key, id, n_tokens);
  }
  return std::optional<TokenId>(static_cast<TokenId>(id));
}

Result<bool> optional_bool(const gguf::Metadata& metadata, std::string_view key, bool fallback) {
  if (!metadata.contains(key)) return fallback;
  return metadata.get_bool(key);
}

Status load_merges(const gguf::Metadata& metadata, Vocab* vocab) {
  if (!metadata.contains(keys::kMerges)) {
    return make_error("{} is missing (byte-level BPE needs its merges)", keys::kMerges);
  }
  HEARTH_ASSIGN_OR_RETURN(const gguf::Array* merges, metadata.get_array(keys::kMerges));
  std::unordered_map<std::string_view, TokenId> ids;
  ids.reserve(vocab->tokens.size());
  for (size_t id = 0; id < vocab->tokens.size(); ++id) {
    ids.emplace(vocab->tokens[id], static_cast<TokenId>(id));
  }
  auto lookup = [&](std::string_view piece) {
    const auto it = ids.find(piece);
    return it == ids.end() ? TokenId{-1} : it->second;
  };
  vocab->merges.reserve(merges->items.size());
  std::string joined;
  for (size_t rank = 0; rank < merges->items.size(); ++rank) {
    const std::string* line = merges->items[rank].string();
    const size_t space = line ? line->find(' ', 1) : std::string::npos;
    if (space == std::string::npos) {
      return make_error("{}[{}]: expected two tokens separated by a space", keys::kMerges, rank);
    }
    const std::string_view left = std::string_view(*line).substr(0, space);
    const std::string_view right = std::string_view(*line).substr(space + 1);
    joined.assign(left).append(right);
    const Vocab::Merge merge{lookup(left), lookup(right), lookup(joined)};
    if (merge.left < 0 || merge.right < 0 || merge.result < 0) {
      const std::string_view missing = merge.left < 0 ? left : merge.right < 0 ? right : joined;
      return make_error("{}[{}] '{}': '{}' is not in the vocabulary", keys::kMerges, rank, *line,
                        missing);
    }
    vocab->merges.push_back(merge);
  }
  return {};
}

}  // namespace

std::span<const PreTokenizerSpec> pre_tokenizers() {
  return specs();
}

const PreTokenizerSpec* find_pre_tokenizer(std::string_view name) {
  for (const Alias& alias : kAliases) {
    if (alias.alias == name) name = alias.name;
  }
  for (const PreTokenizerSpec& spec : specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

char32_t byte_to_char(uint8_t byte) {
  // Printable Latin-1 bytes stand for themselves; the other 68 map, in order, to U+0100 onwards.
  static const std::array<char32_t, 256> kTable = [] {
    std::array<char32_t, 256> table{};
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      table[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return table;
  }();
  return kTable[byte];
}

Result<Vocab> load_vocab(const gguf::Metadata& metadata) {
  Vocab vocab;
  HEARTH_ASSIGN_OR_RETURN(std::string_view model, metadata.get_string(keys::kModel));
  if (model == "gpt2") {
    vocab.model = Model::kBytePairs;
  } else if (model == "llama") {
    vocab.model = Model::kSentencePiece;
  } else {
    return make_error("{} = '{}' is not supported (gpt2 or llama)", keys::kModel, model);
  }

  HEARTH_ASSIGN_OR_RETURN(const gguf::Array* tokens, metadata.get_array(keys::kTokens));
  if (tokens->items.empty()) return make_error("{} is empty", keys::kTokens);
  const size_t n = tokens->items.size();
  vocab.tokens.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string* piece = tokens->items[i].string();
    if (!piece) return make_error("{}[{}] is not a string", keys::kTokens, i);
    vocab.tokens.push_back(*piece);
  }

  vocab.types.assign(n, TokenType::kNormal);
  if (metadata.contains(keys::kTokenType)) {
    HEARTH_ASSIGN_OR_RETURN(const gguf::Array* types, typed_array(metadata, keys::kTokenType, n));
    for (size_t i = 0; i < n; ++i) {
      const auto type = types->items[i].to_int();
      if (!type || *type < 0 || *type > static_cast<int64_t>(TokenType::kByte)) {
        return make_error("{}[{}] is not a token type (0..6)", keys::kTokenType, i);
      }
      vocab.types[i] = static_cast<TokenType>(*type);
    }
  }

  if (vocab.model == Model::kSentencePiece) {
    vocab.scores.assign(n, 0.0f);
    if (metadata.contains(keys::kScores)) {
      HEARTH_ASSIGN_OR_RETURN(const gguf::Array* scores, typed_array(metadata, keys::kScores, n));
      for (size_t i = 0; i < n; ++i) {
        const auto score = scores->items[i].to_float();
        if (!score) return make_error("{}[{}] is not a number", keys::kScores, i);
        vocab.scores[i] = static_cast<float>(*score);
      }
    }
    vocab.pre_name = "default";
  } else {
    vocab.pre_name = "default";
    if (metadata.contains(keys::kPre)) {
      HEARTH_ASSIGN_OR_RETURN(std::string_view pre, metadata.get_string(keys::kPre));
      vocab.pre_name = std::string(pre);
    }
    vocab.pre = find_pre_tokenizer(vocab.pre_name);
    if (!vocab.pre) {
      return make_error("{} = '{}' is not a known pre-tokenizer (qwen2, llama-bpe, gpt-2, default)",
                        keys::kPre, vocab.pre_name);
    }
    HEARTH_RETURN_IF_ERROR(load_merges(metadata, &vocab));
  }

  HEARTH_ASSIGN_OR_RETURN(vocab.bos, optional_id(metadata, keys::kBos, n));
  HEARTH_ASSIGN_OR_RETURN(vocab.eos, optional_id(metadata, keys::kEos, n));
  HEARTH_ASSIGN_OR_RETURN(vocab.eot, optional_id(metadata, keys::kEot, n));
  HEARTH_ASSIGN_OR_RETURN(vocab.eom, optional_id(metadata, keys::kEom, n));
  HEARTH_ASSIGN_OR_RETURN(vocab.unknown, optional_id(metadata, keys::kUnknown, n));
  HEARTH_ASSIGN_OR_RETURN(vocab.padding, optional_id(metadata, keys::kPadding, n));
  const bool default_bos =
      vocab.model == Model::kSentencePiece || (vocab.pre && vocab.pre->name == "llama-bpe");
  HEARTH_ASSIGN_OR_RETURN(vocab.add_bos, optional_bool(metadata, keys::kAddBos, default_bos));
  HEARTH_ASSIGN_OR_RETURN(vocab.add_eos, optional_bool(metadata, keys::kAddEos, false));
  HEARTH_ASSIGN_OR_RETURN(
      vocab.add_space_prefix,
      optional_bool(metadata, keys::kAddSpacePrefix, vocab.model == Model::kSentencePiece));
  if (vocab.add_bos && !vocab.bos) {
    return make_error("{} is set but {} is missing", keys::kAddBos, keys::kBos);
  }
  if (vocab.add_eos && !vocab.eos) {
    return make_error("{} is set but {} is missing", keys::kAddEos, keys::kEos);
  }
  if (metadata.contains(keys::kChatTemplate)) {
    HEARTH_ASSIGN_OR_RETURN(std::string_view chat, metadata.get_string(keys::kChatTemplate));
    vocab.chat_template = std::string(chat);
  }
  return vocab;
}

}  // namespace hearth::tokenizer
