// Encoding and decoding over a loaded Vocab. Byte-level BPE works on raw bytes: every token's
// byte-level spelling (Ġ for space) is translated back to bytes once at load, so text is never
// re-spelled per call. Merges are looked up by (left id, right id) in a hash map and applied
// lowest rank first (ties: leftmost) from a heap, as HF tokenizers does; SentencePiece-style
// merging takes the highest-scoring adjacent pair (ties: leftmost), as llama.cpp does.
#include "hearth/tokenizer/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <optional>

#include "hearth/base/utf8.h"
#include "hearth/tokenizer/hf_import.h"
#include "hearth/tokenizer/pre_tokenizer.h"

namespace hearth::tokenizer {
namespace {

constexpr std::string_view kSpacePiece = "\xe2\x96\x81";  // ▁

// Token ids looked up by piece: open addressing over 8-byte slots (an id and 32 bits of its
// piece's hash), the pieces themselves read from the strings the ids index. Unlike an
// unordered_map<string, TokenId> it keeps no node or copy of a string per token: Qwen3's 151k
// byte-level pieces take 2 MiB instead of 8.5.
class PieceIndex {
 public:
  // Ids index `pieces`, which outlives the index and does not change while it is used.
  explicit PieceIndex(const std::vector<std::string>& pieces) : pieces_(&pieces) {}
  PieceIndex(const PieceIndex&) = delete;
  PieceIndex& operator=(const PieceIndex&) = delete;

  // Adds `id` under pieces[id] unless an earlier id has the same piece (the first one stays).
  void insert(TokenId id) {
    if ((size_ + 1) * 8 > slots_.size() * 5) grow();
    const std::string_view piece = (*pieces_)[id];
    const size_t hash = std::hash<std::string_view>{}(piece);
    Slot& slot = slots_[position(piece, hash)];
    if (slot.id >= 0) return;
    slot = {static_cast<uint32_t>(hash >> 32), id};
    ++size_;
  }
  // The id added under `piece`, or -1.
  TokenId find(std::string_view piece) const {
    if (slots_.empty()) return -1;
    return slots_[position(piece, std::hash<std::string_view>{}(piece))].id;
  }

 private:
  struct Slot {
    uint32_t tag = 0;  // the high 32 bits of the piece's hash (the low ones pick the slot)
    TokenId id = -1;   // -1: empty
  };
  // The slot holding `piece`, or the empty one where it would go (linear probing).
  size_t position(std::string_view piece, size_t hash) const {
    const size_t mask = slots_.size() - 1;
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.id < 0 || (slot.tag == tag && (*pieces_)[slot.id] == piece)) return i;
    }
  }
  void grow() {
    std::vector<Slot> old(std::max<size_t>(16, 2 * slots_.size()));
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.id < 0) continue;
      const std::string_view piece = (*pieces_)[slot.id];
      slots_[position(piece, std::hash<std::string_view>{}(piece))] = slot;
    }
  }

  const std::vector<std::string>* pieces_;
  std::vector<Slot> slots_;  // a power of two in size, at most 5/8 full
  size_t size_ = 0;
};

// Byte-level BPE's merge ranks by (left id, right id): open addressing over 12-byte slots, the
// pair hashed by a multiply (std::hash of an integer is the integer, which leaves an
// unordered_map one bucket load and one node load per lookup). Qwen3's 151k merges take 3 MiB.
class PairRanks {
 public:
  // Indexes merges[rank] under its pair for every rank; a pair listed twice keeps its first rank.
  explicit PairRanks(const std::vector<Vocab::Merge>& merges) {
    size_t n_slots = 16;
    while (n_slots * 5 < merges.size() * 8) n_slots *= 2;  // at most 5/8 full
    slots_.resize(n_slots);
    shift_ = 64 - std::countr_zero(n_slots);
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      Slot& slot = slots_[position(merges[rank].left, merges[rank].right)];
      if (slot.left < 0) slot = {merges[rank].left, merges[rank].right, static_cast<int32_t>(rank)};
    }
  }
  // The rank of merging left with right, or -1.
  int32_t find(TokenId left, TokenId right) const {
    const Slot& slot = slots_[position(left, right)];
    return slot.left < 0 ? -1 : slot.rank;
  }

 private:
  struct Slot {
    TokenId left = -1;  // -1: empty
    TokenId right = -1;
    int32_t rank = -1;
  };
  // The slot holding the pair, or the empty one where it would go (linear probing).
  size_t position(TokenId left, TokenId right) const {
    const uint64_t key =
        (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    const size_t mask = slots_.size() - 1;
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) >> shift_;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.left < 0 || (slot.left == left && slot.right == right)) return i;
    }
  }

  std::vector<Slot> slots_;  // a power of two in size
  int shift_ = 0;            // 64 - log2(slots_.size()): the hash's top bits pick the slot
};

// Byte-level spelling → bytes; nullopt when a character is outside GPT-2's byte table.
std::optional<std::string> byte_level_to_bytes(std::string_view piece) {
  static const std::array<int16_t, 0x144> kReverse = [] {
    std::array<int16_t, 0x144> table;
    table.fill(-1);
    for (int b = 0; b < 256; ++b) table[byte_to_char(static_cast<uint8_t>(b))] = int16_t(b);
    return table;
  }();
  std::string out;
  while (!piece.empty()) {
    const utf8::Decoded d = utf8::decode(piece);
    if (!d.valid || d.code_point >= kReverse.size() || kReverse[d.code_point] < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(kReverse[d.code_point]));
    piece.remove_prefix(d.length);
  }
  return out;
}

std::optional<uint8_t> byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int high = hex(piece[3]), low = hex(piece[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return static_cast<uint8_t>(high * 16 + low);
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    out.append(text.substr(pos, hit - pos));
    if (hit == std::string_view::npos) return out;
    out.append(to);
    pos = hit + from.size();
  }
}

Result<std::string> nfc(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return uint8_t(c) < 0x80; })) {
    return std::string(text);
  }
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return make_error("NFC normalization failed: {}", utf8proc_errmsg(n));
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return out;
}

// A stretch of the input: raw text, or an added token matched in it.
struct Fragment {
  TokenId token;  // -1 for text
  uint32_t begin, end;
};

// Per-call working memory, reused across the pieces of one encode call.
struct Scratch {
  struct Symbol {
    TokenId id;  // byte-level: the symbol's token; -1 once merged into its left neighbour
    uint32_t begin, length;  // SentencePiece: bytes of the escaped text; length 0 once merged
    int32_t prev, next;
  };
  struct Candidate {
    float priority;  // byte-level: -rank; SentencePiece: score (higher merges first)
    int32_t left, right;
    TokenId left_id, right_id;  // byte-level validity check
    uint32_t length;            // SentencePiece validity check
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::vector<Span> pieces;
  std::vector<Fragment> fragments;

  // A functor rather than a function pointer, so the heap operations inline it.
  struct Later {
    bool operator()(const Candidate& a, const Candidate& b) const {
      return a.priority != b.priority ? a.priority < b.priority : a.left > b.left;
    }
  };
  void push(const Candidate& candidate) {
    heap.push_back(candidate);
    std::push_heap(heap.begin(), heap.end(), Later());
  }
  Candidate pop() {
    std::pop_heap(heap.begin(), heap.end(), Later());
    const Candidate top = heap.back();
    heap.pop_back();
    return top;
  }
};

}  // namespace

struct Tokenizer::Impl {
  // The indexes below view vocab.tokens and renderings: an Impl is built in place and never
  // copied.
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Vocab vocab;
  std::optional<PreTokenizer> pre;

  // Decoding: each token's rendering (byte-level BPE: the raw bytes of its piece), and whether
  // it is hidden without DecodeOptions::special (unless DecodeOptions::preserved names it).
  std::vector<std::string> renderings;
  std::vector<bool> control;

  // Byte-level BPE.
  PieceIndex bytes_to_id{renderings};   // NORMAL tokens by their raw bytes
  std::array<TokenId, 256> byte_ids{};  // the token of each single byte
  std::optional<PairRanks> merge_rank;  // (left, right) → rank (index into vocab.merges)

  // SentencePiece.
  PieceIndex mergeable{vocab.tokens};      // pieces merging may produce
  std::array<TokenId, 256> byte_tokens{};  // <0xNN>, -1 when absent
  // True when no mergeable piece has ▁ after another character (SentencePiece's
  // split_by_whitespace, as in Llama 2 and Mistral): text then splits before each such ▁ into
  // words that merge independently, which keeps the merge heap small.
  bool words_independent = false;

  // Added tokens, matched in raw text before anything else (longest first at each position).
  PieceIndex added{vocab.tokens};
  std::array<std::vector<uint32_t>, 256> added_lengths;  // by first byte, descending
  // First two bytes of every added token of 2+ bytes: a cheap filter before the hash lookups
  // (Gemma has 30 space-run tokens, so every space would otherwise cost 30 lookups).
  std::vector<bool> added_pairs = std::vector<bool>(1 << 16);

  Status build();
  void add_added(TokenId id);
  void partition(std::string_view text, bool parse_special, std::vector<Fragment>* out) const;
  void encode_byte_level(std::string_view word, Scratch& scratch, std::vector<TokenId>* out) const;
  Status encode_sentencepiece(std::string_view escaped, Scratch& scratch,
                              std::vector<TokenId>* out) const;
  std::string_view rendering(TokenId id, const DecodeOptions& options) const {
    const bool hidden = control[id] && !options.special &&
                        std::find(options.preserved.begin(), options.preserved.end(), id) ==
                            options.preserved.end();
    return hidden ? std::string_view() : renderings[id];
  }
  bool strips_leading_space() const {
    return vocab.model == Model::kSentencePiece && vocab.add_space_prefix;
  }
};

void Tokenizer::Impl::add_added(TokenId id) {
  const std::string_view text = vocab.tokens[id];
  if (text.empty()) return;
  added.insert(id);
  if (text.size() >= 2) added_pairs[uint8_t(text[0]) << 8 | uint8_t(text[1])] = true;
  auto& lengths = added_lengths[uint8_t(text[0])];
  if (std::find(lengths.begin(), lengths.end(), text.size()) == lengths.end()) {
    lengths.push_back(static_cast<uint32_t>(text.size()));
  }
}

Status Tokenizer::Impl::build() {
  const size_t n = vocab.size();
  renderings.resize(n);
  control.assign(n, false);
  byte_ids.fill(-1);
  byte_tokens.fill(-1);
  words_independent = vocab.model == Model::kSentencePiece;
  for (size_t i = 0; i < n; ++i) {
    const TokenId id = static_cast<TokenId>(i);
    const std::string& text = vocab.tokens[i];
    switch (vocab.types[i]) {
      case TokenType::kControl:
      case TokenType::kUnknown:
        control[i] = true;
        renderings[i] = text;
        add_added(id);
        break;
      case TokenType::kUserDefined:
        renderings[i] = text;
        add_added(id);
        break;
      case TokenType::kUnused:
        break;
      case TokenType::kByte:
        if (vocab.model == Model::kSentencePiece) {
          if (const auto byte = byte_piece_value(text)) {
            renderings[i] = std::string(1, static_cast<char>(*byte));
            if (byte_tokens[*byte] < 0) byte_tokens[*byte] = id;
          }
          break;
        }
        [[fallthrough]];
      case TokenType::kNormal:
      case TokenType::kUndefined:
        if (vocab.model == Model::kSentencePiece) {
          renderings[i] = replace_all(text, kSpacePiece, " ");
          mergeable.insert(id);
          size_t start = 0;
          while (text.substr(start).starts_with(kSpacePiece)) start += kSpacePiece.size();
          if (text.find(kSpacePiece, start) != std::string::npos) words_independent = false;
        } else if (auto bytes = byte_level_to_bytes(text)) {
          renderings[i] = std::move(*bytes);
          if (renderings[i].size() == 1 && byte_ids[uint8_t(renderings[i][0])] < 0) {
            byte_ids[uint8_t(renderings[i][0])] = id;
          }
          bytes_to_id.insert(id);
        } else {
          renderings[i] = text;
        }
        break;
    }
  }
  for (auto& lengths : added_lengths) std::sort(lengths.rbegin(), lengths.rend());

  if (vocab.model == Model::kBytePairs) {
    for (int b = 0; b < 256; ++b) {
      if (byte_ids[b] < 0) {
        return make_error("byte-level vocabulary has no token for byte 0x{:02X}", b);
      }
    }
    merge_rank.emplace(vocab.merges);
    HEARTH_ASSIGN_OR_RETURN(PreTokenizer compiled, PreTokenizer::compile(*vocab.pre));
    pre.emplace(std::move(compiled));
  }
  return {};
}

void Tokenizer::Impl::partition(std::string_view text, bool parse_special,
                                std::vector<Fragment>* out) const {
  out->clear();
  uint32_t text_begin = 0;
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    const bool pair_known =
        i + 1 < text.size() && added_pairs[uint8_t(text[i]) << 8 | uint8_t(text[i + 1])];
    for (const uint32_t length : added_lengths[uint8_t(text[i])]) {
      if (i + length > text.size() || (length >= 2 && !pair_known)) continue;
      const TokenId id = added.find(text.substr(i, length));
      if (id < 0) continue;
      // Control tokens only when asked; user-defined ones always (llama.cpp and HF agree).
      if (control[id] && !parse_special) continue;
      if (i > text_begin) out->push_back({-1, text_begin, static_cast<uint32_t>(i)});
      out->push_back({id, static_cast<uint32_t>(i), static_cast<uint32_t>(i + length)});
      i += length;
      text_begin = static_cast<uint32_t>(i);
      matched = true;
      break;
    }
    if (!matched) ++i;
  }
  if (text.size() > text_begin) {
    out->push_back({-1, text_begin, static_cast<uint32_t>(text.size())});
  }
}

void Tokenizer::Impl::encode_byte_level(std::string_view word, Scratch& scratch,
                                        std::vector<TokenId>* out) const {
  if (word.size() == 1) {
    out->push_back(byte_ids[uint8_t(word[0])]);
    return;
  }
  if (vocab.pre->ignore_merges) {
    if (const TokenId id = bytes_to_id.find(word); id >= 0) {
      out->push_back(id);
      return;
    }
  }
  auto& symbols = scratch.symbols;
  symbols.clear();
  for (size_t i = 0; i < word.size(); ++i) {
    symbols.push_back({byte_ids[uint8_t(word[i])], 0, 0, int32_t(i) - 1,
                       i + 1 < word.size() ? int32_t(i + 1) : -1});
  }
  scratch.heap.clear();
  auto consider = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    const int32_t rank = merge_rank->find(symbols[left].id, symbols[right].id);
    if (rank < 0) return;
    scratch.push({-static_cast<float>(rank), left, right, symbols[left].id, symbols[right].id, 0});
  };
  for (int32_t i = 0; i + 1 < int32_t(symbols.size()); ++i) consider(i);
  while (!scratch.heap.empty()) {
    const Scratch::Candidate top = scratch.pop();
    Scratch::Symbol& left = symbols[top.left];
    if (left.id != top.left_id || left.next != top.right || symbols[top.right].id != top.right_id) {
      continue;  // stale: one side has merged since
    }
    const auto rank = static_cast<uint32_t>(-top.priority);
    left.id = vocab.merges[rank].result;
    Scratch::Symbol& right = symbols[top.right];
    right.id = -1;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.left;
    if (left.prev >= 0) consider(left.prev);
    consider(top.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out->push_back(symbols[i].id);
}

Status Tokenizer::Impl::encode_sentencepiece(std::string_view escaped, Scratch& scratch,
                                             std::vector<TokenId>* out) const {
  auto& symbols = scratch.symbols;
  symbols.clear();
  for (size_t i = 0; i < escaped.size();) {
    // Valid UTF-8 (checked by encode): the lead byte gives the length.
    const uint8_t lead = static_cast<uint8_t>(escaped[i]);
    const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back(
        {-1, static_cast<uint32_t>(i), static_cast<uint32_t>(length), index - 1, index + 1});
    i += length;
  }
  if (symbols.empty()) return {};
  symbols.back().next = -1;
  scratch.heap.clear();
  auto consider = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    const uint32_t length = symbols[left].length + symbols[right].length;
    const TokenId id = mergeable.find(escaped.substr(symbols[left].begin, length));
    if (id < 0) return;
    scratch.push({vocab.scores[id], left, right, 0, 0, length});
  };
  for (int32_t i = 0; i + 1 < int32_t(symbols.size()); ++i) consider(i);
  while (!scratch.heap.empty()) {
    const Scratch::Candidate top = scratch.pop();
    Scratch::Symbol& left = symbols[top.left];
    Scratch::Symbol& right = symbols[top.right];
    if (left.length == 0 || right.length == 0 || left.next != top.right ||
        left.length + right.length != top.length) {
      continue;  // stale
    }
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.left;
    if (left.prev >= 0) consider(left.prev);
    consider(top.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view text = escaped.substr(symbols[i].begin, symbols[i].length);
    if (const TokenId id = mergeable.find(text); id >= 0) {
      out->push_back(id);
      continue;
    }
    // Byte fallback: the character's bytes as <0xNN> tokens, or the unknown token without them.
    const bool all_bytes =
        std::all_of(text.begin(), text.end(), [&](char c) { return byte_tokens[uint8_t(c)] >= 0; });
    if (all_bytes) {
      for (const char c : text) out->push_back(byte_tokens[uint8_t(c)]);
    } else if (vocab.unknown) {
      out->push_back(*vocab.unknown);
    } else {
      return make_error("no token, byte token or unknown token for '{}'", text);
    }
  }
  return {};
}

Result<Tokenizer> Tokenizer::from_metadata(const gguf::Metadata& metadata) {
  HEARTH_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(metadata));
  auto impl = std::make_shared<Impl>();
  impl->vocab = std::move(vocab);  // before build(): the maps below view its strings
  HEARTH_RETURN_IF_ERROR(impl->build());
  return Tokenizer(std::move(impl));
}

Result<Tokenizer> Tokenizer::from_gguf(const std::filesystem::path& path) {
  auto file = gguf::File::open(path);
  if (!file.ok()) return file.error();
  auto tokenizer = from_metadata(file->metadata());
  if (!tokenizer.ok()) return tokenizer.error().context(path.string());
  return tokenizer;
}

Result<Tokenizer> Tokenizer::from_hf(const std::filesystem::path& tokenizer_json) {
  HEARTH_ASSIGN_OR_RETURN(gguf::Metadata metadata, import_hf_tokenizer(tokenizer_json));
  auto tokenizer = from_metadata(metadata);
  if (!tokenizer.ok()) return tokenizer.error().context(tokenizer_json.string());
  return tokenizer;
}

Result<Tokenizer> Tokenizer::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return from_hf(path / "tokenizer.json");
  if (path.extension() == ".gguf") return from_gguf(path);
  return from_hf(path);
}

Result<std::vector<TokenId>> Tokenizer::encode(std::string_view text,
                                               const EncodeOptions& options) const {
  const Impl& impl = *impl_;
  const Vocab& vocab = impl.vocab;
  if (const size_t bad = utf8::first_invalid(text); bad != text.size()) {
    return make_error("text is not valid UTF-8 at byte {}", bad);
  }
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  if (options.add_special && vocab.add_bos) out.push_back(*vocab.bos);
  Scratch scratch;
  impl.partition(text, options.parse_special, &scratch.fragments);
  bool after_token = true;  // SentencePiece: text at the start or after a token gets a ▁ prefix
  std::string buffer;
  for (const Fragment& fragment : scratch.fragments) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
      after_token = true;
      continue;
    }
    const std::string_view raw = text.substr(fragment.begin, fragment.end - fragment.begin);
    if (vocab.model == Model::kBytePairs) {
      std::string_view normalized = raw;
      if (vocab.pre->nfc) {
        HEARTH_ASSIGN_OR_RETURN(buffer, nfc(raw));
        normalized = buffer;
      }
      impl.pre->split(normalized, &scratch.pieces);
      for (const Span span : scratch.pieces) {
        impl.encode_byte_level(normalized.substr(span.begin, span.end - span.begin), scratch, &out);
      }
    } else {
      buffer.clear();
      if (vocab.add_space_prefix && after_token) buffer.append(kSpacePiece);
      buffer.append(replace_all(raw, " ", kSpacePiece));
      const std::string_view escaped = buffer;
      size_t word = 0;
      if (impl.words_independent) {
        // A word ends where ▁ follows another character.
        for (size_t at = escaped.find(kSpacePiece, 1); at != std::string_view::npos;
             at = escaped.find(kSpacePiece, at + kSpacePiece.size())) {
          if (escaped.substr(0, at).ends_with(kSpacePiece)) continue;
          HEARTH_RETURN_IF_ERROR(
              impl.encode_sentencepiece(escaped.substr(word, at - word), scratch, &out));
          word = at;
        }
      }
      HEARTH_RETURN_IF_ERROR(impl.encode_sentencepiece(escaped.substr(word), scratch, &out));
    }
    after_token = false;
  }
  if (options.add_special && vocab.add_eos) out.push_back(*vocab.eos);
  return out;
}

Result<std::string> Tokenizer::decode(std::span<const TokenId> ids,
                                      const DecodeOptions& options) const {
  StreamDecoder decoder(*this, options);
  std::string out;
  for (const TokenId id : ids) {
    HEARTH_ASSIGN_OR_RETURN(std::string text, decoder.push(id));
    out += text;
  }
  out += decoder.finish();
  return out;
}

std::string_view Tokenizer::piece(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.size()) return {};
  return impl_->vocab.tokens[id];
}

const Vocab& Tokenizer::vocab() const {
  return impl_->vocab;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options)
    : impl_(tokenizer.impl_), options_(options) {}

Result<std::string> StreamDecoder::push(TokenId id) {
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.size()) {
    return make_error("token id {} is outside the vocabulary of {} tokens", id,
                      impl_->vocab.size());
  }
  std::string_view text = impl_->rendering(id, options_);
  if (text.empty()) return std::string();
  // SentencePiece's dummy prefix: the first space of the output is not part of the text.
  if (!started_ && options_.strip_leading_space && impl_->strips_leading_space() &&
      text.front() == ' ') {
    text.remove_prefix(1);
  }
  started_ = true;
  pending_.append(text);
  const size_t complete = utf8::complete_prefix_length(pending_);
  std::string out = utf8::sanitize(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out = utf8::sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace hearth::tokenizer
